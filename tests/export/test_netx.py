"""The netx file: loaded by lava-dl's ``netx.hdf5.Network`` and run, bit-identical to a NumPy oracle of
Lava's fixed-point models fed the file's own integers; close to the float static-threshold reference."""
import h5py
import numpy as np
import pytest
import torch
from export_fixtures import (
    biased_model,
    branch_through_nir,
    clip_streams,
    random_clips,
)
from neuro_av.export.lava import oracle as oracle
from neuro_av.export.lava.plan import plan_from_nir, simulate
from neuro_av.export.netx_writer import run_netx, write_netx

pytestmark = pytest.mark.lava


@pytest.mark.parametrize("name", ["stft", "mdft"])
def test_netx_file_runs_in_lava_as_its_integers_say(tmp_path, name):
    model = biased_model(name)
    snn_in, _, graph, dt = branch_through_nir(model, random_clips(1, dtype=torch.float64), tmp_path)
    plan = plan_from_nir(graph, dt)
    currents, _ = clip_streams(snn_in, 0)
    x = currents["audio.input"]
    info = write_netx(plan, "audio.input", tmp_path / "audio.net", float(np.abs(x).max()))
    got = run_netx(tmp_path / "audio.net", info, x[None])[info["layers"][-1]["population"]][0]

    steps, depth = x.shape[0], len(info["layers"])
    drive = np.zeros((steps + depth, x.shape[1] + 2), np.int64)
    drive[:steps, :-2] = np.clip(np.rint(x * info["input_scale"]), -127, 127)
    drive[:, -2], drive[:, -1] = info["bias_channel_value"], info["drive_channel_value"]
    layers = []
    with h5py.File(tmp_path / "audio.net") as f:
        for l in range(1, depth + 1):
            g = f[f"layer/{l}"]
            layers.append(oracle.LifLayer(g["weight"][()].astype(np.int64), int(g["neuron/iDecay"][()]) - 1,
                                          int(g["neuron/vDecay"][()]), int(g["neuron/vThMant"][()]),
                                          g["bias"][()].astype(np.int64) << 6))
    # netx's reset_interval zeroes layer l (depth l) at the first step of its window, offset l
    expected = oracle.run_fixed(drive, layers, reset_at=range(1, depth + 1))[-1][depth:depth + steps]
    np.testing.assert_array_equal(got, expected)
    assert all(layer.weights.max() <= 254 for layer in layers)

    last = info["layers"][-1]["population"]
    static = simulate(plan, {k: v[None] for k, v in currents.items()},
                      {p.threshold_input: p.vth for p in plan.populations.values() if p.threshold_input}).spikes[last][0]
    assert 0 < static.sum()
    # quantisation (8-bit inputs and weights, static scales) on a tiny random model: a loose floor;
    # trained runs measure 0.995-1.0 (manifest.json of `neuro-av export`)
    assert (got == static).mean() > 0.75 and 0 < got.sum()
