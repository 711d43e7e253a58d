"""The explorer on the real MovieLens demo at 80×24, by keyboard only: find Star Wars, see its
neighbours, walk to one and back, move the threshold until the trilogy is a cluster of its
own, see it highlighted in the scatter, and export it."""

from __future__ import annotations

import csv

import pytest
from textual.widgets import Input

from tui.app import EmbtuiApp
from tui.screens import ExportScreen
from tui.widgets.clusters import ClustersPane
from tui.widgets.scatter import Scatter
from tui.widgets.search import SearchScreen

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TRILOGY = {"260", "1196", "1210"}  # Star Wars IV, V, VI


async def test_star_wars_walkthrough(demo_dataset, tmp_path, settle):
    app = EmbtuiApp(demo_dataset)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"star wars")
        await settle(pilot)
        assert isinstance(app.screen, SearchScreen)
        await pilot.press("enter")
        await settle(pilot)
        new_hope = app.selection
        assert app.ids[new_hope] == "260"
        assert app.query_one(Scatter).cursor == new_hope

        # its neighbours, best first: the sequels
        await pilot.press("tab")
        assert app.focused is app.query_one("#nb-list")
        assert {app.ids[i] for i in app.graph.idx[new_hope][:2]} == TRILOGY - {"260"}
        await pilot.press("enter")  # walk to the first neighbour
        await settle(pilot)
        assert app.ids[app.selection] in TRILOGY and app.trail == [new_hope]
        await pilot.press("backspace")
        await settle(pilot)
        assert app.selection == new_hope

        # move the threshold a fine step at a time until the trilogy stands alone: down
        # while Star Wars is without its sequels, up while others are with them
        moves = []
        for _ in range(200):
            c = app.view.cluster_of(new_hope)
            members = set() if c is None else set(app.ids[app.view.members(c)])
            if members == TRILOGY:
                break
            moves.append("up" if members > TRILOGY else "down")
            assert len(set(moves)) == 1, f"the trilogy never stood alone (at {app.threshold})"
            await pilot.press("right_square_bracket" if moves[-1] == "up" else
                              "left_square_bracket")
            await settle(pilot)
        else:
            pytest.fail("the threshold never isolated the trilogy")

        # choose the selection's cluster: listed in the pane, highlighted in the scatter
        await pilot.press("g")
        await settle(pilot)
        pane = app.query_one(ClustersPane)
        assert pane.mode == "members" and app.active_pane == "clusters"
        highlight = set(app.ids[app.query_one(Scatter).highlight])
        assert TRILOGY <= highlight

        # export it
        await pilot.press("e")
        assert isinstance(app.screen, ExportScreen)
        out = tmp_path / "trilogy.csv"
        app.screen.query_one(Input).value = str(out)
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ExportScreen)
        rows = list(csv.DictReader(out.open()))
        assert {r["id"] for r in rows} == TRILOGY
        assert all("Star Wars" in r["label"] for r in rows)


async def test_labels_and_trust_walkthrough(demo_dataset, settle):
    """The map names its largest clusters as it opens; the Lord of the Rings films' cluster
    is named by the Rings; `c` up to trust shows where the map holds, and the neighbours the
    map puts far away are marked."""
    from tui.widgets.neighbours import FAR_MARK
    app = EmbtuiApp(demo_dataset)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        drawn = app.query_one(Scatter).regions_drawn
        assert "Drama, Romance, Comedy" in drawn  # the largest, 400 films
        assert any(name.startswith("Animation") for name in drawn)  # the Ghibli films

        await pilot.press("slash", *"two towers")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.labels[app.selection] == "Lord of the Rings: The Two Towers, The"
        c = app.view.cluster_of(app.selection)
        assert app.names.labels[c] == "rings, lord, Fantasy"
        assert "rings, lord, Fantasy" in app._cluster_text().plain  # the details pane's line

        for _ in range(len(app.group_modes)):
            if app.group_mode == "trust":
                break
            await pilot.press("c")
            await settle(pilot)
        assert app.colour.mode == "trust"
        assert app.query_one(Scatter).regions_drawn == []  # names go with the clusters' colour
        status = str(app.query_one("#status").content)
        assert "trust 26%" in status
        app.select(app.ds.resolve("Star Wars: Episode IV - A New Hope"))
        await settle(pilot)
        rows = [str(o.prompt) for o in app.query_one("#nb-list").options]
        assert any(FAR_MARK in r and "Lord of the Rings" in r for r in rows)
