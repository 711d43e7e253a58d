"""Pilot tests: every key and pane of the explorer on the small vectors fixture."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading

import numpy as np
import pyarrow.parquet as pq
import pytest
from rich.console import Console
from rich.text import Text
from textual.widgets import Input, OptionList

from engine.pipeline import BuildOptions, build
from sample_data.fixtures import bridge_table
from tui import messages as msg
from tui.app import EmbtuiApp
from tui.help import HelpScreen
from tui.screens import ErrorScreen, ExportScreen
from tui.text import plain_label
from tui.widgets.clusters import ClustersPane
from tui.widgets.scatter import Scatter
from tui.widgets.search import SearchScreen

pytestmark = pytest.mark.anyio

SMALL = (80, 24)
WIDE = (130, 42)


def option_texts(widget) -> list[str]:
    return [str(o.prompt) for o in widget.options]


def static_text(widget) -> str:
    """What a Static shows, as plain text (tables rendered at 200 columns)."""
    content = widget.content if hasattr(widget, "content") else widget.render()
    content = getattr(content, "_renderable", content)  # a Rich renderable wrapped as Visual
    if isinstance(content, (str, Text)):
        return str(content)
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(content)
    return console.export_text()


# ---- start -----------------------------------------------------------------------------------

async def test_start_loads_everything(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert app.n == 60
        assert app.xy.shape == (60, 2)
        assert app.labels is not None and app.graph is not None
        assert app.threshold is not None and app.view is not None
        assert len(app.view) >= 3  # alpha, beta, gamma at least
        assert app.search_ready
        assert isinstance(app.focused, Scatter)
        status = static_text(app.query_one("#status"))
        assert "60/60" in status and "colour: clusters" in status
        clusters = app.query_one("#cl-list", OptionList)
        assert clusters.option_count >= 3


async def test_opening_colours_by_communities_when_they_separate_better(explorer, settle,
                                                                       monkeypatch):
    from engine.dataset import Dataset
    asked = []

    def better(self, threshold=None):
        asked.append(threshold)
        return "label-propagation"
    monkeypatch.setattr(Dataset, "opening_communities", better)
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert asked == [app.threshold]  # weighed against the clusters at the opening
        assert app.group_mode == "community:label-propagation"
        assert app.colour.mode == "community:label-propagation"
        assert app.view.method == "label-propagation"  # the pane lists the communities
        assert "colour: communities (label-propagation)" in static_text(
            app.query_one("#status"))


async def test_the_users_colour_choice_outlives_the_opening_default(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.choose_group_mode("degree")
        app.post_message(msg.OpeningGroups("community:label-propagation"))  # arriving late
        await settle(pilot)
        assert app.group_mode == "degree"


async def test_first_frame_before_the_dataset_loads(explorer, monkeypatch, settle):
    """The screen is up and responsive while the loader is still busy."""
    import engine.dataset
    release = threading.Event()
    real_open = engine.dataset.Dataset.open

    def slow_open(path, embedding=None):
        release.wait(30)
        return real_open(path, embedding)

    monkeypatch.setattr(engine.dataset.Dataset, "open", staticmethod(slow_open))
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        assert app.query_one(Scatter) is not None
        assert "opening" in static_text(app.query_one("#status"))
        await pilot.press("question_mark")  # keys work before the data is there
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("slash")  # search refuses politely until the labels are in
        assert not isinstance(app.screen, SearchScreen)
        release.set()
        await settle(pilot)
        assert app.view is not None


# ---- scatter keys ----------------------------------------------------------------------------

@pytest.mark.parametrize("keys", [("left", "right", "up", "down"), ("h", "l", "k", "j")])
async def test_cursor_keys_move_to_points(explorer, keys, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        scatter = app.query_one(Scatter)
        assert scatter.cursor is None
        seen = set()
        for key in keys:
            await pilot.press(key)
            assert scatter.cursor is not None
            seen.add(scatter.cursor)
        assert len(seen) >= 2


async def test_enter_selects_the_cursor_point(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        scatter = app.query_one(Scatter)
        assert app.selection == scatter.cursor is not None
        nb = app.query_one("#nb-list", OptionList)
        assert nb.option_count == 5  # k = 5
        assert app.active_pane == "neighbours"
        # selection and neighbours are highlighted in the scatter, selection first
        assert scatter.highlight[0] == app.selection
        assert len(scatter.highlight) == 6


async def test_zoom_pan_and_reset(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        scatter = app.query_one(Scatter)
        assert scatter.zoom_level == pytest.approx(1.0)
        await pilot.press("plus")
        assert scatter.zoom_level == pytest.approx(2.0)
        await pilot.press("minus", "minus")
        assert scatter.zoom_level == pytest.approx(0.5)
        await pilot.press("0")
        assert scatter.zoom_level == pytest.approx(1.0)
        await pilot.press("plus")
        for key in ("L", "K", "J", "shift+left"):
            before = scatter.view
            await pilot.press(key)
            assert scatter.view != before
        assert "2×" in static_text(app.query_one("#status"))
        await pilot.press("0")
        assert scatter.zoom_level == pytest.approx(1.0)


async def test_zoom_keys_work_from_a_list(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("tab", "tab")  # clusters list
        assert isinstance(app.focused, OptionList)
        await pilot.press("plus")
        assert app.query_one(Scatter).zoom_level == pytest.approx(2.0)


async def test_click_selects_the_nearest_point(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        scatter = app.query_one(Scatter)
        await pilot.click(Scatter, offset=(scatter.size.width // 2, scatter.size.height // 2))
        await settle(pilot)
        assert app.selection is not None and scatter.cursor == app.selection


# ---- neighbours ------------------------------------------------------------------------------

async def test_walk_the_graph_and_back(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.select(0)
        await settle(pilot)
        first = app.selection
        await pilot.press("tab")
        assert app.focused is app.query_one("#nb-list")
        await pilot.press("j", "enter")  # the second neighbour
        await settle(pilot)
        second = int(app.graph.idx[first][1])
        assert app.selection == second
        assert app.trail == [first]
        assert app.query_one(Scatter).cursor == second
        head = static_text(app.query_one("#nb-head"))
        assert head.startswith(plain_label(app.labels[second], 60)) and "‹" in head  # trail
        await pilot.press("down", "enter")
        await settle(pilot)
        assert len(app.trail) == 2
        await pilot.press("backspace", "backspace")
        await settle(pilot)
        assert app.selection == first and app.trail == []
        await pilot.press("backspace")  # an empty trail says so and changes nothing
        assert app.selection == first


async def test_details_show_the_selection(explorer, settle):
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        app.select(3)
        await settle(pilot)
        text = static_text(app.query_one("#details-body"))
        for part in ("alpha item 3", "e003", "degree", "group", "alpha", "cluster"):
            assert part in text


# ---- panes and layout ------------------------------------------------------------------------

async def test_tab_cycles_panes_in_compact_mode(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert app.compact
        visible = lambda: [p for p in ("neighbours", "clusters", "details")  # noqa: E731
                           if app.query_one(f"#{p}").display
                           and app.query_one(f"#{p}").region.width > 0]
        assert visible() == ["clusters"]
        order = []
        for _ in range(4):
            await pilot.press("tab")
            await pilot.pause()
            order.append(app._focused_pane_name())
        assert order == ["neighbours", "clusters", "details", "scatter"]
        await pilot.press("tab")
        await pilot.pause()
        assert visible() == ["neighbours"]
        await pilot.press("shift+tab")
        await pilot.pause()
        assert app._focused_pane_name() == "scatter"


async def test_wide_terminal_shows_every_pane_and_resizes(explorer, settle):
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert not app.compact
        for name in ("neighbours", "clusters", "details"):
            assert app.query_one(f"#{name}").region.height > 0
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert app.compact
        assert sum(app.query_one(f"#{n}").region.height > 0
                   for n in ("neighbours", "clusters", "details")) == 1
        await pilot.resize_terminal(*WIDE)
        await settle(pilot)
        assert not app.compact
        assert app.query_one(Scatter).view is not None


# ---- threshold and clusters -------------------------------------------------------------------

async def test_threshold_keys_move_fine_and_coarse(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        t0, scale = app.threshold, app.scale
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert app.threshold == pytest.approx(t0 + scale.fine)
        assert app.view.threshold == app.threshold
        assert app.active_pane == "clusters"
        await pilot.press("right_curly_bracket")
        await settle(pilot)
        assert app.threshold == pytest.approx(t0 + scale.fine + scale.coarse)
        await pilot.press("left_curly_bracket", "left_square_bracket")
        await settle(pilot)
        assert app.threshold == pytest.approx(t0)
        assert app.view.threshold == app.threshold
        assert scale.format(t0) in static_text(app.query_one("#cl-threshold"))


async def test_raising_the_threshold_only_splits(explorer, settle):
    """Components at a higher threshold nest inside those at a lower one."""
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        low = app.view.labels.copy()
        for _ in range(3):
            await pilot.press("right_curly_bracket")
        await settle(pilot)
        high = app.view.labels
        for c in np.unique(high):
            assert len(np.unique(low[high == c])) == 1
        assert len(np.unique(high)) >= len(np.unique(low))


async def test_rapid_threshold_keys_end_on_the_last_value(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        t0 = app.threshold
        await pilot.press(*["right_square_bracket"] * 6)
        await settle(pilot)
        assert app.threshold == pytest.approx(t0 + 6 * app.scale.fine)
        assert app.view.threshold == app.threshold


async def test_choose_a_cluster_lists_and_highlights_members(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("tab", "tab")  # the clusters list
        assert app.focused is app.query_one("#cl-list")
        await pilot.press("enter")  # the largest cluster
        await settle(pilot)
        pane = app.query_one(ClustersPane)
        assert pane.mode == "members"
        members = set(app.view.members(0).tolist())
        highlight = set(app.query_one(Scatter).highlight.tolist())
        assert members <= highlight
        assert app.query_one("#cl-list", OptionList).option_count == len(members)
        await pilot.press("down", "enter")  # select a member
        await settle(pilot)
        assert app.selection in members
        await pilot.press("escape")  # back to the list
        await settle(pilot)
        assert pane.mode == "clusters" and app.anchor is None


async def test_selection_cluster_follows_the_threshold(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.select(5)
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        assert app.anchor == 5 and app.active_pane == "clusters"
        sizes = []
        for _ in range(6):
            members = app.picks.chosen_members(app.view, app.graph.degree, None)
            assert 5 in members.tolist()
            sizes.append(len(members))
            await pilot.press("right_curly_bracket")
            await settle(pilot)
        assert sizes == sorted(sizes, reverse=True)
        assert app.query_one(ClustersPane).mode == "members"
        await pilot.press("escape")  # from the scatter: let go of the cluster
        assert app.anchor is None


# ---- edges -----------------------------------------------------------------------------------

def drawn_pairs(app) -> set[tuple[int, int]]:
    edges = app.query_one(Scatter).edges
    if edges is None:
        return set()
    return {(min(a, b), max(a, b)) for a, b in zip(*(e.tolist() for e in edges), strict=True)}


def pairs_above(app, keep: np.ndarray) -> set[tuple[int, int]]:
    """Pair by pair: the stored edges with sim ≥ the threshold (in float32) between kept
    points."""
    t = float(np.float32(app.threshold))
    idx, sim = app.graph.idx, app.graph.sim
    return {(min(i, j), max(i, j)) for i in range(app.n) for j, s in zip(idx[i], sim[i],
                                                                          strict=True)
            if j >= 0 and j != i and keep[i] and keep[j] and s >= t}


def status_text(app) -> str:
    from tui.widgets.status import StatusLine
    return static_text(app.query_one(StatusLine))


async def test_edges_of_the_selection_its_cluster_and_every_one_with_E(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert drawn_pairs(app) == set()
        app.select(5)
        await settle(pilot)
        row = [j for j in app.graph.idx[5].tolist() if j >= 0]
        own = {(min(5, j), max(5, j)) for j in row}
        assert len(own) == 5 and drawn_pairs(app) == own   # whatever their similarity
        in_view = np.ones(app.n, dtype=bool)
        assert app.query_one(Scatter).status.in_view == app.n   # fitted: all in view

        await pilot.press("g")   # the selection's cluster: its edges above the threshold too
        await settle(pilot)
        members = np.zeros(app.n, dtype=bool)
        members[app.view.members(app.picks.chosen(app.view))] = True
        inside = pairs_above(app, members)
        assert inside and drawn_pairs(app) == own | inside
        await pilot.press("escape")
        await settle(pilot)
        assert drawn_pairs(app) == own

        await pilot.press("E")
        await settle(pilot)
        every = pairs_above(app, in_view)
        assert app.show_edges and len(every) > len(own)
        assert drawn_pairs(app) == own | every
        assert f"{len(every)} edges ≥ {app.scale.format(app.threshold)}" in status_text(app)
        await pilot.press("right_curly_bracket", "right_curly_bracket")   # fewer above t
        await settle(pilot)
        fewer = pairs_above(app, in_view)
        assert len(fewer) < len(every) and drawn_pairs(app) == own | fewer

        await pilot.press("E")
        await settle(pilot)
        assert not app.show_edges and drawn_pairs(app) == own
        assert "edges" not in status_text(app)


async def test_E_hides_edges_when_too_many_and_says_so(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.edge_limit = 3
        await pilot.press("E")
        await settle(pilot)
        t = app.scale.format(app.threshold)
        assert len(pairs_above(app, np.ones(app.n, dtype=bool))) > 3
        assert status_text(app).startswith("edges hidden: over 3 in view · ")
        assert drawn_pairs(app) == set()
        # zoomed in on one edge, few points and edges are in view: drawn again
        scatter = app.query_one(Scatter)
        xy = app.xy
        for i, j in sorted(pairs_above(app, np.ones(app.n, dtype=bool))):
            (ax, ay), (bx, by) = xy[i], xy[j]
            pad = 1e-3 + 0.05 * max(abs(ax - bx), abs(ay - by))
            scatter.set_view((min(ax, bx) - pad, max(ax, bx) + pad,
                              min(ay, by) - pad, max(ay, by) + pad))
            await settle(pilot)
            x0, x1, y0, y1 = scatter.view
            keep = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
            expected = pairs_above(app, keep)
            if len(expected) <= 3:
                break
        assert (i, j) in expected and drawn_pairs(app) == expected
        assert f"{len(expected)} edges ≥ {t}" in status_text(app)
        await pilot.press("E")
        await settle(pilot)
        assert "edges" not in status_text(app) and drawn_pairs(app) == set()



@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "dumb"}])
async def test_edges_draw_without_colour(explorer, monkeypatch, settle, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        scatter = app.query_one(Scatter)
        assert app.no_color and scatter.marks == "groups"
        app.select(0)
        await pilot.press("E")
        await settle(pilot)
        assert len(drawn_pairs(app)) > 5
        keys = scatter._frame_keys
        from tui.widgets.scatter import EDGE_BANDS
        on = (keys >= 1) & (keys <= EDGE_BANDS)   # the lines' cells: braille among symbols
        assert on.any() and (scatter._frame_text[on] > 0x2800).all()
        # told apart by dim and bold, with no colour of their own
        assert scatter._mode() == "mono"
        base = scatter.rich_style
        for k in set(keys[on].tolist()):
            style = scatter._style_table("mono")[k]
            assert style.color == base.color and (style.dim or style.bold or k == 3)

# ---- search ----------------------------------------------------------------------------------

async def test_search_jumps_to_the_result(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"gamma 4")
        await settle(pilot)
        results = app.screen.query_one("#search-results", OptionList)
        texts = option_texts(results)
        assert texts and all("gamma" in t for t in texts)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, SearchScreen)
        assert app.labels[app.selection] == texts[1]
        assert app.query_one(Scatter).cursor == app.selection


async def test_search_marks_matched_characters(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"btm")
        await settle(pilot)
        first = app.screen.query_one("#search-results", OptionList).options[0].prompt
        marked = {first.plain[s.start:s.end] for s in first.spans if "bold" in str(s.style)}
        assert {"b", "t", "m"} <= marked


async def test_search_forgives_a_typo_and_says_so(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"gamam")  # a swap: not a subsequence of "gamma"
        await settle(pilot)
        first = app.screen.query_one("#search-results", OptionList).options[0].prompt
        assert first.plain.startswith("gamma")
        marked = "".join(first.plain[s.start:s.end] for s in first.spans
                         if "bold" in str(s.style))
        assert marked == "gamma"  # the word matched, whole
        assert "near spelling" in static_text(app.screen.query_one("#search-status"))


async def test_search_escape_changes_nothing(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"alpha", "escape")
        await settle(pilot)
        assert not isinstance(app.screen, SearchScreen)
        assert app.selection is None


async def test_search_with_no_match_says_so(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"zzzqqq")
        await settle(pilot)
        assert "no matches" in static_text(app.screen.query_one("#search-status"))
        await pilot.press("enter")  # nothing to jump to: the box stays
        assert isinstance(app.screen, SearchScreen)


# ---- labels are data -------------------------------------------------------------------------

async def test_labels_show_literally(explorer, settle):
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"bold")
        await settle(pilot)
        texts = option_texts(app.screen.query_one("#search-results", OptionList))
        assert "[bold red]x[/]" in texts
        await pilot.press("enter")
        await settle(pilot)
        assert "[bold red]x[/]" in static_text(app.query_one("#details-body"))
        assert "[bold red]x[/]" in static_text(app.query_one("#nb-head"))
        app.select(4)  # the OSC 52 label
        await settle(pilot)
        shown = static_text(app.query_one("#nb-head")) + static_text(
            app.query_one("#details-body"))
        assert "\x1b" not in shown and "\x07" not in shown
        assert "␛]52;c;aGk=␇evil" in shown
        svg = app.export_screenshot()
        assert "\x1b" not in svg


# ---- colours ---------------------------------------------------------------------------------

async def test_colour_cycles_through_modes(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        modes = app.group_modes
        assert modes[0] == "clusters" and "column:group" in modes
        assert "community:label-propagation" in modes and "degree" in modes
        seen = []
        for _ in range(len(modes)):
            await pilot.press("c")
            await settle(pilot)
            seen.append(app.group_mode)
            assert app.colour.mode == app.group_mode
            assert len(app.colour.groups) == 60
        assert seen[-1] == "clusters" and set(seen) == set(modes)


async def test_colouring_by_communities_lists_them(explorer, tmp_path, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        threshold_view = app.view
        app.set_group_mode("community:label-propagation")
        await settle(pilot)
        pane = app.query_one(ClustersPane)
        assert app.view.method == "label-propagation" and app.active_pane == "clusters"
        assert "communities by label-propagation" in static_text(
            app.query_one("#cl-threshold"))
        stored, _ = app.ds.community_labels("label-propagation")
        assert sorted(app.view.sizes.tolist()) == sorted(
            np.bincount(stored)[np.bincount(stored) >= 2].tolist())
        await pilot.press("tab", "tab", "enter")  # choose the largest community
        await settle(pilot)
        assert pane.mode == "members"
        members = set(app.view.members(0).tolist())
        assert members <= set(app.query_one(Scatter).highlight.tolist())
        assert "in label-propagation" in static_text(app.query_one("#cl-summary"))
        await pilot.press("e")
        out = tmp_path / "community.csv"
        app.screen.query_one(Input).value = str(out)
        await pilot.press("enter")
        await settle(pilot)
        rows = list(csv.DictReader(out.open()))
        assert {int(r["idx"]) for r in rows} == members
        assert {r["method"] for r in rows} == {"label-propagation"}
        await pilot.press("right_square_bracket")  # a threshold key: back to the threshold
        await settle(pilot)
        assert app.view.method is None and app.group_mode == "clusters"
        assert app.view.threshold == app.threshold != threshold_view.threshold


async def test_colour_by_metadata_shows_a_legend(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.set_group_mode("column:group")
        await settle(pilot)
        legend = app.query_one("#legend")
        assert legend.display
        text = static_text(legend)
        assert all(name in text for name in ("alpha", "beta", "gamma"))
        # three groups of 20: each gets its own colour
        assert sorted(np.bincount(app.colour.groups[app.colour.groups >= 0])) == [20, 20, 20]


async def test_marks_toggle_between_braille_and_symbols(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        scatter = app.query_one(Scatter)
        assert scatter.marks == "braille"
        await pilot.press("m")
        assert scatter.marks == "groups"
        rows = option_texts(app.query_one("#cl-list", OptionList))
        assert rows[0][1] == "0" and rows[1][1] == "1"  # the symbol the scatter draws
        await pilot.press("m")
        assert scatter.marks == "braille"


async def test_no_color_still_tells_clusters_apart(explorer, monkeypatch, settle):
    monkeypatch.setenv("NO_COLOR", "1")
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        scatter = app.query_one(Scatter)
        assert app.no_color and scatter.marks == "groups"
        assert scatter.regions_drawn  # named in bold, no colour needed
        await pilot.press("n")  # on 60 points the names cover whole clusters: off
        lines = "".join("".join(s.text for s in scatter.render_line(y))
                        for y in range(scatter.size.height))
        assert {"0", "1", "2"} <= set(lines)  # the three clusters by symbol
        app.select(0)
        await settle(pilot)
        cursor = [s for y in range(scatter.size.height) for s in scatter.render_line(y)
                  if s.style and s.style.reverse]
        assert cursor  # the cursor is drawn reversed, visible without colour


async def test_sixteen_colours_keep_every_cluster_colour(explorer, monkeypatch, settle):
    from rich.segment import Segment
    from rich.style import Style
    from textual import constants
    from textual.color import Color

    from tui.widgets.scatter import ANSI_PALETTE
    monkeypatch.setattr(constants, "COLOR_SYSTEM", "standard")
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert app.console.color_system == "standard"
        segments = [Segment("x", Style(color=c)) for c in ANSI_PALETTE]
        for f in app._filters:  # what the compositor does to every line it writes
            if f.enabled:
                segments = f.apply(segments, Color(0, 0, 0))
        assert len({s.style.color for s in segments}) == len(ANSI_PALETTE)


# ---- export ----------------------------------------------------------------------------------

async def test_export_the_neighbours(explorer, tmp_path, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("e")  # nothing selected: a note, no dialog
        assert not isinstance(app.screen, ExportScreen)
        app.select(2)
        await settle(pilot)
        await pilot.press("e")
        assert isinstance(app.screen, ExportScreen)
        out = tmp_path / "nb.csv"
        app.screen.query_one(Input).value = str(out)
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ExportScreen)
        rows = list(csv.DictReader(out.open()))
        assert [r["idx"] for r in rows] == [str(i) for i in
                                            [2, *app.graph.idx[2].tolist()]]
        assert rows[0]["rank"] == "0" and rows[1]["rank"] == "1"
        assert {"id", "label", "similarity", "group"} <= set(rows[0])


async def test_export_the_chosen_cluster_as_jsonl_and_confirm_overwrite(explorer, tmp_path, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.select(1)  # the "[bold red]x[/]" label
        await settle(pilot)
        await pilot.press("g", "e")
        out = tmp_path / "cluster.jsonl"
        out.write_text("old\n")
        app.screen.query_one(Input).value = str(out)
        await pilot.press("enter")  # exists: asks first
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        assert out.read_text() == "old\n"
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ExportScreen)
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        members = app.picks.chosen_members(app.view, app.graph.degree, None)
        assert sorted(r["idx"] for r in rows) == sorted(members.tolist())
        assert {r["cluster_size"] for r in rows} == {len(members)}
        assert "[bold red]x[/]" in [r["label"] for r in rows]


async def test_export_refuses_the_dataset_itself(explorer, vectors_dataset, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.select(2)
        await settle(pilot)
        size = vectors_dataset.stat().st_size
        await pilot.press("e")
        app.screen.query_one(Input).value = str(vectors_dataset)
        await pilot.press("enter", "enter")  # past the overwrite question
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        assert "dataset itself" in static_text(app.screen.query_one("#export-note"))
        assert vectors_dataset.stat().st_size == size
        await pilot.press("escape")
        assert not isinstance(app.screen, ExportScreen)


# ---- help and command palette ----------------------------------------------------------------

# How each bound key must read in the help, written out here rather than taken from tui.help.
KEY_TEXT = {
    "slash": "/", "question_mark": "?", "left_square_bracket": "[", "right_square_bracket": "]",
    "left_curly_bracket": "{", "right_curly_bracket": "}", "escape": "Esc", "enter": "Enter",
    "tab": "Tab", "shift+tab": "Shift+Tab", "backspace": "Backspace", "plus": "+",
    "equals_sign": "=", "minus": "-", "left": "←", "right": "→", "up": "↑", "down": "↓",
    "shift+left": "Shift+←", "shift+right": "Shift+→", "shift+up": "Shift+↑",
    "shift+down": "Shift+↓", **{k: k for k in "ceghjklmnpqvwDEHJKLPV0"},
}


def help_rows(text: str) -> list[tuple[list[str], str]]:
    """(keys, description) for each row of the help's key tables."""
    rows = []
    for line in text.splitlines():
        keys, sep, desc = line.strip().partition("  ")
        if sep and desc.strip():
            rows.append((keys.split(" "), desc.strip()))
    return rows


