"""The explorer on files and data that once crashed it: no layout, constant similarities,
failing load steps, stale messages, markup and escape codes in names, a crash, SIGTERM."""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from textual.app import App

from engine.pipeline import BuildOptions, build
from engine.store import Store
from sample_data.fixtures import vectors_table
from tui import loader
from tui.app import NO_LAYOUT, EmbtuiApp, outcome
from tui.widgets.clusters import ClustersPane, ThresholdBar
from tui.widgets.neighbours import NeighboursPane
from tui.widgets.scatter import Scatter
from tui.widgets.status import StatusLine

pytestmark = pytest.mark.anyio

WIDE = (130, 42)
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")  # ESC, BEL, CSI…: none may be drawn


def _vectors(path, x: np.ndarray) -> None:
    n = len(x)
    pq.write_table(pa.table({
        "id": [f"e{i}" for i in range(n)], "label": [f"item {i}" for i in range(n)],
        "vector": pa.array(x.astype(np.float32).tolist(), pa.list_(pa.float32()))}), path)


def _build(tmp_path_factory, name: str, x: np.ndarray, **options):
    base = tmp_path_factory.mktemp(name)
    _vectors(base / "in.parquet", x)
    build(base / "in.parquet", base / "vectors.duckdb", BuildOptions(kind="vectors", k=5,
                                                                     **options))
    return base / "vectors.duckdb"


@pytest.fixture(scope="module")
def no_layout(tmp_path_factory, vectors_parquet):
    out = tmp_path_factory.mktemp("nolayout") / "vectors.duckdb"
    build(vectors_parquet, out, BuildOptions(kind="vectors", k=5, layouts=()))
    return out


@pytest.fixture(scope="module")
def layout_rows_deleted(tmp_path_factory, vectors_dataset):
    out = tmp_path_factory.mktemp("deleted") / "vectors.duckdb"
    shutil.copy(vectors_dataset, out)
    store = Store.open(out, read_only=False)
    try:
        store.drop_derived(keep=[s for s in store.steps() if not s.startswith("layout")])
    finally:
        store.close()
    return out


@pytest.fixture(scope="module")
def identical(tmp_path_factory):
    return _build(tmp_path_factory, "identical", np.ones((20, 4)))


@pytest.fixture(scope="module")
def one_dim(tmp_path_factory):
    return _build(tmp_path_factory, "onedim", np.random.default_rng(0).normal(size=(20, 1)))


COLUMN = "g\x1b]52;c;aGk=\x07[bold]"  # OSC 52 (clipboard write) and markup in a column name


@pytest.fixture(scope="module")
def escapes(tmp_path_factory):
    t = vectors_table()
    labels = t.column("label").to_pylist()
    labels[0] = "\x1b]0;title\x07" + labels[0]  # OSC 0: the window title
    labels[1] = "\x1b[2J[@click=app.quit]" + labels[1]  # CSI 2J: clear the screen
    base = tmp_path_factory.mktemp("escapes")
    pq.write_table(pa.table({"id": t["id"], "label": labels, COLUMN: t["group"],
                             "embedding": t["embedding"]}), base / "in.parquet")
    build(base / "in.parquet", base / "vectors.duckdb", BuildOptions(kind="vectors", k=5))
    return base / "vectors.duckdb"


