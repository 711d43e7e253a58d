"""The explorer's layout: the scatter with its status line and legend beside the side panes.

On a small terminal the side panes show one at a time under tabs; Tab cycles the focus through
the scatter and the panes. The app decides what the widgets show; this arranges and focuses
them, and draws the groups the way the terminal can tell them apart (colour or symbol).
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.containers import Horizontal, Vertical

from tui.widgets.clusters import ClustersPane
from tui.widgets.common import Pane
from tui.widgets.details import DetailsPane
from tui.widgets.legend import Legend, group_kind, group_limit, swatches
from tui.widgets.neighbours import NeighboursPane
from tui.widgets.plot import ExplorerScatter
from tui.widgets.scatter import PALETTE
from tui.widgets.status import PaneTabs, StatusLine

COMPACT_WIDTH = 110  # below this (or COMPACT_HEIGHT) the side panes show one at a time
COMPACT_HEIGHT = 34
SHORT_HEIGHT = 30
SIDE_PANES = ("neighbours", "clusters", "details")  # top to bottom in the order Tab visits


class ExplorerView(Horizontal):
    """The whole explorer screen but its footer."""

    def __init__(self, title: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self._title = title
        self.active_pane = "clusters"
        self.compact = True

    def compose(self):
        with Vertical(id="plot"):
            with Horizontal(id="maps"):
                scatter = ExplorerScatter(id="scatter")
                scatter.border_title = self._title
                yield scatter
                yield ExplorerScatter(id="scatter-b")  # V: another embedding beside it
            yield StatusLine(Text("opening…", style="dim"), id="status")
            yield Legend("", id="legend")
        with Vertical(id="sidebar"):
            yield PaneTabs(id="pane-tabs")
            yield NeighboursPane(id="neighbours")
            yield ClustersPane(id="clusters")
            yield DetailsPane(id="details")

    # ---- how the scatter tells groups apart ---------------------------------------------------

    def group_kind(self) -> str:
        app = self.app
        return group_kind(self.query_one(ExplorerScatter).marks, app.no_color,
                          app.console.color_system)

    def swatches(self, group_mode: str) -> list[Text]:
        return swatches(group_mode, self.group_kind())

    def show_groups(self, colouring, group_mode: str) -> None:
        """Draw `colouring`'s groups (as many as can be told apart) and their legend."""
        groups = colouring.groups
        kind = self.group_kind()
        shown = np.where(groups < group_limit(kind), groups, -1).astype(np.int32)
        palette = list(colouring.palette or PALETTE)
        self.query_one(ExplorerScatter).set_groups(shown, palette)
        split = self.query_one("#scatter-b", ExplorerScatter)
        if split.display:  # the same colours on both sides: where A's groups land in B
            split.set_groups(shown, palette)
        self.query_one(Legend).show(colouring, group_mode, kind)

    def show_split(self, shown: bool) -> None:
        split = self.query_one("#scatter-b", ExplorerScatter)
        split.display = shown
        if not shown and self.app.focused is split:
            self.query_one(ExplorerScatter).focus()

    @property
    def split_shown(self) -> bool:
        return bool(self.query_one("#scatter-b", ExplorerScatter).display)

    def show_status(self, colouring, edges_note: str | None = None,
                    trust: str | None = None, weight: str | None = None) -> None:
        """The scatter's status, the edges drawn (or why not), how far the layout holds,
        what the colours stand for (clusters until loaded) and what weighs the shading."""
        self.query_one(StatusLine).show_view(self.query_one(ExplorerScatter).status,
                                             colouring.title if colouring else "clusters",
                                             edges_note, trust, weight)

    # ---- which side pane shows and has the focus ---------------------------------------------

    def fit(self, width: int, height: int) -> None:
        """Arrange the panes for a terminal of this size."""
        self.compact = width < COMPACT_WIDTH or height < COMPACT_HEIGHT
        self.set_class(self.compact, "-compact")
        self.set_class(height < SHORT_HEIGHT, "-short")
        self._show_active_pane()

    def _show_active_pane(self) -> None:
        for name in SIDE_PANES:
            self.query_one(f"#{name}").set_class(name == self.active_pane, "-active")
        self.query_one(PaneTabs).show(SIDE_PANES, self.active_pane)

    def activate(self, name: str, compact_only: bool = False) -> None:
        """Show side pane `name` (when only one shows at a time)."""
        if compact_only and not self.compact:
            return
        if name in SIDE_PANES and name != self.active_pane:
            self.active_pane = name
            self._show_active_pane()

    def focused_pane(self) -> str:
        """The pane holding the focus: "scatter" or a side pane's name."""
        node = self.app.focused
        while node is not None:
            if node.id in ("scatter", "scatter-b", *SIDE_PANES):
                return node.id
            node = node.parent
        return "scatter"

    def focus_pane(self, name: str) -> None:
        if name == "scatter":
            self.query_one(ExplorerScatter).focus()
        elif name == "scatter-b":
            self.query_one("#scatter-b", ExplorerScatter).focus()
        else:
            self.activate(name)
            self.app.call_after_refresh(self.query_one(f"#{name}", Pane).focus_pane)

    def cycle_focus(self, step: int = 1) -> None:
        order = ["scatter", *(["scatter-b"] if self.split_shown else []), *SIDE_PANES]
        self.focus_pane(order[(order.index(self.focused_pane()) + step) % len(order)])
