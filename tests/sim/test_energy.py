"""The energy model is a pure function of counts and a cited table: hand-computed values."""
import pytest
from neuro_av.sim.energy import CMOS45, LOIHI1, energy_report, load_table

COUNTS = {"spikes": 10.0, "synops": 100.0, "graded_synops": 50.0, "dense_macs": 1000.0, "neuron_updates": 40.0,
          "first_layer_dense_macs": 600.0}


def test_loihi1_dense_and_spikformer_estimates_by_hand():
    e = energy_report(COUNTS, ann_macs=2000.0)
    loihi = e["neuromorphic"]["Loihi 1"]
    assert loihi["parts"]["spike_synaptic_events"] == pytest.approx(100 * 23.6e-12)  # binary spikes × fan-out
    assert loihi["parts"]["graded_input_events"] == pytest.approx(50 * 23.6e-12)  # graded inputs × fan-out
    assert loihi["parts"]["neuron_updates"] == pytest.approx(40 * 81e-12)
    assert loihi["parts"]["spikes"] == pytest.approx(10 * 1.7e-12)
    assert loihi["total"] == pytest.approx((150 * 23.6 + 40 * 81 + 10 * 1.7) * 1e-12)
    assert e["dense_accelerator"]["total"] == pytest.approx(1000 * 4.6e-12)
    assert e["spikformer_style"]["total"] == pytest.approx((600 * 4.6 + 100 * 0.9) * 1e-12)
    assert e["ann_parts"]["total"] == pytest.approx(2000 * 4.6e-12)
    assert LOIHI1 in e["tables"] and CMOS45 in e["tables"]


def test_user_table_adds_a_column_and_bad_tables_are_refused(tmp_path):
    path = tmp_path / "loihi2.json"
    path.write_text('{"name": "my chip", "source": "my measurement", "synop_pj": 1, "neuron_update_pj": 2, "spike_pj": 3}')
    e = energy_report(COUNTS, None, [load_table(path)])
    assert e["neuromorphic"]["my chip"]["total"] == pytest.approx((150 + 80 + 30) * 1e-12)
    assert e["ann_parts"] is None
    path.write_text('{"name": "x", "source": "y", "synop_pj": -1, "neuron_update_pj": 2, "spike_pj": 3}')
    with pytest.raises(ValueError, match="synop_pj must be a non-negative"):
        load_table(path)
