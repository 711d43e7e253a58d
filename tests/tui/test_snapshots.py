"""Snapshot tests: what the explorer shows on the 60-entity vectors fixture, at 80×24 and 120×40.

The SVGs live in tests/tui/__snapshots__/test_snapshots/ (pytest-textual-snapshot's default).
Create or refresh them with `pytest tests/tui/test_snapshots.py --snapshot-update` and look at
every changed one before committing it (`--snapshot-report` writes an HTML diff on failure).

Every screen is taken only once the app is quiet: `settle` waits for the workers (loading,
clusters, search, the selected entity) and their messages, never a sleep. A screen must not
depend on timing, so each one is checked before it is taken: no toast is showing (toasts
time out), no worker is still running, the search box's cursor does not blink, and no
temporary path (the fixture lives under pytest's tmp dir) is on screen. The scatter's border
title shows only the file's basename, which is always "vectors.duckdb".

The app picks its palette from the terminal's colour system (truecolor: PALETTE, 16 colours:
ANSI_PALETTE, none or NO_COLOR: text attributes or symbols), which Rich detects from TERM,
COLORTERM and NO_COLOR, so the `terminal` fixture pins a truecolor terminal: the same
snapshots under any TERM, in CI as on a developer's machine.
"""

from __future__ import annotations

import os

import pytest
from textual import constants
from textual.widgets import Input, OptionList

from tui.help import HelpScreen
from tui.widgets.scatter import Scatter
from tui.widgets.search import SearchScreen

pytestmark = pytest.mark.slow

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.fixture(params=SIZES)
def size(request):
    return request.param


@pytest.fixture(autouse=True)
def terminal(monkeypatch):
    """A truecolor terminal whatever the environment (read when the app is created)."""
    monkeypatch.setattr(constants, "COLOR_SYSTEM", "truecolor")
    monkeypatch.setattr(constants, "FILTERS", "")
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", "truecolor")


async def quiet(pilot, settle, dataset) -> None:
    """Settle, then check that nothing timing- or machine-dependent is on the screen."""
    await settle(pilot)
    app = pilot.app
    assert not any(w.is_running for w in app.workers), "a worker is still running"
    assert not app._notifications, f"a toast is showing: {list(app._notifications)}"
    for inp in app.screen.query(Input):
        inp.cursor_blink = False  # the cursor stays drawn instead of blinking on a timer
    await pilot.pause()
    svg = app.export_screenshot()
    folder = os.path.dirname(os.path.abspath(dataset))
    for part in (folder, os.path.basename(folder), "pytest-of", "/tmp"):
        assert part not in svg, f"{part!r} is on the screen"


async def loaded(pilot, settle, dataset) -> None:
    await settle(pilot)
    app = pilot.app
    assert app.view is not None and app.search_ready, "the dataset did not finish loading"
    assert app.console.color_system == "truecolor" and not app.no_color


async def type_text(pilot, text: str) -> None:
    await pilot.press(*["space" if ch == " " else ch for ch in text])


# ---- 1. start --------------------------------------------------------------------------------

def test_start_screen(snap_compare, explorer, vectors_dataset, settle, size):
    """Everything loaded: the scatter coloured by cluster, the clusters pane (80×24: the only
    side pane, under the pane tabs; 120×40: details, neighbours and clusters with the
    histogram), the status line and the footer."""

    async def run_before(pilot):
        await loaded(pilot, settle, vectors_dataset)
        await quiet(pilot, settle, vectors_dataset)

    assert snap_compare(explorer(), terminal_size=size, run_before=run_before)


# ---- 2. search -------------------------------------------------------------------------------

def test_search_results(snap_compare, explorer, vectors_dataset, settle, size):
    """`/` and "item 1": 11 matches best first, the matched characters bold and underlined,
    the first result highlighted, the input's cursor after the query."""

    async def run_before(pilot):
        await loaded(pilot, settle, vectors_dataset)
        await pilot.press("slash")
        await settle(pilot)
        assert isinstance(pilot.app.screen, SearchScreen)
        await type_text(pilot, "item 1")
        await quiet(pilot, settle, vectors_dataset)
        screen = pilot.app.screen
        assert screen.query_one("#search-input", Input).value == "item 1"
        results = screen.query_one("#search-results", OptionList)
        assert results.option_count == 11 and results.highlighted == 0

    assert snap_compare(explorer(), terminal_size=size, run_before=run_before)


