"""The floors of the house (README, "Layout"): no module imports one from a floor it must not see.

Every import is found, function-local ones included, by walking each module's syntax tree.
"""
import ast
from pathlib import Path

from helpers import REPO

ROOTS = {"neuro_av": REPO / "neuro_av", "neuro_av.export": REPO / "export", "neuro_av.sim": REPO / "sim"}

# floor -> packages it must not import (ARCHITECTURE: data ← models ← training, models ← export ← sim,
# sim never imports training; deployment does not depend on the trainer; the CLI sits on top)
FORBIDDEN = {
    "neuro_av.functional": ("neuro_av.data", "neuro_av.models", "neuro_av.run", "neuro_av.training",
                            "neuro_av.export", "neuro_av.sim", "neuro_av.cli"),
    "neuro_av.data": ("neuro_av.models", "neuro_av.run", "neuro_av.training", "neuro_av.export", "neuro_av.sim",
                      "neuro_av.cli"),
    "neuro_av.models": ("neuro_av.data", "neuro_av.run", "neuro_av.training", "neuro_av.export", "neuro_av.sim",
                        "neuro_av.cli"),
    "neuro_av.run": ("neuro_av.training", "neuro_av.export", "neuro_av.sim", "neuro_av.cli"),
    "neuro_av.training": ("neuro_av.export", "neuro_av.sim", "neuro_av.cli"),
    "neuro_av.export": ("neuro_av.training", "neuro_av.sim", "neuro_av.cli"),
    "neuro_av.sim": ("neuro_av.training", "neuro_av.cli"),
    "neuro_av.finetune": ("neuro_av.sim", "neuro_av.cli"),  # sees training and export, on purpose
}
BASE = ("neuro_av.errors", "neuro_av.io", "neuro_av.memory", "neuro_av.naming", "neuro_av.versions",
        "neuro_av.gzsl", "neuro_av.lava_compat", "neuro_av.output", "neuro_av.signals")


def _modules():
    for prefix, root in ROOTS.items():
        for path in root.rglob("*.py"):
            rel = path.relative_to(root).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([prefix, *parts])
            if prefix == "neuro_av" and parts and parts[0] in ("export", "sim"):
                continue
            yield name, path


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            out += [(node.lineno, node.module), *((node.lineno, f"{node.module}.{a.name}") for a in node.names)]
    return out


def _floor(module: str) -> str | None:
    return next((f for f in sorted(FORBIDDEN, key=len, reverse=True) if module == f or module.startswith(f + ".")),
                None)


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_no_module_imports_from_a_floor_it_must_not_see():
    broken = []
    seen = 0
    for module, path in _modules():
        floor = _floor(module)
        if floor is None:
            continue
        seen += 1
        for line, name in _imports(path):
            for banned in FORBIDDEN[floor]:
                if _within(name, banned):
                    broken.append(f"{path.relative_to(REPO)}:{line} ({floor}) imports {name}")
    assert seen > 40, "the walk found too few modules"
    assert not broken, "\n".join(broken)


def test_base_modules_import_nothing_above_them():
    for module, path in _modules():
        if module not in BASE:
            continue
        for line, name in _imports(path):
            assert not name.startswith("neuro_av.") or name in BASE or any(name.startswith(b + ".") for b in BASE), \
                f"{path.relative_to(REPO)}:{line} imports {name}"


def test_the_walk_sees_function_local_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def g():\n    from neuro_av.training.engine import train_run\n")
    assert (2, "neuro_av.training.engine") in _imports(f)
