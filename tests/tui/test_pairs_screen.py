"""Pilot tests of `P`: the pairs screen lists the most similar pairs, `l` the least, Enter
selects a pair and Escape goes back."""

from __future__ import annotations

import threading

import pytest
from textual.widgets import OptionList, Static

from tui import loader
from tui.widgets.pairs import PairsScreen

pytestmark = pytest.mark.anyio

SMALL = (80, 24)


def title(screen) -> str:
    return str(screen.query_one("#pairs-title", Static).render())


def rows(screen) -> list[str]:
    lst = screen.query_one(OptionList)
    return [str(lst.get_option_at_index(i).prompt) for i in range(lst.option_count)]


async def test_P_lists_the_most_similar_pairs_off_the_ui_thread(explorer, settle, monkeypatch):
    threads = []
    body = loader.pairs

    def spy(*args):
        threads.append(threading.current_thread() is threading.main_thread())
        return body(*args)

    monkeypatch.setattr(loader, "pairs", spy)
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("P")
        await settle(pilot)
        assert isinstance(app.screen, PairsScreen) and threads == [False]
        expected = app.ds.pairs(limit=5)
        assert "most similar pairs" in title(app.screen)
        assert app.screen.pairs[:5] == list(zip(expected.a.tolist(), expected.b.tolist(),
                                                strict=True))
        first = rows(app.screen)[0]
        assert first.split()[0] == "1" and f"{expected.values()[0]:.4g}" in first
        # labels are plain text: the fixture's escape sequences never reach the terminal
        assert all("\x1b" not in r for r in rows(app.screen))


async def test_l_switches_to_the_least_similar_and_back(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("P")
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        least = app.ds.pairs(least=True, limit=3)
        assert "least similar pairs" in title(app.screen) and "(exact)" in title(app.screen)
        assert app.screen.pairs[:3] == list(zip(least.a.tolist(), least.b.tolist(),
                                                strict=True))
        await pilot.press("l")
        await settle(pilot)
        assert "most similar pairs" in title(app.screen)


async def test_enter_selects_the_pair_and_escape_goes_back(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("P")
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        a, b = app.ds.pairs(limit=2).a[1], app.ds.pairs(limit=2).b[1]
        assert not isinstance(app.screen, PairsScreen)
        assert app.selection == a and app.picks.partner == b
        await pilot.press("P")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, PairsScreen) and app.selection == a