async def test_help_lists_every_key(explorer, settle):
    from textual.binding import Binding

    from tui.widgets.plot import ExplorerScatter
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = static_text(app.screen.query_one("#help-body"))
        rows = help_rows(text)
        # Zoom, pan and fit are the app's keys too, so the scatter's copies are not repeated.
        scatter = [b for b in ExplorerScatter.BINDINGS
                   if b.action.split("(")[0] not in ("zoom", "pan", "reset_view")]
        bindings = [*EmbtuiApp.BINDINGS, *scatter, *ClustersPane.BINDINGS,
                    *ExportScreen.BINDINGS]
        for b in Binding.make_bindings(bindings):
            assert b.key in KEY_TEXT, f"say in KEY_TEXT how {b.key!r} reads in the help"
            desc = b.tooltip or b.description
            assert any(KEY_TEXT[b.key] in keys and d == desc for keys, d in rows), (b.key, desc)
        assert any(keys == ["Ctrl+P"] for keys, _ in rows)
        for title in ("Everywhere", "Scatter", "Neighbours", "Clusters", "Details", "Search",
                      "Export"):
            assert title in text.splitlines()
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_colours_by_a_column(explorer, settle):
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"colour by group")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.group_mode == "column:group"


async def test_command_palette_goes_to_a_cluster(explorer, settle):
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"go to cluster 1")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.anchor is not None
        assert app.view.cluster_of(app.anchor) == 1


