"""`H`: the heatmap screen — a group's pairwise similarities in dendrogram order, the
dendrogram beside them, a colour scale, and a cursor over the cells.

The cells are drawn by tui.heatmap (no Textual there); the app computes the heatmap in a
worker and hands it to `HeatmapScreen.show`. Enter on a cell posts `HeatmapView.PairChosen`,
which bubbles up to the app.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Footer, Static

from tui.heatmap import (
    SCALE_LEVELS,
    SHADES,
    UPPER_HALF,
    coloured_groups,
    dendrogram,
    describe,
    levels,
    scale_colour,
    shade,
    shade_legend,
    value_range,
)
from tui.text import plain_label
from tui.widgets.scatter import PALETTE

CHROME_LINES = 5  # title, the cursor's column mark, legend, status, footer
MIN_LABEL, MIN_DENDRO, MAX_DENDRO, MAX_LABEL = 12, 10, 24, 64
CURSOR_COLOUR = "#ffffff"
CUT_COLOUR = "#ff5c7a"


def fit(width: int, height: int, rows_per_line: int) -> int:
    """How many entities a heatmap screen of this size shows whole."""
    rows = rows_per_line * max(1, height - CHROME_LINES)
    cols = width - 2 - MIN_LABEL - MIN_DENDRO
    return max(2, min(rows, cols))


class HeatmapView(Widget, can_focus=True):
    """The labels, the grid and the dendrogram, one Line-API line at a time."""

    DEFAULT_CSS = """
    HeatmapView {
        width: 1fr;
        height: 1fr;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "move(0, -1)", "Left", show=False, tooltip="cursor a column left"),
        Binding("right,l", "move(0, 1)", "Right", show=False, tooltip="cursor a column right"),
        Binding("up,k", "move(-1, 0)", "Up", show=False, tooltip="cursor a row up"),
        Binding("down,j", "move(1, 0)", "Down", show=False, tooltip="cursor a row down"),
        Binding("enter", "choose", "Select the pair", id="heatmap.choose",
                tooltip="select the cell's two entities (the row's, with the column's "
                        "highlighted)"),
    ]

    class CursorMoved(Message):
        def __init__(self, row: int, col: int) -> None:
            super().__init__()
            self.row, self.col = row, col

    class PairChosen(Message):
        """Enter on a cell: entity `a` (its row) and `b` (its column)."""

        def __init__(self, a: int, b: int) -> None:
            super().__init__()
            self.a, self.b = a, b

    def __init__(self, *, mono: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mono = mono
        self.rows_per_line = 1 if mono else 2
        self.hm = None
        self.labels: list[str] = []
        self.groups: np.ndarray | None = None
        self.message = "computing…"
        self.cell = (0, 0)
        self._styles: dict[tuple, Style] = {}

    # ---- state in --------------------------------------------------------------------------

    def show(self, hm, labels: list[str], groups: np.ndarray | None,
             cut_height: float | None) -> None:
        self.hm = hm
        self.labels = labels
        self.groups = coloured_groups(groups)
        self.cut_height = cut_height
        lo, hi = value_range(hm.matrix)
        self.lo, self.hi = lo, hi
        self.levels = levels(hm.matrix, lo, hi, len(SHADES) if self.mono else SCALE_LEVELS)
        self.cell = (0, 1 if len(hm) > 1 else 0)
        self._layout()
        self.refresh()
        self.post_message(self.CursorMoved(*self.cell))

    def show_message(self, text: str) -> None:
        self.hm = None
        self.message = text
        self.refresh()

    def on_resize(self) -> None:
        if self.hm is not None:
            self._layout()

    def _layout(self) -> None:
        m = len(self.hm)
        width = self.size.width
        dendro = max(MIN_DENDRO, min(MAX_DENDRO, width // 6))
        self.label_width = max(0, min(MAX_LABEL, width - m - 2 - dendro))
        # what neither needs stays blank on the right
        self.dendro_width = max(2, min(MAX_DENDRO, width - m - 2 - self.label_width))
        self._lines, self._owner, self._cut_col = dendrogram(
            self.hm.linkage, m, self.dendro_width, self.rows_per_line, self.cut_height,
            self.groups)

    # ---- keys ------------------------------------------------------------------------------

    def action_move(self, drow: int, dcol: int) -> None:
        if self.hm is None:
            return
        m = len(self.hm)
        row = min(max(self.cell[0] + int(drow), 0), m - 1)
        col = min(max(self.cell[1] + int(dcol), 0), m - 1)
        self.cell = (row, col)
        self.refresh()
        self.post_message(self.CursorMoved(row, col))

    def action_choose(self) -> None:
        if self.hm is not None:
            row, col = self.cell
            self.post_message(self.PairChosen(int(self.hm.idx[row]), int(self.hm.idx[col])))

    # ---- drawing ---------------------------------------------------------------------------

    def _style(self, fg: str | None = None, bg: str | None = None, **kw) -> Style:
        key = (fg, bg, tuple(sorted(kw.items())))
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = Style(color=fg, bgcolor=bg, **kw)
        return style

    def _group_colour(self, g: int) -> str | None:
        if self.mono or g is None or g < 0:
            return None
        return PALETTE[g % len(PALETTE)]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self.hm is None:
            return Strip([Segment(self.message if y == 0 else "")]).crop_extend(0, width, None)
        rpl = self.rows_per_line
        m = len(self.hm)
        if y == 0:
            segs = [Segment(" " * (self.label_width + 1 + self.cell[1])),
                    Segment("▼", self._style(bold=True))]
            return Strip(segs).crop_extend(0, width, None)
        line = y - 1
        if line >= len(self._lines):
            return Strip.blank(width)
        rows = [r for r in range(line * rpl, min(m, line * rpl + rpl))]
        segs = self._labels(rows)
        segs.append(Segment(" "))
        segs += self._cells(rows)
        segs.append(Segment(" "))
        segs += self._tree(line)
        return Strip(segs).crop_extend(0, width, None)

    def _labels(self, rows: list[int]) -> list[Segment]:
        each = (self.label_width - (len(rows) - 1)) // max(1, self.rows_per_line)
        segs = []
        for n, r in enumerate(rows):
            if n:
                segs.append(Segment(" "))
            text = plain_label(self.labels[r], each).ljust(each)
            g = int(self.groups[r]) if self.groups is not None else -1
            style = self._style(self._group_colour(g), reverse=r == self.cell[0])
            segs.append(Segment(text, style))
        used = sum(cell_len(s.text) for s in segs)
        if used < self.label_width:
            segs.append(Segment(" " * (self.label_width - used)))
        return segs

    def _cells(self, rows: list[int]) -> list[Segment]:
        row_c, col_c = self.cell
        lv = self.levels
        m = len(self.hm)
        if self.mono:
            r = rows[0]
            return [Segment(shade(int(lv[r, c])), self._style(
                reverse=(r, c) == (row_c, col_c))) for c in range(m)]
        segs = []
        for c in range(m):
            colours = [CURSOR_COLOUR if (r, c) == (row_c, col_c) else
                       scale_colour(int(lv[r, c])) for r in rows]
            upper = colours[0]
            lower = colours[1] if len(colours) > 1 else None
            segs.append(Segment(UPPER_HALF, self._style(upper, lower)))
        return segs

    def _tree(self, line: int) -> list[Segment]:
        text = self._lines[line]
        owner = self._owner[line]
        segs = []
        for ch, who in zip(text, owner, strict=True):
            if who == -2:
                style = self._style(None if self.mono else CUT_COLOUR)
            else:
                style = self._style(self._group_colour(int(who)))
            segs.append(Segment(ch, style))
        return segs


class HeatmapScreen(ModalScreen[None]):
    """The whole terminal: title, the view, legend, status; Esc closes."""

    HELP_TITLE = "Heatmap"
    HELP = ("H opens the chosen cluster's pairwise similarities, else the selection's and its "
            "neighbours', ordered by a dendrogram (Ward on vectors, average linkage for "
            "graphs) drawn beside them with the threshold's cut. Arrows move over the cells; "
            "Enter selects the cell's pair.")

    BINDINGS = [Binding("escape", "close", "Close", id="heatmap.close",
                        tooltip="back to the explorer")]

    DEFAULT_CSS = """
    HeatmapScreen {
        background: $background;
    }
    #hm-title, #hm-legend, #hm-status {
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    #hm-title {
        text-style: bold;
    }
    #hm-view {
        padding: 0 1;
    }
    """

    def __init__(self, what: str, *, mono: bool, shown: int, total: int,
                 threshold: float | None = None, threshold_text: str | None = None) -> None:
        super().__init__()
        self.what = what
        self.mono = mono
        self.shown, self.total = shown, total
        self.threshold = threshold
        self.threshold_text = threshold_text
        self.hm = None

    def compose(self):
        left = self.total - self.shown
        more = f" · {self.shown} of {self.total} shown ({left} left out)" if left else ""
        yield Static(Text(plain_label(self.what, 200) + more), id="hm-title")
        yield HeatmapView(mono=self.mono, id="hm-view")
        yield Static(Text(""), id="hm-legend")
        yield Static(Text(f"computing the heatmap of {self.shown} entities…"), id="hm-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(HeatmapView).focus()

    def show(self, hm, labels: list[str], groups: np.ndarray | None) -> None:
        self.hm = hm
        self.labels = labels
        title = self.query_one("#hm-title", Static)
        left = self.total - self.shown
        more = f" · {self.shown} of {self.total} shown ({left} left out)" if left else ""
        title.update(Text(f"{plain_label(self.what, 200)} · {plain_label(describe(hm))}{more}"))
        cut = None
        if self.threshold is not None and groups is not None:
            cut = hm.cut_height(self.threshold)
        self.query_one(HeatmapView).show(hm, labels, groups, cut)
        self.query_one("#hm-legend", Static).update(self._legend(groups))

    def show_message(self, text: str) -> None:
        self.query_one(HeatmapView).show_message(plain_label(text, 300))
        self.query_one("#hm-status", Static).update(Text(""))

    def _legend(self, groups) -> Text:
        view = self.query_one(HeatmapView)
        lo, hi = view.lo, view.hi
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.mono:
            text.append(shade_legend(lo, hi))
        else:
            text.append(f"{lo:.3g} ")
            for i in range(0, SCALE_LEVELS, 2):
                text.append("█", Style(color=scale_colour(i)))
            text.append(f" {hi:.3g}  ")
            text.append("█", Style(color=scale_colour(-1)))
            text.append(" no value")
        if self.threshold_text is not None and groups is not None:
            shared = coloured_groups(groups)
            n = int(shared.max()) + 1 if len(shared) and shared.max() >= 0 else 0
            text.append(f"  ┊ cut at {self.threshold_text}: "
                        + (f"{n} group{'s' if n > 1 else ''}" if n else "every entity alone"))
        elif self.threshold_text is not None:
            text.append("  no cut: a dot product is no distance")
        return text

    def on_heatmap_view_cursor_moved(self, message: HeatmapView.CursorMoved) -> None:
        if self.hm is None:
            return
        r, c = message.row, message.col
        v = self.hm.matrix[r, c]
        value = f"{v:.4g}" if np.isfinite(v) else "no value"
        self.query_one("#hm-status", Static).update(Text(
            f"{plain_label(self.labels[r], 40)} × {plain_label(self.labels[c], 40)}: {value}"
            f"  (row {r + 1}, column {c + 1} of {len(self.hm)})"))

    def action_close(self) -> None:
        self.dismiss(None)