# ---- 3. a selection and its neighbours -------------------------------------------------------

def test_selected_entity(snap_compare, explorer, vectors_dataset, settle, size):
    """Search "bold", Enter: the entity labelled "[bold red]x[/]" (shown literally, never as
    markup) is selected; the neighbours pane (80×24: the active side pane) lists its five
    neighbours with similarity bars, the details pane (120×40) its id, group and cluster, and
    the scatter draws the cursor on it with its neighbours highlighted."""

    async def run_before(pilot):
        app = pilot.app
        await loaded(pilot, settle, vectors_dataset)
        await pilot.press("slash")
        await settle(pilot)
        await type_text(pilot, "bold")
        await settle(pilot)
        await pilot.press("enter")
        await quiet(pilot, settle, vectors_dataset)
        assert not isinstance(app.screen, SearchScreen)
        assert app.selection is not None
        assert str(app.labels[app.selection]) == "[bold red]x[/]"
        assert app.query_one("#nb-list", OptionList).option_count == 5
        if app.compact:
            assert app.active_pane == "neighbours"

    assert snap_compare(explorer(), terminal_size=size, run_before=run_before)


# ---- 4. clusters at two thresholds -----------------------------------------------------------

@pytest.mark.parametrize("steps", [pytest.param(1, id="raised1"),
                                   pytest.param(-2, id="lowered2")])
def test_clusters_at_threshold(snap_compare, explorer, vectors_dataset, settle, size, steps):
    """`}` (a coarse step up) once from the opening threshold, or `{` twice: the threshold bar
    moves, the histogram's marker with it, and the clusters split (up) or merge (down, the
    odd labels among the examples). In 80×24 the clusters pane is the active side pane."""

    async def run_before(pilot):
        app = pilot.app
        await loaded(pilot, settle, vectors_dataset)
        start = app.threshold
        for _ in range(abs(steps)):
            await pilot.press("right_curly_bracket" if steps > 0 else "left_curly_bracket")
            await settle(pilot)
        await quiet(pilot, settle, vectors_dataset)
        assert (app.threshold - start) * steps > 0
        assert app.view is not None and app.view.threshold == app.threshold
        if app.compact:
            assert app.active_pane == "clusters"

    assert snap_compare(explorer(), terminal_size=size, run_before=run_before)


# ---- 5. help ---------------------------------------------------------------------------------

def test_help_screen(snap_compare, explorer, vectors_dataset, settle, size):
    """`?` from the scatter: the focused pane's section (Scatter) first, then Everywhere, in a
    scrolling box; under it the footer offers only q (every other key waits for the dialog)."""

    async def run_before(pilot):
        await loaded(pilot, settle, vectors_dataset)
        await pilot.press("question_mark")
        await quiet(pilot, settle, vectors_dataset)
        assert isinstance(pilot.app.screen, HelpScreen)

    assert snap_compare(explorer(), terminal_size=size, run_before=run_before)


# ---- 6. edges --------------------------------------------------------------------------------

@pytest.mark.parametrize("every", [pytest.param(False, id="selection"),
                                   pytest.param(True, id="every")])
def test_edges_view(snap_compare, explorer, vectors_dataset, settle, size, every):
    """Entity 0 selected and the view set around its cluster (the layout's blobs are tight,
    so at the fitted view the lines would hide under the points): braille lines from it to
    its five neighbours, under the points and labels. `every`: then `{` and `E`, so every
    edge above the lowered threshold among the points in view is drawn too, dim to bright by
    similarity, and the status line counts them."""

    async def run_before(pilot):
        app = pilot.app
        await loaded(pilot, settle, vectors_dataset)
        app.select(0)
        await settle(pilot)
        members = app.view.members(app.view.cluster_of(0))
        lo, hi = app.xy[members].min(axis=0), app.xy[members].max(axis=0)
        pad = 0.15 * (hi - lo)
        app.query_one(Scatter).set_view((lo[0] - pad[0], hi[0] + pad[0],
                                         lo[1] - pad[1], hi[1] + pad[1]))
        if every:
            await pilot.press("left_curly_bracket")
            await settle(pilot)
            await pilot.press("E")
        await quiet(pilot, settle, vectors_dataset)
        edges = app.query_one(Scatter).edges
        assert edges is not None and (len(edges[0]) > 5) == every
        assert ("edges ≥" in (app.edges_note or "")) == every

    assert snap_compare(explorer(), terminal_size=size, run_before=run_before)