async def test_quit(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


# ---- other datasets and bad files ------------------------------------------------------------

async def test_collections_dataset(baskets_dataset, settle):
    app = EmbtuiApp(baskets_dataset)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert app.n > 0 and app.view is not None
        await pilot.press("slash", *"cola")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert "cola" in app.labels[app.selection]


async def test_corrupt_file_shows_an_error_screen(tmp_path, settle):
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"this is not a database" * 100)
    app = EmbtuiApp(bad)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert "not a DuckDB file" in static_text(app.screen.query_one("#error-text"))
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_missing_file_shows_an_error_screen(tmp_path, settle):
    app = EmbtuiApp(tmp_path / "nope.duckdb")
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert "no such file" in static_text(app.screen.query_one("#error-text"))


async def test_file_locked_by_a_writer_shows_an_error_screen(vectors_dataset, tmp_path, settle):
    path = tmp_path / "locked.duckdb"
    path.write_bytes(vectors_dataset.read_bytes())
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        app = EmbtuiApp(path)
        async with app.run_test(size=SMALL) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, ErrorScreen)
            assert "locked" in static_text(app.screen.query_one("#error-text"))
    finally:
        holder.stdin.close()
        holder.wait(30)


@pytest.fixture(scope="module")
def two_layouts(tmp_path_factory, vectors_parquet):
    pytest.importorskip("pymde")
    from engine.pipeline import BuildOptions, build
    out = tmp_path_factory.mktemp("layouts") / "two.duckdb"
    build(vectors_parquet, out, BuildOptions(k=5, layouts=("umap", "mde-umap")))
    return out


