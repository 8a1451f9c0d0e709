"""GZSL metrics against a hand-computed distance matrix (see the comments for each β)."""
import numpy as np
import pytest
import torch

from neuro_av.gzsl import BETAS, gzsl_evaluate

# classes 0, 1 seen; 2, 3 unseen; class 4 is not in the set: its column must be ignored
SEEN, UNSEEN = [0, 1], [2, 3]
TARGETS = [0, 0, 1, 2, 2, 3]
D = np.array([
    [1.0, 2.0, 1.5, 3.0, 0.0],  # t0: right for β < 0.5
    [1.0, 3.0, 2.5, 2.6, 9.0],  # t0: right for β < 1.5
    [2.0, 1.0, 1.3, 3.0, 9.0],  # t1: right for β < 0.3
    [1.0, 2.0, 1.5, 2.0, 9.0],  # t2: right for β > 0.5
    [0.5, 2.0, 1.0, 1.2, 9.0],  # t2: right for β > 0.5
    [1.0, 1.0, 2.0, 1.9, 9.0],  # t3: right for β > 0.9
])


def test_betas_are_the_published_grid():
    assert BETAS == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6, 2.8, 3.0)


def test_best_beta_by_hand():
    # β = 0.6, 0.8: S = (1/2 + 0)/2 = .25, U = (1 + 0)/2 = .5, HM = 1/3
    # β = 1.0 .. 1.4: S = .25, U = 1, HM = .4 (first of them wins); β ≥ 1.6: S = 0
    r = gzsl_evaluate(D, TARGETS, SEEN, UNSEEN)
    assert r.beta == 1.0
    assert r.S == pytest.approx(0.25) and r.U == pytest.approx(1.0) and r.HM == pytest.approx(0.4)
    assert r.ZSL == pytest.approx(1.0)  # among unseen columns only: 2, 2, 3 all right
    assert r.as_percent()["HM"] == pytest.approx(40.0) and r.as_percent()["beta"] == 1.0


def test_fixed_beta_including_zero_is_not_swept():
    r = gzsl_evaluate(D, TARGETS, SEEN, UNSEEN, beta=0.0)
    assert (r.S, r.U, r.HM, r.beta) == (1.0, 0.0, 0.0, 0.0)
    r = gzsl_evaluate(torch.tensor(D), torch.tensor(TARGETS), SEEN, UNSEEN, beta=0.6)
    assert r.S == pytest.approx(0.25) and r.U == pytest.approx(0.5) and r.HM == pytest.approx(1 / 3)


def test_zsl_ignores_seen_columns():
    d = D.copy()
    d[3:, 0] = -5.0  # a seen class closest to every unseen clip
    assert gzsl_evaluate(d, TARGETS, SEEN, UNSEEN).ZSL == pytest.approx(1.0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="both seen and unseen"):
        gzsl_evaluate(D, TARGETS, [0, 2], [2, 3])
    with pytest.raises(ValueError, match=r"\[N, C\] with N = 6"):
        gzsl_evaluate(D[:3], TARGETS, SEEN, UNSEEN)
