"""embtui engine: computes embeddings, neighbour graphs, layouts and clusters, cached in DuckDB."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def _version() -> str:
    """The installed distribution's version, else the version in a source tree's pyproject."""
    try:
        return version("embtui")
    except PackageNotFoundError:
        pass
    # Run from a checkout that was never installed: pyproject.toml is the one source.
    import tomllib
    try:
        with open(Path(__file__).resolve().parent.parent / "pyproject.toml", "rb") as fh:
            project = tomllib.load(fh).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        project = {}
    return project.get("version", "0+unknown") if project.get("name") == "embtui" else "0+unknown"


__version__ = _version()