async def test_v_switches_layouts_keeping_the_selection(two_layouts, settle):
    app = EmbtuiApp(two_layouts)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert app.layouts == ["umap", "mde-umap"] and app.layout_name == "umap"
        app.select(7)
        await settle(pilot)
        umap_xy = app.xy.copy()
        await pilot.press("v")
        await settle(pilot)
        scatter = app.query_one(Scatter)
        assert app.layout_name == "mde-umap" and not np.allclose(app.xy, umap_xy)
        assert app.selection == 7 and scatter.cursor == 7
        assert "mde-umap" in str(scatter.border_title)
        await pilot.press("v")
        await settle(pilot)
        assert app.layout_name == "umap" and app.selection == 7


# ---- SLPA's overlapping communities: two groups joined by a bridge in both -------------------

@pytest.fixture(scope="module")
def bridge_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("bridge-tui")
    src = root / "bridge.parquet"
    pq.write_table(bridge_table(), src)
    out = root / "bridge.duckdb"
    build(src, out, BuildOptions(k=10, communities=("label-propagation", "slpa")))
    return out


async def _slpa_view(app, pilot, settle):
    await settle(pilot)
    app.set_group_mode("community:slpa")
    await settle(pilot)
    assert app.view.method == "slpa" and app.view.overlapping and len(app.view) == 2
    bridge = app.ds.resolve("bridge")
    (top, _), (other, _) = app.view.clusters_of(bridge)
    return bridge, top, other


