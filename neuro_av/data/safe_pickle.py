"""Load the pickles of the public AV-GZSL layouts without executing code from them.

The benchmarks ship text embeddings as a pickled ``dict`` inside a ``.npy`` and temporal features as
``.pkl`` files, downloaded from the internet. ``pickle.load`` would run whatever callable such a file
names; :class:`RestrictedUnpickler` admits only plain containers, numbers, strings / bytes and numpy
arrays, scalars and dtypes, and refuses anything else with an error naming the file and the global.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from neuro_av.errors import DataError

# (module, name) pairs a pickle may reference. Builtin containers, numbers and strings need no
# global at all; numpy arrays are rebuilt through these. numpy 2 writes "numpy._core".
_ALLOWED_GLOBALS = {
    (core, name)
    for core in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("builtins", "bytearray"),
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),  # protocol-2 pickles of bytes go through codecs.encode(str, 'latin1')
}


class UnsafePickleError(DataError):
    """A pickle asked for something other than plain data."""


class RestrictedUnpickler(pickle.Unpickler):
    """Plain data only; and no allocation larger than ``limit`` bytes from a size the pickle states
    (``bytearray(n)``, an array's shape): plain data carries its bytes in the file, so a size beyond
    the file's own is a bomb, refused before it is allocated."""

    def __init__(self, file: BinaryIO, source: str, limit: int | None = None):
        super().__init__(file)
        self._source = source
        self._limit = limit

    def _refuse_size(self, what: str, size: int) -> None:
        if self._limit is not None and size > self._limit:
            raise UnsafePickleError(f"{self._source}: asks for {what} of {size:,} bytes, more than the file's own "
                                    f"{self._limit:,}: a pickle bomb or a damaged file; re-download it")

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("builtins", "bytearray"):
            return self._bytearray
        if name == "_reconstruct" and (module, name) in _ALLOWED_GLOBALS:
            return self._reconstruct(super().find_class(module, name))
        if (module, name) == ("_codecs", "encode"):
            return self._latin1
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"{self._source}: refusing to load '{module}.{name}' — neuro-av only loads pickles made of "
            "plain containers, numbers, strings and numpy arrays. If this file is really from the "
            "benchmark, convert it to plain data first; never open untrusted pickles with pickle.load."
        )

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self._source}: persistent ids are not plain data")

    def _bytearray(self, *args):
        if args and isinstance(args[0], int):
            self._refuse_size("a bytearray", args[0])
        return bytearray(*args)

    def _reconstruct(self, reconstruct):
        def checked(subtype, shape, dtype):
            try:
                size = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
            except (TypeError, ValueError):
                raise UnsafePickleError(f"{self._source}: an array with shape {shape!r} and dtype {dtype!r} is not "
                                        "plain data") from None
            self._refuse_size("an array", size)
            return reconstruct(subtype, shape, dtype)
        return checked

    def _latin1(self, obj, encoding="utf-8", errors="strict"):
        if encoding != "latin1" or not isinstance(obj, str):  # what pickle's protocol 2 writes for bytes
            raise UnsafePickleError(f"{self._source}: refusing codecs.encode(..., {encoding!r}) — only the latin1 "
                                    "encoding protocol-2 pickles use for bytes is plain data")
        return obj.encode("latin1", errors)


def load_pickle(path: Path) -> Any:
    """Unpickle ``path`` with :class:`RestrictedUnpickler`.

    The file is read whole first, so a length the pickle states (``BINBYTES8``) can never ask the
    reader for more bytes than the file has; a pickle that still asks for more memory than the
    machine has is refused in one line."""
    data = Path(path).read_bytes()
    try:
        return RestrictedUnpickler(io.BytesIO(data), str(path), limit=len(data)).load()
    except UnsafePickleError:
        raise
    except MemoryError:
        raise DataError(f"{path}: loading this {len(data):,}-byte pickle asks for more memory than the machine "
                        "has: a pickle bomb or a damaged file; re-download it") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise DataError(f"{path}: not a readable pickle ({type(exc).__name__}: {exc}); it may be truncated "
                        "or not a feature file") from None


def load_npy_object(path: Path) -> Any:
    """The object stored in a pickled ``.npy`` (``np.save`` of a dict), loaded safely.

    ``np.load(..., allow_pickle=True)`` is exactly what neuro-av must avoid; this parses the npy
    header itself and hands the payload to the restricted unpickler. Plain numeric ``.npy`` files
    are read with ``allow_pickle=False``.
    """
    try:
        return _load_npy_object(path)
    except (UnsafePickleError, DataError):
        raise
    except MemoryError:
        raise DataError(f"{path}: loading it asks for more memory than the machine has: a pickle bomb or a "
                        "damaged file; re-download it") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise DataError(f"{path}: not a readable .npy file ({type(exc).__name__}: {exc}); it may be truncated") from None


def _load_npy_object(path: Path) -> Any:
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in readers:
            raise DataError(f"{path}: .npy format version {version} is not supported (1.0 and 2.0 are)")
        shape, _, dtype = readers[version](f)
        if not dtype.hasobject:
            f.seek(0)
            return np.load(f, allow_pickle=False)
        offset = f.tell()
        rest = f.read()  # the pickle as bytes: see load_pickle
        arr = RestrictedUnpickler(io.BytesIO(rest), str(path), limit=offset + len(rest)).load()
    if not isinstance(arr, np.ndarray) or arr.shape != shape:
        raise UnsafePickleError(f"{path}: header says an object array of shape {shape}, payload differs")
    return arr.item() if arr.shape == () else arr
