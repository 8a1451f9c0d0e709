"""The energy model is a pure function of counts and the chip profiles' cited energies: hand-computed
values, and the profile loader's refusals."""
import json

import pytest
from neuro_av.export.hardware import (
    HardwareProfileError,
    from_energy_table,
    load_profile,
    load_profiles,
    with_builtins,
)
from neuro_av.sim.energy import CMOS45, energy_report

COUNTS = {"spikes": 10.0, "synops": 100.0, "graded_synops": 50.0, "dense_macs": 1000.0, "neuron_updates": 40.0,
          "first_layer_dense_macs": 600.0}
DAVIES = "Davies et al., 'Loihi: A Neuromorphic Manycore Processor with On-Chip Learning', IEEE Micro 38(1), 2018, Table 2"


def _write(path, profile):
    path.write_text(json.dumps(profile))
    return path


def _chip(name="mychip", **energy):
    return {"name": name, "title": "My chip", "figures": {},
            "energy": {k: {"value": v, "source": "my measurement"} for k, v in energy.items()}}


def test_loihi1_dense_and_spikformer_estimates_by_hand():
    e = energy_report(COUNTS, 2000.0, with_builtins())
    loihi = e["neuromorphic"]["loihi1"]
    assert loihi["parts"]["spike_synaptic_events"] == pytest.approx(100 * 23.6e-12)  # binary spikes × fan-out
    assert loihi["parts"]["graded_input_events"] == pytest.approx(50 * 23.6e-12)  # graded inputs × fan-out
    assert loihi["parts"]["neuron_updates"] == pytest.approx(40 * 81e-12)
    assert loihi["parts"]["spikes"] == pytest.approx(10 * 1.7e-12)
    assert loihi["total"] == pytest.approx((150 * 23.6 + 40 * 81 + 10 * 1.7) * 1e-12)
    assert loihi["title"] == load_profile("loihi1")["title"]
    assert e["dense_accelerator"]["total"] == pytest.approx(1000 * 4.6e-12)
    assert e["spikformer_style"]["total"] == pytest.approx((600 * 4.6 + 100 * 0.9) * 1e-12)
    assert e["ann_parts"]["total"] == pytest.approx(2000 * 4.6e-12)
    assert CMOS45 in e["tables"] and e["tables"][0]["source"] == DAVIES  # the sources energy.py cited before
    # Loihi 2's per-operation energies are unpublished: recorded as unknown, never priced
    assert set(e["neuromorphic"]) == {"loihi1"} and "not published" in e["not_priced"]["loihi2"]["reason"]


def test_every_loihi1_energy_has_its_source_and_loihi2s_are_null_with_a_note():
    energy = load_profile("loihi1")["energy"]
    assert {k: v["value"] for k, v in energy.items()} == {
        "synop_pj": 23.6, "neuron_update_pj": 81.0, "neuron_update_inactive_pj": 52.0, "spike_pj": 1.7,
        "tile_hop_east_west_pj": 3.0, "tile_hop_north_south_pj": 4.0}
    assert all(v["source"] == DAVIES for v in energy.values())
    assert all(v["value"] is None and v["note"] for v in load_profile("loihi2")["energy"].values())


def test_a_user_profile_adds_a_column(tmp_path):
    mine = load_profile(_write(tmp_path / "chip.json", _chip(synop_pj=1, neuron_update_pj=2, spike_pj=3)))
    e = energy_report(COUNTS, None, with_builtins([mine]))
    assert e["neuromorphic"]["mychip"]["total"] == pytest.approx((150 + 80 + 30) * 1e-12)
    assert e["neuromorphic"]["mychip"]["title"] == "My chip" and list(e["neuromorphic"]) == ["loihi1", "mychip"]
    assert e["ann_parts"] is None


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_profile_with_a_non_finite_energy_is_refused_naming_file_and_field(tmp_path, value):
    path = tmp_path / "chip.json"
    path.write_text(json.dumps(_chip(synop_pj=1, neuron_update_pj=2, spike_pj=3)).replace(": 3", f": {value}"))
    with pytest.raises(HardwareProfileError) as err:
        load_profile(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "energy.spike_pj" in message and "finite" in message


def test_non_finite_placement_figures_and_unsourced_energies_are_refused(tmp_path):
    chip = {"name": "x", "figures": {"link_bits_per_s": {"value": "NaN", "source": "s"}}}
    path = tmp_path / "x.json"
    path.write_text(json.dumps(chip).replace('"NaN"', "NaN"))
    with pytest.raises(HardwareProfileError, match="link_bits_per_s must be a finite positive number"):
        load_profile(path)
    chip = {"name": "x", "energy": {"synop_pj": {"value": 1.0}}}
    with pytest.raises(HardwareProfileError, match="energy.synop_pj has no source"):
        load_profile(_write(path, chip))
    chip = {"name": "x", "energy": {"synop_pj": {"value": None}}}
    with pytest.raises(HardwareProfileError, match="energy.synop_pj is null .* without a note"):
        load_profile(_write(path, chip))


@pytest.mark.parametrize("field, value, message", [("name", "loihi2", "name 'loihi2' is a built-in profile's"),
                                                   ("title", "Intel Loihi 2", "is the built-in loihi2's")])
def test_a_user_profile_named_like_a_builtin_is_refused(tmp_path, field, value, message):
    path = _write(tmp_path / "fake.json", {**_chip(synop_pj=1, neuron_update_pj=2, spike_pj=3), field: value})
    with pytest.raises(HardwareProfileError, match=message) as err:
        load_profiles([str(path)])
    assert str(path) in str(err.value)
    assert load_profiles(["loihi2"])[0] == load_profile("loihi2")  # the built-in by its name


def test_two_user_profiles_with_one_name_are_refused(tmp_path):
    a = _write(tmp_path / "a.json", _chip(synop_pj=1, neuron_update_pj=2, spike_pj=3))
    b = _write(tmp_path / "b.json", _chip(synop_pj=4, neuron_update_pj=5, spike_pj=6))
    with pytest.raises(HardwareProfileError, match="both have name 'mychip'"):
        load_profiles([str(a), str(b)])


def test_the_deprecated_energy_table_loads_as_an_energy_only_profile(tmp_path):
    path = tmp_path / "table.json"
    path.write_text('{"name": "my chip", "source": "my measurement", "synop_pj": 1, "neuron_update_pj": 2, "spike_pj": 3}')
    profile = from_energy_table(path)
    assert "figures" not in profile and profile["title"] == "my chip"  # priced, not planned
    e = energy_report(COUNTS, None, [profile])
    assert e["neuromorphic"]["my chip"]["total"] == pytest.approx((150 + 80 + 30) * 1e-12)
    path.write_text('{"name": "x", "source": "y", "synop_pj": -1, "neuron_update_pj": 2, "spike_pj": 3}')
    with pytest.raises(ValueError, match="energy.synop_pj must be a finite number of pJ"):
        from_energy_table(path)
