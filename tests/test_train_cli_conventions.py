"""CLI conventions of train / evaluate / bench / data / doctor: help for every option, one spelling
per option, `| head` and ASCII consoles safe, bench checks everything before training, and
`--resume` with changed settings names them. Real processes and pipes."""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from helpers import REPO, tiny_synthetic

from neuro_av.cli.main import build_parser, main

MINE = [("train",), ("evaluate",), ("bench",), ("data", "synth"), ("data", "inspect"), ("doctor",)]


def _sub(parser, path):
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


def _commands(parser, path=()):
    """(path, parser) of every command and sub-command under ``parser``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _commands(sub, (*path, name))


def test_every_option_of_every_command_has_help_text():
    commands = dict(_commands(build_parser()))
    assert set(MINE) | {("export",), ("sim",), ("plan",), ("report",), ("finetune",)} <= set(commands)
    bare = {" ".join(path): [a.option_strings or a.dest for a in parser._actions
                             if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
                             and a.help != argparse.SUPPRESS and not (a.help or "").strip()]
            for path, parser in commands.items()}
    assert not {k: v for k, v in bare.items() if v}, "options without help"


def test_every_help_fits_100_columns_on_a_wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    parser = build_parser()
    wide = {" ".join(path): [line for line in sub.format_help().splitlines() if len(line) > 100]
            for path, sub in [((), parser), *_commands(parser)]}
    assert not {k: v for k, v in wide.items() if v}
    assert "  neuro-av sim runs/stft   # all backends" in _sub(parser, ("sim",)).format_help()  # examples kept


def test_sim_offers_only_backends_that_run_and_still_takes_numpy():
    sim = dict(_commands(build_parser()))[("sim",)]
    backend = next(a for a in sim._actions if "--backend" in a.option_strings)
    assert "numpy" not in backend.choices and "numpy" not in sim.format_help()
    assert sim.parse_args(["run", "--backend", "numpy"]).backend == ["reference"]


def test_one_spelling_per_option_with_the_old_ones_hidden():
    inspect_help = _sub(build_parser(), ("data", "inspect")).format_help()
    assert "--data" in inspect_help and "--root" not in inspect_help
    bench_help = _sub(build_parser(), ("bench",)).format_help()
    assert "--no-progress" in bench_help and "--progress " not in bench_help.replace("--no-progress", "")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tiny_synthetic(tmp_path_factory.mktemp("data"))


def test_inspect_takes_data_and_the_old_root(data, capsys):
    assert main(["data", "inspect", "--data", str(data), "--dataset", "SynthAV", "--json"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert main(["data", "inspect", "--root", str(data), "--dataset", "SynthAV", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == a and a["classes"] == 51


def _closed_pipe_run(args, env=None):
    """Run neuro-av with stdout a pipe whose reader is already gone (what `| head` leaves)."""
    r, w = os.pipe()
    os.close(r)
    proc = subprocess.Popen([sys.executable, "-m", "neuro_av", *args], stdout=w, stderr=subprocess.PIPE, cwd=REPO,
                            env=env)
    os.close(w)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


@pytest.mark.parametrize("args", [["data", "inspect", "--data", "DATA", "--dataset", "SynthAV", "--json"],
                                  ["train", "--help"]], ids=["inspect", "help"])
def test_output_into_a_closed_pipe_ends_quietly(data, args):
    rc, err = _closed_pipe_run([str(data) if a == "DATA" else a for a in args])
    # 141 = 128 + SIGPIPE; argparse itself swallows a failed write of --help when stdout is unbuffered
    assert rc in ((0, 141) if "--help" in args else (141,)), (rc, err)
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err


def test_an_ascii_console_gets_no_encoding_error(data, tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "NEURO_AV_CACHE": str(tmp_path / "cache")}
    helped = subprocess.run([sys.executable, "-m", "neuro_av", "train", "--help"], capture_output=True, cwd=REPO, env=env)
    assert helped.returncode == 0 and b"calibration ?" in helped.stdout, helped.stderr  # the β became '?'
    bad = subprocess.run([sys.executable, "-m", "neuro_av", "data", "inspect", "--data", str(tmp_path), "--dataset",
                          "Nope"], capture_output=True, cwd=REPO, env=env)
    assert bad.returncode == 1 and b"Traceback" not in bad.stderr


def test_bench_checks_every_variant_before_training_any(data, tmp_path, capsys):
    out = tmp_path / "bench"
    for models, said in [("avca,nope", "unknown model 'nope'"), ("avca,stft:no_such", "unknown ablation 'no_such'"),
                         ("avca,avca", "names a variant twice")]:
        assert main(["bench", "--models", models, "--seeds", "2", "--data", str(data), "--out", str(out),
                     "--epochs", "1", "--no-progress"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and said in err, err
        assert not out.exists(), "a run was trained before the list was checked"
    assert main(["bench", "--models", "avca", "--data", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert "data root" in capsys.readouterr().err and not out.exists()


def test_bench_reports_a_corrupt_run_config_as_such(data, tmp_path, capsys):
    seed0 = tmp_path / "bench" / "avca" / "seed0"
    seed0.mkdir(parents=True)
    (seed0 / "config.json").write_text("{broken")
    assert main(["bench", "--models", "avca", "--seeds", "1", "--data", str(data), "--out", str(tmp_path / "bench")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"run config {seed0 / 'config.json'} is not valid JSON (line 1" in err, err


def test_resume_with_changed_settings_names_them(data, tmp_path):
    """A real run, SIGKILLed after its first epoch, resumed with another lr."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "neuro_av", "train", "--model", "avca", "--data", str(data), "--out", str(out),
           "--epochs", "30", "--set", "batches_per_epoch=2", "--set", "batch_size=32", "--no-progress"]
    env = {**os.environ, "NEURO_AV_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    while not (out / "state.pt").is_file():
        assert proc.poll() is None and time.monotonic() - t0 < 60
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert torch.load(out / "state.pt", weights_only=True)["stage"] == 1
    again = subprocess.run([*cmd, "--resume", "--set", "lr=1e-4"], cwd=REPO, env=env, capture_output=True, text=True)
    assert again.returncode == 2
    assert "train_config.lr: 0.001 -> 0.0001" in again.stderr and "--force" in again.stderr, again.stderr
    plain = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    assert plain.returncode == 2 and "holds an interrupted run: add --resume" in plain.stderr
