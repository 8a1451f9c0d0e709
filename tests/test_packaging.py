"""The layout of the design card installs as one `neuro_av` namespace and stays light to import."""
import tomllib
from helpers import REPO, run_python


def test_export_and_sim_import_inside_the_namespace():
    proc = run_python("import neuro_av.export, neuro_av.sim; print(neuro_av.export.__file__, neuro_av.sim.__file__)")
    assert proc.returncode == 0, proc.stderr
    exported, simmed = proc.stdout.split()
    assert exported == str(REPO / "export" / "__init__.py")
    assert simmed == str(REPO / "sim" / "__init__.py")


def test_nothing_generic_lands_at_top_level():
    proc = run_python("import importlib.util as u; print([n for n in ('export', 'sim') if u.find_spec(n)])")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", "`import export` / `import sim` must not resolve to neuro-av's folders"


def test_every_package_folder_is_listed_in_pyproject():
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    found = set()
    for prefix, folder in cfg["package-dir"].items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            found.add(".".join([prefix, *rel.parts]))
    assert found <= listed, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"


def test_every_data_file_in_a_package_is_installed():
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = cfg.get("package-data", {})
    missing = []
    for prefix, folder in cfg["package-dir"].items():
        for path in (REPO / folder).rglob("*.json"):
            rel = path.parent.relative_to(REPO / folder)
            package = ".".join([prefix, *rel.parts])
            if not any(path.match(p) for p in patterns.get(package, [])):
                missing.append(f"{package}: {path.name}")
    assert not missing, f"add to [tool.setuptools.package-data] in pyproject.toml: {missing}"


def test_import_neuro_av_stays_light():
    proc = run_python(
        "import sys, neuro_av, neuro_av.export, neuro_av.sim\n"
        "heavy = [m for m in ('lava', 'onnx', 'onnxruntime', 'torch', 'norse') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"imported eagerly: {proc.stdout.strip()}"


def test_cli_entry_points():
    for code in ("from neuro_av.cli.main import main; main(['--help'])",
                 "import runpy; import sys; sys.argv=['neuro-av', '--version']; runpy.run_module('neuro_av', run_name='__main__')"):
        proc = run_python(code)
        assert proc.returncode == 0, proc.stderr
        assert "neuro-av" in proc.stdout
