"""The run folder, owned in one place: its file names, the checkpoint, and a run loaded back as
(model, data) — what training writes and what evaluation, export and co-simulation read.

A run folder (``neuro-av train --out RUN``)::

    RUN/.neuro-av        marker: the folder is owned by ``neuro-av train`` (``neuro_av.io.claim_folder``)
    RUN/.neuro-av.lock   flock'ed while a process trains into the folder
    RUN/config.json      resolved model, data and training config, library versions, git SHA
    RUN/state.pt         last completed epoch while training (removed when the run completes)
    RUN/checkpoint.pt    the stage-2 model with its configs (``weights_only`` loading)
    RUN/metrics.json     test S, U, HM, ZSL at β*, the best epoch (counted from 1), costs
    RUN/train.log        the command line of each start, then one timestamped line per epoch
    RUN/export/          ``neuro-av export`` (manifest.json lists its files; not train's)

Epochs are counted from 1 everywhere a user reads them: ``best_epoch`` k is "epoch k of
``stage1_epochs``", and stage 2 trains ``stage2_epochs`` = k epochs (``epoch_numbering`` says so in
the files; checkpoints without it count from 0).

Also here: the clip-batch and device helpers every stage uses, so export and sim need nothing
from the trainer.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neuro_av.errors import RunError
from neuro_av.io import FileFormatError, read_json, write_bytes

CONFIG = "config.json"
STATE = "state.pt"
CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.json"
TRAIN_LOG = "train.log"
EXPORT_DIR = "export"
RANKS = "ranks"  # per-rank decisions of a torchrun run
RUN_FILES = (CONFIG, STATE, CHECKPOINT, METRICS, TRAIN_LOG, RANKS)  # what `neuro-av train` writes
EPOCH_NUMBERING = "from 1"


def save_checkpoint(obj, path: Path) -> None:
    """``torch.save`` through a temporary file (plain tensors and Python values only).

    Serialised in memory first: torch's own writer reports a full disk as a RuntimeError without
    the file's name, Python's write as an OSError that names it."""
    import io

    buf = io.BytesIO()
    torch.save(obj, buf)
    write_bytes(buf.getbuffer(), Path(path))


def load_checkpoint(path: Path) -> dict:
    """A checkpoint written by :func:`save_checkpoint`, loaded with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"checkpoint {path} does not exist: pass a finished `neuro-av train` run folder")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, corrupted or foreign: torch's message spans many lines
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunError(f"{path} is not a readable neuro-av checkpoint ({type(exc).__name__}: {first}); "
                       "it may be truncated or corrupted: train the run again") from None


def rebuild_model(ckpt: dict):
    """(model, config) from a checkpoint alone: the registered model class, its config, its weights."""
    from neuro_av.models.registry import MODELS, build_model

    name = ckpt.get("model_name")
    if name not in MODELS:
        raise RunError(f"checkpoint names model {name!r}, unknown to this neuro-av ({', '.join(MODELS)})")
    config_cls = MODELS[name][0]
    raw = dict(ckpt["model_config"])
    for f in dataclasses.fields(config_cls):  # JSON / torch.save turn tuples into lists
        if isinstance(raw.get(f.name), list):
            raw[f.name] = tuple(raw[f.name])
    unknown = sorted(set(raw) - {f.name for f in dataclasses.fields(config_cls)})
    if unknown:
        raise RunError(f"checkpoint's {name} config has settings this neuro-av does not know ({', '.join(unknown)}): "
                       "it was written by another version; export or evaluate it with that version")
    cfg = config_cls(**raw)
    model = build_model(name, cfg)
    model.load_state_dict(ckpt["model_state"])
    if "fixed_point" in ckpt:  # a `neuro-av finetune` run: its branch runs in the frozen fixed point
        from neuro_av.functional.loihi_fixed import FixedForward

        branch = model.partition().snn
        branch.fixed_point = FixedForward(ckpt["fixed_point"]["layers"], branch.lif_params.surrogate_alpha)
    return model, cfg


@dataclass
class Run:
    """A finished run: its checkpoint, the model rebuilt from it (eval mode, CPU) and its data."""

    run_dir: Path
    checkpoint: dict
    model: torch.nn.Module
    data: object  # neuro_av.data.dataset.AVGZSLData

    @property
    def name(self) -> str:
        return self.checkpoint["model_name"]

    @property
    def beta(self) -> float | None:
        return self.checkpoint.get("beta")

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / CHECKPOINT

    @property
    def export_dir(self) -> Path:
        return self.run_dir / EXPORT_DIR

    @property
    def best_epoch(self) -> int:
        """The best stage-1 epoch, counted from 1 (older checkpoints counted from 0)."""
        k = int(self.checkpoint["best_epoch"])
        return k if self.checkpoint.get("epoch_numbering") == EPOCH_NUMBERING else k + 1

    def metrics(self) -> dict:
        path = self.run_dir / METRICS
        return read_metrics(path) if path.is_file() else {}


def read_metrics(path: Path) -> dict:
    try:
        return read_json(path, "metrics file", "train the run again")
    except FileFormatError as exc:
        raise RunError(str(exc)) from None


def load_run(run_dir: Path) -> Run:
    from neuro_av.data.dataset import AVGZSLData, DataConfig

    run_dir = Path(run_dir)
    if not (run_dir / CHECKPOINT).is_file():
        raise RunError(f"{run_dir} has no {CHECKPOINT}: pass a finished `neuro-av train` run folder")
    ckpt = load_checkpoint(run_dir / CHECKPOINT)
    model, cfg = rebuild_model(ckpt)
    dims = (cfg.audio_dim, cfg.video_dim) if hasattr(cfg, "audio_dim") else None
    return Run(run_dir, ckpt, model.eval(), AVGZSLData(DataConfig(**ckpt["data_config"]), expected_dims=dims))


def clip_batch(clips, idx, device="cpu"):
    """The clips ``idx`` of a :class:`~neuro_av.data.features.ClipSet` as a float32 ``ClipBatch``."""
    from neuro_av.models.base import ClipBatch

    idx = np.asarray(idx)
    lengths = torch.from_numpy(clips.lengths[idx])
    t = clips.audio.shape[1]
    return ClipBatch(
        audio=torch.from_numpy(np.asarray(clips.audio[idx], dtype=np.float32)).to(device),
        video=torch.from_numpy(np.asarray(clips.video[idx], dtype=np.float32)).to(device),
        mask=(torch.arange(t)[None, :] < lengths[:, None]).to(device),
    )


@dataclasses.dataclass(frozen=True)
class DistInfo:
    """This process's place under ``torchrun`` (rank 0 of 1 otherwise)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @staticmethod
    def from_env() -> "DistInfo":
        return DistInfo(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                        int(os.environ.get("LOCAL_RANK", 0)))


def resolve_device(name: str = "auto", dist: DistInfo = DistInfo()) -> torch.device:
    """``auto``: CUDA when present (one GPU per torchrun rank), else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and dist.world > 1:
        name = f"cuda:{dist.local_rank}"
    return torch.device(name)
