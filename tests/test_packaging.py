"""What the wheel ships and the version it reports (CI also installs the wheel and runs it)."""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGES = ("engine", "tui", "sample_data")


def test_every_file_the_packages_read_is_package_data():
    """Anything beside the code in a package (the explorer's .tcss) must be in package-data,
    else a wheel install cannot find it."""
    declared = PYPROJECT["tool"]["setuptools"]["package-data"]
    missing = []
    for name in PACKAGES:
        for path in (ROOT / name).rglob("*"):
            if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(ROOT)
            package = ".".join(rel.parent.parts)
            globs = declared.get(package, [])
            if not any(fnmatch.fnmatch(rel.name, g) for g in globs):
                missing.append(str(rel))
    assert not missing
    assert "tui" in declared and (ROOT / "tui" / "app.tcss").is_file()


def test_package_data_names_only_folders_that_exist():
    for package, globs in PYPROJECT["tool"]["setuptools"]["package-data"].items():
        base = ROOT.joinpath(*package.split("."))
        for g in globs:
            assert list(base.glob(g)), f"{package}: {g} matches nothing"


def test_the_license_pyproject_names_exists():
    assert PYPROJECT["project"]["license"] == "MIT"
    for name in PYPROJECT["project"]["license-files"]:
        text = (ROOT / name).read_text(encoding="utf-8")
        assert text.startswith("MIT License") and "2026 the embtui authors" in text


def test_one_version_everywhere():
    expected = PYPROJECT["project"]["version"]
    assert version("embtui") == expected
    assert engine.__version__ == expected
    exe = Path(sys.executable).with_name("embtui")
    result = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"embtui {expected}"


NOT_INSTALLED = """
import importlib.metadata as m
def version(name):
    raise m.PackageNotFoundError(name)
m.version = version
import engine
print(engine.__version__)
"""


def version_uninstalled(root: Path) -> str:
    """engine.__version__ as a source tree at `root` reports it with embtui not installed."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run([sys.executable, "-c", NOT_INSTALLED], cwd=root, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_source_tree_never_installed_reads_pyproject(tmp_path):
    shutil.copytree(ROOT / "engine", tmp_path / "engine",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "embtui"\nversion = "9.8.7"\n')
    assert version_uninstalled(tmp_path) == "9.8.7"


def test_without_metadata_or_pyproject_the_version_says_unknown(tmp_path):
    shutil.copytree(ROOT / "engine", tmp_path / "engine",
                    ignore=shutil.ignore_patterns("__pycache__"))
    assert version_uninstalled(tmp_path) == "0+unknown"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\nversion = "1.0"\n')
    assert version_uninstalled(tmp_path) == "0+unknown"


def test_a_dataset_records_the_version_that_built_it(vectors_dataset):
    from engine.store import Store
    with Store.open(vectors_dataset) as store:
        assert store.meta()["embtui_version"] == engine.__version__
