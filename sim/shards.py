"""Co-simulation of a run, in one process or sharded, and the report: what ``neuro-av sim RUN`` calls.

``simulate_run`` first makes sure ``RUN/export`` holds current files (exporting if they are missing
or stale), then runs the clips in one process, in ``workers`` child processes (each a contiguous
slice), or — under ``torchrun`` — one slice per rank with rank 0 merging. Shards keep raw sums and
distances, so the merged figures equal a single run's exactly. A child is started as
``python -m neuro_av.sim.shards RUN FOLDER`` (its options in ``FOLDER/options.json``).

Shard results go to a folder private to this run (``OUT/.shards.tmp-<pid>-*``), removed when the
run ends, so two runs never read each other's shards. Children die with their parent (SIGKILL
included); on Ctrl-C or SIGTERM they stop their Lava networks and exit without a word (the parent
prints the one line), and the parent writes no report.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

from neuro_av.export.deploy import ensure_export, load_branch
from neuro_av.sim.cosim import (
    SimOptions,
    finalize,
    merged_spikes,
    read_shard,
    run_shard,
    select_clips,
    write_shard,
)
from neuro_av.sim.report import save_spikes, write_report

from neuro_av.errors import NeuroAVError
from neuro_av.io import write_json
from neuro_av.run import DistInfo, load_run

SHARDS = ".shards.tmp-"  # + pid: this run's shard results, inside the output folder
PARENT_ENV = "NEURO_AV_SHARD_PARENT"  # a child's parent pid: the child dies with it
STOP_WAIT_S = 10.0  # how long a child asked to stop is waited for before it is killed


def _needs(opts: SimOptions) -> tuple[str, ...]:
    """Export targets the chosen backends declare, and ONNX for an ONNX host."""
    from neuro_av.export import backends

    return (*backends.needs(opts.backends), *(("onnx",) if opts.host == "onnx" else ()))


def simulate_run(run_dir: Path, opts: SimOptions, out: Path, workers: int = 1,
                 log: Callable[[str], None] = print) -> dict | None:
    """Simulate, merge and write ``out/report.{json,md,html}`` (and ``spikes.npz``); returns the
    report paths, or None on a torchrun rank other than 0."""
    out = Path(out)
    dist = DistInfo.from_env()
    if workers < 1:
        raise NeuroAVError(f"--workers must be at least 1, got {workers}")
    if dist.world > 1:
        return _torchrun(run_dir, opts, out, dist, log)
    run = load_run(run_dir)
    branch = ensure_export(run, _needs(opts), log)
    if workers > 1:  # a shard needs a clip: no more workers than clips
        clips = len(select_clips(len(run.data.protocol_set(opts.split)[0]), opts.limit))
        if workers > clips:
            log(f"sim: notice: --workers {workers} is more than the {clips} clip(s) to run; using {max(clips, 1)}")
            workers = max(clips, 1)
    if workers == 1:
        parts = [run_shard(run, branch, opts)]
    else:
        parts = _children(run_dir, opts, out, workers)
    return _write(run, branch, opts, parts, out)


def _write(run, branch, opts: SimOptions, parts: list[dict], out: Path) -> dict:
    report = finalize(run, branch, opts, parts)
    report["warnings"] = [*report.get("warnings", []), *sample_warnings(opts.split, parts)]
    if opts.save_spikes:
        save_spikes(merged_spikes(parts, opts.backends), out / "spikes.npz")
    return write_report(report, out)


def sample_warnings(split: str, parts: list[dict]) -> list[str]:
    """A warning where fewer clips ran than the split has classes (a small --limit): S, U and HM
    average per-class accuracies, so most classes go unscored and the figures are not the model's."""
    clips = sum(p["clips"] for p in parts)
    classes = len(parts[0]["seen"]) + len(parts[0]["unseen"])
    if clips >= classes:
        return []
    return [f"{clips} clips for the {classes} classes of the {split} split is too small a sample to score: S, U "
            "and HM average per-class accuracies and most classes have no clip here, so they compare the backends "
            "with each other, not the model with anything (run without --limit for its accuracy)"]


