"""`neuro-av compare` on real tiny runs (tests/deploy_runs.py), a second seed of one, and sim reports of them."""
from __future__ import annotations

import json
import statistics

import pytest

from neuro_av.cli.main import build_parser, main


@pytest.fixture(scope="module")
def seeded(tiny_runs, tmp_path_factory):
    """{"stft": RUN (seed 0), "stft_s1": RUN (seed 1), "mdft": RUN} and a sim report of each stft run."""
    from deploy_runs import SHORT, TINY

    root = tmp_path_factory.mktemp("compare")
    data = json.loads((tiny_runs["stft"] / "config.json").read_text())["data_config"]["root"]
    second = root / "stft_s1"
    assert main(["train", "--model", "stft", "--data", data, "--out", str(second), "--set", "seed=1", *SHORT,
                 *TINY["stft"]]) == 0
    runs = {"stft": tiny_runs["stft"], "stft_s1": second, "mdft": tiny_runs["mdft"]}
    sims = {}
    for name in ("stft", "stft_s1"):
        sims[name] = root / f"{name}_sim"
        assert main(["sim", str(runs[name]), "--backend", "norse", "--backend", "torch-fixed", "--limit", "16",
                     "--out", str(sims[name]), "--no-progress"]) == 0
    return runs, sims


def _lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


def _fits(lines: list[str], width: int = 100) -> bool:
    """Every line but the input folders' paths (printed whole, one a line) within ``width``."""
    return all(len(line) <= width for line in lines if not line.startswith(("  /", "wrote ")))


def _row(lines: list[str], name: str) -> str:
    return next(line for line in lines if line.startswith(name + " "))


@pytest.mark.slow  # trains a second seed and simulates two runs (module fixture)
def test_runs_differing_only_in_seed_share_a_column_with_mean_and_std(seeded, capsys):
    runs, _ = seeded
    assert main(["compare", str(runs["stft"]), str(runs["stft_s1"]), str(runs["mdft"])]) == 0
    lines = _lines(capsys)
    assert _fits(lines)
    assert "stft ×2" in lines[0] and "mdft" in lines[0]
    hm = [json.loads((runs[k] / "metrics.json").read_text())["HM"] for k in ("stft", "stft_s1")]
    mdft_hm = json.loads((runs["mdft"] / "metrics.json").read_text())["HM"]
    cells = _row(lines, "HM model").split()[2:]
    assert cells[:3] == [f"{statistics.fmean(hm):.2f}", "±", f"{statistics.stdev(hm):.2f}"]
    assert cells[3] == f"{mdft_hm:.2f}"
    assert "stft ×2: mean ± std over seeds 0, 1" in lines and f"  {runs['stft_s1']}" in lines
    assert main(["compare", "--separate", str(runs["stft"]), str(runs["stft_s1"])]) == 0
    assert _row(_lines(capsys), "HM model").split()[2:] == [f"{v:.2f}" for v in hm]


@pytest.mark.slow  # trains a second seed and simulates two runs (module fixture)
def test_sim_reports_show_backends_fidelity_energy_and_plan_and_write_md_html(seeded, tmp_path, capsys):
    runs, sims = seeded
    report = json.loads((sims["stft"] / "report.json").read_text())
    out = tmp_path / "cmp"
    assert main(["compare", str(sims["stft"]), str(runs["mdft"]), "--separate", "--out", str(out)]) == 0
    lines = _lines(capsys)
    assert _fits(lines)
    b = report["backends"]
    assert _row(lines, "HM torch-fixed").split()[2] == f"{b['torch-fixed']['HM']:.2f}"
    layer = next(iter(b["torch-fixed"]["fidelity"]["layers"]))
    assert _row(lines, f"Dice {layer} torch-fixed").split()[3] == \
        f"{b['torch-fixed']['fidelity']['layers'][layer]['dice']:.4f}"
    assert _row(lines, f"rate {layer} norse").split()[3] == f"{b['norse']['spikes'][layer]['rate']:.4f}"
    loihi1 = report["deployment"]["targets"]["loihi1"]
    assert ("fits" if loihi1["fits"] else "does not fit") in _row(lines, "loihi1")
    assert _row(lines, "µJ at loihi1 op costs")
    sparsity = report["neurobench"]["workload"]["norse"]["ActivationSparsity"]
    assert _row(lines, "NeuroBench ActivationSparsity").split()[2] == f"{sparsity:.4f}"
    md, page = (out / "compare.md").read_text(), (out / "compare.html").read_text()
    assert "| HM torch-fixed |" in md and f"Dice {layer} torch-fixed" in md
    assert "<table>" in page and "src=" not in page and "http" not in page  # self-contained
    assert sorted(p.name for p in out.iterdir()) == ["compare.html", "compare.md"]  # no temporaries left
    assert lines[-1] == f"wrote compare.md and compare.html in {out}"


@pytest.mark.slow  # trains a second seed and simulates two runs (module fixture)
def test_many_inputs_are_printed_in_blocks_within_the_width(seeded, capsys):
    runs, sims = seeded
    many = [str(runs["stft"]), str(runs["mdft"]), str(sims["stft"]), str(sims["stft_s1"]), str(runs["stft_s1"])] * 2
    assert main(["compare", "--separate", *many]) == 0
    lines = _lines(capsys)
    assert _fits(lines)
    assert sum(line.startswith("accuracy (%)") for line in lines) >= 2  # more than one block of columns


@pytest.mark.slow  # trains a second seed and simulates two runs (module fixture)
def test_a_report_json_path_names_its_folder(seeded, capsys):
    _, sims = seeded
    assert main(["compare", str(sims["stft"] / "report.json")]) == 0
    assert "stft_sim" in _lines(capsys)[0]


@pytest.mark.parametrize("case", ["missing", "neither", "not-a-report", "unfinished-run"])
def test_bad_inputs_get_one_line_naming_them(tmp_path, capsys, case):
    bad = tmp_path / "bad"
    if case == "neither":
        bad.mkdir()
        (bad / "notes.txt").write_text("x")
    elif case == "not-a-report":
        bad.mkdir()
        (bad / "report.json").write_text(json.dumps({"format": "something else"}))
    elif case == "unfinished-run":
        bad.mkdir()
        (bad / "config.json").write_text("{}")
    assert main(["compare", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("neuro-av compare: error:") and str(bad) in err[0]


def test_every_option_has_help():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    parser = sub.choices["compare"]
    assert all(a.help for a in parser._actions), [a.dest for a in parser._actions if not a.help]