# ----- 7. heatmap with dendrogram --------------------------------------------------------------

def test_heatmap_with_dendrogram(snap_compare, explorer, vectors_dataset, settle, size):
    """Search "alpha item 3", Enter, `g` (its cluster), `H`: the cluster's cosine similarities
    in half blocks (two rows a line) in dendrogram order, the labels two a line coloured by
    their group under the threshold's cut, the Ward dendrogram beside the grid with the cut
    (┊), the colour scale, and the cursor moved to row 3, column 4 with the pair and its
    value in the status line."""
    from tui.widgets.heatmap import HeatmapScreen, HeatmapView

    async def run_before(pilot):
        app = pilot.app
        await loaded(pilot, settle, vectors_dataset)
        await pilot.press("slash")
        await settle(pilot)
        await type_text(pilot, "alpha item 3")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        await pilot.press("H")
        await settle(pilot)
        await pilot.press("down", "down", "right", "right")
        await quiet(pilot, settle, vectors_dataset)
        assert isinstance(app.screen, HeatmapScreen)
        view = app.screen.query_one(HeatmapView)
        assert view.hm is not None and view.cell == (2, 3)
        assert str(app.labels[app.selection]) == "alpha item 3"

    assert snap_compare(explorer(), terminal_size=size, run_before=run_before)


# ----- 8. the graph views on the MovieLens demo ------------------------------------------------

@pytest.mark.parametrize("shown", ["edges", "heatmap", "pairs"])
def test_graph_views_on_the_demo(snap_compare, demo_dataset, settle, size, shown):
    """The demo with "Star Wars: Episode IV" selected: `edges`, its lines to its neighbours on
    the map; `heatmap`, `H` on it and its neighbours (npmi recounted from the memberships,
    average linkage); `pairs`, `P`, the most similar pairs of films from the stored graph."""
    from tui.app import EmbtuiApp
    from tui.widgets.heatmap import HeatmapScreen
    from tui.widgets.pairs import PairsScreen

    async def run_before(pilot):
        app = pilot.app
        await loaded(pilot, settle, demo_dataset)
        if shown != "pairs":
            app.select(app.ds.resolve("Star Wars: Episode IV - A New Hope"))
            await settle(pilot)
        if shown == "heatmap":
            await pilot.press("H")
        elif shown == "pairs":
            await pilot.press("P")
        await quiet(pilot, settle, demo_dataset)
        if shown == "edges":
            assert app.query_one(Scatter).edges is not None
        else:
            assert isinstance(app.screen, HeatmapScreen if shown == "heatmap" else PairsScreen)

    assert snap_compare(EmbtuiApp(demo_dataset), terminal_size=size, run_before=run_before)


# ----- 9. the demo's opening screen: structure and names -------------------------------------

def test_demo_opening_screen(snap_compare, demo_dataset, settle, size):
    """The demo as it opens: coloured by the clusters at the opening threshold (0.62, 48
    clusters, none over a third), the largest named on the map by their keywords (the
    clusters pane names each row the same way)."""
    from tui.app import EmbtuiApp

    async def run_before(pilot):
        app = pilot.app
        await loaded(pilot, settle, demo_dataset)
        await quiet(pilot, settle, demo_dataset)
        assert app.query_one(Scatter).regions_drawn

    assert snap_compare(EmbtuiApp(demo_dataset), terminal_size=size, run_before=run_before)


def test_demo_trust_view(snap_compare, demo_dataset, settle, size):
    """The demo coloured by trust (the share of each film's 15 neighbours among its nearest
    on the UMAP map, in fifths, red to cyan) with "Star Wars: Episode IV" selected: the
    neighbours the map puts far away are marked ⇢, and the status line gives the mean and
    the trustworthiness of 1000 sampled films."""
    from tui.app import EmbtuiApp

    async def run_before(pilot):
        app = pilot.app
        await loaded(pilot, settle, demo_dataset)
        app.select(app.ds.resolve("Star Wars: Episode IV - A New Hope"))
        app.choose_group_mode("trust")
        await quiet(pilot, settle, demo_dataset)
        assert app.colour.mode == "trust" and app.trust is not None

    assert snap_compare(EmbtuiApp(demo_dataset), terminal_size=size, run_before=run_before)