async def test_details_list_every_community_of_the_selection(bridge_dataset, settle):
    app = EmbtuiApp(bridge_dataset)
    async with app.run_test(size=WIDE) as pilot:
        bridge, top, other = await _slpa_view(app, pilot, settle)
        app.select(bridge)
        await settle(pilot)
        text = static_text(app.query_one("#details-body"))
        assert "communities" in text and "2 of 2 in slpa" in text
        for c, s in app.ds.communities_of(bridge, "slpa"):
            k = app.view.rank[c]
            assert f"{k}, 11 members, strength {s:.2f}" in text
        app.select(0)  # a member of one group only
        await settle(pilot)
        assert "1 of 2 in slpa" in static_text(app.query_one("#details-body"))


async def test_choosing_a_community_highlights_its_overlapping_members(bridge_dataset, settle):
    app = EmbtuiApp(bridge_dataset)
    async with app.run_test(size=WIDE) as pilot:
        bridge, top, other = await _slpa_view(app, pilot, settle)
        app.query_one("#cl-list", OptionList).focus()
        await settle(pilot)
        ol = app.query_one("#cl-list", OptionList)
        step = other - (ol.highlighted or 0)
        await pilot.press(*(["down"] * step if step > 0 else ["up"] * -step), "enter")
        await settle(pilot)
        # the community where the bridge is not at its strongest: the bridge is in it
        assert app.query_one(ClustersPane).mode == "members"
        assert app.picks.chosen(app.view) == other
        members = set(app.view.members(other).tolist())
        assert bridge in members and len(members) == 11
        assert members <= set(app.query_one(Scatter).highlight.tolist())
        rows = option_texts(app.query_one("#cl-list", OptionList))
        assert len(rows) == 11
        marked = [r for r in rows if "* " in r]
        assert len(marked) == 1 and "bridge" in marked[0]


