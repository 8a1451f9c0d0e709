"""Whose a run folder is, and what ``train`` may do with it: start, resume, report it finished, or refuse.

Decided by rank 0 under the folder's lock (:func:`neuro_av.io.folder_lock`), before any training:

- a folder ``train`` did not write (no marker, not a run from before markers) is refused unless
  ``--force``, which then replaces only the files a run writes (:data:`neuro_av.run.RUN_FILES`);
- a finished run (``metrics.json``) is refused without ``--resume``; with it, the command is
  answered "already finished" when the settings match, refused when they do not;
- an interrupted run (``state.pt``) needs ``--resume`` (continue) or ``--force`` (start again);
- a folder of ours with neither (a run stopped before its first epoch ended) simply starts again.
"""
from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

from neuro_av.errors import ConfigError
from neuro_av.io import check_claim, claim_folder, folder_owner, read_json, remove_stale_temporaries
from neuro_av.run import CHECKPOINT, CONFIG, METRICS, RANKS, RUN_FILES, STATE, TRAIN_LOG

COMMAND = "train"


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed (``neuro-av ...``), for the top of ``train.log``."""
    args = sys.argv[1:] if argv is None else argv
    return shlex.join(["neuro-av", *args])


def _is_legacy_run(run_dir: Path) -> bool:
    """A run folder written before markers: neuro-av's config.json with the payload keys."""
    try:
        cfg = json.loads((run_dir / CONFIG).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(cfg, dict) and {"model_name", "model_config", "train_config"} <= set(cfg)


def settings_diff(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``["train_config.lr: 0.001 -> 0.0001", ...]``: the settings that differ between two payloads."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "(unset)"), new.get(key, "(unset)")
        if isinstance(a, dict) and isinstance(b, dict):
            out += settings_diff(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a} -> {b}")
    return out


def _changed(run_dir: Path, wanted: dict) -> list[str]:
    cfg = read_json(run_dir / CONFIG, "run config")
    plain = json.loads(json.dumps(wanted))
    return settings_diff({k: cfg.get(k) for k in plain}, plain)


def is_ours(run_dir: Path) -> bool:
    return run_dir.is_dir() and (folder_owner(run_dir) == COMMAND or _is_legacy_run(run_dir))


def precheck(run_dir: Path, force: bool, resume: bool = False) -> Path:
    """Refuse contradictory flags and a foreign folder before a lock file is made in it."""
    if resume and force:
        raise ConfigError("--resume continues a run and --force starts it again: pass one of them")
    return check_claim(Path(run_dir), COMMAND, force, adopt=is_ours(Path(run_dir)))


def prepare(run_dir: Path, wanted: dict, resume: bool, force: bool) -> str:
    """``"fresh"``, ``"resume"`` or ``"finished"``; raises a :class:`TrainingError` for a folder it must not use.

    Call under the folder's lock; ``wanted`` is the run's payload (model, data, training configs)."""
    from neuro_av.training.engine import TrainingError

    run_dir = Path(run_dir)
    claim_folder(run_dir, COMMAND, RUN_FILES, force=force, adopt=is_ours(run_dir))
    remove_stale_temporaries(run_dir)
    remove_stale_temporaries(run_dir / RANKS)
    if force:
        return "fresh"
    finished, interrupted = (run_dir / METRICS).is_file(), (run_dir / STATE).is_file()
    if finished:
        if not resume:
            raise TrainingError(f"{run_dir} holds a finished run: see {run_dir / METRICS}, or `neuro-av evaluate "
                                f"{run_dir}`; pass --force to train it again, or choose another --out")
        changed = _changed(run_dir, wanted)
        if changed:
            raise TrainingError(f"{run_dir} holds a finished run trained with other settings ({'; '.join(changed[:3])}): "
                                "choose another --out, or pass --force (instead of --resume) to train it again")
        (run_dir / STATE).unlink(missing_ok=True)  # a kill between the last writes can leave it
        return "finished"
    if interrupted:
        if not resume:
            raise TrainingError(f"{run_dir} holds an interrupted run: add --resume to continue it, --force to start "
                                "it again, or choose another --out")
        return "resume"
    if resume:
        raise TrainingError(f"nothing to resume: {run_dir / STATE} does not exist (no epoch was completed); run the "
                            "same command without --resume to start")
    for name in (CHECKPOINT, RANKS):  # leftovers of a start that never finished an epoch
        p = run_dir / name
        if p.is_dir():
            import shutil

            shutil.rmtree(p)
        else:
            p.unlink(missing_ok=True)
    return "fresh"


def log_start(run_dir: Path, command: str, how: str) -> None:
    """Append the command line and how the run starts to ``train.log``."""
    from neuro_av.io import disk_error

    line = f"{timestamp()}  # {command}  ({how}, pid {os.getpid()})\n"
    try:
        with open(run_dir / TRAIN_LOG, "a") as f:
            f.write(line)
    except OSError as exc:
        raise (disk_error(run_dir / TRAIN_LOG, exc) or exc) from None


def timestamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")
