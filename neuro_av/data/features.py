"""Audio / visual feature readers for both public layouts, with a memory-mapped on-disk cache.

Layouts, per ``<root>/<DS>/features/<kind>_features/{audio,video}/<folder>/``:

- ``averaged`` (AVCA): ``<Class>.h5`` with ``data`` [N, D] and ``video_urls`` [N] (bytes or str).
  Read as T = 1.
- ``temporal`` (TCaF): ``<Class>.pkl``, a dict with ``features`` (list of [T_i, D]), ``video_names``
  [N] and ``fps``; T varies per clip and is padded with zeros to the folder's longest clip, with
  ``lengths`` saying how many steps are real.

``layout="auto"`` picks the layout whose files are present (temporal when both are).

A folder is read once into ``<cache>/<key>/{audio,video}.npy`` (written through a temporary folder
and renamed, so a crash leaves no half-written cache) and then memory-mapped: a split of any size
costs page cache, not RAM. The key hashes the folder's absolute path, and the cache is rebuilt when
any source file's size or modification time changes. Cache root: ``$NEURO_AV_CACHE`` or
``~/.cache/neuro-av``.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuro_av.data.paths import path_problem, require
from neuro_av.data.safe_pickle import load_pickle
from neuro_av.data.splits import DataError
from neuro_av.io import DISK_ERRORS, notice

LAYOUTS = ("averaged", "temporal")
EXTENSIONS = {"averaged": ".h5", "temporal": ".pkl"}
MODALITIES = ("audio", "video")
CACHE_FORMAT = 1


@dataclass
class ClipSet:
    """Clips of one folder (or several, concatenated). Arrays may be read-only memory maps."""

    audio: np.ndarray  # (N, T, D_a) float32, zero-padded past lengths
    video: np.ndarray  # (N, T, D_v)
    lengths: np.ndarray  # (N,) int64, real steps per clip
    targets: np.ndarray  # (N,) int64 class ids
    urls: np.ndarray  # (N,) str

    def __len__(self) -> int:
        return int(self.targets.shape[0])

    @property
    def mask(self) -> np.ndarray:
        """(N, T) bool, True on real steps."""
        return np.arange(self.audio.shape[1])[None, :] < self.lengths[:, None]

    def stratified(self, n: int, seed: int = 0) -> np.ndarray:
        """Sorted indices of ``n`` clips drawn class by class in turn (a shuffled order within each
        class, classes in shuffled order), so a small sample covers as many classes as it can."""
        rng = np.random.default_rng(seed)
        pools = [rng.permutation(np.flatnonzero(self.targets == c)).tolist() for c in rng.permutation(np.unique(self.targets))]
        picked: list[int] = []
        while len(picked) < min(n, len(self)):
            for pool in pools:
                if pool and len(picked) < n:
                    picked.append(pool.pop())
        return np.sort(np.asarray(picked, dtype=np.int64))

    @staticmethod
    def concat(parts: list["ClipSet"]) -> "ClipSet":
        t = max(p.audio.shape[1] for p in parts)

        def pad(x):
            return x if x.shape[1] == t else np.pad(x, ((0, 0), (0, t - x.shape[1]), (0, 0)))

        return ClipSet(
            np.concatenate([pad(p.audio) for p in parts]),
            np.concatenate([pad(p.video) for p in parts]),
            np.concatenate([p.lengths for p in parts]),
            np.concatenate([p.targets for p in parts]),
            np.concatenate([p.urls for p in parts]),
        )


def features_dir(root: Path, dataset: str, features: str) -> Path:
    return Path(root) / dataset / "features" / f"{features}_features"


def detect_layout(feat_dir: Path, folders) -> str:
    found = set()
    for folder in folders:
        d = feat_dir / "audio" / folder
        if d.is_dir():
            found |= {lay for lay, ext in EXTENSIONS.items() if any(d.glob(f"*{ext}"))}
    if not found:
        raise DataError(f"no feature files (*.h5 or *.pkl) under {feat_dir}/audio/{{{','.join(folders)}}}: "
                        "download the benchmark features there, or pass the right --data / --features")
    return "temporal" if "temporal" in found else "averaged"


def class_file(folder: Path, name: str, layout: str) -> Path:
    """``<folder>/<name><ext>``; a file whose name differs only in letter case is accepted too."""
    ext = EXTENSIONS[layout]
    exact = folder / f"{name}{ext}"
    problem = path_problem(exact)
    if problem is None:
        return exact
    if problem != "is missing":
        raise DataError(f"feature file {exact} {problem}: every class of the split needs one per modality")
    if folder.is_dir():
        matches = [p for p in folder.glob(f"*{ext}") if p.name[: -len(ext)].casefold() == name.casefold()]
        if len(matches) == 1:
            return require(matches[0], "feature file", hint="every class of the split needs one per modality")
    raise DataError(f"feature file {exact} is missing: every class of the split needs one per modality")


def _as_str(u) -> str:
    return u.decode("utf-8") if isinstance(u, (bytes, np.bytes_)) else str(u)


def read_class_file(path: Path, layout: str) -> tuple[list[np.ndarray], list[str]]:
    """Clips of one class file: a list of [T_i, D] float32 arrays and their urls / video names."""
    if layout == "averaged":
        import h5py

        require(path, "feature file")
        try:
            with h5py.File(path, "r") as f:
                if "data" not in f or "video_urls" not in f:
                    raise DataError(f"{path}: needs datasets 'data' and 'video_urls', found {sorted(f.keys())}")
                if not isinstance(f["data"], h5py.Dataset) or f["data"].dtype.kind not in "fiub":
                    kind = f["data"].dtype if isinstance(f["data"], h5py.Dataset) else "a group"
                    raise DataError(f"{path}: 'data' holds {kind}, not numbers: it must be a [clips, dim] "
                                    "float array of features")
                data = np.asarray(f["data"][()], dtype=np.float32)
                urls = [_as_str(u) for u in np.asarray(f["video_urls"][()]).reshape(-1)]
        except OSError as exc:
            raise DataError(f"{path}: not a readable HDF5 file ({exc})") from None
        if data.ndim != 2:
            raise DataError(f"{path}: 'data' must be [clips, dim], found shape {data.shape}")
        clips = [row[None, :] for row in data]
    else:
        obj = load_pickle(require(path, "feature file"))
        if not isinstance(obj, dict) or "features" not in obj or "video_names" not in obj:
            raise DataError(f"{path}: expected a dict with 'features' and 'video_names'")
        try:
            if any(np.iscomplexobj(c) for c in obj["features"]):  # float32 would drop the imaginary part
                raise TypeError("they hold complex values")
            clips = [np.asarray(c, dtype=np.float32) for c in obj["features"]]
        except (TypeError, ValueError) as exc:
            raise DataError(f"{path}: 'features' must hold [T, dim] arrays of numbers ({exc})") from None
        urls = [_as_str(u) for u in obj["video_names"]]
        for i, c in enumerate(clips):
            if c.ndim != 2 or c.shape[0] == 0:
                raise DataError(f"{path}: clip {i} must be [T>0, dim], found shape {c.shape}")
    if not clips:
        raise DataError(f"{path}: the class has no clips; remove it from the split or add its features")
    if len(urls) != len(clips):
        raise DataError(f"{path}: {len(clips)} clips but {len(urls)} urls / video names")
    for i, c in enumerate(clips):
        if not np.isfinite(c).all():
            raise DataError(f"{path}: clip {i} ({urls[i]}) contains NaN or inf; re-extract or drop that clip")
    return clips, urls


def _cache_root(cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("NEURO_AV_CACHE", Path.home() / ".cache" / "neuro-av"))


def _sources(feat_dir: Path, folder: str, classes, layout: str) -> dict[str, list[Path]]:
    return {m: [class_file(feat_dir / m / folder, c, layout) for c in classes] for m in MODALITIES}


def _fingerprint(files: dict[str, list[Path]]) -> list:
    return [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for m in MODALITIES for p in files[m]]


def load_folder(feat_dir: Path, folder: str, classes: dict[str, int], layout: str,
                cache_dir: Path | None = None, expected_dims: tuple[int, int] | None = None) -> ClipSet:
    """Clips of ``classes`` (``{name: class id}``, read in sorted-name order) from one feature folder.

    ``expected_dims``: (audio, video) feature sizes the model takes; other sizes are refused here,
    naming a file, rather than as a shape error deep in the model."""
    names = sorted(classes)
    files = _sources(feat_dir, folder, names, layout)
    key = hashlib.sha256(json.dumps([str(feat_dir.resolve()), folder, layout, names]).encode()).hexdigest()[:24]
    cdir = _cache_root(cache_dir) / "features" / key
    manifest = {"format": CACHE_FORMAT, "sources": _fingerprint(files)}
    clips = _cached(cdir, files, names, classes, layout, manifest)
    if expected_dims is not None:
        for m, found, want in zip(MODALITIES, (clips.audio.shape[2], clips.video.shape[2]), expected_dims):
            if found != want:
                raise DataError(f"{files[m][0]}: {m} features are {found}-dimensional, the model expects {want} "
                                f"({m}_dim); pass the matching --features, or --set {m}_dim={found} to train "
                                "a model for these features")
    return clips


class _Damaged(Exception):
    """A cache entry that cannot be read back as written."""


def _cached(cdir: Path, files, names, classes, layout, manifest) -> ClipSet:
    """The folder's clips through the cache: built when stale, rebuilt when damaged, skipped when the
    cache cannot be written (read-only, full, no permission)."""
    lock = cdir.with_name(cdir.name + ".lock")
    try:
        try:
            with _exclusive(lock):  # torchrun ranks may arrive together
                if _manifest(cdir) != manifest:
                    _build_cache(cdir, files, names, classes, layout, manifest)
                return _open_cache(cdir)
        except _Damaged as exc:
            notice(f"feature cache {cdir} is damaged ({exc}); rebuilding it")
            with _exclusive(lock):
                _build_cache(cdir, files, names, classes, layout, manifest)
                return _open_cache(cdir)
    except OSError as exc:
        if exc.errno not in DISK_ERRORS and exc.errno not in (errno.ENOTDIR, errno.EEXIST):
            raise
        if _manifest(cdir) == manifest:  # a good cache on a read-only disk still serves
            with contextlib.suppress(_Damaged):
                return _open_cache(cdir)
        notice(f"feature cache {_cache_root_of(cdir)} cannot be written ({exc.strerror}); reading "
               f"{files['audio'][0].parent.name} without a cache (point NEURO_AV_CACHE at a writable folder "
               "to cache it)")
        return _read_clips(files, names, classes, layout, lambda m, shape: np.zeros(shape, np.float32))[0]


def _cache_root_of(cdir: Path) -> Path:
    return cdir.parent.parent


def _manifest(cdir: Path):
    try:
        return json.loads((cdir / "manifest.json").read_text())
    except OSError:
        return None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Damaged(f"manifest.json: {exc}") from None


def _open_cache(cdir: Path) -> ClipSet:
    try:
        clips = ClipSet(
            audio=np.load(cdir / "audio.npy", mmap_mode="r"),
            video=np.load(cdir / "video.npy", mmap_mode="r"),
            lengths=np.load(cdir / "lengths.npy"),
            targets=np.load(cdir / "targets.npy"),
            urls=np.array(json.loads((cdir / "urls.json").read_text()), dtype=str),
        )
    except (OSError, ValueError, EOFError, UnicodeDecodeError) as exc:
        if isinstance(exc, OSError) and exc.errno in DISK_ERRORS:
            raise
        raise _Damaged(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    n = len(clips.targets)
    if not (clips.audio.ndim == clips.video.ndim == 3 and clips.audio.shape[0] == clips.video.shape[0] == n
            == len(clips.lengths) == len(clips.urls)):
        raise _Damaged("its arrays disagree in size")
    return clips


@contextlib.contextmanager
def _exclusive(lock_path: Path):
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _read_clips(files, names, classes, layout, alloc):
    """(ClipSet, clip lengths) of every class file; ``alloc(modality, shape)`` makes the arrays.

    Two passes (shapes, then data) so that memory stays at one class file, whatever the split size."""
    shapes = {m: [] for m in MODALITIES}
    dims = {}
    for i, name in enumerate(names):
        urls = {}
        for m in MODALITIES:
            clips, urls[m] = read_class_file(files[m][i], layout)
            d = clips[0].shape[1]
            bad = [j for j, c in enumerate(clips) if c.shape[1] != d]
            if bad or dims.setdefault(m, d) != d:
                raise DataError(f"{files[m][i]}: feature dim {clips[bad[0]].shape[1] if bad else d} differs from "
                                f"{dims[m]} in the other {m} files of this folder")
            shapes[m].append([c.shape[0] for c in clips])
        if urls["audio"] != urls["video"]:
            j = next((k for k, (a, v) in enumerate(zip(urls["audio"], urls["video"])) if a != v), min(map(len, urls.values())))
            raise DataError(f"{files['audio'][i]} and {files['video'][i]} list different clips (first difference at "
                            f"clip {j}): audio and video must list the same clips in the same order")
        if shapes["audio"][-1] != shapes["video"][-1]:
            raise DataError(f"{files['audio'][i]} and {files['video'][i]}: clip lengths differ between modalities")
    lengths = np.array([t for per in shapes["audio"] for t in per], dtype=np.int64)
    n, t_max = len(lengths), int(lengths.max())
    arrays = {m: alloc(m, (n, t_max, dims[m])) for m in MODALITIES}
    targets, all_urls, row = [], [], 0
    for i, name in enumerate(names):
        for m in MODALITIES:
            clips, urls = read_class_file(files[m][i], layout)
            for k, c in enumerate(clips):
                arrays[m][row + k, : c.shape[0]] = c
        targets += [classes[name]] * len(clips)
        all_urls += urls
        row += len(clips)
    out = ClipSet(arrays["audio"], arrays["video"], lengths, np.array(targets, dtype=np.int64),
                  np.array(all_urls, dtype=str))
    return out, all_urls


def _build_cache(cdir: Path, files, names, classes, layout, manifest) -> None:
    """Write the cache entry into a temporary folder, then rename it over ``cdir``."""
    tmp = cdir.with_name(cdir.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        clips, urls = _read_clips(files, names, classes, layout, lambda m, shape: np.lib.format.open_memmap(
            tmp / f"{m}.npy", mode="w+", dtype=np.float32, shape=shape))
        for a in (clips.audio, clips.video):
            a.flush()
        np.save(tmp / "lengths.npy", clips.lengths)
        np.save(tmp / "targets.npy", clips.targets)
        (tmp / "urls.json").write_text(json.dumps(urls))
        (tmp / "manifest.json").write_text(json.dumps(manifest))
        del clips
        shutil.rmtree(cdir, ignore_errors=True)
        os.replace(tmp, cdir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
