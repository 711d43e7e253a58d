"""The explorer's export writes regular files only: through a symlink to its file, never over
a device, FIFO or directory."""

from __future__ import annotations

import csv
import os

import pytest
from textual.widgets import Input, Static

from tui.screens import ExportScreen

pytestmark = pytest.mark.anyio


def note(app) -> str:
    return str(app.screen.query_one("#export-note", Static).render())


async def export_to(app, pilot, settle, path, presses=("enter",)) -> None:
    app.select(2)
    await settle(pilot)
    await pilot.press("e")
    assert isinstance(app.screen, ExportScreen)
    app.screen.query_one(Input).value = str(path)
    await pilot.press(*presses)
    await settle(pilot)


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
async def test_export_refuses_what_is_not_a_regular_file(explorer, tmp_path, settle, kind):
    if kind == "fifo":
        target = tmp_path / "pipe.csv"
        os.mkfifo(target)
        words = "is a FIFO, not a regular file"
    elif kind == "device":
        target = "/dev/null"
        words = "is a character device, not a regular file"
    else:
        target = tmp_path / "dir.csv"
        target.mkdir()
        words = "is a directory"
    app = explorer()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await export_to(app, pilot, settle, target, ("enter", "enter"))
        assert isinstance(app.screen, ExportScreen)  # still asking, with the reason
        assert words in note(app) and str(target) in note(app)
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


async def test_export_writes_through_a_symlink(explorer, tmp_path, settle):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    real.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    app = explorer()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await export_to(app, pilot, settle, link, ("enter", "enter"))  # exists: confirm
        assert not isinstance(app.screen, ExportScreen)
    assert link.is_symlink() and os.readlink(link) == str(real)
    rows = list(csv.DictReader(real.open()))
    assert rows[0]["idx"] == "2"
    assert real.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "real.csv"]
