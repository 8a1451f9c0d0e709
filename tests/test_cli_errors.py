"""Bad input gets one line that names the file or setting and what is wrong — never a traceback —
and a non-zero exit; a bug inside neuro-av keeps its traceback."""
import json

import numpy as np
import pytest
import torch

from neuro_av.cli.main import main

LIF = "nir-paper/01_lif/lif_norse.nir"


def _one_line_error(capsys, *fragments) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert "Traceback" not in err
    for f in fragments:
        assert f in err, err
    return err


def _run_with_checkpoint(tmp_path, payload: bytes):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(payload)
    return run


def _truncated_checkpoint() -> bytes:
    import io

    buf = io.BytesIO()
    torch.save({"model_name": "stft", "model_state": {"w": torch.zeros(1000)}}, buf)
    return buf.getvalue()[: len(buf.getvalue()) // 2]


@pytest.mark.parametrize("payload", [b"not a checkpoint at all", _truncated_checkpoint()], ids=["garbage", "truncated"])
@pytest.mark.parametrize("command", [["export"], ["sim", "--out", "OUT"], ["evaluate"], ["plan"]])
def test_a_corrupted_or_truncated_checkpoint_is_one_line(tmp_path, capsys, payload, command):
    run = _run_with_checkpoint(tmp_path, payload)
    argv = [command[0], str(run), *[str(tmp_path / "o") if a == "OUT" else a for a in command[1:]]]
    assert main(argv) == 2
    _one_line_error(capsys, "checkpoint.pt", "is not a readable neuro-av checkpoint", "train the run again")


def test_a_file_that_is_not_nir_is_one_line(tmp_path, capsys):
    bad = tmp_path / "graph.nir"
    bad.write_text("hello")
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((5, 1)))
    assert main(["sim", "--nir", str(bad), "--input", str(x), "--dt", "1e-4", "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "graph.nir", "is not a readable NIR graph")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_infinite_input_is_one_line(shared_data, tmp_path, capsys, bad):
    x = np.zeros((20, 1))
    x[7, 0] = bad
    np.save(tmp_path / "x.npy", x)
    assert main(["sim", "--nir", str(shared_data / LIF), "--input", str(tmp_path / "x.npy"), "--dt", "1e-4",
                 "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "x.npy", "NaN or infinite", "step 7")


@pytest.mark.parametrize("dt", ["0", "-1e-4"])
def test_a_non_positive_dt_is_one_line(shared_data, tmp_path, capsys, dt):
    np.save(tmp_path / "x.npy", np.zeros((5, 1)))
    assert main(["sim", "--nir", str(shared_data / LIF), "--input", str(tmp_path / "x.npy"), f"--dt={dt}",
                 "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "--dt must be a positive number of seconds")
    assert main(["plan", str(shared_data / LIF), f"--dt={dt}"]) == 2
    _one_line_error(capsys, "--dt")


@pytest.mark.parametrize("content", ["{not json", "\x00\x01binary", "[1, 2]"])
def test_an_energy_table_that_is_not_a_json_object_is_one_line(tmp_path, capsys, content):
    table = tmp_path / "table.json"
    table.write_text(content)
    assert main(["sim", str(tmp_path), "--energy-table", str(table), "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "energy table", "table.json")


@pytest.mark.parametrize("command", [["sim", "RUN", "--out", "OUT"], ["plan", "RUN"], ["export", "RUN"]])
def test_a_hardware_profile_with_a_non_finite_energy_or_a_builtin_name_is_one_line(tmp_path, capsys, command):
    command = [str(tmp_path / c) if c in ("RUN", "OUT") else c for c in command]
    chip = tmp_path / "chip.json"
    chip.write_text('{"name": "c", "energy": {"synop_pj": {"value": NaN, "source": "s"}}}')
    assert main([*command, "--hardware", str(chip)]) == 2
    _one_line_error(capsys, "chip.json", "energy.synop_pj", "finite")
    chip.write_text('{"name": "loihi1", "figures": {}}')
    assert main([*command, "--hardware", str(chip)]) == 2
    _one_line_error(capsys, "chip.json", "'loihi1' is a built-in profile's")
    assert main([*command, "--hardware", str(tmp_path / "missing.json")]) == 2
    _one_line_error(capsys, "missing.json does not exist")


def test_the_cases_that_already_worked_still_do(tmp_path, capsys, shared_data):
    assert main(["export", str(tmp_path / "nowhere")]) == 2
    _one_line_error(capsys, "has no checkpoint.pt")
    np.save(tmp_path / "wide.npy", np.zeros((10, 3)))
    assert main(["sim", "--nir", str(shared_data / LIF), "--input", str(tmp_path / "wide.npy"), "--dt", "1e-4",
                 "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "does not match the graph's input width 1")
    assert main(["sim", "--nir", str(shared_data / LIF), "--input", str(tmp_path / "wide.npy"),
                 "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "pass dt explicitly")
    base = ["train", "--model", "avca", "--data", str(tmp_path), "--out", str(tmp_path / "r")]
    assert main([*base, "--set", "nope=1"]) == 2
    _one_line_error(capsys, "--set nope: no such setting")
    assert main([*base, "--set", "lr=abc"]) == 2
    _one_line_error(capsys, "--set lr=abc")
    assert main(["train", "--model", "avca", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 2
    _one_line_error(capsys, "data root", "does not exist")
    table = tmp_path / "t.json"
    table.write_text(json.dumps({"name": "Loihi 2", "synop_pj": 1, "neuron_update_pj": 1, "spike_pj": 1}))
    assert main(["sim", str(tmp_path), "--energy-table", str(table), "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "lacks source")


def test_a_bug_keeps_its_traceback(monkeypatch, tmp_path):
    """Only neuro-av's own error types become one-line messages."""
    import neuro_av.cli.data as data_cli

    def broken(args):
        raise ValueError("an internal shape mismatch")

    monkeypatch.setattr(data_cli, "run_synth", broken)
    with pytest.raises(ValueError, match="internal shape mismatch"):
        main(["data", "synth", "--out", str(tmp_path)])


def _lif_graph(path, n: int = 3, width: int = 2, v_init=None, weight=None):
    """A NIR file Input(width) → Affine → LIF(n) → Output, written with the nir package."""
    import nir

    meta = {} if v_init is None else {"v_init": v_init}
    nodes = {"input": nir.Input(input_type=np.array([width])),
             "fc": nir.Affine(weight=np.ones((n, width)) if weight is None else weight, bias=np.zeros(n)),
             "lif": nir.LIF(tau=np.full(n, 1e-3), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n),
                            metadata=meta),
             "output": nir.Output(output_type=np.array([n]))}
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")]))
    return path


@pytest.mark.parametrize("v_init, said", [(np.zeros(5), "v_init has 5 values for 3 neurons"),
                                          (np.array([0.0, np.nan, 0.0]), "v_init holds NaN or infinite values"),
                                          ("zero", "v_init = 'zero' is not numbers")], ids=["size", "nan", "string"])
def test_a_bad_v_init_in_nir_metadata_is_one_line(tmp_path, capsys, v_init, said):
    g = _lif_graph(tmp_path / "g.nir", v_init=v_init)
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    assert main(["sim", "--nir", str(g), "--input", str(tmp_path / "x.npy"), "--dt", "1e-4",
                 "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "NIR node lif", said)


@pytest.mark.parametrize("x, said", [(np.zeros((0, 2)), "has no time steps"), (np.zeros((0, 5, 2)), "has no clips"),
                                     (np.zeros((3, 0, 2)), "has no time steps"),
                                     (np.ones((5, 2)) + 1j, "complex128 are complex")],
                         ids=["no-steps", "no-clips", "batch-no-steps", "complex"])
def test_an_empty_or_complex_input_is_one_line(tmp_path, capsys, x, said):
    g = _lif_graph(tmp_path / "g.nir")
    np.save(tmp_path / "x.npy", x)
    assert main(["sim", "--nir", str(g), "--input", str(tmp_path / "x.npy"), "--dt", "1e-4",
                 "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "x.npy", said)
    (tmp_path / "x.csv").write_text("")
    assert main(["sim", "--nir", str(g), "--input", str(tmp_path / "x.csv"), "--dt", "1e-4",
                 "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "x.csv", "has no time steps")


def test_a_graph_too_large_for_memory_is_refused_before_allocating(tmp_path, capsys, monkeypatch):
    """10⁷ neurons: the identity synapse from the input would be 728 TiB; a 10⁷-neuron layer fed by
    one input has small weights, but its reference record of 1,000 steps would be 75 GiB."""
    import nir

    import neuro_av.memory as memory

    n = 10**7
    lif = nir.LIF(tau=np.full(n, 1e-3, np.float32), r=np.ones(n, np.float32), v_leak=np.zeros(n, np.float32),
                  v_threshold=np.ones(n, np.float32))
    wide = tmp_path / "wide.nir"
    nir.write(wide, nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([n])), "lif": lif,
                                        "output": nir.Output(output_type=np.array([n]))},
                                 edges=[("input", "lif"), ("lif", "output")]))
    assert main(["plan", str(wide), "--dt", "1e-4"]) == 2
    _one_line_error(capsys, "NIR node input -> lif: needs", "GiB for its dense weights", "this machine has",
                    "split the layer")
    monkeypatch.setattr(memory, "available_bytes", lambda: 4 << 30)  # the same verdict on any machine
    deep = _lif_graph(tmp_path / "deep.nir", n=n // 10, width=1, weight=np.ones((n // 10, 1), np.float32))
    np.save(tmp_path / "x.npy", np.zeros((1000, 1)))
    assert main(["sim", "--nir", str(deep), "--input", str(tmp_path / "x.npy"), "--dt", "1e-4",
                 "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "needs 7.5 GiB for the reference's record of 1 clip(s) × 1,000 steps × 1,000,000 neurons",
                    "this machine has 4.0 GiB available", "--limit")
    monkeypatch.setattr(memory, "available_bytes", lambda: 100 << 20)  # a 3,000² Affine on a machine with 100 MiB
    square = _lif_graph(tmp_path / "square.nir", n=3000, width=3000, weight=np.zeros((3000, 3000), np.float32))
    assert main(["plan", str(square), "--dt", "1e-4"]) == 2
    _one_line_error(capsys, "NIR node fc: needs 0.2 GiB for its dense weights (9,000,000 values",
                    "this machine has 0.1 GiB available", "split the layer")


def test_an_input_that_drives_a_weight_exponent_off_the_chip_is_one_line(tmp_path, capsys):
    """Inputs of 1e300: fixed point would need a weight exponent of 2^990 (Lava shifts by it and
    lava-fixed agreed 16.7 % with exit 0); refused, naming the synapse and the input."""
    g = _lif_graph(tmp_path / "g.nir")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((20, 2)) * 1e300)
    assert main(["sim", "--nir", str(g), "--input", str(tmp_path / "x.npy"), "--dt", "1e-4",
                 "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "synapse fc needs a weight exponent of", "outside Loihi's register (-8…7)",
                    "the graded input input reaches", "scale the input to the range of the graph's thresholds")
    huge = _lif_graph(tmp_path / "huge.nir", weight=np.full((3, 2), 1e300))  # the weights, not the input
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((20, 2)))
    assert main(["sim", "--nir", str(huge), "--input", str(tmp_path / "x.npy"), "--dt", "1e-4",
                 "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "synapse fc needs a weight exponent of", "times lif's largest threshold (1)",
                    "scale the weights down or the thresholds up")


def test_nir_parameters_that_are_not_numbers_are_one_line(tmp_path, capsys):
    g = _lif_graph(tmp_path / "g.nir", weight=np.array([[b"a", b"b"]] * 3))
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    assert main(["sim", "--nir", str(g), "--input", str(tmp_path / "x.npy"), "--dt", "1e-4",
                 "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "NIR node fc (Affine): weight holds values of dtype |S1, not numbers")


def test_report_of_a_folder_with_no_backends_is_one_line(tmp_path, capsys):
    (tmp_path / "report.json").write_text(json.dumps({"format": "neuro-av sim report 2", "backends": {}}))
    assert main(["report", str(tmp_path)]) == 2
    _one_line_error(capsys, "report.json holds no backend's results", "run `neuro-av sim` again")


@pytest.mark.parametrize("meta, said", [({"dt": "abc"}, "its metadata has dt = 'abc', in no stated unit"),
                                        ({"dt_s": "abc"}, "its metadata dt_s = 'abc' is not a number of seconds"),
                                        ({"dt_s": -1.0}, "dt must be a positive number of seconds, got -1.0")],
                         ids=["dt-string", "dt_s-string", "dt_s-negative"])
def test_a_bad_time_step_in_nir_metadata_is_one_line(tmp_path, capsys, meta, said):
    import nir

    g = _lif_graph(tmp_path / "g.nir")
    graph = nir.read(g)
    graph.metadata = meta
    nir.write(g, graph)
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    assert main(["sim", "--nir", str(g), "--input", str(tmp_path / "x.npy"), "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "g.nir", said)
    assert main(["plan", str(g)]) == 2
    _one_line_error(capsys, "g.nir", said)


def test_sim_and_plan_on_an_ascii_console_get_no_encoding_error(tmp_path):
    """The console lines carry µJ, θ and →: an ASCII console gets '?' for them, not a UnicodeEncodeError."""
    import os
    import subprocess
    import sys

    from helpers import REPO

    g = _lif_graph(tmp_path / "g.nir")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((20, 2)))
    env = {**os.environ, "LC_ALL": "C", "PYTHONIOENCODING": "ascii"}
    for argv in (["plan", str(g), "--dt", "1e-4"],
                 ["sim", "--nir", str(g), "--input", str(tmp_path / "x.npy"), "--dt", "1e-4", "--backend", "reference",
                  "--out", str(tmp_path / "o"), "--no-progress"]):
        done = subprocess.run([sys.executable, "-m", "neuro_av", *argv], capture_output=True, cwd=REPO, env=env)
        assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr[-2000:]
        assert b"?" in done.stdout and max(done.stdout) < 128


@pytest.mark.parametrize("figure", ["NaN", "Infinity", "-1"])
def test_an_energy_table_with_a_figure_that_is_not_a_finite_energy_is_one_line(tmp_path, capsys, figure):
    table = tmp_path / "table.json"
    table.write_text('{"name": "X", "source": "s", "synop_pj": %s, "neuron_update_pj": 1, "spike_pj": 1}' % figure)
    g = _lif_graph(tmp_path / "g.nir")
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    assert main(["sim", "--nir", str(g), "--input", str(tmp_path / "x.npy"), "--dt", "1e-4", "--energy-table",
                 str(table), "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "table.json", "synop_pj must be a finite number of pJ")
    assert not (tmp_path / "o" / "report.json").exists()


@pytest.mark.parametrize("fault, said", [("loop", "is a symbolic link loop"),
                                         ("dangling", "is a dangling symbolic link"),
                                         ("folder", "is a folder, not a file")])
def test_a_graph_input_or_profile_that_is_a_broken_link_or_a_folder_is_named_as_such(tmp_path, capsys, fault, said):
    g = _lif_graph(tmp_path / "g.nir")
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    bad = tmp_path / "bad.json"
    if fault == "loop":
        bad.symlink_to(bad.name)
    elif fault == "dangling":
        bad.symlink_to(tmp_path / "gone")
    else:
        bad.mkdir()
    base = ["--dt", "1e-4", "--out", str(tmp_path / "o")]
    for argv, what in ([["sim", "--nir", str(bad), "--input", str(tmp_path / "x.npy"), *base], "NIR graph"],
                       [["sim", "--nir", str(g), "--input", str(bad), *base], "input file"],
                       [["sim", "--nir", str(g), "--input", str(tmp_path / "x.npy"), "--hardware", str(bad), *base],
                        "hardware profile"]):
        assert main(argv) == 2
        _one_line_error(capsys, f"{what} {bad} {said}")


def test_an_out_that_is_a_file_is_one_line_and_the_file_is_kept(tmp_path, capsys):
    g = _lif_graph(tmp_path / "g.nir")
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    out = tmp_path / "notes.txt"
    out.write_text("mine")
    assert main(["sim", "--nir", str(g), "--input", str(tmp_path / "x.npy"), "--dt", "1e-4", "--out", str(out)]) == 2
    _one_line_error(capsys, f"--out {out} is a file: choose a folder")
    assert out.read_text() == "mine"