async def test_palette_goes_to_a_community_through_its_overlapping_member(bridge_dataset,
                                                                           settle):
    app = EmbtuiApp(bridge_dataset)
    async with app.run_test(size=WIDE) as pilot:
        bridge, top, other = await _slpa_view(app, pilot, settle)
        app.select(bridge)  # its own strongest community is `top`
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*f"go to cluster {other}")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.anchor == bridge and app.picks.chosen(app.view) == other
        members = set(app.view.members(other).tolist())
        assert members <= set(app.query_one(Scatter).highlight.tolist())
        assert f"cluster {other}" in static_text(app.query_one("#cl-summary"))


async def test_clusters_are_named_on_the_map_and_in_the_pane(explorer, settle):
    from engine.dataset import Dataset
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        with Dataset.open(app.path) as ds:
            expected = ds.cluster_names(ds.clusters(threshold=app.threshold)).labels
        assert app.names is not None and app.names.view is app.view
        assert app.names.labels == expected[:len(app.names.labels)]
        assert "alpha, item" in expected  # the group value and the label word read the same
        scatter = app.query_one(Scatter)
        drawn = scatter.regions_drawn
        assert drawn and set(drawn) <= set(app.names.short)
        rows = option_texts(app.query_one("#cl-list", OptionList))
        assert all(expected[c] in rows[c] for c in range(min(len(rows), len(app.view))))
        await pilot.press("n")
        await settle(pilot)
        assert scatter.regions_drawn == [] and not app.show_names
        await pilot.press("n")
        await settle(pilot)
        assert scatter.regions_drawn == drawn


