import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def embtui_exe() -> list[str]:
    exe = Path(sys.executable).parent / "embtui"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("embtui")
    return [found] if found else [sys.executable, "-m", "tui.cli"]


@pytest.fixture
def run():
    """Run `embtui ARGS…` as a subprocess; returns the CompletedProcess."""
    def _run(*args, input=None, env=None):
        full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
        return subprocess.run([*embtui_exe(), *map(str, args)], capture_output=True,
                              text=True, input=input, env=full_env, timeout=600)
    return _run


@pytest.fixture
def shell_exe() -> str:
    """`embtui` as a shell command line prefix, for tests of redirections and pipes."""
    import shlex
    return " ".join(shlex.quote(part) for part in embtui_exe())
