#!/usr/bin/env python3
"""Create or refresh neuro-av's virtual environment inside the checkout.

Called by ``make setup`` (and therefore by ``make demo`` / ``make test``). Standard library only, so
it runs on a fresh machine that has nothing but Python and pip.

Order matters (see README, "Dependency notes"):

1. torch first, pinned, so no other package can pull a multi-GB CUDA build. A CUDA build of torch
   that is already present in the environment is kept as is (``--system-site-packages`` venvs see
   the system one: ``make setup VENV_FLAGS=--system-site-packages``).
2. everything with ordinary metadata, under ``constraints.txt`` (numpy<2 above all).
3. norse, lava-nc and lava-dl with ``--no-deps``: their metadata asks for torchvision / Python 3.10 /
   torch 2.3, none of which their code paths used here need.
4. neuro-av itself, editable.

Idempotent: a stamp holding a hash of every input is written last; when it matches, set-up is a
few hundred milliseconds.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
STAMP_NAME = ".neuro-av-stamp"
SUPPORTED_PYTHONS = ((3, 10), (3, 11))

# Installed with their ordinary dependency resolution (under the constraints file).
REGULAR = [
    "numpy",
    "nir",
    "nirtorch",
    "networkx",
    "asteval",
    "scipy",
    "scikit-learn",
    "h5py",
    "matplotlib",
    "onnx",
    "onnxruntime",
    "onnxscript",
    "tqdm",
    "pytest",
    "pbr",  # sinabs' runtime need
    "setuptools>=68",
    "wheel",
]
# Installed without dependencies: their metadata is wrong for this stack (see module docstring).
NO_DEPS = ["norse", "lava-nc", "lava-dl",
           # peers, the tests' oracles: their metadata asks for another nir (sinabs: nir<=1.0.4, samna) or
           # other torch builds; what their NIR export and forward pass use is installed above
           "snntorch", "sinabs", "rockpool",
           # NeuroBench, the NeuroBench block's oracle (tests/sim/test_neurobench.py): its metric modules
           # import torch and snnTorch only; its metadata asks for tonic and torchaudio (data sets)
           "neurobench"]


def _hash_inputs() -> str:
    h = hashlib.sha256()
    for path in (CONSTRAINTS, ROOT / "pyproject.toml", Path(__file__).resolve()):
        h.update(path.read_bytes())
    h.update(json.dumps([REGULAR, NO_DEPS, sys.version_info[:2]]).encode())
    return h.hexdigest()


def _run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def _pip(py: Path, *args: str) -> None:
    _run([str(py), "-m", "pip", "--disable-pip-version-check", *args])


def _existing_torch(py: Path) -> dict | None:
    """Version and CUDA build of a torch importable from the venv, or None."""
    probe = "import json, torch; print(json.dumps({'version': torch.__version__, 'cuda': torch.version.cuda}))"
    out = subprocess.run([str(py), "-c", probe], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", default=str(ROOT / ".venv"), help="virtual environment folder")
    parser.add_argument("--venv-flags", default="", help="e.g. --system-site-packages")
    parser.add_argument("--force", action="store_true", help="reinstall even if the stamp matches")
    args = parser.parse_args()

    if sys.version_info[:2] not in SUPPORTED_PYTHONS:
        sys.exit(
            f"neuro-av set-up: Python {sys.version.split()[0]} found; lava-nc 0.10 / lava-dl 0.6 are "
            "known to work on Python 3.10 and 3.11 only. Run `make PYTHON=python3.11 ...`."
        )
    env_dir = Path(args.venv).resolve()
    py = env_dir / "bin" / "python"
    stamp = env_dir / STAMP_NAME
    digest = _hash_inputs()
    if not args.force and py.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        print(f"neuro-av set-up: {env_dir} is up to date", flush=True)
        return 0

    t0 = time.monotonic()
    if not py.exists():
        print(f"neuro-av set-up: creating {env_dir}", flush=True)
        venv.EnvBuilder(
            with_pip=True, system_site_packages="--system-site-packages" in args.venv_flags
        ).create(env_dir)
    stamp.unlink(missing_ok=True)  # a half-finished set-up must not look finished

    con = ["-c", str(CONSTRAINTS)]
    torch_now = _existing_torch(py)
    if torch_now and torch_now.get("cuda"):
        print(f"neuro-av set-up: keeping CUDA torch {torch_now['version']} (CUDA {torch_now['cuda']})")
        con_path = env_dir / "constraints-keep-torch.txt"
        lines = [l for l in CONSTRAINTS.read_text().splitlines() if not l.startswith("torch==")]
        con_path.write_text("\n".join(lines + [f"torch=={torch_now['version']}"]) + "\n")
        con = ["-c", str(con_path)]
    else:
        _pip(py, "install", "-q", *con, "torch")
    _pip(py, "install", "-q", *con, *REGULAR)
    _pip(py, "install", "-q", *con, "--no-deps", "--ignore-requires-python", *NO_DEPS)
    _pip(py, "install", "-q", *con, "--no-deps", "--no-build-isolation", "-e", str(ROOT))

    stamp.write_text(digest + "\n")
    print(f"neuro-av set-up: done in {time.monotonic() - t0:.0f} s ({env_dir})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
