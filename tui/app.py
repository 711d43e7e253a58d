"""The explorer: a braille scatter of the layout with details, neighbours and clusters panes.

State lives here and flows down into the widgets through their `show_*`/`set_*` methods;
widgets post messages up. Everything that touches DuckDB or does O(N) work on big data runs in
thread workers (bodies in tui.loader) that get their inputs as arguments and only post
messages (tui.messages); the UI thread works on arrays those messages delivered and never waits
on the dataset's lock. The first frame shows before the dataset is even open.
"""

from __future__ import annotations

import asyncio
import os
import signal
from contextlib import suppress
from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.filter import Monochrome, NoColor
from textual.screen import ModalScreen
from textual.widgets import Footer
from textual.worker import Worker, WorkerFailed, WorkerState, get_current_worker

from tui import loader
from tui import messages as msg
from tui.commands import ExplorerCommands
from tui.edges import EDGE_LIMIT, EdgeChoice, Edges, join, neighbour_edges, strength
from tui.export import export_job
from tui.help import HelpScreen
from tui.keys import APP_BINDINGS
from tui.screens import ErrorScreen, ExportScreen
from tui.selection import MEMBER_LIMIT, Selection
from tui.state import (
    Colouring,
    ThresholdScale,
    colour_by_view,
    made_where,
    mode_title,
    trust_note,
)
from tui.text import plain_content, plain_label
from tui.widgets.clusters import ClustersPane
from tui.widgets.details import DetailsPane, cluster_line
from tui.widgets.diagnostics import DiagnosticsScreen
from tui.widgets.explorer import ExplorerView
from tui.widgets.heatmap import HeatmapScreen, HeatmapView, fit
from tui.widgets.neighbours import NeighboursPane
from tui.widgets.pairs import PairsScreen
from tui.widgets.plot import ExplorerScatter
from tui.widgets.scatter import Scatter
from tui.widgets.search import SearchScreen
from tui.widgets.status import StatusLine

if TYPE_CHECKING:
    from engine.clusters import Clusters


NO_LAYOUT = "no layout in this file: rebuild with --layout umap"
SIGTERM_STATUS = 128 + signal.SIGTERM  # as a shell reports a process ended by SIGTERM
PAIRS_LIMIT = 200  # a screenful or few; `embtui pairs --limit` lists up to 10,000
DIAGNOSTICS_LIMIT = 50  # of each list on the diagnostics screen


class EmbtuiApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "embtui"
    COMMANDS = App.COMMANDS | {ExplorerCommands}
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = APP_BINDINGS

    def __init__(self, path: str | os.PathLike, *, embedding: str | None = None,
                 exit_on_sigterm: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path = str(path)
        self.embedding = embedding  # the file's embedding shown (None: its first)
        self._retired: list = []  # datasets of embeddings shown before (workers may read)
        self.split: msg.SplitLoaded | None = None  # V: the embedding shown beside (B)
        self.path_from: int | None = None  # p: the path's first end, awaiting the second
        self.route: msg.PathFound | None = None  # the path drawn on the map
        self.exit_on_sigterm = exit_on_sigterm  # run() asks; tests keep pytest's handlers
        if self.no_color or os.environ.get("TERM", "").lower() in ("dumb", "unknown"):
            # no colour codes at all: Textual's own NO_COLOR filter only turns them grey
            self.no_color = True
            self._filters = [f for f in self._filters if not isinstance(f, Monochrome)]
            self._filters.append(NoColor())
        self.ds = None
        self.n = 0
        self.layouts: list[str] = []
        self.layout_name: str | None = None
        self.xy: np.ndarray | None = None
        self.ids: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self.graph: msg.Graph | None = None
        self.scale: ThresholdScale | None = None
        self.threshold: float | None = None
        self.threshold_view: Clusters | None = None  # components at the threshold
        self.threshold_examples: list = []  # a few best-connected members of each
        self.view: Clusters | None = None  # what the clusters pane lists: those, or the
        # communities the scatter is coloured by
        self.examples: list = []  # a few best-connected members of each listed cluster
        self.group_modes: list[str] = ["clusters"]  # what the scatter's groups can stand for
        self.group_mode = "clusters"
        self.mode_chosen = False  # set once the user picks what the groups stand for
        self.colour: Colouring | None = None
        self.names: msg.ClustersNamed | None = None  # labels of the listed clusters
        self.show_names = True  # n: the clusters' labels on the map
        self.trust: msg.TrustComputed | None = None  # how far the layout shown holds
        self.emphasis_modes: list[str] = ["off"]  # w: what weighs the density shading
        self.emphasis = "off"
        self.picks = Selection()
        self.search_ready = False
        self.noted: set[str] = set()  # panes showing why the file lacks their data
        self.show_edges = False  # E: every edge above the threshold among the points in view
        self.edge_limit = EDGE_LIMIT  # more than this for a cluster or for E: none drawn
        self.edges_note: str | None = None  # on the status line: how many, or hidden
        self._edges_token = 0  # the latest edge request; older answers are dropped
        self._edge_parts: tuple[EdgeChoice | None, EdgeChoice | None] = (None, None)
        self.heatmap_token = 0  # the heatmap request on screen; older results are dropped
        self.pairs_token = 0  # likewise for the pairs screen

    # the selection, the trail and the anchor of the chosen cluster live in self.picks
    selection = property(lambda self: self.picks.current)
    trail = property(lambda self: self.picks.trail)
    anchor = property(lambda self: self.picks.anchor)

    # ---- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ExplorerView(plain_content(os.path.basename(self.path), 40), id="main")
        yield Footer()

    def on_mount(self) -> None:
        if self.console.color_system in ("standard", "windows"):
            # Textual first maps ANSI colours through its own theme, in which red and magenta
            # (and their bright forms) are one colour: let the terminal's 16 colours through.
            self.ansi_color = True
        if self.no_color:
            # Without colour, clusters are told apart by symbol (0-9, a-z) per cell.
            self.query_one(Scatter).marks = "groups"
        self.query_one(ExplorerView).fit(self.size.width, self.size.height)
        self.query_one(Scatter).focus()
        if self.exit_on_sigterm:
            # SIGTERM leaves as `q` does, so the driver restores the terminal on the way out
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGTERM, lambda: self.exit(return_code=SIGTERM_STATUS))
        self.load(self.path, self.embedding)

    def on_unmount(self) -> None:
        if self.exit_on_sigterm:
            with suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
        for ds in [self.ds, *self._retired]:
            with suppress(Exception):  # a worker may still be reading as the process ends
                ds.close()

    def say(self, text: str, **kwargs) -> None:
        """A notification: plain text, whatever data it holds (labels, paths, column names)."""
        self.notify(plain_label(text, 300), markup=False, **kwargs)

    def _handle_exception(self, error: Exception) -> None:
        """An unhandled error ends the app without Textual's traceback: run() raises it again
        so the command line reports it in one line (EMBTUI_DEBUG=1 keeps the traceback)."""
        if os.environ.get("EMBTUI_DEBUG"):
            return super()._handle_exception(error)
        self._return_code = 1
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        self._close_messages_no_wait()

    def on_resize(self, event) -> None:
        self.query_one(ExplorerView).fit(event.size.width, event.size.height)

    # which side pane shows and which pane has the focus are the layout's
    compact = property(lambda self: self.query_one(ExplorerView).compact)
    active_pane = property(lambda self: self.query_one(ExplorerView).active_pane)

    def _activate(self, name: str, compact_only: bool = False) -> None:
        self.query_one(ExplorerView).activate(name, compact_only)

    def _focused_pane_name(self) -> str:
        return self.query_one(ExplorerView).focused_pane()

    # ---- workers: the bodies are tui.loader's; failures land in on_worker_state_changed ----

    def _post(self):
        """In a worker: post to the app unless the worker has been cancelled (superseded)."""
        worker = get_current_worker()
        return lambda message: None if worker.is_cancelled else self.post_message(message)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self, path: str, embedding: str | None = None, align_to=None) -> None:
        loader.load(loader.open_dataset(path, embedding), self._post(), align_to)

    @work(thread=True, exclusive=True, group="split", exit_on_error=False)
    def load_split(self, path: str, name: str, align_to) -> None:
        loader.split(path, name, align_to, self._post())

    @work(thread=True, exclusive=True, group="diagnostics", exit_on_error=False)
    def compute_diagnostics(self, ds, threshold: float, limit: int) -> None:
        loader.diagnostics(ds, threshold, limit, self._post())

    @work(thread=True, exclusive=True, group="path", exit_on_error=False)
    def find_path(self, ds, a: int, b: int, kind: str) -> None:
        loader.path(ds, a, b, kind, self._post())

    @work(thread=True, exclusive=True, group="clusters", exit_on_error=False)
    def compute_clusters(self, ds, t: float, degree, group_mode: str) -> None:
        loader.clusters(ds, t, degree, group_mode, self._post())

    @work(thread=True, exclusive=True, group="names", exit_on_error=False)
    def name_clusters(self, ds, view, xy, layout: str | None) -> None:
        loader.names(ds, view, xy, layout, self._post())

    @work(thread=True, exclusive=True, group="trust", exit_on_error=False)
    def compute_trust(self, ds, layout: str) -> None:
        loader.trust(ds, layout, self._post())

    @work(thread=True, exclusive=True, group="weights", exit_on_error=False)
    def compute_weights(self, ds, mode: str) -> None:
        loader.weights(ds, mode, self._post())

    @work(thread=True, exclusive=True, group="colour", exit_on_error=False)
    def compute_colouring(self, ds, group_mode: str, threshold_view, degree) -> None:
        loader.groups(ds, group_mode, threshold_view, degree, self._post())

    @work(thread=True, exclusive=True, group="entity", exit_on_error=False)
    def load_entity(self, ds, i: int, ids, labels) -> None:
        loader.entity(ds, i, ids, labels, self._post())

    @work(thread=True, exclusive=True, group="layout", exit_on_error=False)
    def load_layout(self, ds, name: str) -> None:
        loader.layout(ds, name, self._post())

    @work(thread=True, exclusive=True, group="edges", exit_on_error=False)
    def select_edges(self, graph, xy, view, threshold, members, every: bool, limit: int,
                     token: int) -> None:
        loader.edges(graph.idx, graph.sim, xy, view, threshold, members, every, limit, token,
                     self._post())

    @work(thread=True, exclusive=True, group="pairs", exit_on_error=False)
    def compute_pairs(self, ds, token: int, least: bool, limit: int) -> None:
        loader.pairs(ds, token, least, limit, self._post())

    @work(thread=True, exclusive=True, group="heatmap", exit_on_error=False)
    def compute_heatmap(self, ds, token: int, idx, threshold: float | None) -> None:
        loader.heatmap(ds, token, idx, threshold, self._post())

    @work(thread=True, exclusive=True, group="warm", exit_on_error=False)
    def warm_kernels(self) -> None:
        from tui.braille import warm_up
        warm_up()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed open replaces the explorer with its reason; any other failure is a note."""
        err = event.worker.error
        if event.state != WorkerState.ERROR:
            return
        if isinstance(err, loader.OpenFailed):
            self.push_screen(ErrorScreen(str(err)))
            return
        text = str(err) if isinstance(err, loader.Failed) else (
            f"{event.worker.group}: {loader.one_line(err)}")
        self.say(text, severity="error")
        self._show_failure(event.worker.group, loader.one_line(err.__cause__ or err))

    def _show_failure(self, group: str, reason: str) -> None:
        """A pane still waiting for what a failed worker was to bring says so, in place of
        "loading…" forever."""
        reason = plain_label(reason, 200)
        if group == "load":
            if self.graph is None and "graph" not in self.noted:
                self.query_one(NeighboursPane).show_message(
                    f"could not load the neighbour graph: {reason}")
            if self.threshold_view is None and not self.noted & {"graph", "tree"}:
                self.query_one(ClustersPane).show_message(f"could not load clusters: {reason}")
            if self.xy is None and self.layouts:
                self.query_one(StatusLine).update(
                    Text(f"could not load the layout: {reason}", style="dim"))
        elif group == "clusters":
            self.query_one(ClustersPane).show_message(
                f"could not compute clusters: {reason}")
        elif group == "diagnostics" and isinstance(self.screen, DiagnosticsScreen):
            self.screen.show_message(f"could not diagnose the graph: {reason}")
        elif group == "pairs" and isinstance(self.screen, PairsScreen):
            self.screen.show_message(f"could not list the pairs: {reason}")
        elif group == "heatmap" and isinstance(self.screen, HeatmapScreen):
            self.screen.show_message(f"could not compute the heatmap: {reason}")

    @property
    def _degree(self) -> np.ndarray | None:
        return self.graph.degree if self.graph else None

    # ---- worker results ----------------------------------------------------------------------

    def on_dataset_opened(self, message: msg.DatasetOpened) -> None:
        self.ds, self.n = message.ds, message.n
        self.layouts = message.layouts
        self.group_modes = message.group_modes
        self.emphasis_modes = message.emphasis_modes
        if self.group_mode not in self.group_modes:  # another embedding's communities
            self.group_mode = "clusters"
        if self.emphasis not in self.emphasis_modes:
            self.emphasis = "off"
        if not self.layouts:
            self.query_one(StatusLine).update(Text(NO_LAYOUT, style="dim"))
            self.query_one(Scatter).border_title = plain_content(
                f"{os.path.basename(self.path)} · {NO_LAYOUT}", 80)

    def on_layout_loaded(self, message: msg.LayoutLoaded) -> None:
        first = self.xy is None
        self.xy = message.xy
        self.layout_name = message.name
        scatter = self.query_one(Scatter)
        scatter.set_points(message.xy)
        scatter.border_title = self._scatter_title()
        if self.colour is not None:
            self._apply_colouring()
        self._ask_names()  # the labels sit at their clusters' centres on this layout
        if "trust" in self.group_modes and self.ds is not None:
            self.compute_trust(self.ds, message.name)
        if first:
            # numba's one-off start-up would have delayed this first frame: drawn with numpy,
            # then the kernels load in the background for the frames that follow
            self.call_after_refresh(self.warm_kernels)
        else:
            self._apply_highlight()
            if self.selection is not None:
                scatter.set_cursor(self.selection)
        self._update_status()

    def on_labels_loaded(self, message: msg.LabelsLoaded) -> None:
        self.ids = message.ids
        self.labels = message.labels
        self.query_one(Scatter).set_labels(message.labels)
        self._update_status()

    def on_graph_loaded(self, message: msg.GraphLoaded) -> None:
        self.graph = message.graph
        if message.graph is None:
            self.noted.add("graph")
            self.query_one(NeighboursPane).show_message(message.note)
            self.query_one(ClustersPane).show_message(message.note)
            return
        self.query_one(ClustersPane).show_histogram(message.graph.hist_counts,
                                                    message.graph.hist_edges)
        if self.selection is not None:
            self._show_neighbours()
            self._apply_highlight()

    def on_opening_groups(self, message: msg.OpeningGroups) -> None:
        if self.group_mode == "clusters" and not self.mode_chosen:
            self.set_group_mode(message.mode)

    def on_threshold_ready(self, message: msg.ThresholdReady) -> None:
        if message.scale is None:
            self.noted.add("tree")
            self.query_one(ClustersPane).show_message(message.note)
            return
        self.scale = message.scale
        self.threshold = message.threshold
        self.query_one(ClustersPane).show_threshold(self.threshold, self.scale, pending=True)

    def on_clusters_computed(self, message: msg.ClustersComputed) -> None:
        view = message.view
        if view.threshold != self.threshold:
            return  # a newer threshold is being computed
        self.threshold_view = view
        self.threshold_examples = message.examples
        if self.view is None or self.view.method is None:
            self.view = view
            self.examples = message.examples
        if message.colouring is not None and self.group_mode == "clusters":
            self.colour = message.colouring
            self._apply_colouring()
        self.query_one(ClustersPane).show_threshold(self.threshold, self.scale)
        self._show_clusters()
        self.query_one(DetailsPane).show_cluster(self._cluster_text())
        self._refresh_edges()  # the chosen cluster and the threshold may both have moved
        self._ask_names()

    # ---- cluster labels ----------------------------------------------------------------------

    def _ask_names(self) -> None:
        """Name the listed clusters (a worker: c-TF-IDF and their centres on the layout)."""
        if self.view is None or self.ds is None:
            return
        named = self.names
        if named is not None and named.view is self.view and named.layout == self.layout_name:
            return
        self.name_clusters(self.ds, self.view, self.xy, self.layout_name)

    def on_clusters_named(self, message: msg.ClustersNamed) -> None:
        if message.view is not self.view or message.layout != self.layout_name:
            return  # the threshold, the listing or the layout has moved on
        self.names = message
        self._draw_names()
        self._show_clusters()
        self.query_one(DetailsPane).show_cluster(self._cluster_text())

    def _draw_names(self) -> None:
        """The listed clusters' labels on the map while the map is coloured by them."""
        named = self.names
        coloured = self.group_mode == "clusters" or self.group_mode.startswith("community:")
        if (self.show_names and coloured and named is not None and named.view is self.view
                and len(named.x) == len(named.labels) and self._has_points):
            sizes = self.view.sizes[:len(named.labels)]
            self.query_one(Scatter).set_regions(named.x, named.y, named.short, sizes)
        else:
            self.query_one(Scatter).set_regions(None)

    def action_cycle_emphasis(self) -> None:
        """w: weigh the density shading by the next of off, degree, the numeric columns."""
        modes = self.emphasis_modes
        i = modes.index(self.emphasis) if self.emphasis in modes else 0
        self.set_emphasis(modes[(i + 1) % len(modes)])
        self.say("weight: " + ("none" if self.emphasis == "off" else
                               mode_title(self.emphasis)), timeout=2)

    def set_emphasis(self, mode: str) -> None:
        if mode not in self.emphasis_modes:
            return
        self.emphasis = mode
        if mode == "off" or self.ds is None:
            self.query_one(Scatter).set_weights(None)
        else:
            self.compute_weights(self.ds, mode)
        self._update_status()

    def on_weights_computed(self, message: msg.WeightsComputed) -> None:
        if message.mode == self.emphasis and self._has_points:
            self.query_one(Scatter).set_weights(message.weights)

    def action_toggle_names(self) -> None:
        self.show_names = not self.show_names
        self._draw_names()
        self.say("cluster labels " + ("on" if self.show_names else "off"), timeout=2)

    @property
    def listed_names(self) -> list[str] | None:
        """The labels of the clusters the pane lists now (None: not computed for them yet)."""
        named = self.names
        return named.labels if named is not None and named.view is self.view else None

    @property
    def shown_trust(self) -> msg.TrustComputed | None:
        """How far the layout on screen holds (None: not computed for it yet)."""
        t = self.trust
        return t if t is not None and t.layout == self.layout_name else None

    def on_trust_computed(self, message: msg.TrustComputed) -> None:
        if message.layout != self.layout_name:
            return  # another layout is shown now
        self.trust = message
        if self.group_mode == "trust":
            self.colour = message.colouring
            self._apply_colouring()
        self._show_neighbours()
        self._update_status()

    def _far(self) -> np.ndarray | None:
        """Which of the selection's stored neighbours sit far away on the map shown."""
        from engine.trust import far_on_map
        t = self.shown_trust
        if t is None or self.selection is None or self.graph is None or not self._has_points:
            return None
        row = self.graph.idx[self.selection]
        return far_on_map(self.selection, row[row >= 0], self.xy, t.trust.radius)

    def on_colouring_computed(self, message: msg.ColouringComputed) -> None:
        if message.colouring.mode != self.group_mode:
            return
        self.colour = message.colouring
        self._apply_colouring()
        if message.colouring.view is not None:  # communities: list them as the clusters
            self._list(message.colouring.view, message.colouring.examples)

    def _list(self, view: Clusters | None, examples: list | None = None) -> None:
        """List `view` in the clusters pane (None: the threshold's components)."""
        if view is None:
            view, examples = self.threshold_view, self.threshold_examples
        if view is self.view:
            return
        self.view = view
        self.examples = examples or []
        self.picks.anchor = None
        pane = self.query_one(ClustersPane)
        if view is not None and view.method is not None:
            pane.show_message(f"communities by {view.method} · [ ] back to the threshold")
        elif self.scale is not None and self.threshold is not None:
            pane.show_threshold(self.threshold, self.scale)
        if view is not None:
            self._show_clusters()
            self.query_one(DetailsPane).show_cluster(self._cluster_text())
        self._apply_highlight()
        self._draw_names()
        self._ask_names()

    def on_entity_loaded(self, message: msg.EntityLoaded) -> None:
        if message.index == self.selection:
            self.query_one(DetailsPane).show_entity(message.row, self._cluster_text())

    def on_search_ready(self, message: msg.SearchReady) -> None:
        self.search_ready = True

    # ---- the selection and the chosen cluster ------------------------------------------------

    def select(self, i: int, *, remember: bool = True, show: str | None = "neighbours",
               partner: int | None = None) -> None:
        """Make entity i the selection; the previous one goes on the trail; a `partner` is
        highlighted with it (the other entity of a heatmap cell)."""
        i = int(i)
        if self.labels is None or not 0 <= i < self.n:
            return
        self.picks.select(i, remember, partner)
        if self.path_from is not None and i != self.path_from and self.ds is not None:
            self.find_path(self.ds, self.path_from, i, "widest")
            self.path_from = None
        if self._has_points:
            self.query_one(Scatter).set_cursor(i)
        if self.split is not None and self.split.xy is not None:
            self.query_one("#scatter-b", Scatter).set_cursor(i)
        self._show_neighbours()
        self.query_one(DetailsPane).show_message(plain_label(self.labels[i], 200) + " …")
        self.load_entity(self.ds, i, self.ids, self.labels)
        if show:
            self._activate(show, compact_only=True)
        self._show_clusters()
        self._apply_highlight()
        self._update_status()

    def _show_neighbours(self) -> None:
        if self.selection is None or self.labels is None:
            return
        pane = self.query_one(NeighboursPane)
        if self.split is not None and self.graph is not None:
            pane.show_pair(self.selection, self.trail, self.graph.idx, self.split.idx,
                           self.labels, self.ds.embedding, self.split.name)
        else:
            pane.show_entity(self.selection, self.trail, self.graph, self.labels, self._far())

    @property
    def _has_points(self) -> bool:
        """The scatter holds the entities (without a layout it has no points to index)."""
        return self.xy is not None and len(self.xy) == self.n

    def _apply_highlight(self) -> None:
        if self.labels is None or not self._has_points:
            return
        idx = self.picks.highlight(self.view, self.graph)
        if self.route is not None and self.route.idx is not None:  # the path, then the rest
            idx = np.concatenate([self.route.idx, idx[~np.isin(idx, self.route.idx)]])
        labels = [plain_label(self.labels[i], 24) for i in idx.tolist()]
        self.query_one(Scatter).set_highlight(idx, labels)
        self._highlight_split()
        self._refresh_edges()

    def _highlight_split(self) -> None:
        """B's side of the split: the selection and its neighbours under B."""
        split = self.split
        if split is None or split.xy is None or self.labels is None:
            return
        i = self.selection
        if i is None:
            idx = np.zeros(0, np.int64)
        else:
            row = split.idx[i] if split.idx.shape[1] else np.zeros(0, np.int32)
            idx = np.concatenate([[i], row[row >= 0]]).astype(np.int64)
        labels = [plain_label(self.labels[j], 24) for j in idx.tolist()]
        self.query_one("#scatter-b", Scatter).set_highlight(idx, labels)

    # ---- the split view ------------------------------------------------------------------------

    def action_toggle_split(self) -> None:
        """V: another embedding of the file beside this one, or back to one view."""
        view = self.query_one(ExplorerView)
        if self.split is not None or view.split_shown:
            self.split = None
            view.show_split(False)
            self.query_one(Scatter).border_title = self._scatter_title()
            self._show_neighbours()
            return
        ds = self.ds
        if ds is None or len(ds.embeddings) < 2:
            self.say("this file has one embedding (add one: embtui build … --embedding NAME)",
                     timeout=3)
            return
        names = ds.embeddings
        other = names[(names.index(ds.embedding) + 1) % len(names)]
        self.say(f"loading embedding {other} beside {ds.embedding}…", timeout=2)
        self.load_split(self.path, other, self.xy)

    def on_split_loaded(self, message: msg.SplitLoaded) -> None:
        if self.ds is None or message.name == self.ds.embedding:
            return
        self._retired.append(message.ds)
        self.split = message
        view = self.query_one(ExplorerView)
        view.show_split(True)
        right = self.query_one("#scatter-b", Scatter)
        right.border_title = plain_content(
            f"B · {message.name} · {message.layout or NO_LAYOUT}", 60)
        self.query_one(Scatter).border_title = self._scatter_title()
        if message.xy is not None:
            right.set_points(message.xy)
            if self.labels is not None:
                right.set_labels(self.labels)
            if self.selection is not None:
                right.set_cursor(self.selection)
        if self.colour is not None:
            self._apply_colouring()
        self._highlight_split()
        self._show_neighbours()

    def _scatter_title(self):
        """The left view's title: the file, the embedding (A in a split) and the layout."""
        side = "A · " if self.split is not None else ""
        return plain_content(f"{side}{os.path.basename(self.path)} · {self._embedding_title}"
                             f"{self.layout_name or NO_LAYOUT}", 60)

    # ---- edges in the scatter ----------------------------------------------------------------

    def _cluster_members(self) -> np.ndarray | None:
        """Every member of the chosen cluster (None: none chosen, or its anchor alone)."""
        c = self.picks.chosen(self.view)
        return None if c is None else self.view.members(c)

    def _refresh_edges(self) -> None:
        """Draw the selection's edges now; ask a worker for the chosen cluster's edges and,
        with E, every edge in view above the threshold (O(N·k) on a big graph)."""
        if self.graph is None or not self._has_points:
            return
        members = self._cluster_members()
        view = self.query_one(Scatter).view
        self._edges_token += 1
        if view is None or (members is None and not self.show_edges):
            self._edge_parts = (None, None)
        else:
            self.select_edges(self.graph, self.xy, view, self.threshold, members,
                              self.show_edges, self.edge_limit, self._edges_token)
        self._draw_edges()

    def on_edges_selected(self, message: msg.EdgesSelected) -> None:
        if message.token == self._edges_token:
            self._edge_parts = (message.cluster, message.every)
            self._draw_edges()

    def _draw_edges(self) -> None:
        graph = self.graph
        parts = [neighbour_edges(graph.idx, graph.sim, self.selection)]
        parts += [p.edges for p in self._edge_parts if p is not None]
        route = self.route
        if route is not None and route.idx is not None:
            parts.append(Edges(route.idx[:-1], route.idx[1:], route.sim.astype(np.float32)))
        edges = join(*parts)
        self.query_one(Scatter).set_edges(edges.a, edges.b,
                                          strength(edges.sim, graph.sim_lo, graph.sim_hi))
        self.edges_note = self._edges_note()
        self._update_status()

    def _edges_note(self) -> str | None:
        cluster, every = self._edge_parts
        at = (f" ≥ {self.scale.format(self.threshold)}"
              if self.scale is not None and self.threshold is not None else "")
        if every is not None:
            if every.too_many:
                return f"edges hidden: over {self.edge_limit:,} in view"
            return f"{len(every.edges.a):,} edges{at}"
        if cluster is not None and cluster.too_many:
            return f"cluster's edges hidden: over {self.edge_limit:,} in view"
        return None

    def action_toggle_edges(self) -> None:
        if "graph" in self.noted:
            self.say("this file has no neighbour graph, so no edges", timeout=3)
            return
        if self.graph is None or not self._has_points:
            self.say("the neighbour graph is still loading", timeout=2)
            return
        self.show_edges = not self.show_edges
        self._refresh_edges()

    def _show_clusters(self) -> None:
        """List the clusters, or the chosen cluster's members."""
        if self.view is None or self.labels is None:
            return
        pane = self.query_one(ClustersPane)
        members = self.picks.chosen_members(self.view, self._degree, MEMBER_LIMIT)
        if members is None:
            pane.show_clusters(self.view, self.labels, self.examples,
                               self.picks.cluster(self.view),
                               self.query_one(ExplorerView).swatches(self.group_mode),
                               self.listed_names)
            return
        pane.show_members(self.view, self.picks.chosen(self.view), self.anchor, members,
                          self.labels, self.selection,
                          made_where(self.view, self.scale, self.threshold))

    def _choose(self, c: int | None) -> None:
        """Choose the listed cluster c (None: let go of the chosen one)."""
        if c is None:
            self.picks.anchor = None
        elif self.view is None or not 0 <= c < len(self.view):
            return
        else:
            self.picks.choose(self.view, c, self._degree)
        self._show_clusters()
        self._apply_highlight()

    def on_clusters_pane_chosen(self, message: ClustersPane.Chosen) -> None:
        # made for the listing on screen when it was sent: the threshold may have moved since
        if self.view is not None and message.view is self.view:
            self._choose(message.cluster)

    def on_clusters_pane_back(self, message: ClustersPane.Back) -> None:
        self._choose(None)

    @on(ClustersPane.MemberChosen)
    @on(NeighboursPane.Chosen)
    def _walk(self, message: ClustersPane.MemberChosen | NeighboursPane.Chosen) -> None:
        self.select(message.index, show=None)

    # ---- the scatter, the status line and the details pane -----------------------------------

    @on(Scatter.CursorMoved)
    @on(Scatter.Hovered)
    def _update_status(self) -> None:
        if self.xy is not None:
            t = self.shown_trust
            note = None if t is None else trust_note(t.trust.mean, t.trust.trustworthiness)
            weight = None if self.emphasis == "off" else mode_title(self.emphasis)
            self.query_one(ExplorerView).show_status(self.colour, self.edges_note, note,
                                                     weight)

    @on(Scatter.ViewChanged)
    def _view_changed(self) -> None:
        if self.show_edges or self.picks.chosen(self.view) is not None:
            self._refresh_edges()  # which edges are in view has changed
        self._update_status()

    @on(ExplorerScatter.Selected)
    @on(Scatter.Clicked)
    def _scatter_selected(self, message: ExplorerScatter.Selected | Scatter.Clicked) -> None:
        if message.index is not None and message.index >= 0:
            self.select(message.index)

    def _cluster_text(self) -> Text | None:
        if self.view is None or self.selection is None or self.graph is None:
            return None
        c = self.picks.cluster(self.view)
        return cluster_line(self.view, c, made_where(self.view, self.scale, self.threshold),
                            self.selection,
                            self.listed_names)

    # ---- what the groups stand for -----------------------------------------------------------

    def _apply_colouring(self) -> None:
        if self.colour is not None and self.xy is not None:
            self.query_one(ExplorerView).show_groups(self.colour, self.group_mode)
            self._update_status()

    def choose_group_mode(self, mode: str) -> None:
        """The user's choice, which an opening default arriving later does not override."""
        self.mode_chosen = True
        self.set_group_mode(mode)

    def set_group_mode(self, mode: str) -> None:
        if mode not in self.group_modes:
            return
        self.group_mode = mode
        if not mode.startswith("community:"):
            self._list(None)
        if mode == "clusters":
            if self.threshold_view is not None:
                self.colour = colour_by_view(self.threshold_view)
                self._apply_colouring()
        elif mode == "trust":  # computed with the layout; the colour comes with it
            if self.shown_trust is not None:
                self.colour = self.shown_trust.colouring
                self._apply_colouring()
        elif self.ds is not None:
            self.compute_colouring(self.ds, mode, self.threshold_view, self._degree)
        if self.view is not None:
            self._show_clusters()
        self._draw_names()
        self._update_status()

    # ---- actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        # Under a dialog (search, export, help) only the dialog's own keys and quit apply.
        return not isinstance(self.screen, (ModalScreen, ErrorScreen)) or action in (
            "quit", "next_pane", "command_palette")

    def action_search(self) -> None:
        if self.labels is None:
            return self.say("still loading the labels…")
        self.push_screen(SearchScreen(self.ds, self.labels, by_meaning=self._text_refusal()),
                         lambda i: None if i is None else self.select(i))

    def _text_refusal(self) -> str | None:
        """Why the search cannot embed a text here (None: it can): a file built from text
        and the [text] extra are needed; found without importing torch."""
        import importlib.util
        if self.ds is None or getattr(self.ds, "text_model", None) is None:
            return "this file was not built from text (build --text-column): no model"
        if importlib.util.find_spec("sentence_transformers") is None:
            return "embedding a text needs the [text] extra: pip install 'embtui[text]'"
        return None

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self._focused_pane_name()))

    def action_threshold(self, steps: int, coarse: bool = False) -> None:
        if self.noted & {"graph", "tree"}:
            self.say("this file has no merge tree, so no thresholds (run embtui build)")
            return
        if self.graph is None or self.scale is None or self.threshold is None:
            self.say("the clusters are still loading")
            return
        if self.view is not None and self.view.method is not None:
            self.set_group_mode("clusters")  # back from listing communities
        self.threshold = self.scale.step(self.threshold, steps, coarse)
        self.query_one(ClustersPane).show_threshold(self.threshold, self.scale, pending=True)
        self._activate("clusters", compact_only=True)
        self.compute_clusters(self.ds, self.threshold, self._degree, self.group_mode)

    def action_cycle_colour(self) -> None:
        modes = self.group_modes
        i = modes.index(self.group_mode) if self.group_mode in modes else -1
        self.choose_group_mode(modes[(i + 1) % len(modes)])
        self.say(f"colour: {mode_title(self.group_mode)}", timeout=2)

    @property
    def _embedding_title(self) -> str:
        """The embedding shown, for titles, when the file has several."""
        ds = self.ds
        return f"{ds.embedding} · " if ds is not None and len(ds.embeddings) > 1 else ""

    def action_cycle_layout(self) -> None:
        """v: the next layout; after an embedding's last, the next embedding's first."""
        embeddings = self.ds.embeddings if self.ds is not None else []
        if not self.layouts and len(embeddings) < 2:
            self.say(NO_LAYOUT, timeout=3)
            return
        i = self.layouts.index(self.layout_name) if self.layout_name in self.layouts else -1
        if 0 <= i < len(self.layouts) - 1:
            self.show_layout(self.layouts[i + 1])
        elif len(embeddings) > 1:
            j = embeddings.index(self.ds.embedding)
            self.switch_embedding(embeddings[(j + 1) % len(embeddings)])
        elif len(self.layouts) > 1:
            self.show_layout(self.layouts[0])
        else:
            self.say("this file has one layout", timeout=2)

    def switch_embedding(self, name: str) -> None:
        """Show another embedding of the file: its graph, clusters and first layout, turned
        onto the map shown (Procrustes on the entities both hold); the selection stays."""
        if self.ds is None or name == self.ds.embedding or name not in self.ds.embeddings:
            return
        if self.split is not None:
            self.action_toggle_split()
        self._retired.append(self.ds)
        self.embedding = name
        self.view = self.threshold_view = None
        self.names = self.trust = None
        self.colour = None
        self.noted = set()
        self.say(f"embedding: {name}", timeout=2)
        self.load(self.path, name, self.xy)

    def show_layout(self, name: str) -> None:
        if name in self.layouts and self.ds is not None:
            self.load_layout(self.ds, name)

    def action_back(self) -> None:
        if not self.trail:
            self.say("the trail is empty", timeout=2)
            return
        self.select(self.trail.pop(), remember=False, show=None)

    def action_selection_cluster(self) -> None:
        """Choose the cluster of the selection: it then follows the selection as t moves."""
        if self.selection is None or self.view is None:
            self.say("select an entity first", timeout=2)
            return
        self.picks.anchor = self.selection
        self._show_clusters()
        self._apply_highlight()
        self._activate("clusters", compact_only=True)

    def go_to_cluster(self, c: int, view: Clusters | None = None) -> None:
        """Choose cluster c of `view` (the palette's listing; None: the current one), unless
        the listing has changed since."""
        if view is not None and view is not self.view:
            self.say("the clusters have changed since: open the palette again", timeout=3)
            return
        if self.view is not None and 0 <= c < len(self.view):
            self.post_message(ClustersPane.Chosen(c, self.view))
            self._activate("clusters", compact_only=True)

    # zoom and pan from any pane; the scatter's ViewChanged updates the status line
    def action_zoom(self, factor: float) -> None:
        self.query_one(Scatter).zoom(float(factor))

    def action_pan(self, dx: float, dy: float) -> None:
        self.query_one(Scatter).pan(float(dx), float(dy))

    def action_reset_view(self) -> None:
        self.query_one(Scatter).reset_view()

    def action_next_pane(self, step: int = 1) -> None:
        if isinstance(self.screen, (ModalScreen, ErrorScreen)):
            self.screen.focus_next() if step > 0 else self.screen.focus_previous()
            return
        self.query_one(ExplorerView).cycle_focus(step)

    def action_export(self, what: str | None = None) -> None:
        """Open the export dialog for the chosen cluster, else the selection's neighbours
        (`what`: "cluster" or "neighbours" only)."""
        job = export_job(self.labels, view=self.view, anchor=self.anchor,
                         chosen=self.picks.chosen(self.view),
                         selection=self.selection, graph=self.graph, threshold=self.threshold,
                         scale=self.scale, what=what)
        if job is None:
            self.say("select an entity or choose a cluster first", timeout=3)
            return
        self.push_screen(ExportScreen(self.ds, job), self._exported)

    export = action_export  # the command palette's "Export the chosen cluster…" and the like

    def action_heatmap(self) -> None:
        """The chosen cluster's heatmap, else the selection's and its neighbours', as many
        as the screen shows whole (the cluster's best connected first)."""
        if self.labels is None or self.ds is None:
            return self.say("still loading the labels…")
        rows_per_line = 1 if self.no_color else 2
        limit = fit(self.size.width, self.size.height, rows_per_line)
        members = self.picks.chosen_members(self.view, self._degree, None)
        if members is not None and len(members) > 1:
            c = self.picks.chosen(self.view)
            what = (f"Heatmap · cluster {c} {made_where(self.view, self.scale, self.threshold)}"
                    f" ({plain_label(self.labels[self.anchor], 40)})")
        elif self.selection is not None:
            members = np.concatenate([[self.selection], self.picks.neighbours(self.graph)])
            what = f"Heatmap · {plain_label(self.labels[self.selection], 40)} and its neighbours"
        else:
            return self.say("select an entity or choose a cluster first", timeout=3)
        idx = np.asarray(members[:limit], dtype=np.int64)
        self.heatmap_token += 1
        threshold = self.threshold if self.scale is not None else None
        self.push_screen(HeatmapScreen(
            what, mono=self.no_color, shown=len(idx), total=len(members),
            threshold=threshold,
            threshold_text=None if threshold is None else self.scale.format(threshold)))
        self.compute_heatmap(self.ds, self.heatmap_token, idx, threshold)

    def on_heatmap_computed(self, message: msg.HeatmapComputed) -> None:
        if message.token == self.heatmap_token and isinstance(self.screen, HeatmapScreen):
            self.screen.show(message.heatmap, message.labels, message.groups)

    def on_heatmap_view_pair_chosen(self, message: HeatmapView.PairChosen) -> None:
        """Enter on a heatmap cell: back to the explorer with the row's entity selected and
        the column's highlighted with it."""
        if isinstance(self.screen, HeatmapScreen):
            self.pop_screen()
        self.select(message.a, partner=message.b)

    def action_pairs(self) -> None:
        """The dataset's most similar pairs (l on the screen: the least), one a row."""
        if self.labels is None or self.ds is None:
            return self.say("still loading the labels…")
        self.push_screen(PairsScreen())
        self._ask_pairs(False)

    def action_diagnostics(self) -> None:
        """The graph's hubs, the bridges at the current threshold and its isolates."""
        if self.ds is None or self.graph is None or self.threshold is None:
            return self.say("the graph and its clusters are still loading (or missing)")
        self.push_screen(DiagnosticsScreen())
        self.compute_diagnostics(self.ds, self.threshold, DIAGNOSTICS_LIMIT)

    def on_diagnostics_found(self, message: msg.DiagnosticsFound) -> None:
        if isinstance(self.screen, DiagnosticsScreen) and message.threshold == self.threshold:
            self.screen.show(message.doc, message.idx)

    def on_diagnostics_screen_entity_chosen(self, message: DiagnosticsScreen.EntityChosen
                                            ) -> None:
        if isinstance(self.screen, DiagnosticsScreen):
            self.pop_screen()
        self.select(message.index)

    def _ask_pairs(self, least: bool) -> None:
        self.pairs_token += 1
        self.compute_pairs(self.ds, self.pairs_token, least, PAIRS_LIMIT)

    def on_pairs_screen_toggled(self, message: PairsScreen.Toggled) -> None:
        self._ask_pairs(message.least)

    def on_pairs_computed(self, message: msg.PairsComputed) -> None:
        if message.token == self.pairs_token and isinstance(self.screen, PairsScreen):
            self.screen.show(message.least, message.heading, message.rows)

    def on_pairs_screen_pair_chosen(self, message: PairsScreen.PairChosen) -> None:
        """Enter on a pair: back to the explorer with a selected, b highlighted with it."""
        if isinstance(self.screen, PairsScreen):
            self.pop_screen()
        self.select(message.a, partner=message.b)

    def _exported(self, result: str | None) -> None:
        if result:
            self.say(f"exported {result}", timeout=5)

    def action_toggle_marks(self) -> None:
        scatter = self.query_one(Scatter)
        scatter.marks = "braille" if scatter.marks == "groups" else "groups"
        self._apply_colouring()
        if self.view is not None:
            self._show_clusters()
        self.say("points drawn as " + ("group symbols" if scatter.marks == "groups"
                                          else "braille dots"), timeout=2)

    def action_clear(self) -> None:
        """Escape: clear the path (or stop waiting for its other end), else let go of the
        chosen cluster."""
        if self.route is not None or self.path_from is not None:
            self.route = self.path_from = None
            self._apply_highlight()
            self._show_neighbours()
            return
        if self.anchor is not None:
            self._choose(None)

    # ---- paths through the graph -------------------------------------------------------------

    def action_path(self) -> None:
        """p: the selection is the path's first end; the next entity selected, the other."""
        if self.selection is None:
            self.say("select an entity first: the path starts there", timeout=3)
            return
        if "graph" in self.noted or "tree" in self.noted:
            self.say("this file has no merge tree, so no paths", timeout=3)
            return
        self.path_from = self.selection
        self.say(f"path from {plain_label(self.labels[self.selection], 60)}: select the "
                 "other end (Esc cancels)", timeout=4)

    def on_path_found(self, message: msg.PathFound) -> None:
        if message.idx is None:
            self.say(message.note or "no path", severity="warning", timeout=4)
            return
        self.route = message
        self.query_one(NeighboursPane).show_path(message.idx, message.sim, self.labels)
        self._activate("neighbours", compact_only=True)
        self._apply_highlight()


def run(path: str | os.PathLike, embedding: str | None = None) -> int:
    """Open the explorer on a dataset file (blocks until the user quits); the exit status."""
    app = EmbtuiApp(path, embedding=embedding, exit_on_sigterm=True)
    app.run()
    return outcome(app)


def outcome(app: App) -> int:
    """How a finished app ended: its error raised again (for a one-line report), else its
    return code (143 after SIGTERM, 0 after `q`)."""
    err = app._exception
    if isinstance(err, WorkerFailed):  # a worker's own error names the fault, not the wrapper
        err = err.error
    if err is not None:
        raise err
    return app.return_code or 0