async def test_names_follow_the_threshold_the_colour_and_the_zoom(explorer, settle):
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        first = app.names
        await pilot.press("left_curly_bracket")  # a coarse step down: fewer, larger clusters
        await settle(pilot)
        assert app.names is not first and app.names.view is app.view
        assert len(app.names.labels) == min(len(app.view), 300)
        scatter = app.query_one(Scatter)
        before = scatter.regions_drawn
        scatter.zoom(8)
        await pilot.pause()
        assert scatter.regions_drawn != before or len(before) <= 1  # placed again in view
        app.choose_group_mode("degree")  # the map is not coloured by clusters: no names
        await settle(pilot)
        assert scatter.regions_drawn == []
        app.choose_group_mode("community:label-propagation")
        await settle(pilot)
        assert app.view.method == "label-propagation" and app.names.view is app.view
        scatter.reset_view()
        await pilot.pause()
        assert scatter.regions_drawn


async def test_trust_on_the_status_line_as_a_colour_and_in_the_neighbours(explorer, settle):
    from engine.dataset import Dataset
    from engine.trust import far_on_map
    from tui.state import TRUST_PALETTE
    from tui.widgets.neighbours import FAR_MARK
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        with Dataset.open(app.path) as ds:
            want = ds.trust(app.layout_name)
        assert app.trust is not None and app.trust.layout == app.layout_name
        assert app.trust.trust.mean == pytest.approx(want.mean)
        status = static_text(app.query_one("#status"))
        assert f"trust {want.mean:.0%} · T {want.trustworthiness:.2f}" in status
        assert "trust" in app.group_modes
        app.choose_group_mode("trust")
        await settle(pilot)
        assert app.colour.mode == "trust" and app.colour.palette == TRUST_PALETTE
        fifths = np.clip(np.floor(want.share * 5), 0, 4)
        assert (app.colour.groups == np.where(np.isfinite(want.share), fifths, -1)).all()
        assert "0–20% kept" in static_text(app.query_one("#legend"))
        # the selection whose true neighbours the map scatters most
        row_far = [far_on_map(i, ds_row[ds_row >= 0], app.xy, want.radius).sum()
                   for i, ds_row in enumerate(app.graph.idx)]
        i = int(np.argmax(row_far))
        app.select(i)
        await settle(pilot)
        rows = option_texts(app.query_one("#nb-list", OptionList))
        far = far_on_map(i, app.graph.idx[i][app.graph.idx[i] >= 0], app.xy, want.radius)
        assert far.any()
        assert [FAR_MARK in r for r in rows] == far.tolist()
        head = static_text(app.query_one("#nb-head"))
        assert f"{FAR_MARK} {int(far.sum())} far on the map" in head


