"""The input a foreign network (a NIR graph, a Norse module) runs on: one clip [T, N] or a batch
[B, T, N], from .npy or .csv or as an array; and the time step it runs at."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from neuro_av.data.paths import path_problem
from neuro_av.errors import ConfigError, DataError


def load_input(path: Path, width: int, columns: str | None = None, owner: str = "network") -> np.ndarray:
    """(B, T, N) input from .npy ([T, N] or [B, T, N]) or .csv (rows = steps; ``columns`` picks some)."""
    path = Path(path)
    problem = path_problem(path)
    if problem:
        raise DataError(f"input file {path} {'does not exist' if problem == 'is missing' else problem}")
    try:
        if path.suffix == ".npy":
            x = np.load(path, allow_pickle=False)
        elif path.suffix == ".csv":
            with warnings.catch_warnings():  # an empty file: check_input says so in its one line
                warnings.simplefilter("ignore", UserWarning)
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
    return check_input(x, width, str(path), owner, hint="; pick CSV columns with --columns")


def check_input(x, width: int, where: str = "input", owner: str = "network", hint: str = "") -> np.ndarray:
    """``x`` as (B, T, N) float64, or a one-line error naming ``where`` when it is not real numbers, not
    [T, N] / [B, T, N] of the ``owner``'s input width, has no clip or no step, or holds NaN or
    infinite values."""
    if np.iscomplexobj(x):  # float64 would drop the imaginary part with only a warning
        raise DataError(f"{where}: values of dtype {np.asarray(x).dtype} are complex; the input must be real "
                        "(give its real part or its magnitude)")
    try:
        x = np.asarray(x, np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{where}: values of dtype {np.asarray(x).dtype} are not numbers") from None
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 3 and 0 in x.shape[:2]:
        empty = "no clips" if x.shape[0] == 0 else "no time steps"
        raise DataError(f"{where}: input of shape {x.shape} has {empty}; give at least one clip of at least "
                        "one step ([T, N] or [B, T, N])")
    if x.ndim != 3 or x.shape[2] != width:
        raise DataError(f"{where}: input shape {x.shape} does not match the {owner}'s input width {width} "
                        f"(expected [T, N] or [B, T, N]{hint})")
    bad = ~np.isfinite(x)
    if bad.any():
        b, t, n = np.argwhere(bad)[0]
        raise DataError(f"{where}: {int(bad.sum())} values are NaN or infinite (first at clip {b}, step {t}, "
                        f"column {n}); clean the input")
    return x


def check_dt(dt_s: float | None) -> None:
    """A time step given by the user (None: the network's own) must be a positive number of seconds."""
    if dt_s is not None and not (np.isfinite(dt_s) and dt_s > 0):
        raise ConfigError(f"--dt must be a positive number of seconds, got {dt_s}")


def binary_inputs(inputs: dict[str, np.ndarray]) -> tuple[str, ...]:
    """The inputs whose values are all 0 or 1: binary spikes a chip can take as plain spike events."""
    return tuple(name for name, x in inputs.items() if np.isin(x, (0, 1)).all())