def screen_text(app) -> str:
    """Every character the screen draws now (toasts and dialogs included)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip if not seg.control) for strip in strips)


def pane_text(app, pane) -> str:
    return "".join(str(w.render()) if isinstance(w, ThresholdBar) else str(
        getattr(w, "content", "")) for w in app.query_one(pane).query("*"))


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


# ---- 5: a file without a layout --------------------------------------------------------------

@pytest.mark.parametrize("which", ["no_layout", "layout_rows_deleted"])
async def test_a_file_without_a_layout_opens_and_says_so(which, request, settle):
    app = EmbtuiApp(request.getfixturevalue(which))
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert app.layouts == [] and app.xy is None
        assert NO_LAYOUT in str(app.query_one(StatusLine).content)
        assert NO_LAYOUT in app.query_one(Scatter).border_title
        app.select(0)  # once raised ValueError in the scatter
        await settle(pilot)
        await pilot.press("enter", "tab", "enter", "]")
        await settle(pilot)
        assert app.selection is not None and app.view is not None and len(app.view)
        assert app.query_one(NeighboursPane)._indices  # the neighbours are listed
        await pilot.press("slash", *"alpha")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert "alpha" in app.labels[app.selection]
        await pilot.press("plus", "minus", "0", "v", "m", "c")  # the keys of the scatter
        await settle(pilot)
        assert app.is_running and any(NO_LAYOUT in n for n in notes(app))
        assert not [n for n in app._notifications if n.severity == "error"]


@pytest.fixture(scope="module")
def graph_only(tmp_path_factory, no_layout):
    out = tmp_path_factory.mktemp("bare") / "vectors.duckdb"
    shutil.copy(no_layout, out)
    store = Store.open(out, read_only=False)
    try:
        store.drop_derived(keep=[])  # the entities and the neighbour graph alone
    finally:
        store.close()
    return out


async def test_a_file_with_only_a_graph_opens(graph_only, settle):
    app = EmbtuiApp(graph_only)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        app.select(3)
        await settle(pilot)
        assert app.query_one(NeighboursPane)._indices
        assert "no merge tree" in pane_text(app, ClustersPane)
        await pilot.press("]")
        await settle(pilot)
        assert any("no merge tree" in n for n in notes(app)) and app.is_running


# ---- 12: constant similarities; a load step that fails ----------------------------------------

@pytest.mark.parametrize("which", ["identical", "one_dim"])
async def test_constant_similarities_open(which, request, settle):
    app = EmbtuiApp(request.getfixturevalue(which))
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert app.graph is not None and app.threshold_view is not None and app.search_ready
        app.select(0)
        await settle(pilot)
        assert "loading" not in pane_text(app, ClustersPane)
        assert "clusters" in pane_text(app, ClustersPane)
        assert app.query_one(NeighboursPane)._indices
        assert notes(app) == []


def test_histogram_of_one_value_is_one_bin():
    from tui.state import sim_histogram
    counts, edges = sim_histogram(np.ones((20, 5), np.float32))
    assert counts.tolist() == [100] and edges[0] == 1 < edges[-1]


async def test_a_failed_load_step_says_so_in_its_panes(explorer, monkeypatch, settle):
    def broken(ds):
        raise RuntimeError("graph unreadable")
    monkeypatch.setattr(loader, "_graph", broken)
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert "could not load clusters: graph unreadable" in pane_text(app, ClustersPane)
        assert ("could not load the neighbour graph: graph unreadable"
                in pane_text(app, NeighboursPane))
        assert any("graph unreadable" in n for n in notes(app))


async def test_failed_clusters_say_so(explorer, monkeypatch, settle):
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)

        def broken(*args, **kwargs):
            raise RuntimeError("no components")
        monkeypatch.setattr(loader, "clusters", broken)
        await pilot.press("]")
        await settle(pilot)
        assert "could not compute clusters: no components" in pane_text(app, ClustersPane)


# ---- 6: a message made for a listing that has since changed -----------------------------------

async def test_a_stale_cluster_choice_is_dropped(explorer, settle):
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        old = app.view
        last = len(old) - 1
        for _ in range(40):  # to the top threshold: fewer clusters than before
            await pilot.press("[")
        await settle(pilot)
        assert app.view is not old and len(app.view) <= last
        app.post_message(ClustersPane.Chosen(last, old))  # once IndexError
        app.post_message(ClustersPane.Chosen(10_000, app.view))
        await settle(pilot)
        assert app.anchor is None
        app.post_message(ClustersPane.Chosen(0, app.view))  # a current one still works
        await settle(pilot)
        assert app.anchor is not None and app.view.cluster_of(app.anchor) == 0
        app.go_to_cluster(last, old)  # the palette's command, made before the threshold moved
        await settle(pilot)
        assert app.view.cluster_of(app.anchor) == 0
        assert any("changed since" in n for n in notes(app))


# ---- 7 and 13: names and labels are plain text everywhere -------------------------------------

async def test_markup_in_the_file_name_is_shown_literally(vectors_dataset, tmp_path, settle):
    path = tmp_path / "[@click=app.quit]x.duckdb"
    shutil.copy(vectors_dataset, path)
    app = EmbtuiApp(path)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert "[@click=app.quit]x.duckdb" in screen_text(app)
        await pilot.click(Scatter, offset=(10, 0))  # on the title: no action attached
        await settle(pilot)
        assert app.is_running and app.return_code is None


async def test_escape_codes_in_names_and_labels_never_reach_the_screen(escapes, settle):
    app = EmbtuiApp(escapes)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        mode = f"column:{COLUMN}"
        assert mode in app.group_modes
        app.select(0)
        await settle(pilot)
        app.set_group_mode(app.group_modes[app.group_modes.index(mode) - 1])
        await settle(pilot)
        await pilot.press("c")  # to the column: the notification, status line and legend name it
        await settle(pilot)
        assert app.group_mode == mode and any("g␛]52;c;aGk=␇[bold]" in n for n in notes(app))
        shown = screen_text(app)
        assert "g␛]52;c;aGk=␇[bold]" in str(app.query_one(StatusLine).content)
        for text in [shown, *notes(app), str(app.query_one(StatusLine).content)]:
            assert not CONTROLS.search(text), repr(text)
        await pilot.press("ctrl+p")  # the palette lists "Colour by <column>" and labels
        await settle(pilot)
        assert not CONTROLS.search(screen_text(app))
        await pilot.press(*"colour by g")  # among the first hits, however long the list
        await settle(pilot)
        shown = screen_text(app)
        assert "Colour by g␛]52" in shown and not CONTROLS.search(shown)
        await pilot.press("escape")
        app.select(1)  # the details pane and neighbours show the CSI 2J label
        await settle(pilot)
        shown = screen_text(app)
        assert "␛[2J[@click=app.quit]" in shown and not CONTROLS.search(shown)
        assert app.is_running


# ---- 8: a crash ends in one line and a non-zero status; SIGTERM restores the terminal ---------

async def test_an_error_in_a_handler_is_kept_for_the_exit_path(explorer, monkeypatch, settle):
    def broken(self, message):
        raise TypeError("bad labels")
    monkeypatch.setattr(EmbtuiApp, "on_labels_loaded", broken)
    monkeypatch.delenv("EMBTUI_DEBUG", raising=False)
    app = explorer()
    with pytest.raises(TypeError, match="bad labels"):
        async with app.run_test(size=WIDE) as pilot:
            await settle(pilot)
    assert app.return_code == 1 and app._exit_renderables == []  # no Textual traceback
    with pytest.raises(TypeError, match="bad labels"):
        outcome(app)


def test_a_crash_in_the_explorer_is_one_line_and_a_failure(vectors_dataset, monkeypatch,
                                                            capsys):
    from tui.cli import main

    def broken(self, message):
        raise TypeError("bad labels")
    monkeypatch.setattr(EmbtuiApp, "on_labels_loaded", broken)
    monkeypatch.setattr(EmbtuiApp, "run", lambda self: App.run(self, headless=True))
    monkeypatch.delenv("EMBTUI_DEBUG", raising=False)
    assert main([str(vectors_dataset)]) == 2
    err = capsys.readouterr().err
    assert err == ("embtui: unexpected error: TypeError: bad labels "
                   "(set EMBTUI_DEBUG=1 for the traceback)\n")


def test_a_failed_worker_is_reported_as_its_own_error(vectors_dataset):
    from textual.worker import WorkerFailed
    app = EmbtuiApp(vectors_dataset)
    app._exception = WorkerFailed(KeyError("lost"))
    with pytest.raises(KeyError, match="lost"):
        outcome(app)


def test_quitting_is_status_zero(vectors_dataset, monkeypatch):
    from tui.app import run

    async def quit_soon(self):
        self.exit()
    monkeypatch.setattr(EmbtuiApp, "on_ready", quit_soon, raising=False)
    monkeypatch.setattr(EmbtuiApp, "run", lambda self: App.run(self, headless=True))
    assert run(vectors_dataset) == 0


# ---- under a terminal: SIGTERM, TERM=dumb -----------------------------------------------------

ALT_ON, ALT_OFF = b"\x1b[?1049h", b"\x1b[?1049l"
SGR = re.compile(rb"\x1b\[([0-9;]*)m")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def colour_codes(out: bytes) -> set[bytes]:
    """SGR sequences that set a colour (39/49, the default colours, are no colour)."""
    found = set()
    for m in SGR.finditer(out):
        params = m.group(1).split(b";")
        if any(p and (30 <= int(p) <= 38 or 40 <= int(p) <= 48 or 90 <= int(p) <= 107)
               for p in params):
            found.add(m.group(0))
    return found


def under_pty(args, term: str, until: bytes | None = None, deadline_s: float = 120,
              no_color: bool = False):
    """Run `embtui ARGS` on a pseudo-terminal; once `until` is in the output, SIGTERM it.
    Returns (all output, exit status). Reads until the output ends: never sleeps."""
    import pty
    import select
    import signal
    import sys
    import time

    env = dict(os.environ, TERM=term, PYTHONPATH=REPO)
    for name in ("NO_COLOR", "FORCE_COLOR", "EMBTUI_DEBUG", "COLORTERM"):
        env.pop(name, None)
    if no_color:
        env["NO_COLOR"] = "1"
    pid, fd = pty.fork()
    if pid == 0:  # the child: embtui from this tree
        os.execve(sys.executable, [sys.executable, "-c",
                                   "import sys; from tui.cli import main; sys.exit(main())",
                                   *map(str, args)], env)
    out = b""
    signalled = False
    end = time.monotonic() + deadline_s  # a hung child fails the test rather than hanging it
    try:
        while time.monotonic() < end:
            if until is not None and not signalled and until in out:
                os.kill(pid, signal.SIGTERM)
                signalled = True
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child has closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        if time.monotonic() >= end:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return out, os.waitstatus_to_exitcode(status)


def test_sigterm_leaves_the_terminal_as_q_does(vectors_dataset):
    # the footer's "Quit" is drawn once the screen is up
    out, status = under_pty([vectors_dataset], "xterm-256color", until=b"Quit")
    assert ALT_ON in out and status == 143
    assert out.rindex(ALT_OFF) > out.rindex(ALT_ON)  # the alternate screen is left at the end
    tail = out[out.rindex(ALT_OFF):]
    assert b"\x1b[?25h" in tail and b"\x1b[?1000l" in tail  # cursor back, mouse off
    assert b"Traceback" not in out


NO_COLOUR_TERMINALS = [("dumb", False), ("xterm-256color", True)]  # TERM=dumb; NO_COLOR


@pytest.mark.parametrize("term,no_color", NO_COLOUR_TERMINALS)
def test_term_dumb_explorer_draws_without_colour(vectors_dataset, term, no_color):
    out, status = under_pty([vectors_dataset], term, until=b"Quit", no_color=no_color)
    assert status == 143 and ALT_ON in out
    assert colour_codes(out) == set()


@pytest.mark.parametrize("term,no_color", NO_COLOUR_TERMINALS)
def test_term_dumb_build_progress_has_no_colour(vectors_parquet, tmp_path, term, no_color):
    out, status = under_pty(["build", vectors_parquet, "-o", tmp_path / "v.duckdb", "-k", "5"],
                            term, no_color=no_color)
    assert status == 0, out[-500:]
    assert b"knn" in out  # the progress was drawn, to this terminal
    assert colour_codes(out) == set()


# ---- an empty search ---------------------------------------------------------------------------

async def test_a_blank_search_says_what_to_do(explorer, settle):
    from tui.widgets.search import SearchScreen
    app = explorer()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"al")
        await settle(pilot)
        await pilot.press("backspace", "backspace", "space", "space")
        await settle(pilot)
        status = app.screen.query_one("#search-status")
        assert "type to search" in str(status.content)
        assert app.screen.query_one("#search-results").option_count == 0
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SearchScreen)
        assert "type part of a label to search" in str(status.content)
