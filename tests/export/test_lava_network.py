"""NIR → Lava: float spike for spike equal to Norse; fixed point measured; many clips per network."""
import numpy as np
import pytest
import torch
from export_fixtures import (
    biased_model,
    branch_through_nir,
    clip_streams,
    random_clips,
)
from neuro_av.export.lava.fixed_point import quantise
from neuro_av.export.lava.network import run_plan
from neuro_av.export.lava.plan import plan_from_nir

pytestmark = pytest.mark.lava


@pytest.mark.parametrize("name", ["stft", "mdft"])
def test_norse_and_lava_float_agree_on_every_spike_bin(tmp_path, name):
    snn_in, out, graph, dt = branch_through_nir(biased_model(name), random_clips(3, dtype=torch.float64), tmp_path)
    lava = run_plan(plan_from_nir(graph, dt), *clip_streams(snn_in), lanes=2)
    assert lava.builds == 1
    for chain, layers in out.spikes.items():
        for i, spikes in enumerate(layers):
            norse = spikes.numpy()
            assert 0 < norse.sum() < norse.size
            bins = norse.size
            differ = int((lava.spikes[f"{chain}.lif{i}"] != norse).sum())
            assert differ == 0, f"{chain}.lif{i}: {differ} of {bins} spike bins differ"


def test_clips_in_one_network_equal_clips_run_alone(tmp_path):
    """Window resets and silenced thresholds isolate clips: batch run == one run per clip."""
    snn_in, _, graph, dt = branch_through_nir(biased_model("stft"), random_clips(3, dtype=torch.float64), tmp_path)
    plan = plan_from_nir(graph, dt)
    currents, thresholds = clip_streams(snn_in)
    together = run_plan(plan, currents, thresholds)
    for clip in range(3):
        alone = run_plan(plan, {k: v[clip:clip + 1] for k, v in currents.items()},
                         {k: v[clip:clip + 1] for k, v in thresholds.items()})
        for pop, spikes in together.spikes.items():
            np.testing.assert_array_equal(spikes[clip], alone.spikes[pop][0])
            assert spikes[clip].any(), f"{pop} silent on clip {clip}"


def test_fixed_point_agreement_is_high_and_quantisation_is_reported(tmp_path):
    snn_in, out, graph, dt = branch_through_nir(biased_model("stft"), random_clips(3, dtype=torch.float64), tmp_path)
    plan = plan_from_nir(graph, dt)
    currents, thresholds = clip_streams(snn_in)
    fixed = quantise(plan, input_peak={k: float(np.abs(v).max()) for k, v in currents.items()},
                     threshold_peak={k: float(np.max(v)) for k, v in thresholds.items()})
    layers = fixed.report["layers"]
    assert all(0 < layers[f"{c}.fc{i}"]["weight_rel_error"] < 0.02 for c in ("audio", "visual") for i in (0, 1))
    assert all(abs(q.weight).max() <= 254 for q in fixed.weights.values())
    lava = run_plan(fixed, currents, thresholds)
    for chain, spikes in out.spikes.items():
        for i, norse in enumerate(spikes):
            got, want = lava.spikes[f"{chain}.lif{i}"], norse.numpy()
            agree = float((got == want).mean())
            assert 0.9 < agree <= 1.0, (chain, i, agree)
            # agreement on an all-silent layer would mean nothing: both fire, in similar amounts
            assert 0 < want.sum() < want.size and abs(int(got.sum()) - int(want.sum())) <= max(0.25 * want.sum(), 5)


def test_padded_steps_lava_matches_norse_on_valid_steps(tmp_path):
    clips = random_clips(2, dtype=torch.float64)
    mask = clips.mask.clone()
    mask[1, 5:] = False  # clip 1 is 5 steps long
    clips = clips._replace(mask=mask)
    snn_in, out, graph, dt = branch_through_nir(biased_model("stft"), clips, tmp_path)
    lava = run_plan(plan_from_nir(graph, dt), *clip_streams(snn_in), mask=mask.numpy())
    valid = mask.numpy()
    for chain, layers in out.spikes.items():
        for i, norse in enumerate(layers):
            got = lava.spikes[f"{chain}.lif{i}"]
            np.testing.assert_array_equal(got[valid], norse.numpy()[valid])
            assert got[valid].any()
            assert not got[~valid].any()  # silent on padded steps