async def test_w_weighs_the_shading_by_degree_then_columns(explorer, settle):
    from tui.state import emphasis_weights
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        scatter = app.query_one(Scatter)
        assert app.emphasis_modes[:2] == ["off", "degree"] and app.emphasis == "off"
        plain = scatter._current_raster()
        assert plain.weight is None
        await pilot.press("w")
        await settle(pilot)
        assert app.emphasis == "degree"
        np.testing.assert_allclose(scatter._weights, emphasis_weights(app.graph.degree))
        raster = scatter._current_raster()
        assert raster.weight is not None and (raster.weight >= raster.counts).all()
        assert "weight: degree" in static_text(app.query_one("#status"))
        for _ in range(len(app.emphasis_modes) - 1):
            await pilot.press("w")
            await settle(pilot)
        assert app.emphasis == "off" and scatter._current_raster().weight is None
        assert "weight:" not in static_text(app.query_one("#status"))


async def test_v_shows_the_tsne_layout_with_its_own_names_and_trust(vectors_parquet, tmp_path,
                                                                     settle):
    out = tmp_path / "two-layouts.duckdb"
    build(vectors_parquet, out, BuildOptions(kind="vectors", k=5, merge_tree="knn",
                                             layouts=("umap", "tsne")))
    app = EmbtuiApp(out)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert app.layouts == ["umap", "tsne"] and app.layout_name == "umap"
        umap_centres = app.names.x.copy()
        await pilot.press("v")
        await settle(pilot)
        assert app.layout_name == "tsne"
        assert app.trust.layout == "tsne" and app.names.layout == "tsne"
        assert not np.allclose(app.names.x, umap_centres)  # placed on the new map
        assert app.query_one(Scatter).regions_drawn
        assert "tsne" in str(app.query_one(Scatter).border_title)


needs_text = pytest.mark.skipif(
    __import__("importlib").util.find_spec("sentence_transformers") is None,
    reason="the [text] extra is not installed")


@needs_text
@pytest.mark.slow
async def test_search_by_meaning_in_a_file_built_from_text(tmp_path, settle):
    src = tmp_path / "items.csv"
    src.write_text("id,title\n1,A cat sits on the mat\n2,A kitten is resting on the rug\n"
                   "3,The stock market fell sharply today\n"
                   "4,Share prices dropped steeply this afternoon\n"
                   "5,How to bake sourdough bread\n6,A recipe for homemade bread with starter\n")
    out = tmp_path / "items.duckdb"
    build(src, out, BuildOptions(kind="vectors", text_col="title", k=2))
    app = EmbtuiApp(out)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *["space" if c == " " else c
                                     for c in "my dog sleeps on the sofa"])
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        # by label, only the words "on" and "the" match
        assert "near spelling" in static_text(screen.query_one("#search-status"))
        await pilot.press("ctrl+t")
        await settle(pilot)
        rows = option_texts(screen.query_one("#search-results", OptionList))
        assert len(rows) == 6 and ("cat" in rows[0] or "kitten" in rows[0])
        assert "by meaning" in static_text(screen.query_one("#search-status"))
        await pilot.press("enter")
        await settle(pilot)
        assert app.ids[app.selection] in ("1", "2")


async def test_search_by_meaning_says_why_not_in_other_files(explorer, settle):
    app = explorer()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"alpha", "ctrl+t")
        await settle(pilot)
        assert "not built from text" in static_text(app.screen.query_one("#search-status"))
