"""The training engine: the two-stage protocol over any registered model, with exact resume and DDP.

``train_run(...)`` writes a run directory (file names and readers: :mod:`neuro_av.run`): the config,
``state.pt`` (the last completed epoch, rewritten atomically every epoch, removed when the run
completes), the stage-2 checkpoint, ``metrics.json`` and ``train.log``.

Determinism: every random draw comes from seeded generators whose states are checkpointed, so the
same seeded command gives bit-identical metrics on one machine, and ``--resume`` after a kill
reproduces the uninterrupted run's metrics.

Scale-out: under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped in DistributedDataParallel
(gloo on CPU, nccl on GPU); every rank draws the same global batch and trains on its slice of it;
each rank writes its decisions to ``RUN/ranks/rank<r>.json`` and rank 0 writes everything else.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from neuro_av.data.dataset import AVGZSLData, DataConfig
from neuro_av.data.features import ClipSet
from neuro_av.errors import NeuroAVError
from neuro_av.gzsl import GZSLResult, gzsl_evaluate
from neuro_av.io import disk_error, folder_lock, write_json
from neuro_av.models.base import TrainBatch, ZSLModel
from neuro_av.models.registry import build_model
from neuro_av.run import (
    CHECKPOINT,
    CONFIG,
    EPOCH_NUMBERING,
    METRICS,
    RANKS,
    STATE,
    TRAIN_LOG,
    DistInfo,
    clip_batch,
    load_checkpoint,
    load_run,
    read_metrics,
    resolve_device,
    save_checkpoint,
)
from neuro_av.training.config import TrainConfig
from neuro_av.training import runfolder
from neuro_av.training.protocol import run_two_stage
from neuro_av.training.sampler import ClassBalancedSampler
from neuro_av.versions import git_sha, library_versions


class TrainingError(NeuroAVError, RuntimeError):
    """Training cannot go on (non-finite loss, inconsistent run folder); the message says what to do."""


def score_clips(model: ZSLModel, clips: ClipSet, seen, unseen, text: torch.Tensor, device, batch_size: int,
                beta: float | None) -> GZSLResult:
    """GZSL metrics of ``model`` on ``clips`` (eval mode, no gradients, in batches)."""
    module = model.module if hasattr(model, "module") else model
    module.eval()
    dists = []
    with torch.no_grad():
        text = text.to(device)
        for start in range(0, len(clips), batch_size):
            idx = np.arange(start, min(start + batch_size, len(clips)))
            dists.append(module.distances(clip_batch(clips, idx, device), text).cpu())
    return gzsl_evaluate(torch.cat(dists), clips.targets, seen, unseen, beta)


def model_payload(model_name: str, model_cfg, data_cfg: DataConfig, train_cfg: TrainConfig) -> dict:
    """Everything needed to rebuild the model and its data from a checkpoint alone."""
    return {"model_name": model_name, "model_config": asdict(model_cfg), "data_config": asdict(data_cfg),
            "train_config": asdict(train_cfg)}


class Trainer:
    def __init__(self, run_dir: Path, data_cfg: DataConfig, model_name: str, model_cfg, train_cfg: TrainConfig,
                 resume: bool = False, show_progress: bool = True, data: AVGZSLData | None = None):
        self.run_dir = Path(run_dir)
        self.data_cfg, self.model_name, self.model_cfg, self.cfg = data_cfg, model_name, model_cfg, train_cfg
        self.dist = DistInfo.from_env()
        self.device = resolve_device(train_cfg.device, self.dist)
        self.show_progress = show_progress and self.dist.rank == 0
        self.data = data if data is not None else load_data(data_cfg, model_cfg)
        self.text = torch.from_numpy(np.asarray(self.data.text, dtype=np.float32))
        self._sets: dict[str, tuple[ClipSet, list[int], list[int]]] = dict(getattr(self.data, "sets", {}))
        self.state = self._load_state() if resume else None
        self.stage1_lrs: list[float] = list(self.state["stage1_lrs"]) if self.state else []
        self.stage1_history = [GZSLResult(**r) for r in self.state["stage1_history"]] if self.state else []

    # -- files ------------------------------------------------------------------------------
    def _load_state(self) -> dict | None:
        path = self.run_dir / STATE
        if not path.is_file():
            raise TrainingError(f"nothing to resume: {path} does not exist (no epoch was completed)")
        state = load_checkpoint(path)
        wanted = model_payload(self.model_name, self.model_cfg, self.data_cfg, self.cfg)
        if state["payload"] != wanted:
            changed = runfolder.settings_diff(state["payload"], wanted)
            raise TrainingError(f"{path} was written with other settings ({'; '.join(changed[:3]) or 'types differ'}): "
                                "--resume continues a run only with the same model, data and --set values; "
                                "pass --force (instead of --resume) to start again with the new ones, or choose "
                                "another --out")
        return state

    def log(self, line: str) -> None:
        if self.dist.rank != 0:
            return
        from tqdm import tqdm

        tqdm.write(line, file=sys.stderr)
        try:
            with open(self.run_dir / TRAIN_LOG, "a") as f:
                f.write(f"{runfolder.timestamp()}  {line}\n")
        except OSError as exc:
            raise (disk_error(self.run_dir / TRAIN_LOG, exc) or exc) from None

    # -- data ---------------------------------------------------------------------------------
    def clipset(self, name: str):
        if name not in self._sets:
            self._sets[name] = self.data.protocol_set(name)
        return self._sets[name]

    # -- protocol callbacks ---------------------------------------------------------------------
    def score(self, model: ZSLModel, set_name: str, beta: float | None) -> GZSLResult:
        clips, seen, unseen = self.clipset(set_name)
        return score_clips(model, clips, seen, unseen, self.text, self.device, self.cfg.eval_batch_size, beta)

    def fit(self, set_name: str, n_epochs: int, on_epoch_end):
        stage = 1 if set_name == "train" else 2
        st = self.state
        if st is not None and st["stage"] > stage:  # stage 1 finished before the interruption
            return None, [GZSLResult(**r) for r in st["stage1_history"]]
        torch.manual_seed(self.cfg.seed + 1000 * stage)
        gen = torch.Generator().manual_seed(self.cfg.seed + 1000 * stage + 1)
        model = self.new_model(stage).to(self.device)
        opt = torch.optim.Adam(model.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, "max", patience=self.cfg.plateau_patience,
                                                           factor=self.cfg.plateau_factor)
        start, results, lrs = 0, [], []
        if st is not None and st["stage"] == stage:
            model.load_state_dict(st["model_state"])
            opt.load_state_dict(st["optimizer"])
            sched.load_state_dict(st["scheduler"])
            torch.set_rng_state(st["torch_rng"])
            gen.set_state(st["sampler_rng"])
            start, results, lrs = st["epoch"] + 1, [GZSLResult(**r) for r in st["history"]], list(st["lrs"])
            self.log(f"resumed stage {stage} after epoch {st['epoch'] + 1} of {n_epochs}")
        self.state = None  # consumed

        clips, seen, _ = self.clipset(set_name)
        sampler = ClassBalancedSampler(clips.targets, self.cfg.batch_size, self.cfg.clips_per_class, gen)
        train_ids = torch.tensor(sorted(seen))
        index_of = torch.full((len(self.text),), -1, dtype=torch.long)
        index_of[train_ids] = torch.arange(len(train_ids))
        targets = torch.from_numpy(np.asarray(clips.targets))
        class_text = self.text[train_ids].to(self.device)
        net = model
        if self.dist.world > 1:
            # ablation switches (one modality, no attention) leave modules idle: let DDP skip them
            net = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=True)

        from tqdm import tqdm

        for epoch in range(start, n_epochs):
            if stage == 2 and self.cfg.stage2_lr == "replay" and epoch < len(self.stage1_lrs):
                for group in opt.param_groups:
                    group["lr"] = self.stage1_lrs[epoch]  # replay stage 1's plateau decisions
            model.train()
            bar = tqdm(range(self.cfg.batches_per_epoch), desc=f"stage {stage} epoch {epoch + 1} of {n_epochs}",
                       leave=False, disable=not self.show_progress, file=sys.stderr)
            total = 0.0
            for step in bar:
                pos, neg = sampler.sample()
                pos, neg = pos[self.dist.rank::self.dist.world], neg[self.dist.rank::self.dist.world]
                batch = TrainBatch(pos=clip_batch(clips, pos, self.device), neg=clip_batch(clips, neg, self.device),
                                   text=self.text[targets[pos]].to(self.device),
                                   neg_text=self.text[targets[neg]].to(self.device),
                                   target=index_of[targets[pos]].to(self.device), class_text=class_text)
                loss, _ = net(batch)
                loss = loss + self.extra_loss(model)
                if not torch.isfinite(loss):
                    raise TrainingError(self._non_finite(loss.item(), stage, epoch, n_epochs, step))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                self.after_step(model)
                total += loss.item()
                bar.set_postfix(loss=f"{loss.item():.3f}")
            if self.dist.world > 1:
                # BatchNorm statistics moved on each rank's own slice; DDP re-syncs them only at the next
                # forward. Take rank 0's now, so every rank evaluates (and decides) identically.
                for buf in model.buffers():
                    torch.distributed.broadcast(buf, src=0)
            lrs.append(opt.param_groups[0]["lr"])
            line = f"stage {stage} epoch {epoch + 1} of {n_epochs} loss {total / self.cfg.batches_per_epoch:.4f} lr {lrs[-1]:.2e}"
            if on_epoch_end is not None:
                r = on_epoch_end(epoch, model)
                results.append(r)
                sched.step(r.HM)
                figures = f"S {100 * r.S:.2f} U {100 * r.U:.2f} HM {100 * r.HM:.2f} ZSL {100 * r.ZSL:.2f} β {r.beta:.1f}"
                # stage 2 trains on the val classes: its val figures steer the scheduler, they validate nothing
                line += f" | val {figures}" if stage == 1 else f" | lr monitor on val (trained-on classes) {figures}"
            if stage == 1:
                self.stage1_lrs = list(lrs)
            self.log(line)
            if self.dist.rank == 0:
                save_checkpoint({
                    "payload": model_payload(self.model_name, self.model_cfg, self.data_cfg, self.cfg),
                    "stage": stage, "epoch": epoch, "model_state": model.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "torch_rng": torch.get_rng_state(), "sampler_rng": gen.get_state(),
                    "history": [asdict(r) for r in results], "lrs": lrs, "stage1_lrs": self.stage1_lrs,
                    "stage1_history": [asdict(r) for r in (results if stage == 1 else self.stage1_history)],
                }, self.run_dir / STATE)
        if stage == 1:
            self.stage1_history = results
        return model, results

    # -- what a subclass may change (``neuro_av.training.finetune``) -------------------------------
    def new_model(self, stage: int) -> ZSLModel:
        """The model stage ``stage`` starts from: a fresh one, initialised by the seeded RNG."""
        return build_model(self.model_name, self.model_cfg)

    def after_step(self, model: ZSLModel) -> None:
        """Called after every optimiser step."""

    def extra_loss(self, model: ZSLModel):
        """Added to every batch's loss (0: none)."""
        return 0.0

    def _non_finite(self, value: float, stage: int, epoch: int, n_epochs: int, step: int) -> str:
        where = f"loss became {value} at stage {stage}, epoch {epoch + 1} of {n_epochs}, batch {step + 1}"
        lower = f"--set lr={self.cfg.lr / 10:g}"
        if stage == 1 and epoch == 0:
            return (f"{where}: no epoch was completed, so nothing is kept; start again with a lower learning rate, "
                    f"e.g. the same command with {lower} (the same --out can be used as it is)")
        return (f"{where}; {self.run_dir / STATE} keeps the last completed epoch, but --resume needs the same settings "
                f"and would meet the same batch again: start again with a lower learning rate, e.g. {lower} with "
                "--force (or another --out)")

    def run(self) -> dict:
        t0 = time.monotonic()
        if self.dist.world > 1 and not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        out = run_two_stage(self.fit, self.score, self.cfg.epochs, stage2_scored=self.cfg.stage2_lr == "plateau")
        model = out.model
        from neuro_av.models.costs import cost_report

        clips, _, _ = self.clipset("test")
        costs = cost_report(model, clip_batch(clips, np.arange(min(len(clips), 64)), self.device))
        best = out.best_epoch + 1  # counted from 1, as the log and console count
        metrics = {**{k: v for k, v in out.test.as_percent().items()}, "best_epoch": best,
                   "stage1_epochs": self.cfg.epochs, "stage2_epochs": best, "epoch_numbering": EPOCH_NUMBERING,
                   "model": self.model_name, "dataset": self.data_cfg.dataset, "features": self.data_cfg.features,
                   "layout": self.data.layout, "val": out.val.as_percent(),
                   "val_hm_history": [round(100 * r.HM, 4) for r in out.val_history],
                   "costs": costs, "world_size": self.dist.world, "train_seconds": round(time.monotonic() - t0, 2)}
        if self.dist.rank == 0:
            save_checkpoint({**model_payload(self.model_name, self.model_cfg, self.data_cfg, self.cfg),
                         "model_state": model.state_dict(), "beta": out.beta, "best_epoch": best,
                         "epoch_numbering": EPOCH_NUMBERING,
                         "versions": library_versions()}, self.run_dir / CHECKPOINT)
            write_json(metrics, self.run_dir / METRICS)
            (self.run_dir / STATE).unlink(missing_ok=True)
        if self.dist.world > 1:
            # what each rank decided, so a test (or a user) can see that every rank agrees
            write_json({"rank": self.dist.rank, "best_epoch": best, "beta": out.beta,
                        "val_hm_history": metrics["val_hm_history"],
                        **{k: metrics[k] for k in ("S", "U", "HM", "ZSL")},
                        "weights_sha256": _state_digest(model)}, self.run_dir / RANKS / f"rank{self.dist.rank}.json")
            torch.distributed.barrier()
        return metrics