def test_demo_weighted_by_degree(snap_compare, demo_dataset, settle, size):
    """The demo weighted by degree (`w` once): each film's weight in the density shading is
    1 + log(1 + in-degree), so the films many others list among their neighbours light their
    cells."""
    from tui.app import EmbtuiApp

    async def run_before(pilot):
        app = pilot.app
        await loaded(pilot, settle, demo_dataset)
        app.set_emphasis("degree")  # what `w` does, without its passing toast
        await quiet(pilot, settle, demo_dataset)
        assert app.emphasis == "degree"

    assert snap_compare(EmbtuiApp(demo_dataset), terminal_size=size, run_before=run_before)


# ---- several embeddings ----------------------------------------------------------------------

def _split(snap_compare, dataset, settle, prepare) -> bool:
    """The demo split (V) into its co-occurrence map and its svd map, after `prepare(app)`,
    at 120×40 (the toast V raises is cleared)."""
    from tui.app import EmbtuiApp

    async def run_before(pilot):
        app = pilot.app
        await loaded(pilot, settle, dataset)
        prepare(app)
        app.action_toggle_split()
        await settle(pilot)
        app.clear_notifications()
        await quiet(pilot, settle, dataset)
        assert app.split is not None and app.split.name == "svd"

    return snap_compare(EmbtuiApp(dataset), terminal_size=(120, 40), run_before=run_before)


def test_demo_split_view(snap_compare, demo_embeddings_dataset, settle):
    """`V` on the demo with "Star Wars: Episode IV" selected: the co-occurrence map (A) and
    the SVD of the likes (B), B turned onto A by Procrustes, both coloured by A's clusters
    and each highlighting the film's neighbours under its own embedding; the neighbour pane
    lists both side by side, = marking those both give."""
    def prepare(app):
        app.select(app.ds.resolve("Star Wars: Episode IV - A New Hope"))
    assert _split(snap_compare, demo_embeddings_dataset, settle, prepare)


def test_demo_split_view_coloured_by_agreement(snap_compare, demo_embeddings_dataset, settle):
    """The split with the colour mode "agreement with svd": each film by the share of its
    15 neighbours the SVD gives it too, in fifths, red (none) to cyan (most)."""
    def prepare(app):
        app.choose_group_mode("agreement:svd")
    assert _split(snap_compare, demo_embeddings_dataset, settle, prepare)


# ---- paths and diagnostics -------------------------------------------------------------------

def test_demo_path(snap_compare, demo_dataset, settle, size):
    """`p` on "Toy Story", then "Alien" selected: the widest path between them (10 steps,
    weakest 0.492) highlighted and drawn as edges on the map, and listed step by step in the
    neighbours pane (80×24: brought forward), its weakest step marked."""
    from tui.app import EmbtuiApp

    async def run_before(pilot):
        app = pilot.app
        await loaded(pilot, settle, demo_dataset)
        app.select(app.ds.resolve("Toy Story"))
        await settle(pilot)
        app.action_path()
        app.select(app.ds.resolve("Alien"))
        await settle(pilot)
        app.clear_notifications()
        await quiet(pilot, settle, demo_dataset)
        assert app.route is not None and len(app.route.idx) == 11

    assert snap_compare(EmbtuiApp(demo_dataset), terminal_size=size, run_before=run_before)


def test_demo_diagnostics(snap_compare, demo_dataset, settle, size):
    """`D` on the demo: the hubs (Reds listed by 114 films), the bridges at the opening
    threshold (21 Jump Street first) and the isolates, with the in-degree skewness."""
    from tui.app import EmbtuiApp
    from tui.widgets.diagnostics import DiagnosticsScreen

    async def run_before(pilot):
        app = pilot.app
        await loaded(pilot, settle, demo_dataset)
        app.action_diagnostics()
        await quiet(pilot, settle, demo_dataset)
        assert isinstance(app.screen, DiagnosticsScreen) and app.screen.rows

    assert snap_compare(EmbtuiApp(demo_dataset), terminal_size=size, run_before=run_before)
