"""What the deployment benchmarks share: a trained run's export and the boundary streams of its test
clips (``pre`` run once on the host)."""
from __future__ import annotations

from pathlib import Path


def test_streams(run_dir: Path, clips: int | None = None):
    """(run, exported branch, (currents, thresholds, mask)) of the first ``clips`` test clips (all by default)."""
    import numpy as np
    import torch
    from neuro_av.export import hybrid
    from neuro_av.export.deploy import ensure_export

    from neuro_av.lava_compat import guard_lava_processes
    from neuro_av.run import clip_batch, load_run

    guard_lava_processes()
    run = load_run(Path(run_dir))
    branch = ensure_export(run, ("nir", "lava"))
    split = run.data.protocol_set("test")[0]
    n = min(clips or len(split), len(split))
    with torch.no_grad():
        snn_in, _ = hybrid.partition(run).pre(clip_batch(split, np.arange(n)))
    return run, branch, hybrid.streams(snn_in)
