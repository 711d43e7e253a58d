"""Pilot tests of `H`: the heatmap screen opens on the chosen cluster (else the selection and
its neighbours), computes in a worker, moves a cursor over the cells and selects a pair."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from textual.widgets import Static

from tui import loader
from tui.heatmap import SHADES, UPPER_HALF
from tui.text import plain_label
from tui.widgets.heatmap import HeatmapScreen, HeatmapView, fit
from tui.widgets.scatter import Scatter

pytestmark = pytest.mark.anyio

SMALL = (80, 24)


def text(screen, name: str) -> str:
    return str(screen.query_one(f"#{name}", Static).render())


def line_text(view: HeatmapView, y: int) -> str:
    return "".join(seg.text for seg in view.render_line(y))


async def open_on_cluster(pilot, settle, entity: int = 3, at_least: int = 2,
                          containing: int | None = None):
    """Select `entity`, lower the threshold until its cluster has `at_least` members (and
    `containing`), choose that cluster and press H."""
    app = pilot.app
    await settle(pilot)
    app.select(entity)
    await settle(pilot)
    for _ in range(30):
        c = app.view.cluster_of(entity)
        members = [] if c is None else app.view.members(c).tolist()
        if len(members) >= at_least and (containing is None or containing in members):
            break
        await pilot.press("left_curly_bracket")
        await settle(pilot)
    await pilot.press("g")  # choose the selection's cluster
    await settle(pilot)
    await pilot.press("H")
    await settle(pilot)
    assert isinstance(app.screen, HeatmapScreen)
    return app.screen, app.screen.query_one(HeatmapView)


async def test_H_opens_the_chosen_cluster_and_enter_selects_a_pair(explorer, settle,
                                                                   monkeypatch):
    threads = []
    body = loader.heatmap

    def spy(*args):
        threads.append(threading.current_thread() is threading.main_thread())
        return body(*args)

    monkeypatch.setattr(loader, "heatmap", spy)
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        screen, view = await open_on_cluster(pilot, settle, containing=4)  # the OSC 52 label
        assert threads == [False]  # computed in a worker, off the UI thread
        members = app.picks.chosen_members(app.view, app._degree, None)
        hm = view.hm
        assert sorted(hm.idx.tolist()) == sorted(members.tolist())
        assert "Heatmap · cluster" in text(screen, "hm-title")
        assert "cosine · Ward linkage" in text(screen, "hm-title")
        assert "cut at" in text(screen, "hm-legend")
        # labels are plain text: the fixture's escape sequence and bidi override show as
        # stand-ins
        rendered = "".join(line_text(view, y) for y in range(view.size.height))
        assert "\x1b" not in rendered and "\u202e" not in rendered and "␛]52" in rendered
        # the grid: half blocks, len(hm) columns, two rows a line
        assert line_text(view, 1).count(UPPER_HALF) == len(hm)
        assert view.cell == (0, 1)
        await pilot.press("down", "down", "down", "right", "right")
        await settle(pilot)
        r, c = view.cell
        assert (r, c) == (3, 3 if len(hm) > 3 else len(hm) - 1)
        await pilot.press("left")
        await settle(pilot)
        r, c = view.cell
        assert (r, c) == (3, 2)
        status = text(screen, "hm-status")
        assert f"{hm.matrix[r, c]:.4g}" in status
        assert plain_label(app.labels[hm.idx[r]]) in status
        assert plain_label(app.labels[hm.idx[c]]) in status
        assert "row 4, column 3" in status
        # the marker above the grid stands over the cursor's column
        assert line_text(view, 0).index("▼") == view.label_width + 1 + c
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, HeatmapScreen)
        a, b = int(hm.idx[r]), int(hm.idx[c])
        assert app.selection == a and app.picks.partner == b
        assert app.query_one(Scatter).highlight[:2].tolist() == [a, b]


async def test_H_without_a_cluster_takes_the_selection_and_its_neighbours(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.select(45)
        await settle(pilot)
        await pilot.press("H")
        await settle(pilot)
        view = app.screen.query_one(HeatmapView)
        neighbours = app.graph.idx[45][app.graph.idx[45] >= 0]
        assert sorted(view.hm.idx.tolist()) == sorted([45, *neighbours.tolist()])
        assert "and its neighbours" in text(app.screen, "hm-title")
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, HeatmapScreen) and app.selection == 45


async def test_H_with_nothing_chosen_says_so(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("H")
        await pilot.pause()
        assert not isinstance(app.screen, HeatmapScreen)
        assert any("select an entity" in n.message for n in app._notifications)


async def test_no_color_draws_shades_a_row_a_line_and_says_what_was_left_out(
        explorer, settle, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        screen, view = await open_on_cluster(pilot, settle, at_least=20)
        total = len(app.picks.chosen_members(app.view, app._degree, None))
        assert len(view.hm) == fit(*SMALL, 1) == 19 < total  # 24 lines: 19 rows
        assert f"19 of {total} shown ({total - 19} left out)" in text(screen, "hm-title")
        row = line_text(view, 1)
        assert UPPER_HALF not in row
        grid = row[view.label_width + 1:view.label_width + 1 + 19]
        assert set(grid) <= set(SHADES)
        assert "'█'≥" in text(screen, "hm-legend")


async def test_a_failed_heatmap_says_why_in_place(explorer, settle, monkeypatch):
    from engine.dataset import Dataset

    def broken(self, idx):
        raise RuntimeError("no vectors here")

    monkeypatch.setattr(Dataset, "heatmap", broken)
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.select(3)
        await settle(pilot)
        await pilot.press("H")
        await settle(pilot)
        view = app.screen.query_one(HeatmapView)
        assert view.hm is None
        assert line_text(view, 0).startswith("could not compute the heatmap: no vectors here")


def test_fit_leaves_room_for_labels_and_the_dendrogram():
    assert fit(80, 24, 2) == 38 and fit(80, 24, 1) == 19
    assert fit(120, 40, 2) == 70
    assert fit(40, 24, 2) == 16  # narrow: the columns bound it
    assert np.all([fit(w, h, 2) >= 2 for w in (10, 30) for h in (3, 10)])
