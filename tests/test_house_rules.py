"""House rules on imports: the import-linter contracts in pyproject.toml, and what a fresh
interpreter really loads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "tui", "sample_data")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def env_for(root: Path) -> dict[str, str]:
    """The environment with `root`'s packages first on the path, whatever is installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    return env


def lint(root: Path, *contracts: str) -> subprocess.CompletedProcess:
    args = [str(LINT_IMPORTS), "--no-cache", "pyproject.toml"]
    for c in contracts:
        args += ["--contract", c]
    return subprocess.run(args, cwd=root, env=env_for(root), capture_output=True, text=True,
                          timeout=120)


def contract_ids() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [c["id"] for c in config["tool"]["importlinter"]["contracts"]]


def test_the_contracts_are_the_house_rules():
    assert contract_ids() == ["engine-no-ui", "duckdb-in-store", "tui-no-duckdb", "help-not-app"]


@pytest.mark.parametrize("contract", [
    "engine-no-ui", "duckdb-in-store", "tui-no-duckdb", "help-not-app"])
def test_import_contract_is_kept(contract):
    result = lint(ROOT, contract)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_contracts_catch_new_modules(tmp_path):
    """A new engine module importing DuckDB or Rich, or a tui module importing DuckDB, breaks
    the contracts: they name packages, not a list of today's modules."""
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "engine" / "fresh.py").write_text("import duckdb\n\n\ndef f():\n"
                                                  "    from rich.text import Text\n")
    (tmp_path / "tui" / "fresh.py").write_text("def f():\n    import duckdb.typing\n")
    result = lint(tmp_path, "engine-no-ui", "duckdb-in-store", "tui-no-duckdb")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 kept, 3 broken" in result.stdout
    for chain in ("engine.fresh -> duckdb", "engine.fresh -> rich", "tui.fresh -> duckdb"):
        assert chain in result.stdout


def loaded_after(statement: str) -> set[str]:
    """Top-level packages a fresh interpreter holds after running `statement`."""
    code = (f"{statement}\nimport sys\n"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env_for(ROOT),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_the_engine_loads_no_ui_library():
    loaded = loaded_after("import engine.dataset")
    assert "engine" in loaded and "duckdb" in loaded
    assert not loaded & {"textual", "rich"}


def test_the_command_line_loads_textual_only_for_the_explorer():
    loaded = loaded_after("import tui.cli")
    assert "tui" in loaded
    assert "textual" not in loaded
