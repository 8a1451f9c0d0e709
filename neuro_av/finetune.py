"""``neuro-av finetune``: a trained run fine-tuned with its spiking branch in Loihi's exact fixed point.

The one module that sees both the trainer (:mod:`neuro_av.training`) and the deployment
(:mod:`neuro_av.export`): it trains through the engine's hooks with export's quantiser frozen.

The spiking branch runs in :class:`neuro_av.functional.loihi_fixed.FixedForward` — the integers export
writes, with ``torch-fixed``'s (= Lava ``fixed_pt``'s) arithmetic, gradients straight through the
roundings and a surrogate at the threshold; ``pre`` and ``post`` stay float. The output folder is a
normal run folder whose checkpoint carries the frozen calibration, so ``evaluate``, ``export``,
``sim``, ``plan`` and ``report`` read it like any run, and its export holds the integers it was
trained with: lava-fixed then equals the model's own forward spike for spike.

**Calibration: re-derived, then frozen.** At the start of each stage the calibration is derived
from that stage's starting model exactly as ``neuro-av export`` derives it (64 train clips, class
by class), then frozen for the stage: scales and exponents stay fixed while the weights move, and
the export of the result uses the frozen values (stored in the checkpoint as ``fixed_point``).

**Protocol** (the two-stage rules of ``train``; no test clip in any choice):

- stage 1: the source run's stage-1 model is reproduced (the same seeded training, for its best
  epoch k; its val HM history is checked against the source's ``metrics.json``), then fine-tuned
  for ``epochs`` epochs on train, scored on val in fixed point after each; the best epoch k' and
  its β* are chosen there;
- stage 2: the source's final model (trained on train+val) is fine-tuned for k' epochs on
  train+val and scored on test at β*.

The source's final model run in fixed point is scored on test too (``source_fixed_point_test``,
what deploying it without fine-tuning gives); it is reported and never used for a choice.
"""
from __future__ import annotations

import copy
import dataclasses
import shutil
import time
import typing
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from neuro_av.errors import ConfigError
from neuro_av.io import check_claim, claim_folder, folder_lock, remove_stale_temporaries, write_json
from neuro_av.run import CHECKPOINT, CONFIG, EPOCH_NUMBERING, METRICS, RUN_FILES, STATE, Run, load_run, \
    read_metrics, save_checkpoint
from neuro_av.training import runfolder
from neuro_av.training.config import TrainConfig, parse_value
from neuro_av.training.engine import Trainer, TrainingError, model_payload
from neuro_av.training.protocol import run_two_stage
from neuro_av.versions import library_versions

COMMAND = "finetune"
REPRODUCTION = ".stage1-reproduction"  # the source's stage 1, retrained here, then removed


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = 3  # stage-1 fine-tuning epochs; stage 2 fine-tunes the best of them
    lr: float = 1e-4
    clamp_weights: bool = True  # keep weights inside their frozen exponent's 8-bit mantissa range
    headroom_penalty: float = 0.0  # λ of FixedForward.take_penalty (24-bit wrap/saturation, 17-bit threshold)
    hardware: str = "loihi2"

    def __post_init__(self):
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {self.epochs}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be positive, got {self.lr}")
        if self.headroom_penalty < 0:
            raise ConfigError(f"headroom_penalty must be 0 or more, got {self.headroom_penalty}")


