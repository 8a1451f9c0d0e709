"""The input a foreign network is simulated on: one clip [T, N] or a batch [B, T, N] from .npy or .csv."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neuro_av.errors import DataError


def load_input(path: Path, width: int, columns: str | None = None, owner: str = "network") -> np.ndarray:
    """(B, T, N) input from .npy ([T, N] or [B, T, N]) or .csv (rows = steps; ``columns`` picks some)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"input file {path} does not exist")
    try:
        if path.suffix == ".npy":
            x = np.load(path, allow_pickle=False)
        elif path.suffix == ".csv":
            x = np.loadtxt(path, delimiter=",", ndmin=2)
        else:
            raise DataError(f"{path}: input must be .npy or .csv, got {path.suffix or 'no suffix'}")
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: not a numeric array ({exc})") from None
    if columns:
        try:
            x = x[..., [int(c) for c in columns.split(",")]]
        except (ValueError, IndexError):
            raise DataError(f"--columns {columns!r} does not select columns of {path} (shape {x.shape})") from None
    try:
        x = np.asarray(x, np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{path}: values of dtype {x.dtype} are not numbers") from None
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[2] != width:
        raise DataError(f"{path}: input shape {x.shape} does not match the {owner}'s input width {width} "
                         "(expected [T, N] or [B, T, N]; pick CSV columns with --columns)")
    bad = ~np.isfinite(x)
    if bad.any():
        b, t, n = np.argwhere(bad)[0]
        raise DataError(f"{path}: {int(bad.sum())} values are NaN or infinite (first at clip {b}, step {t}, "
                         f"column {n}); clean the input")
    return x
