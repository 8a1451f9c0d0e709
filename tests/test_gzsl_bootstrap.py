"""The bootstrap spread of S / U / HM / ZSL: each resample scores what gzsl_evaluate scores on the
clips drawn, and the intervals are those of the resampled scores."""
import numpy as np
import pytest

from neuro_av.gzsl import bootstrap_gzsl, gzsl_evaluate, gzsl_predictions, resampled_scores

RNG = np.random.default_rng(3)
N, C = 60, 7
SEEN, UNSEEN = [0, 1, 2, 3], [4, 5, 6]
TARGETS = RNG.integers(0, C, N)
D = RNG.random((N, C)) - 0.6 * np.eye(C)[TARGETS]  # better than chance
BETA = 0.4


def test_each_resample_scores_as_gzsl_evaluate_on_the_drawn_clips():
    pred, pred_zsl = gzsl_predictions(D, SEEN, UNSEEN, BETA)
    weights = RNG.multinomial(N, np.full(N, 1 / N), size=20).astype(float)
    got = resampled_scores(weights, TARGETS, pred, pred_zsl, SEEN, UNSEEN)
    for r, w in enumerate(weights):
        idx = np.repeat(np.arange(N), w.astype(int))
        want = gzsl_evaluate(D[idx], TARGETS[idx], SEEN, UNSEEN, BETA).as_percent()
        for k in ("S", "U", "HM", "ZSL"):
            assert got[k][r] == pytest.approx(want[k], abs=1e-9), (k, r)


def test_all_ones_weights_give_the_point_estimate():
    pred, pred_zsl = gzsl_predictions(D, SEEN, UNSEEN, BETA)
    got = resampled_scores(np.ones((1, N)), TARGETS, pred, pred_zsl, SEEN, UNSEEN)
    want = gzsl_evaluate(D, TARGETS, SEEN, UNSEEN, BETA).as_percent()
    assert {k: got[k][0] for k in want if k != "beta"} == pytest.approx({k: v for k, v in want.items() if k != "beta"})


def test_intervals_hold_the_estimate_and_paired_delta_of_equal_predictions_is_zero():
    a = gzsl_predictions(D, SEEN, UNSEEN, BETA)
    worse = (np.where(np.arange(N) % 3 == 0, (TARGETS + 1) % C, a[0]), a[1])  # a third of the clips made wrong
    out = bootstrap_gzsl({"ref": a, "same": a, "worse": worse}, TARGETS, SEEN, UNSEEN, resamples=500, reference="ref")
    hm = gzsl_evaluate(D, TARGETS, SEEN, UNSEEN, BETA).as_percent()["HM"]
    lo, hi = out["intervals"]["ref"]["HM"]
    assert lo < hm < hi and hi - lo > 1.0  # 60 clips: a wide interval
    assert out["delta"]["same"] == {k: [0.0, 0.0] for k in ("S", "U", "HM", "ZSL")}
    assert out["delta"]["worse"]["HM"][1] < 0  
    again = bootstrap_gzsl({"ref": a}, TARGETS, SEEN, UNSEEN, resamples=500)
    assert again["intervals"]["ref"] == out["intervals"]["ref"]  # seeded: a re-run gives the same figures
