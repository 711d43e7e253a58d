"""The explorer's scatter and lists: the shared widgets with the explorer's extra keys."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList

from tui.widgets.scatter import Scatter


class ExplorerScatter(Scatter):
    """The scatter with vim keys for the cursor and Enter to select (zoom and pan are the
    scatter's own, kept out of the footer; `?` lists every key)."""

    HELP_TITLE = "Scatter"
    HELP = ("The 2-D layout in braille (2×4 dots a cell), coloured by cluster at the current "
            "threshold or by what c picks; brighter cells hold more points. The cursor is "
            "drawn reversed with its label; the selection, its neighbours and a chosen cluster "
            "are drawn on top, labelled where there is room. Lines are kNN edges, brighter the "
            "more similar: the selection's, a chosen cluster's at or above the threshold, and "
            "with E every one at or above it in view. Zoom keeps the cursor in place. "
            "Without colour, m draws each cell as its group's symbol (0-9, a-z).")

    BINDINGS = [
        Binding("left,h", "move_cursor('left')", "Cursor left", show=False,
                id="scatter.left"),
        Binding("right,l", "move_cursor('right')", "Cursor right", show=False,
                id="scatter.right"),
        Binding("up,k", "move_cursor('up')", "Cursor up", show=False, id="scatter.up"),
        Binding("down,j", "move_cursor('down')", "Cursor down", show=False,
                id="scatter.down"),
        Binding("enter", "select", "Select", show=False, id="scatter.select"),
    ]

    class Selected(Message):
        """Enter on the scatter: make the cursor's point the selection."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def action_select(self) -> None:
        if self.cursor is None:
            index = self.move_cursor("up")  # no cursor yet: take the point nearest the centre
            if index is None:
                return
        self.post_message(self.Selected(self.cursor))


class VimList(OptionList):
    """An option list that also moves with j/k."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]
