"""The explorer: a braille scatter of the layout with details, neighbours and clusters panes.

State lives here and flows down into the widgets through their `show_*`/`set_*` methods;
widgets post messages up. Everything that touches DuckDB or does O(N) work on big data runs in
thread workers that only post messages (tui.messages); the UI thread works on arrays those
messages delivered and never waits on the dataset's lock. The first frame shows before the
dataset is even open: the loader posts the layout first, then labels, the graph and clusters.
"""

from __future__ import annotations

import os

import numpy as np
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from engine.clusters import Clusters
from tui import messages as msg
from tui.commands import ExplorerCommands
from tui.screens import ErrorScreen, ExportJob, ExportScreen
from tui.state import (Colouring, ThresholdScale, best_connected,
                       cluster_examples, colour_by_view, colour_modes, colouring,
                       initial_threshold, mode_title, sim_histogram, slug, threshold_scale)
from tui.text import plain_label
from tui.widgets.clusters import ClustersPane
from tui.widgets.common import Pane, label_text
from tui.widgets.details import DetailsPane
from tui.widgets.neighbours import NeighboursPane
from tui.widgets.plot import ExplorerScatter
from tui.widgets.scatter import ANSI_PALETTE, GROUP_SYMBOLS, PALETTE, Scatter
from tui.widgets.search import SearchScreen

COMPACT_WIDTH = 110  # below this (or COMPACT_HEIGHT) the side panes show one at a time
COMPACT_HEIGHT = 34
SIDE_PANES = ("neighbours", "clusters", "details")
HIGHLIGHT_LIMIT = 2000  # members of a chosen cluster drawn highlighted
MEMBER_LIMIT = 500  # members listed in the clusters pane
SYMBOL_GROUPS = 36  # groups told apart by symbol (0-9, a-z) when drawing symbols
INITIAL_SHARE = 0.75  # start where the largest cluster holds at most this share


class PaneTabs(Static):
    """In compact mode: which side pane is showing, and that Tab cycles them."""

    def show(self, active: str) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        for name in SIDE_PANES:
            style = "bold reverse" if name == active else "dim"
            text.append(f" {name.capitalize()} ", style=style)
        text.append(" Tab", style="dim")
        self.update(text)


class StatusLine(Static):
    """Under the scatter: the view's status and the colouring."""


class EmbtuiApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "embtui"
    COMMANDS = App.COMMANDS | {ExplorerCommands}
    ENABLE_COMMAND_PALETTE = True

    _threshold_keys = Binding.Group("threshold", compact=True)
    BINDINGS = [
        Binding("slash", "search", "Search", id="app.search",
                tooltip="fuzzy search over the labels"),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="this screen"),
        Binding("left_square_bracket", "threshold(-1)", "Lower", id="app.threshold_down",
                group=_threshold_keys, tooltip="lower the threshold a fine step"),
        Binding("right_square_bracket", "threshold(1)", "Raise", id="app.threshold_up",
                group=_threshold_keys, tooltip="raise the threshold a fine step"),
        Binding("left_curly_bracket", "threshold(-1, True)", "Lower more", show=False,
                id="app.threshold_down_coarse", tooltip="lower the threshold a coarse step"),
        Binding("right_curly_bracket", "threshold(1, True)", "Raise more", show=False,
                id="app.threshold_up_coarse", tooltip="raise the threshold a coarse step"),
        Binding("c", "cycle_colour", "Colour", id="app.colour",
                tooltip="colour by the next of: clusters, communities, metadata, degree"),
        Binding("e", "export", "Export", id="app.export",
                tooltip="write the chosen cluster, else the selection and its neighbours"),
        Binding("tab", "next_pane", "Next pane", show=False, priority=True,
                id="app.next_pane", tooltip="cycle scatter → neighbours → clusters → details"),
        Binding("shift+tab", "previous_pane", "Previous pane", show=False, priority=True,
                id="app.previous_pane", tooltip="cycle the panes backwards"),
        Binding("backspace", "back", "Back", show=False, id="app.back",
                tooltip="back along the trail of selections"),
        Binding("g", "selection_cluster", "Selection's cluster", show=False,
                id="app.selection_cluster",
                tooltip="choose the selection's cluster; it follows as the threshold moves"),
        Binding("escape", "clear", "Let go", show=False, id="app.clear",
                tooltip="let go of the chosen cluster"),
        Binding("v", "cycle_layout", "Next layout", show=False, id="app.layout",
                tooltip="show the next stored layout (umap, mde-umap, …)"),
        Binding("m", "toggle_marks", "Braille or symbols", show=False, id="app.marks",
                tooltip="draw points as braille dots or as their group's symbol"),
        Binding("plus,equals_sign", "zoom(2)", "Zoom in", show=False, id="app.zoom_in",
                tooltip="zoom in, keeping the cursor in place"),
        Binding("minus", "zoom(0.5)", "Zoom out", show=False, id="app.zoom_out",
                tooltip="zoom out"),
        Binding("0", "reset_view", "Fit", show=False, id="app.reset_view",
                tooltip="fit all points"),
        Binding("shift+left,H", "pan(-0.25, 0)", "Pan", show=False, id="app.pan_left",
                tooltip="pan left"),
        Binding("shift+right,L", "pan(0.25, 0)", "Pan", show=False, id="app.pan_right",
                tooltip="pan right"),
        Binding("shift+up,K", "pan(0, 0.25)", "Pan", show=False, id="app.pan_up",
                tooltip="pan up"),
        Binding("shift+down,J", "pan(0, -0.25)", "Pan", show=False, id="app.pan_down",
                tooltip="pan down"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="quit"),
    ]

    def __init__(self, path: str | os.PathLike, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path = str(path)
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
        self.view: Clusters | None = None  # what the clusters pane lists: those, or the
        # communities the scatter is coloured by
        self.threshold_examples: list = []  # a few best-connected members of each cluster
        self.examples: list = []  # of threshold_view and view
        self.colour_modes: list[str] = ["clusters"]
        self.colour_mode = "clusters"
        self.colour: Colouring | None = None
        self.selection: int | None = None
        self.trail: list[int] = []
        self.anchor: int | None = None  # entity whose cluster is chosen
        self.search_ready = False
        self.active_pane = "clusters"
        self.compact = True
        self.load_error: str | None = None
        self._members_cache: tuple | None = None

    # ---- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="plot"):
                scatter = ExplorerScatter(id="scatter")
                scatter.border_title = plain_label(os.path.basename(self.path), 40)
                yield scatter
                yield StatusLine(Text("opening…", style="dim"), id="status")
                yield Static("", id="legend")
            with Vertical(id="sidebar"):
                yield PaneTabs(id="pane-tabs")
                # top to bottom in the order Tab visits them
                yield NeighboursPane(id="neighbours")
                yield ClustersPane(id="clusters")
                yield DetailsPane(id="details")
        yield Footer()

    def on_mount(self) -> None:
        if self.console.color_system in ("standard", "windows"):
            # Textual first maps ANSI colours through its own theme, in which red and magenta
            # (and their bright forms) are one colour: let the terminal's 16 colours through.
            self.ansi_color = True
        if self.no_color:
            # Without colour, clusters are told apart by symbol (0-9, a-z) per cell.
            self.query_one(Scatter).marks = "groups"
        self._layout_for(self.size.width, self.size.height)
        self.query_one(Scatter).focus()
        self.load()

    def on_unmount(self) -> None:
        if self.ds is not None:
            try:
                self.ds.close()
            except Exception:  # a worker may still be reading; the process is ending
                pass

    def on_resize(self, event) -> None:
        self._layout_for(event.size.width, event.size.height)

    def _layout_for(self, width: int, height: int) -> None:
        self.compact = width < COMPACT_WIDTH or height < COMPACT_HEIGHT
        self._main_class("-compact", self.compact)
        self._main_class("-short", height < 30)
        self._show_active_pane()

    def _main_class(self, name: str, on: bool) -> None:
        main = self.query_one("#main")
        main.set_class(on, name)

    def _show_active_pane(self) -> None:
        for name in SIDE_PANES:
            self.query_one(f"#{name}").set_class(name == self.active_pane, "-active")
        self.query_one(PaneTabs).show(self.active_pane)

    def _activate(self, name: str) -> None:
        if name in SIDE_PANES and name != self.active_pane:
            self.active_pane = name
            self._show_active_pane()

    # ---- loading (worker) --------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load")
    def load(self) -> None:
        from engine.dataset import Dataset
        try:
            ds = Dataset.open(self.path)
        except Exception as err:  # every failure to open is a message, never a traceback
            self.post_message(msg.LoadFailed(_one_line(err)))
            return
        try:
            self._load_rest(ds)
        except Exception as err:
            self.post_message(msg.WorkFailed(f"loading stopped: {_one_line(err)}"))

    def _load_rest(self, ds) -> None:
        modes = colour_modes(ds.community_methods, ds.metadata_columns)
        self.post_message(msg.DatasetOpened(ds, ds.n, ds.layouts, modes))
        if ds.layouts:
            name = ds.layouts[0]
            self.post_message(msg.LayoutLoaded(name, ds.layout(name)))
        self.post_message(msg.LabelsLoaded(ds.ids, ds.labels))
        if not ds.has("knn"):
            self.post_message(msg.GraphLoaded(None, "this file has no neighbour graph yet"))
        else:
            idx, sim = ds.knn
            finite = sim[np.isfinite(sim)]
            lo = float(finite.min()) if finite.size else 0.0
            hi = float(finite.max()) if finite.size else 1.0
            counts, edges = sim_histogram(sim)
            graph = msg.Graph(idx, sim, ds.in_degree, lo, hi, counts, edges)
            self.post_message(msg.GraphLoaded(graph))
            if not ds.has("merge_tree"):
                self.post_message(msg.ThresholdReady(
                    None, None, "this file has no merge tree yet (run embtui build)"))
            else:
                tree_sims = ds.merge_tree[2]
                scale = threshold_scale(tree_sims)
                t0 = initial_threshold(scale, tree_sims, ds.threshold_labels, ds.n,
                                       INITIAL_SHARE)
                self.post_message(msg.ThresholdReady(scale, t0))
                self._post_clusters(ds, t0, graph.degree, "clusters")
        ds.search_index()
        self.post_message(msg.SearchReady())

    def _post_clusters(self, ds, t: float, degree, mode: str) -> None:
        view = ds.clusters(threshold=t)
        examples = cluster_examples(view, degree)
        col = colour_by_view(view) if mode == "clusters" else None
        worker = get_current_worker()
        if not worker.is_cancelled:
            self.post_message(msg.ClustersComputed(view, examples, col))

    @work(thread=True, exclusive=True, group="clusters")
    def compute_clusters(self, t: float) -> None:
        try:
            self._post_clusters(self.ds, t, self.graph.degree, self.colour_mode)
        except Exception as err:
            self.post_message(msg.WorkFailed(f"clusters at {t}: {_one_line(err)}"))

    @work(thread=True, exclusive=True, group="colour")
    def compute_colouring(self, mode: str) -> None:
        try:
            degree = self.graph.degree if self.graph else None
            col = colouring(self.ds, mode, self.threshold_view, degree)
        except Exception as err:
            self.post_message(msg.WorkFailed(f"colour by {mode_title(mode)}: "
                                             f"{_one_line(err)}"))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(msg.ColouringComputed(col))

    @work(thread=True, exclusive=True, group="entity")
    def load_entity(self, i: int) -> None:
        try:
            row = self.ds.entity(i)
        except Exception as err:
            row = {"id": self.ids[i], "label": self.labels[i], "error": _one_line(err)}
        if not get_current_worker().is_cancelled:
            self.post_message(msg.EntityLoaded(i, row))

    @work(thread=True, exclusive=True, group="warm")
    def warm_kernels(self) -> None:
        from tui.braille import warm_up
        warm_up()

    @work(thread=True, exclusive=True, group="layout")
    def load_layout(self, name: str) -> None:
        try:
            xy = self.ds.layout(name)
        except Exception as err:
            self.post_message(msg.WorkFailed(f"layout {name}: {_one_line(err)}"))
            return
        self.post_message(msg.LayoutLoaded(name, xy))

    # ---- worker results ----------------------------------------------------------------------

    def on_load_failed(self, message: msg.LoadFailed) -> None:
        self.load_error = message.text
        self.push_screen(ErrorScreen(message.text))

    def on_work_failed(self, message: msg.WorkFailed) -> None:
        self.notify(plain_label(message.text, 300), severity="error", markup=False)

    def on_dataset_opened(self, message: msg.DatasetOpened) -> None:
        self.ds = message.ds
        self.n = message.n
        self.layouts = message.layouts
        self.colour_modes = message.colour_modes
        if not self.layouts:
            self._status(Text("this file has no layout yet (run embtui build)", style="dim"))

    def on_layout_loaded(self, message: msg.LayoutLoaded) -> None:
        first = self.xy is None
        self.xy = message.xy
        self.layout_name = message.name
        scatter = self.query_one(Scatter)
        scatter.set_points(message.xy)
        scatter.border_title = plain_label(
            f"{os.path.basename(self.path)} · {message.name}", 60)
        if self.colour is not None:
            self._apply_colouring()
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
        scatter = self.query_one(Scatter)
        scatter.set_labels(message.labels)
        self._update_status()

    def on_graph_loaded(self, message: msg.GraphLoaded) -> None:
        self.graph = message.graph
        if message.graph is None:
            self.query_one(NeighboursPane).show_message(message.note)
            self.query_one(ClustersPane).show_message(message.note)
            return
        g = message.graph
        self.query_one(ClustersPane).show_histogram(g.hist_counts, g.hist_edges)
        if self.selection is not None:
            self._show_neighbours()
            self._apply_highlight()

    def on_threshold_ready(self, message: msg.ThresholdReady) -> None:
        if message.scale is None:
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
        if message.colouring is not None and self.colour_mode == "clusters":
            self.colour = message.colouring
            self._apply_colouring()
        self.query_one(ClustersPane).show_threshold(self.threshold, self.scale)
        self._show_clusters()
        self._show_details_cluster()

    def on_colouring_computed(self, message: msg.ColouringComputed) -> None:
        if message.colouring.mode != self.colour_mode:
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
        self.anchor = None
        pane = self.query_one(ClustersPane)
        if view is not None and view.method is not None:
            pane.show_message(f"communities by {view.method} · [ ] back to the threshold")
        elif self.scale is not None and self.threshold is not None:
            pane.show_threshold(self.threshold, self.scale)
        if view is not None:
            self._show_clusters()
            self._show_details_cluster()
        self._apply_highlight()

    def on_entity_loaded(self, message: msg.EntityLoaded) -> None:
        if message.index != self.selection:
            return
        self.query_one(DetailsPane).show_entity(message.row, self._cluster_text())

    def on_search_ready(self, message: msg.SearchReady) -> None:
        self.search_ready = True

    # ---- the selection -----------------------------------------------------------------------

    def select(self, i: int, *, remember: bool = True, show: str | None = "neighbours") -> None:
        """Make entity i the selection; the previous one goes on the trail."""
        i = int(i)
        if self.labels is None or not 0 <= i < self.n:
            return
        if remember and self.selection is not None and self.selection != i:
            self.trail.append(self.selection)
        self.selection = i
        self.query_one(Scatter).set_cursor(i)
        self._show_neighbours()
        self.query_one(DetailsPane).show_message(
            plain_label(self.labels[i], 200) + " …")
        self.load_entity(i)
        if show and self.compact:
            self._activate(show)
        if self.view is not None:
            clusters = self.query_one(ClustersPane)
            if clusters.mode == "clusters":
                self._show_clusters()
            else:
                self._show_chosen()
        self._apply_highlight()
        self._update_status()

    def _show_neighbours(self) -> None:
        pane = self.query_one(NeighboursPane)
        if self.selection is None or self.labels is None:
            return
        if self.graph is None:
            pane.show_message("loading the neighbour graph…")
            return
        i = self.selection
        row_idx, row_sim = self.graph.idx[i], self.graph.sim[i]
        keep = row_idx >= 0
        trail = [self.labels[t] for t in self.trail]
        pane.show(self.labels[i], trail, row_idx[keep], row_sim[keep], self.labels,
                  self.graph.sim_lo, self.graph.sim_hi)

    def _neighbour_indices(self) -> np.ndarray:
        if self.selection is None or self.graph is None:
            return np.zeros(0, np.int64)
        row = self.graph.idx[self.selection]
        return row[row >= 0]

    def _apply_highlight(self) -> None:
        """Selection first, then its neighbours, then the chosen cluster's members."""
        if self.labels is None:
            return
        parts = []
        if self.selection is not None:
            parts.append(np.array([self.selection]))
            parts.append(self._neighbour_indices())
        members = self._chosen_members(HIGHLIGHT_LIMIT)
        if members is not None:
            parts.append(members)
        if parts:
            idx = np.concatenate(parts).astype(np.int64)
            _, first = np.unique(idx, return_index=True)
            idx = idx[np.sort(first)]
        else:
            idx = np.zeros(0, np.int64)
        labels = [plain_label(self.labels[i], 24) for i in idx.tolist()]
        self.query_one(Scatter).set_highlight(idx, labels)

    # ---- clusters ----------------------------------------------------------------------------

    def _selection_cluster(self) -> int | None:
        if self.view is None or self.selection is None:
            return None
        return self.view.cluster_of(self.selection)

    def _chosen_cluster(self) -> int | None:
        """The listed cluster of the anchor (None: no anchor, or it is on its own)."""
        if self.anchor is None or self.view is None:
            return None
        return self.view.cluster_of(self.anchor)

    def _chosen_members(self, limit: int | None = MEMBER_LIMIT) -> np.ndarray | None:
        """The chosen cluster's best-connected members (the anchor alone if a singleton)."""
        if self.anchor is None or self.view is None:
            return None
        key = (id(self.view), self.anchor, limit)
        if self._members_cache is not None and self._members_cache[0] == key:
            return self._members_cache[1]
        c = self.view.cluster_of(self.anchor)
        if c is None:
            members = np.array([self.anchor])
        else:
            degree = self.graph.degree if self.graph else None
            members = best_connected(self.view.members(c), degree, limit)
        self._members_cache = (key, members)
        return members

    def _show_clusters(self) -> None:
        if self.view is None or self.labels is None:
            return
        pane = self.query_one(ClustersPane)
        if self.anchor is not None:
            self._show_chosen()
            return
        pane.show_clusters(self.view, self.labels, self.examples,
                           self._selection_cluster(), self._swatches())

    def _show_chosen(self) -> None:
        members = self._chosen_members()
        if members is None:
            return
        c = self._chosen_cluster()
        where = self._where()
        head = Text(no_wrap=True, overflow="ellipsis")
        if c is None:
            head.append_text(label_text(self.labels[self.anchor], 30, style="bold"))
            head.append(f" is on its own {where}", style="dim")
            size = 1
        else:
            size = int(self.view.sizes[c])
            head.append(f"cluster {c}", style="bold")
            head.append(f" · {size} {where}", style="dim")
        head.append(" · Esc: all", style="dim")
        self.query_one(ClustersPane).show_members(head, members, self.labels, self.selection,
                                                  size)

    def on_clusters_pane_chosen(self, message: ClustersPane.Chosen) -> None:
        if self.view is None:
            return
        members = self.view.members(message.cluster)
        if self.selection is not None and self.view.cluster_of(self.selection) == \
                message.cluster:
            self.anchor = self.selection
        else:
            degree = self.graph.degree if self.graph else None
            self.anchor = int(best_connected(members, degree, 1)[0])
        self._show_chosen()
        self._apply_highlight()

    def on_clusters_pane_member_chosen(self, message: ClustersPane.MemberChosen) -> None:
        self.select(message.index, show=None)

    def on_clusters_pane_back(self, message: ClustersPane.Back) -> None:
        self.anchor = None
        self._show_clusters()
        self._apply_highlight()

    def on_neighbours_pane_chosen(self, message: NeighboursPane.Chosen) -> None:
        self.select(message.index, show=None)

    # ---- scatter messages --------------------------------------------------------------------

    @on(Scatter.CursorMoved)
    @on(Scatter.ViewChanged)
    @on(Scatter.Hovered)
    def _scatter_changed(self) -> None:
        self._update_status()

    @on(ExplorerScatter.Selected)
    def _scatter_selected(self, message: ExplorerScatter.Selected) -> None:
        self.select(message.index)

    @on(Scatter.Clicked)
    def _clicked(self, message: Scatter.Clicked) -> None:
        if message.index is not None and message.index >= 0:
            self.select(message.index)

    def _update_status(self) -> None:
        if self.xy is None:
            return
        status = self.query_one(Scatter).status
        text = Text(no_wrap=True, overflow="ellipsis")
        # the label under the cursor first: on a narrow screen the rest is what gets cut
        if status.label is not None:
            text.append_text(label_text(status.label, 40, style="italic"))
            text.append(" · ", style="dim")
        text.append(f"{status.zoom:.3g}×", style="bold")
        text.append(f" {status.in_view}/{status.total}", style="")
        text.append(" in view · ", style="dim")
        text.append(f"colour: {self.colour.title if self.colour else 'clusters'}", style="dim")
        self._status(text)

    def _status(self, text: Text) -> None:
        self.query_one(StatusLine).update(text)

    # ---- details -----------------------------------------------------------------------------

    def _where(self) -> str:
        """How the listed clusters were made: "at 0.57" or "in slpa"."""
        if self.view is not None and self.view.method is not None:
            return f"in {self.view.method}"
        return f"at {self.scale.format(self.threshold)}" if self.scale else ""

    def _cluster_text(self) -> Text | None:
        if self.view is None or self.selection is None or self.graph is None:
            return None
        c = self.view.cluster_of(self.selection)
        where = self._where()
        if c is None:
            return Text(f"none (on its own {where})", style="dim")
        size = int(self.view.sizes[c])
        return Text(f"{c} of {len(self.view)}, {size} members {where}")

    def _show_details_cluster(self) -> None:
        self.query_one(DetailsPane).show_cluster(self._cluster_text())

    # ---- colouring ---------------------------------------------------------------------------

    def _colour_kind(self) -> str:
        """How the scatter tells groups apart: 'symbols', 'mono', '16' or 'colour'."""
        if self.query_one(Scatter).marks == "groups":
            return "symbols"
        system = self.console.color_system
        if self.no_color or system is None:
            return "mono"
        return "16" if system in ("standard", "windows") else "colour"

    def _group_limit(self) -> int:
        return {"symbols": SYMBOL_GROUPS, "mono": 0, "16": len(ANSI_PALETTE)}.get(
            self._colour_kind(), len(PALETTE))

    def _swatches(self) -> list[Text]:
        """How each group looks in the scatter, for the clusters list and the legend."""
        if self.colour_mode != "clusters" and not self.colour_mode.startswith("community:"):
            return []
        return [self._swatch(g) for g in range(self._group_limit())]

    def _swatch(self, g: int) -> Text:
        kind = self._colour_kind()
        if kind == "symbols":
            return Text(GROUP_SYMBOLS[g], style="bold")
        palette = ANSI_PALETTE if kind == "16" else PALETTE
        return Text("■", style=palette[g]) if g < len(palette) else Text(" ")

    def _apply_colouring(self) -> None:
        if self.colour is None or self.xy is None:
            return
        groups = self.colour.groups
        limit = self._group_limit()
        shown = np.where(groups < limit, groups, -1).astype(np.int32)
        self.query_one(Scatter).set_groups(shown, list(PALETTE))
        self._show_legend()
        self._update_status()

    def _show_legend(self) -> None:
        legend = self.query_one("#legend", Static)
        if self.colour is None or self.colour_mode == "clusters" or not self.colour.legend:
            legend.display = False
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        limit = self._group_limit()
        for name, g in self.colour.legend:
            if g >= limit:
                break
            text.append_text(self._swatch(g))
            text.append(" ")
            text.append_text(label_text(name, 20))
            text.append("  ")
        legend.update(text)
        legend.display = True

    def set_colour_mode(self, mode: str) -> None:
        if mode not in self.colour_modes:
            return
        self.colour_mode = mode
        if not mode.startswith("community:"):
            self._list(None)
        if mode == "clusters":
            if self.threshold_view is not None:
                self.colour = colour_by_view(self.threshold_view)
                self._apply_colouring()
        elif self.ds is not None:
            self.compute_colouring(mode)
        if self.view is not None:
            self._show_clusters()
        self._update_status()

    # ---- actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        # Under a dialog (search, export, help) only the dialog's own keys and quit apply.
        if isinstance(self.screen, (ModalScreen, ErrorScreen)) and action not in (
                "quit", "next_pane", "previous_pane", "command_palette"):
            return False
        return True

    def action_search(self) -> None:
        if self.labels is None:
            self.notify("still loading the labels…", markup=False)
            return
        self.push_screen(SearchScreen(self.ds, self.labels), self._search_done)

    def _search_done(self, i: int | None) -> None:
        if i is not None:
            self.select(i)

    def action_help(self) -> None:
        from tui.help import HelpScreen
        self.push_screen(HelpScreen(self._focused_pane_name()))

    def action_threshold(self, steps: int, coarse: bool = False) -> None:
        if self.graph is None or self.scale is None or self.threshold is None:
            self.notify("the clusters are still loading", markup=False)
            return
        if self.view is not None and self.view.method is not None:
            self.set_colour_mode("clusters")  # back from listing communities
        self.threshold = self.scale.step(self.threshold, steps, coarse)
        self.query_one(ClustersPane).show_threshold(self.threshold, self.scale,
                                                    pending=True)
        if self.compact:
            self._activate("clusters")
        self.compute_clusters(self.threshold)

    def set_threshold(self, t: float) -> None:
        if self.graph is None or self.scale is None:
            return
        self.threshold = self.scale.snap(t)
        self.query_one(ClustersPane).show_threshold(self.threshold, self.scale,
                                                    pending=True)
        self.compute_clusters(self.threshold)

    def action_cycle_colour(self) -> None:
        modes = self.colour_modes
        i = modes.index(self.colour_mode) if self.colour_mode in modes else -1
        self.set_colour_mode(modes[(i + 1) % len(modes)])
        self.notify(f"colour: {mode_title(self.colour_mode)}", timeout=2, markup=False)

    def action_cycle_layout(self) -> None:
        if len(self.layouts) < 2 or self.layout_name is None:
            self.notify("this file has one layout", timeout=2, markup=False)
            return
        i = self.layouts.index(self.layout_name)
        self.show_layout(self.layouts[(i + 1) % len(self.layouts)])

    def show_layout(self, name: str) -> None:
        if name in self.layouts and self.ds is not None:
            self.load_layout(name)

    def action_back(self) -> None:
        if not self.trail:
            self.notify("the trail is empty", timeout=2, markup=False)
            return
        self.select(self.trail.pop(), remember=False, show=None)

    def action_selection_cluster(self) -> None:
        """Choose the cluster of the selection: it then follows the selection as t moves."""
        if self.selection is None or self.view is None:
            self.notify("select an entity first", timeout=2, markup=False)
            return
        self.anchor = self.selection
        self._show_chosen()
        self._apply_highlight()
        if self.compact:
            self._activate("clusters")

    def go_to_cluster(self, c: int) -> None:
        if self.view is not None and 0 <= c < len(self.view):
            self.post_message(ClustersPane.Chosen(c))
            if self.compact:
                self._activate("clusters")

    def action_zoom(self, factor: float) -> None:
        self.query_one(Scatter).zoom(float(factor))
        self._update_status()

    def action_pan(self, dx: float, dy: float) -> None:
        self.query_one(Scatter).pan(float(dx), float(dy))
        self._update_status()

    def action_reset_view(self) -> None:
        self.query_one(Scatter).reset_view()
        self._update_status()

    def _pane_order(self) -> list[str]:
        return ["scatter", *SIDE_PANES]

    def _focused_pane_name(self) -> str:
        node = self.focused
        while node is not None:
            if node.id in self._pane_order():
                return node.id
            node = node.parent
        return "scatter"

    def _focus_pane(self, name: str) -> None:
        if name == "scatter":
            self.query_one(Scatter).focus()
        else:
            self._activate(name)
            pane = self.query_one(f"#{name}", Pane)
            self.call_after_refresh(pane.focus_pane)

    def action_next_pane(self, step: int = 1) -> None:
        if isinstance(self.screen, (ModalScreen, ErrorScreen)):
            self.screen.focus_next() if step > 0 else self.screen.focus_previous()
            return
        order = self._pane_order()
        current = self._focused_pane_name()
        self._focus_pane(order[(order.index(current) + step) % len(order)])

    def action_previous_pane(self) -> None:
        self.action_next_pane(-1)

    def action_export(self) -> None:
        self.export()

    def export(self, what: str | None = None) -> None:
        """Open the export dialog for the chosen cluster (else the selection's neighbours)."""
        job = self.export_job(what)
        if job is None:
            self.notify("select an entity or choose a cluster first", timeout=3,
                        markup=False)
            return
        self.push_screen(ExportScreen(self.ds, job), self._export_done)

    def export_job(self, what: str | None = None) -> ExportJob | None:
        """The chosen cluster, else the selection and its neighbours."""
        if self.labels is None:
            return None
        if self.anchor is not None and self.view is not None and what in (None, "cluster"):
            c = self._chosen_cluster()
            rows = (np.array([self.anchor]) if c is None
                    else np.sort(self.view.members(c))).astype(np.int64)
            size = len(rows)
            name = plain_label(self.labels[self.anchor], 40)
            extra = {"cluster": np.full(size, -1 if c is None else c, np.int32),
                     "cluster_size": np.full(size, size, np.int32)}
            if self.view.method is not None:
                extra["method"] = np.full(size, self.view.method, object)
                what_text = f"the {self.view.method} community of {name}"
            else:
                extra["threshold"] = np.full(size, float(self.threshold), np.float64)
                t = self.scale.format(self.threshold)
                what_text = f"the cluster of {name} at threshold {t}"
            return ExportJob(f"{what_text}: {size} members", rows, extra,
                             f"{slug(self.labels[self.anchor])}-cluster.csv")
        if self.selection is None or what == "cluster":
            return None
        i = self.selection
        nb = self._neighbour_indices()
        sims = self.graph.sim[i][:len(nb)] if self.graph is not None else np.zeros(0)
        rows = np.concatenate([[i], nb]).astype(np.int64)
        extra = {"rank": np.arange(len(rows), dtype=np.int32),
                 "similarity": np.concatenate([[np.nan], sims]).astype(np.float64)}
        name = plain_label(self.labels[i], 40)
        return ExportJob(f"{name} and its {len(nb)} neighbours", rows, extra,
                         f"{slug(self.labels[i])}-neighbours.csv")

    def _export_done(self, result: str | None) -> None:
        if result:
            self.notify(f"exported {result}", timeout=5, markup=False)

    def action_toggle_marks(self) -> None:
        scatter = self.query_one(Scatter)
        scatter.marks = "braille" if scatter.marks == "groups" else "groups"
        self._apply_colouring()
        if self.view is not None:
            self._show_clusters()
        self.notify("points drawn as " + ("group symbols" if scatter.marks == "groups"
                                          else "braille dots"), timeout=2, markup=False)

    def action_clear(self) -> None:
        """Escape: let go of the chosen cluster."""
        if self.anchor is not None:
            self.anchor = None
            self._show_clusters()
            self._apply_highlight()


def _one_line(err: Exception) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def run(path: str | os.PathLike) -> None:
    """Open the explorer on a dataset file (blocks until the user quits)."""
    EmbtuiApp(path).run()
