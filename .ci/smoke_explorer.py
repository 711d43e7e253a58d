"""Open the explorer headless on the dataset named on the command line, as an installed wheel.

Fails (non-zero exit, with the reason) when the stylesheet is missing or unreadable, when the
dataset does not load, or when the scatter draws no point; quits with q like a person would.
"""

import asyncio
import sys
from pathlib import Path

import tui.app
from tui.app import EmbtuiApp
from tui.widgets.scatter import Scatter

N = 30
BRAILLE = range(0x2801, 0x2900)  # U+2800 is the blank pattern


async def main(path: str) -> None:
    assert "site-packages" in tui.app.__file__, f"not the installed package: {tui.app.__file__}"
    css = Path(tui.app.__file__).with_name(EmbtuiApp.CSS_PATH)
    assert css.is_file(), f"{css} is not installed"
    app = EmbtuiApp(path)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(50):  # loading is several workers in turn, each posting the next
            await pilot.pause()
            await app.workers.wait_for_complete()
            if app.view is not None and not any(w.is_running for w in app.workers):
                break
        await pilot.pause()
        scatter = app.query_one(Scatter)
        status = scatter.status
        assert status.total == N and status.in_view == N, f"scatter status: {status}"
        drawn = sum(ord(ch) in BRAILLE for y in range(scatter.size.height)
                    for segment in scatter.render_line(y) for ch in segment.text)
        assert drawn > 0, "the scatter drew no point"
        await pilot.press("q")
        await pilot.pause()
        assert app._exit, "q did not quit"
    if app.return_code not in (0, None):
        raise SystemExit(f"the explorer exited with {app.return_code}")
    print(f"explorer: {N} points loaded, {drawn} braille cells drawn, quit with q")


asyncio.run(main(sys.argv[1]))