def parse_sets(pairs: list[str]) -> tuple[dict, dict]:
    """``--set`` values: (fine-tuning settings, training settings) by the field they name."""
    ft_hints, tr_hints = typing.get_type_hints(FinetuneConfig), typing.get_type_hints(TrainConfig)
    ft, tr = {}, {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set {pair!r}: expected key=value")
        key, raw = (s.strip() for s in pair.split("=", 1))
        try:
            if key in ft_hints and key != "hardware":
                ft[key] = parse_value(raw, ft_hints[key])
            elif key in tr_hints and key not in ("epochs", "lr"):
                tr[key] = parse_value(raw, tr_hints[key])
            else:
                known = sorted({*ft_hints, *tr_hints} - {"hardware"})
                raise ConfigError(f"--set {key}: no such fine-tuning setting; known: {', '.join(known)}")
        except ValueError as exc:
            if "no such" in str(exc):
                raise
            raise ConfigError(f"--set {key}={raw}: {exc}") from None
    return ft, tr


def check_hardware(profile: dict) -> None:
    """The arithmetic fine-tuned is Lava's ``fixed_pt``: a profile must not promise less."""
    need = {"weight_bits_max": 8, "state_bits": 24, "threshold_bits": 17}
    for name, bits in need.items():
        value = profile.get("figures", {}).get(name, {}).get("value")
        if value is not None and value < bits:
            raise ConfigError(f"hardware profile {profile.get('name')}: {name} is {value}, and fine-tuning trains "
                              f"Lava's fixed_pt arithmetic ({bits} bits); choose a profile with at least {bits}")


def calibrate(model, data, run_dir: Path) -> dict:
    """The frozen calibration export would derive for ``model`` (64 train clips, class by class)."""
    from neuro_av.export import deploy, hybrid
    from neuro_av.export.compile import compile_graph
    from neuro_av.export.lava.fixed_point import frozen_calibration, quantise
    from neuro_av.export.nir_graph import snn_to_nir

    probe = copy.deepcopy(model).cpu().eval()
    branch = probe.partition().snn
    branch.fixed_point = None
    run = Run(Path(run_dir), {}, probe, data)
    _, _, cal_in = deploy.run_streams(run, "train", deploy.CALIBRATION_CLIPS, deploy.CALIBRATION_SEED)
    peaks = deploy.calibrate(*hybrid.streams(cal_in))
    graph = snn_to_nir(branch, probe.cfg.threshold_base, hybrid.dynamic_threshold(run))
    plan = compile_graph(graph, float(branch.lif_params.dt_s))
    fixed = quantise(plan, input_peak=peaks["input_peak"], threshold_peak=peaks["threshold_peak"])
    return frozen_calibration(fixed)


class FinetuneTrainer(Trainer):
    """:class:`Trainer` whose stages start from the source run's models, in fixed point."""

    def __init__(self, run_dir: Path, source: Run, ft: FinetuneConfig, train_cfg: TrainConfig,
                 show_progress: bool = True):
        self.source, self.ft = source, ft
        super().__init__(run_dir, source.data.cfg, source.name, source.model.cfg, train_cfg, False, show_progress,
                         data=source.data)
        self.states: dict[int, dict] = {}  # stage -> fixed_state (calibration and layer integers)
        self.counts: dict[str, dict] = {}
        self.reproduced: dict = {}

    def new_model(self, stage: int):
        from neuro_av.export.fixed_train import attach

        model = self._reproduce_stage1() if stage == 1 else copy.deepcopy(self.source.model)
        frozen = calibrate(model, self.data, self.run_dir)
        self.states[stage] = attach(model, frozen)
        self.log(f"stage {stage}: spiking branch in fixed point, calibration re-derived from the starting model "
                 f"and frozen (scales {', '.join(f'{k} {v:.4g}' for k, v in frozen['scale'].items())})")
        return model

    def after_step(self, model) -> None:
        if self.ft.clamp_weights:
            from neuro_av.functional.loihi_fixed import clamp_weights

            clamp_weights(model.partition().snn)

    def extra_loss(self, model):
        forward = model.partition().snn.fixed_point
        penalty = forward.take_penalty()
        return self.ft.headroom_penalty * penalty if self.ft.headroom_penalty else 0.0

    def fit(self, set_name: str, n_epochs: int, on_epoch_end):
        model, results = super().fit(set_name, n_epochs, on_epoch_end)
        forward = model.partition().snn.fixed_point
        self.counts[f"stage {1 if set_name == 'train' else 2}"] = dict(forward.counts)
        forward.reset_counts()
        return model, results

    def _reproduce_stage1(self):
        """The source's stage-1 model at its best epoch, retrained with the source's own settings."""
        k = self.source.best_epoch
        src_cfg = TrainConfig(**self.source.checkpoint["train_config"])
        scratch = self.run_dir / REPRODUCTION
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        trainer = Trainer(scratch, self.data_cfg, self.model_name, self.model_cfg, src_cfg, False,
                          self.show_progress, data=self.data)
        total = self.source.checkpoint["train_config"]["epochs"]
        trainer.log = lambda line: self.log(f"reproducing the source's stage 1 to its best epoch ({k} of {total}): {line}")
        history = []

        def score(epoch, m):
            history.append(trainer.score(m, "val", None))
            return history[-1]

        try:
            model, _ = trainer.fit("train", k, score)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        got = [round(100 * r.HM, 4) for r in history]
        want = read_metrics(self.source.run_dir / METRICS).get("val_hm_history", [])[:k]
        self.reproduced = {"epochs": k, "val_hm_history": got, "source_val_hm_history": want,
                           "identical": got == want}
        if got != want:
            self.log(f"warning: the reproduced stage 1 has val HM {got}, the source run {want}: another machine or "
                     "library version; stage 1 goes on from the reproduction")
        return model.cpu()

    def run(self) -> dict:
        t0 = time.monotonic()
        out = run_two_stage(self.fit, self.score, self.ft.epochs)
        model, forward = out.model, out.model.partition().snn.fixed_point
        from neuro_av.functional.loihi_fixed import snap_weights

        snap_weights(model.partition().snn)
        forward.reset_counts()
        test = self.score(model, "test", out.beta)  # the stage-2 model after snapping: what export writes
        self.counts["test"] = dict(forward.counts)
        source_model = copy.deepcopy(self.source.model)
        from neuro_av.export.fixed_train import attach

        attach(source_model, self.states[2]["calibration"])
        source_fixed = self.score(source_model, "test", self.source.beta)
        best = out.best_epoch + 1
        source_metrics = read_metrics(self.source.run_dir / METRICS)
        metrics = {
            **test.as_percent(), "best_epoch": best, "stage1_epochs": self.ft.epochs, "stage2_epochs": best,
            "epoch_numbering": EPOCH_NUMBERING, "model": self.model_name, "dataset": self.data_cfg.dataset,
            "features": self.data_cfg.features, "layout": self.data.layout, "val": out.val.as_percent(),
            "val_hm_history": [round(100 * r.HM, 4) for r in out.val_history],
            "arithmetic": "spiking branch in Loihi fixed point (FixedForward: bit-exact with torch-fixed and lava-fixed)",
            "finetune": {
                "source": str(self.source.run_dir.resolve()), "config": asdict(self.ft),
                "source_float_test": {k: source_metrics.get(k) for k in ("S", "U", "HM", "ZSL", "beta")},
                "source_fixed_point_test": source_fixed.as_percent(),
                "stage1_reproduction": self.reproduced, "calibration": "re-derived from each stage's starting model, "
                "then frozen", "fixed_point_counts": self.counts,
            },
            "world_size": 1, "train_seconds": round(time.monotonic() - t0, 2)}
        save_checkpoint({**model_payload(self.model_name, self.model_cfg, self.data_cfg, self.cfg),
                         "model_state": model.state_dict(), "beta": out.beta, "best_epoch": best,
                         "epoch_numbering": EPOCH_NUMBERING, "fixed_point": self.states[2],
                         "finetuned_from": metrics["finetune"]["source"], "versions": library_versions()},
                        self.run_dir / CHECKPOINT)
        write_json(metrics, self.run_dir / METRICS)
        (self.run_dir / STATE).unlink(missing_ok=True)
        return metrics


def finetune_run(source_dir: Path, out_dir: Path, ft: FinetuneConfig, train_over: dict | None = None,
                 force: bool = False, show_progress: bool = True, command: str | None = None) -> dict:
    """Fine-tune the finished run ``source_dir`` into the run folder ``out_dir``; returns its metrics."""
    from neuro_av.export import hybrid
    from neuro_av.export.hardware import load_profile

    source_dir, out_dir = Path(source_dir), Path(out_dir)
    if out_dir.resolve() == source_dir.resolve():
        raise ConfigError(f"--out {out_dir} is the run being fine-tuned: choose another folder")
    source = load_run(source_dir)
    hybrid.partition(source)  # a model without a spiking branch is refused here
    if "fixed_point" in source.checkpoint:
        raise ConfigError(f"{source_dir} is already a fine-tuned run; fine-tune the run it came from "
                          f"({source.checkpoint.get('finetuned_from')})")
    check_hardware(load_profile(ft.hardware))
    base = dict(source.checkpoint["train_config"])
    train_cfg = TrainConfig(**{**base, **(train_over or {}), "epochs": ft.epochs, "lr": ft.lr})
    check_claim(out_dir, COMMAND, force)
    with folder_lock(out_dir):
        claim_folder(out_dir, COMMAND, RUN_FILES, force=force)
        if (out_dir / METRICS).is_file() and not force:
            raise TrainingError(f"{out_dir} holds a finished fine-tuning: see {out_dir / METRICS}; pass --force to "
                                "fine-tune again, or choose another --out")
        remove_stale_temporaries(out_dir)
        (out_dir / STATE).unlink(missing_ok=True)
        runfolder.log_start(out_dir, command or runfolder.command_line(), "fresh")
        payload = model_payload(source.name, source.model.cfg, source.data.cfg, train_cfg)
        write_json({**payload, "finetune": {"source": str(source_dir.resolve()), **asdict(ft)},
                    "versions": library_versions(), "world_size": 1}, out_dir / CONFIG)
        return FinetuneTrainer(out_dir, source, ft, train_cfg, show_progress).run()


def config_from(epochs: int | None, hardware: str | None, sets: dict) -> FinetuneConfig:
    values = {**sets}
    if epochs is not None:
        values["epochs"] = epochs
    if hardware is not None:
        values["hardware"] = hardware
    fields = {f.name for f in dataclasses.fields(FinetuneConfig)}
    return FinetuneConfig(**{k: v for k, v in values.items() if k in fields})


__all__ = ["FinetuneConfig", "FinetuneTrainer", "TrainingError", "finetune_run", "parse_sets", "config_from"]
