"""The two-stage protocol picks the best val epoch and its β, retrains for best_epoch + 1 epochs."""
import pytest

from neuro_av.gzsl import GZSLResult
from neuro_av.training.protocol import run_two_stage


def test_two_stage_orchestration():
    val_hm = [0.1, 0.5, 0.5, 0.3]  # epoch 1 and 2 tie: the first wins
    calls = []

    def fit(set_name, n_epochs, on_epoch_end):
        calls.append(("fit", set_name, n_epochs))
        results = [on_epoch_end(epoch, f"{set_name}@{epoch}") for epoch in range(n_epochs) if on_epoch_end]
        return f"{set_name}@final", results

    def score(model, set_name, beta):
        calls.append(("score", model, set_name, beta))
        if set_name == "val":
            epoch = int(model.split("@")[1])
            return GZSLResult(S=0.9, U=val_hm[epoch], HM=val_hm[epoch], ZSL=0.2, beta=0.2 * epoch)
        return GZSLResult(S=0.7, U=0.3, HM=0.42, ZSL=0.25, beta=beta)

    out = run_two_stage(fit, score, epochs=4)
    assert out.best_epoch == 1 and out.beta == pytest.approx(0.2)
    assert calls[0] == ("fit", "train", 4)
    assert ("fit", "train_val", 2) in calls
    assert calls[-1] == ("score", "train_val@final", "test", pytest.approx(0.2))
    assert out.test.HM == 0.42 and [r.HM for r in out.val_history] == val_hm


def test_zero_epochs_is_an_error():
    with pytest.raises(ValueError, match="at least 1"):
        run_two_stage(None, None, 0)