def _state_digest(model: torch.nn.Module) -> str:
    import hashlib

    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def check_batches(model_name: str, model_cfg, train_cfg: TrainConfig, world: int) -> None:
    """BatchNorm cannot train on one clip: refuse a per-process batch of 1 before any work."""
    per_rank = train_cfg.batch_size // world
    if per_rank >= 2:
        return
    model = build_model(model_name, model_cfg)
    if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        raise TrainingError(f"batch_size={train_cfg.batch_size} gives each of {world} process(es) {per_rank} clip(s) "
                            f"per batch, and {model_name}'s BatchNorm layers need at least 2: use --set "
                            f"batch_size={2 * world} or more")


def load_data(data_cfg: DataConfig, model_cfg) -> AVGZSLData:
    """The run's data with every protocol set read (and checked against the model's input dims)."""
    dims = (model_cfg.audio_dim, model_cfg.video_dim) if hasattr(model_cfg, "audio_dim") else None
    data = AVGZSLData(data_cfg, expected_dims=dims)
    data.text  # noqa: B018  (read now: a missing vector is refused before training starts)
    data.sets = {name: data.protocol_set(name) for name in ("train", "val", "train_val", "test")}
    return data


def train_run(run_dir: Path, data_cfg: DataConfig, model_name: str, model_cfg, train_cfg: TrainConfig,
              resume: bool = False, show_progress: bool = True, force: bool = False,
              command: str | None = None) -> dict:
    """Train into ``run_dir`` (see :mod:`neuro_av.training.runfolder` for what it accepts) and return
    the metrics; a run already finished with these settings (``resume``) returns its metrics with
    ``"already_finished": True`` and trains nothing."""
    run_dir = Path(run_dir)
    dist = DistInfo.from_env()
    wanted = model_payload(model_name, model_cfg, data_cfg, train_cfg)
    if dist.rank != 0:  # rank 0 decides and writes; the others follow the same flags
        if resume and (run_dir / METRICS).is_file():
            return {**read_metrics(run_dir / METRICS), "already_finished": True}
        data = load_data(data_cfg, model_cfg)
        return _train(run_dir, data, data_cfg, model_name, model_cfg, train_cfg, resume, show_progress)
    runfolder.precheck(run_dir, force, resume)
    check_batches(model_name, model_cfg, train_cfg, dist.world)
    with folder_lock(run_dir):
        how = runfolder.prepare(run_dir, wanted, resume, force)
        if how == "finished":
            return {**read_metrics(run_dir / METRICS), "already_finished": True}
        data = load_data(data_cfg, model_cfg)  # bad data is refused before the folder is touched
        runfolder.log_start(run_dir, command or runfolder.command_line(), how)
        write_json({**wanted, "versions": library_versions(), "git_sha": git_sha(), "world_size": dist.world},
                   run_dir / CONFIG)
        return _train(run_dir, data, data_cfg, model_name, model_cfg, train_cfg, how == "resume", show_progress)


def _train(run_dir, data, data_cfg, model_name, model_cfg, train_cfg, resume, show_progress) -> dict:
    trainer = Trainer(run_dir, data_cfg, model_name, model_cfg, train_cfg, resume, show_progress, data=data)
    try:
        return trainer.run()
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def evaluate_run(run_dir: Path) -> dict:
    """Recompute the test metrics of a finished run from its checkpoint (at its β*)."""
    run = load_run(run_dir)
    device = resolve_device("auto", DistInfo())
    clips, seen, unseen = run.data.protocol_set("test")
    text = torch.from_numpy(np.asarray(run.data.text, dtype=np.float32))
    r = score_clips(run.model.to(device), clips, seen, unseen, text, device,
                    run.checkpoint["train_config"]["eval_batch_size"], run.beta)
    return {**r.as_percent(), "best_epoch": run.best_epoch, "epoch_numbering": EPOCH_NUMBERING, "model": run.name,
            "dataset": run.data.cfg.dataset, "clips": len(clips)}
