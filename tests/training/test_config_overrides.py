"""`--set key=value` is typed by the field it names and routed to the training or the model config."""
import pytest

from neuro_av.models.avca import AVCAConfig
from neuro_av.models.stft import STFTConfig
from neuro_av.training.config import split_overrides


def test_values_take_their_field_types():
    train, model = split_overrides(["snn_widths=128,64", "lr=1e-4", "use_glp=false", "device=cpu", "epochs=3"],
                                   STFTConfig)
    assert train == {"lr": 1e-4, "device": "cpu", "epochs": 3}
    assert model == {"snn_widths": (128, 64), "use_glp": False}
    assert all(type(w) is int for w in model["snn_widths"])
    assert split_overrides(["additional_triplet_weights=1,0.5"], AVCAConfig)[1] == {
        "additional_triplet_weights": (1.0, 0.5)}


def test_bad_values_name_the_setting():
    with pytest.raises(ValueError, match="--set use_glp=maybe: 'maybe' is not a boolean"):
        split_overrides(["use_glp=maybe"], STFTConfig)
    with pytest.raises(ValueError, match="expected key=value"):
        split_overrides(["lr"], STFTConfig)


def test_mdft_trains_without_weight_decay_unless_asked():
    # the MDFT seed names no weight decay; AVCA's 1e-5 silenced MDFT's first visual layer (README, Limitations)
    from neuro_av.training.config import training_defaults

    assert training_defaults("mdft", "SynthAV")["weight_decay"] == 0.0
    assert "weight_decay" not in training_defaults("stft", "SynthAV")
    assert split_overrides(["weight_decay=1e-5"], STFTConfig)[0] == {"weight_decay": 1e-5}
