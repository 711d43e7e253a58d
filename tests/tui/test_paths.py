"""Paths through the graph in the explorer: p, then the other end."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.anyio


async def test_p_then_another_entity_draws_and_lists_the_widest_path(vectors_dataset, settle):
    from engine.dataset import Dataset
    from tui.app import EmbtuiApp
    from tui.widgets.scatter import Scatter
    with Dataset.open(vectors_dataset) as ds:
        comp = ds.clusters(threshold=float(np.nanmin(ds.knn.sim)), min_size=1).labels
        a, b = 0, int(np.flatnonzero(comp == comp[0])[-1])
        expect = ds.path_between(a, b)
    app = EmbtuiApp(vectors_dataset)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.select(a)
        await settle(pilot)
        await pilot.press("p")
        assert app.path_from == a
        app.select(b)
        await settle(pilot)
        assert app.route is not None and app.route.idx.tolist() == expect.idx.tolist()
        scatter = app.query_one(Scatter)
        assert set(expect.idx.tolist()) <= set(scatter.highlight.tolist())
        drawn = set(zip(*(x.tolist() for x in scatter.edges), strict=True))
        assert set(zip(expect.idx[:-1].tolist(), expect.idx[1:].tolist(),
                       strict=True)) <= drawn
        head = str(app.query_one("#nb-head").render())
        assert f"{len(expect.sim)} steps, weakest {expect.weakest:.3f}" in head
        await pilot.press("escape")
        await settle(pilot)
        assert app.route is None


async def test_D_lists_hubs_bridges_and_isolates_and_enter_selects(vectors_dataset, settle):
    from textual.widgets import OptionList

    from tui.app import EmbtuiApp
    from tui.widgets.diagnostics import DiagnosticsScreen
    app = EmbtuiApp(vectors_dataset)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DiagnosticsScreen)
        doc = app.ds.diagnose(app.threshold, 50)
        hubs = app.ds.find_ids([e["id"] for e in doc["hubs"]]).tolist()
        assert screen.rows[0] is None and screen.rows[1:1 + len(hubs)] == hubs
        assert "skewness" in str(screen.query_one("#diag-title").render())
        lst = screen.query_one("#diag-list", OptionList)
        assert lst.highlighted == 1
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, DiagnosticsScreen) and app.selection == hubs[0]