def _shard_folder(out: Path) -> Path:
    """A new folder for this run's shard results, private to it (removed by the caller)."""
    out.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{SHARDS}{os.getpid()}-", dir=out))


def _children(run_dir: Path, opts: SimOptions, out: Path, workers: int) -> list[dict]:
    folder = _shard_folder(out)
    procs = []
    try:
        env = {**os.environ, "OMP_NUM_THREADS": "1", PARENT_ENV: str(os.getpid())}
        for i in range(workers):
            shard_opts = SimOptions.from_json({**opts.to_json(), "shard": [i, workers], "progress": False})
            write_json(shard_opts.to_json(), folder / str(i) / "options.json")
            cmd = [sys.executable, "-m", "neuro_av.sim.shards", str(run_dir), str(folder / str(i))]
            procs.append(subprocess.Popen(cmd, env=env))
        codes = [p.wait() for p in procs]
        if any(codes):
            raise NeuroAVError(f"sim shard(s) {[i for i, c in enumerate(codes) if c]} failed; see their messages "
                               "above")
        return [read_shard(folder / str(i)) for i in range(workers)]
    finally:
        _stop(procs)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(procs: list[subprocess.Popen]) -> None:
    """Ask children still running to stop (SIGTERM), kill those that have not within STOP_WAIT_S."""
    from neuro_av.signals import deferred

    with deferred():
        running = [p for p in procs if p.poll() is None]
        for p in running:
            p.terminate()
        for p in running:
            try:
                p.wait(STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _torchrun(run_dir: Path, opts: SimOptions, out: Path, dist: DistInfo, log) -> dict | None:
    import torch.distributed as td

    td.init_process_group("gloo")
    folder = None
    try:
        run = load_run(run_dir)
        if dist.rank == 0:
            ensure_export(run, _needs(opts), log)
            folder = _shard_folder(out)
        shared = [str(folder) if folder else None]
        td.broadcast_object_list(shared, src=0)  # every rank writes into rank 0's private folder
        branch = load_branch(run.export_dir)
        shard = SimOptions.from_json({**opts.to_json(), "shard": [dist.rank, dist.world],
                                      "progress": opts.progress and dist.rank == 0})
        write_shard(run_shard(run, branch, shard), Path(shared[0]) / str(dist.rank))
        td.barrier()
        if dist.rank != 0:
            return None
        return _write(run, branch, opts, [read_shard(folder / str(r)) for r in range(dist.world)], out)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        td.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    """A ``--workers`` child: compute one shard into FOLDER (options in FOLDER/options.json)."""
    from neuro_av.lava_compat import die_with_parent, guard_lava_processes
    from neuro_av.signals import exit_status

    guard_lava_processes()
    if os.environ.get(PARENT_ENV):
        die_with_parent(int(os.environ[PARENT_ENV]))
    run_dir, folder = (Path(a) for a in (argv or sys.argv[1:]))
    try:
        opts = SimOptions.from_json(json.loads((folder / "options.json").read_text()))
        run = load_run(run_dir)
        write_shard(run_shard(run, load_branch(run.export_dir), opts), folder)
    except KeyboardInterrupt as exc:  # the parent, interrupted too, says so
        _deaf()
        return exit_status(exc)
    _deaf()
    return 0


def _deaf() -> None:
    """On its way out a worker ignores SIGINT and SIGTERM: the parent's SIGTERM (it stops workers it
    was interrupted with) would otherwise land in an exit handler and print 'Exception ignored'."""
    import signal

    from neuro_av.signals import INTERRUPTS

    for sig in INTERRUPTS:
        signal.signal(sig, signal.SIG_IGN)


if __name__ == "__main__":
    sys.exit(main())
