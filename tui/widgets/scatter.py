"""Braille scatter plot: a Line-API widget over `tui.braille`.

State flows in through methods (`set_points`, `set_groups`, `set_edges`, `set_cursor`,
`set_highlight`, `zoom`, `pan`, …); messages flow out (`CursorMoved`, `Clicked`, `Hovered`,
`ViewChanged`). The point raster and the edge raster are each drawn once per change of their
data, the view or the size; a frame of code points and style keys is composed from them with
the overlays (highlight, cursor, labels), points over lines where both fall in a cell, and
`render_line` turns one row of that frame into a cached `Strip`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from rich.cells import cell_len
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.color import Color
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tui.braille import (
    BRAILLE_BASE,
    braille_codepoints,
    density_level,
    locate,
    rasterize,
    rasterize_lines,
)
from tui.text import plain_label

Direction = Literal["left", "right", "up", "down"]
PaletteMode = Literal["auto", "truecolor", "256", "16", "mono"]
Marks = Literal["braille", "groups"]

# Distinct hues that read on a dark background; no yellow, which is the highlight's.
PALETTE = ("#5fa8ff", "#ff8c42", "#4cd37a", "#ff5c7a", "#b48cff",
           "#2fd4d4", "#c8a27a", "#ff7fe0", "#a8d65b", "#8fa3bf")
# 16-colour terminals: the standard colours, minus yellow (highlight) and white/black.
ANSI_PALETTE = ("bright_cyan", "bright_magenta", "bright_green", "bright_red", "bright_blue",
                "cyan", "magenta", "green", "red", "blue")
# Without colour, groups differ by text attributes (bold/dim carry density, underline the
# highlight, reverse the cursor); `marks="groups"` draws a symbol per group instead.
MONO_GROUP_STYLES = (Style(), Style(italic=True), Style(strike=True),
                     Style(italic=True, strike=True))
GROUP_SYMBOLS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
NO_GROUP_SYMBOL = "."

LEVELS = {"truecolor": 6, "256": 6, "16": 3, "mono": 3}
EDGE_BANDS = 4         # brightness steps of the lines, by the strength given to set_edges
# a line's share of the way from the background to the edge colour, dim → bright
EDGE_BLEND = (0.3, 0.45, 0.65, 0.9)
# 16 colours and none: the lowest two bands dim, then plain, then bold
EDGE_STEPS = (Style(dim=True), Style(dim=True), Style(), Style(bold=True))
MARGIN = 0.04          # of the data extent, on each side, when fitting
ZOOM_STEP = 1.5        # mouse wheel
MIN_ZOOM, MAX_ZOOM = 0.25, 1e6
LABEL_MAX = 24         # cells
LABEL_COUNT_MAX = 200
REGION_ROWS = 5        # at most one region name per this many rows of the plot
REGION_MIN_SIZE = 3    # points a region needs to be named


@dataclass(frozen=True)
class ScatterStatus:
    zoom: float              # 1.0 = all points fit
    in_view: int
    total: int
    cursor: int | None
    hover: int | None
    label: str | None        # plain label of the hovered point, else the cursor's

    def __str__(self) -> str:
        text = f"zoom {self.zoom:.3g}×  {self.in_view:,} of {self.total:,} in view"
        if self.label is not None:
            text += f"  │ {self.label}"
        return text


class Scatter(Widget, can_focus=True):
    """A braille scatter of 2-D points with a cursor, groups, highlight and labels."""

    DEFAULT_CSS = """
    Scatter {
        width: 1fr;
        height: 1fr;
    }
    Scatter > .scatter--point { color: $primary-lighten-2; }
    Scatter > .scatter--highlight { color: #ffe14d; text-style: bold underline; }
    Scatter > .scatter--label { color: $foreground; }
    Scatter > .scatter--cursor { text-style: reverse bold; }
    Scatter > .scatter--edge { color: #b4c3dc; }
    Scatter > .scatter--region { color: $foreground; background: $panel; text-style: bold; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "scatter--point", "scatter--highlight", "scatter--label", "scatter--cursor",
        "scatter--edge", "scatter--region",
    }
    # Zoom and pan, declared once: the explorer also binds these on the app, so they work
    # from every pane (the help screen lists them from there).
    VIEW_BINDINGS: ClassVar[list[Binding]] = [
        Binding("plus,equals_sign", "zoom(2)", "Zoom in", show=False, id="scatter.zoom_in",
                tooltip="zoom in, keeping the cursor in place"),
        Binding("minus", "zoom(0.5)", "Zoom out", show=False, id="scatter.zoom_out",
                tooltip="zoom out"),
        Binding("0", "reset_view", "Fit", show=False, id="scatter.reset_view",
                tooltip="fit all points"),
        Binding("shift+left", "pan(-0.25, 0)", "Pan", show=False, id="scatter.pan_left",
                tooltip="pan left"),
        Binding("shift+right,L", "pan(0.25, 0)", "Pan", show=False, id="scatter.pan_right",
                tooltip="pan right"),
        Binding("shift+up,K", "pan(0, 0.25)", "Pan", show=False, id="scatter.pan_up",
                tooltip="pan up"),
        Binding("shift+down,J", "pan(0, -0.25)", "Pan", show=False, id="scatter.pan_down",
                tooltip="pan down"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move_cursor('left')", "Left", show=False),
        Binding("right", "move_cursor('right')", "Right", show=False),
        Binding("up", "move_cursor('up')", "Up", show=False),
        Binding("down", "move_cursor('down')", "Down", show=False),
        *VIEW_BINDINGS,
    ]

    palette_mode: reactive[PaletteMode] = reactive("auto")
    """`auto` follows the terminal (NO_COLOR → mono, 16 colours → ANSI palette)."""
    marks: reactive[Marks] = reactive("braille")
    """`groups` draws each non-empty cell as its dominant group's symbol (for no-colour use)."""
    show_cursor_label: reactive[bool] = reactive(True)

    class CursorMoved(Message):
        """The cursor moved by a key or a click (not by `set_cursor`)."""

        def __init__(self, scatter: Scatter, index: int) -> None:
            self.scatter = scatter
            self.index = index
            super().__init__()

        @property
        def control(self) -> Scatter:
            return self.scatter

    class Clicked(Message):
        """A click selected the nearest point in view (also posted: `CursorMoved`)."""

        def __init__(self, scatter: Scatter, index: int) -> None:
            self.scatter = scatter
            self.index = index
            super().__init__()

        @property
        def control(self) -> Scatter:
            return self.scatter

    class Hovered(Message):
        """The mouse moved onto a point (`index`) or away from all points (None)."""

        def __init__(self, scatter: Scatter, index: int | None) -> None:
            self.scatter = scatter
            self.index = index
            super().__init__()

        @property
        def control(self) -> Scatter:
            return self.scatter

    class ViewChanged(Message):
        """Zoom, pan, data or size changed; read `scatter.status` for the status line."""

        def __init__(self, scatter: Scatter) -> None:
            self.scatter = scatter
            super().__init__()

        @property
        def control(self) -> Scatter:
            return self.scatter

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None, disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._x = np.zeros(0, dtype=np.float32)
        self._y = np.zeros(0, dtype=np.float32)
        self._bounds = (-1.0, 1.0, -1.0, 1.0)
        self._groups: np.ndarray | None = None
        self._ngroups = 0
        self._palette: tuple[str, ...] = PALETTE
        self._labels: Sequence[str] | Callable[[int], str] | None = None
        self._cursor: int | None = None
        self._hover: int | None = None
        self._hover_cell: tuple[int, int] | None = None
        self._highlight: np.ndarray | None = None
        self._highlight_labels: list[str | None] | None = None
        self._regions: tuple[np.ndarray, np.ndarray, list[str]] | None = None  # x, y, text
        self._weights: np.ndarray | None = None  # per point, in the density shading
        # the view: centre and data units per dot; `_fitted` refits on resize
        self._center = (0.0, 0.0)
        self._scale = 1.0
        self._fitted = True
        self._raster = None
        self._raster_key = None
        self._edges: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # a, b, band
        self._edge_raster = None
        self._edge_key = None
        self._frame_text: np.ndarray | None = None
        self._frame_keys: np.ndarray | None = None
        self._frame_dirty = True
        self._regions_drawn: list[str] = []
        self._styles: list[Style] | None = None
        self._lines: LRUCache[int, Strip] = LRUCache(maxsize=512)

    # ---------------------------------------------------------------- state in

    def set_points(self, xy) -> None:
        """Show `xy` ((N, 2) floats) and fit the view to them.

        Groups, cursor and highlight index the points: they are kept when N is unchanged (a
        new layout of the same entities) and cleared otherwise.
        """
        xy = np.asarray(xy)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise ValueError(f"points must have shape (N, 2), got {xy.shape}")
        same_n = len(xy) == len(self._x)
        self._x = np.ascontiguousarray(xy[:, 0], dtype=np.float32)
        self._y = np.ascontiguousarray(xy[:, 1], dtype=np.float32)
        finite = np.isfinite(self._x) & np.isfinite(self._y)
        if finite.any():
            fx, fy = self._x[finite], self._y[finite]
            self._bounds = (float(fx.min()), float(fx.max()), float(fy.min()), float(fy.max()))
        else:
            self._bounds = (-1.0, 1.0, -1.0, 1.0)
        if not same_n:
            self._groups, self._ngroups = None, 0
            self._cursor = self._hover = None
            self._highlight = self._highlight_labels = None
            self._edges = self._regions = self._weights = None
        self._fitted = True
        self._view_changed()

    def set_groups(self, groups=None, palette: Sequence[str] | None = None) -> None:
        """Colour by group (int per point, negative = none), or plain density with None.

        `palette` is a sequence of colours (`#rrggbb`, names); groups cycle through it. On a
        16-colour terminal the ANSI palette is used instead; without colour, text attributes
        (or `marks = "groups"`) tell groups apart.
        """
        if groups is None:
            self._groups, self._ngroups = None, 0
        else:
            groups = np.ascontiguousarray(groups, dtype=np.int32)
            if groups.shape != self._x.shape:
                raise ValueError(f"groups must have shape ({len(self._x)},), got {groups.shape}")
            self._groups = groups
            self._ngroups = int(groups.max()) + 1 if len(groups) else 0
        if palette is not None:
            if len(palette) == 0:
                raise ValueError("palette must not be empty")
            for colour in palette:
                Color.parse(colour)  # raises on a bad colour now rather than at draw time
            self._palette = tuple(palette)
            self._lines.clear()  # same keys may now mean other colours
        self._styles = None
        self._invalidate(raster=True)

    def set_edges(self, a=None, b=None, strength=None) -> None:
        """Draw lines from point a[i] to point b[i] (None: no lines), clipped to the view and
        under the points. `strength` (in [0, 1], one per line; default 1) sets brightness in
        EDGE_BANDS steps, dim to bright."""
        if a is None or len(a) == 0:
            self._edges = None
        else:
            a = np.asarray(a, dtype=np.int64).ravel()
            b = np.asarray(b, dtype=np.int64).ravel()
            if a.shape != b.shape:
                raise ValueError("a and b must give both ends of every line")
            if min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= len(self._x):
                raise ValueError("edge ends out of range")
            if strength is None:
                band = np.full(len(a), EDGE_BANDS - 1, dtype=np.int8)
            else:
                f = np.nan_to_num(np.asarray(strength, dtype=np.float64).ravel())
                if f.shape != a.shape:
                    raise ValueError("strength must have one entry per line")
                band = np.clip(f * EDGE_BANDS, 0, EDGE_BANDS - 1).astype(np.int8)
            self._edges = (a, b, band)
        self._edge_key = None
        self._invalidate()

    def set_weights(self, weights=None) -> None:
        """Weigh each point in the density shading: a cell's brightness follows the sum of
        its points' weights (None: every point counts one). Weights should be ≥ 1, so that
        a lone point stays visible."""
        if weights is None:
            self._weights = None
        else:
            w = np.ascontiguousarray(weights, dtype=np.float64)
            if w.shape != self._x.shape:
                raise ValueError(f"weights must have shape ({len(self._x)},), got {w.shape}")
            self._weights = w
        self._invalidate(raster=True)

    def set_regions(self, x=None, y=None, texts: Sequence[str] | None = None,
                    sizes=None) -> None:
        """Name regions of the map: text i centred on the data point (x[i], y[i]), in that
        order of priority, for regions of at least REGION_MIN_SIZE points (`sizes`; default:
        all). One that would overlap a name placed before it, a label or the cursor is left
        out, at most one per REGION_ROWS rows, placed again whenever the view changes; so
        zooming in names smaller regions. None: no names."""
        if x is None or texts is None or len(texts) == 0:
            self._regions = None
        else:
            x = np.asarray(x, dtype=np.float64).ravel()
            y = np.asarray(y, dtype=np.float64).ravel()
            if not (x.shape == y.shape == (len(texts),)):
                raise ValueError("a region needs an x, a y and a text")
            keep = np.ones(len(x), bool) if sizes is None else (
                np.asarray(sizes).ravel() >= REGION_MIN_SIZE)
            self._regions = (x[keep], y[keep],
                             [plain_label(t, LABEL_MAX) for t, k in zip(texts, keep.tolist(),
                                                                        strict=True) if k])
        self._invalidate()

    @property
    def regions_drawn(self) -> list[str]:
        """The region names on screen now, in the order placed."""
        if self._frame_dirty or self._frame_text is None:
            self._compose_frame()
        return list(self._regions_drawn)

    def set_labels(self, labels: Sequence[str] | Callable[[int], str] | None) -> None:
        """Where the cursor's / hovered point's label comes from (sanitised before use)."""
        self._labels = labels
        self._invalidate()

    def set_cursor(self, index: int | None, *, reveal: bool = True) -> None:
        """Put the cursor on point `index` (no message). With `reveal`, pan to show it."""
        if index is not None:
            index = self._check_index(index)
        self._cursor = index
        if reveal and index is not None and self.view is not None and not self._in_view(index):
            self._center = (float(self._x[index]), float(self._y[index]))
            self._fitted = False
            self._view_changed()
        else:
            self._invalidate()

    def set_highlight(self, indices=None, labels: Sequence[str | None] | None = None) -> None:
        """Draw `indices` on top in the highlight style, with optional `labels` beside them."""
        if indices is None or len(indices) == 0:
            self._highlight = self._highlight_labels = None
        else:
            idx = np.asarray(indices, dtype=np.int64).ravel()
            if idx.min() < 0 or idx.max() >= len(self._x):
                raise ValueError("highlight indices out of range")
            if labels is not None and len(labels) != len(idx):
                raise ValueError("labels must match the highlighted indices one to one")
            self._highlight = idx
            self._highlight_labels = list(labels) if labels is not None else None
        self._invalidate()

    def zoom(self, factor: float, anchor: tuple[float, float] | None = None) -> None:
        """Zoom in by `factor` (> 1 in, < 1 out), keeping `anchor` (data coordinates; default
        the cursor, else the view centre) at the same place on screen."""
        if not factor > 0:
            raise ValueError("zoom factor must be positive")
        if self.view is None:  # no size yet: nothing to zoom
            return
        if anchor is None:
            if self._cursor is not None and self._in_view(self._cursor):
                anchor = (float(self._x[self._cursor]), float(self._y[self._cursor]))
            else:
                anchor = self._center
        fit = self._fit_scale()
        new_scale = float(np.clip(self._scale / factor, fit / MAX_ZOOM, fit / MIN_ZOOM))
        f = self._scale / new_scale
        (cx, cy), (ax, ay) = self._center, anchor
        self._center = (ax + (cx - ax) / f, ay + (cy - ay) / f)
        self._scale = new_scale
        self._fitted = False
        self._view_changed()

    def pan(self, dx: float, dy: float) -> None:
        """Move the view by fractions of its width (dx > 0: right) and height (dy > 0: up)."""
        if self.view is None:
            return
        width, height = self._plot_size()
        cx, cy = self._center
        self._center = (cx + dx * 2 * width * self._scale, cy + dy * 4 * height * self._scale)
        self._fitted = False
        self._view_changed()

    def reset_view(self) -> None:
        """Fit all points again (and keep fitting them on resize)."""
        self._fitted = True
        self._view_changed()

    def set_view(self, view: tuple[float, float, float, float]) -> None:
        """Show at least the data rectangle (x0, x1, y0, y1), with square dots."""
        x0, x1, y0, y1 = (float(v) for v in view)
        if not (x1 > x0 and y1 > y0):
            raise ValueError(f"view must have x0 < x1 and y0 < y1, got {view!r}")
        width, height = self._plot_size()
        self._center = ((x0 + x1) / 2, (y0 + y1) / 2)
        self._scale = max((x1 - x0) / (2 * max(width, 1)), (y1 - y0) / (4 * max(height, 1)))
        self._fitted = False
        self._view_changed()

    # --------------------------------------------------------------- cursor

    def move_cursor(self, direction: Direction) -> int | None:
        """Move to the nearest point in view towards `direction` (a ±45° cone, widened to the
        half-plane when the cone is empty); post `CursorMoved`. Returns the new index or None."""
        if direction not in ("left", "right", "up", "down"):
            raise ValueError(f"direction must be left, right, up or down, not {direction!r}")
        view = self.view
        if view is None or len(self._x) == 0:
            return None
        if self._cursor is None or not self._in_view(self._cursor):
            x0, x1, y0, y1 = view
            index = self._nearest(((x0 + x1) / 2, (y0 + y1) / 2))
        else:
            index = self._step(self._cursor, direction)
        if index is None:
            return None
        self._cursor = index
        self._invalidate()
        self.post_message(self.CursorMoved(self, index))
        return index

    def _screen_deltas(self, px: float, py: float):
        """Points in view (`idx`, None meaning all of them) and their offsets from (px, py) in
        dots, y down. Skips the gather when every point is in view (the common fitted case)."""
        x0, x1, y0, y1 = self.view
        x, y = self._x, self._y
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        if inside.all():
            idx = None
        else:
            idx = np.flatnonzero(inside)
            x, y = x[idx], y[idx]
        width, height = self._plot_size()
        dx = (x - np.float32(px)) * np.float32(2 * width / (x1 - x0))
        dy = (np.float32(py) - y) * np.float32(4 * height / (y1 - y0))
        return idx, dx, dy

    @staticmethod
    def _position(idx: np.ndarray | None, index: int) -> int | None:
        """Where point `index` sits in `idx` (None = all points), or None if absent."""
        if idx is None:
            return index
        pos = int(np.searchsorted(idx, index))
        return pos if pos < len(idx) and idx[pos] == index else None

    def _step(self, origin: int, direction: Direction) -> int | None:
        idx, dx, dy = self._screen_deltas(float(self._x[origin]), float(self._y[origin]))
        along, across = {"right": (dx, dy), "left": (-dx, dy),
                         "down": (dy, dx), "up": (-dy, dx)}[direction]
        ahead = along > 0
        here = self._position(idx, origin)
        if here is not None:
            ahead[here] = False
        for candidates in (ahead & (np.abs(across) <= along), ahead):
            pick = np.flatnonzero(candidates)
            if len(pick):
                d2 = dx[pick] * dx[pick] + dy[pick] * dy[pick]
                best = int(pick[np.argmin(d2)])
                return best if idx is None else int(idx[best])
        return None

    def _nearest(self, point: tuple[float, float], radius: float | None = None) -> int | None:
        """Nearest point in view to `point` by screen distance, within `radius` dots if given."""
        if self.view is None or len(self._x) == 0:
            return None
        idx, dx, dy = self._screen_deltas(*point)
        if len(dx) == 0:
            return None
        d2 = dx * dx + dy * dy
        best = int(np.argmin(d2))
        if radius is not None and d2[best] > radius * radius:
            return None
        return best if idx is None else int(idx[best])

    def _in_view(self, index: int) -> bool:
        view = self.view
        if view is None:
            return False
        x0, x1, y0, y1 = view
        return bool(x0 <= self._x[index] <= x1 and y0 <= self._y[index] <= y1)

    def _check_index(self, index) -> int:
        index = int(index)
        if not 0 <= index < len(self._x):
            raise ValueError(f"point index {index} out of range 0..{len(self._x) - 1}")
        return index

    # ---------------------------------------------------------------- read out

    @property
    def cursor(self) -> int | None:
        return self._cursor

    @property
    def hover(self) -> int | None:
        return self._hover

    @property
    def highlight(self) -> np.ndarray | None:
        return self._highlight

    @property
    def edges(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The lines drawn, as (a, b) point indices, or None."""
        return None if self._edges is None else self._edges[:2]

    @property
    def view(self) -> tuple[float, float, float, float] | None:
        """(x0, x1, y0, y1) shown now, or None before the widget has a size."""
        width, height = self._plot_size()
        if width < 1 or height < 1:
            return None
        if self._fitted:
            xmin, xmax, ymin, ymax = self._bounds
            self._center = ((xmin + xmax) / 2, (ymin + ymax) / 2)
            self._scale = self._fit_scale()
        cx, cy = self._center
        half_w = width * self._scale
        half_h = 2 * height * self._scale
        return (cx - half_w, cx + half_w, cy - half_h, cy + half_h)

    @property
    def zoom_level(self) -> float:
        """1.0 when all points fit; 2.0 shows half the extent."""
        return 1.0 if self._fitted else self._fit_scale() / self._scale

    def label_of(self, index: int | None) -> str | None:
        """The sanitised label of a point from `set_labels`, or None."""
        if index is None or self._labels is None:
            return None
        raw = self._labels(index) if callable(self._labels) else self._labels[index]
        return None if raw is None else plain_label(raw, LABEL_MAX)

    @property
    def status(self) -> ScatterStatus:
        raster = self._current_raster()
        in_view = int(raster.counts.sum()) if raster is not None else 0
        shown = self._hover if self._hover is not None else self._cursor
        return ScatterStatus(zoom=self.zoom_level, in_view=in_view, total=len(self._x),
                             cursor=self._cursor, hover=self._hover,
                             label=self.label_of(shown))

    # ---------------------------------------------------------------- view maths

    def _plot_size(self) -> tuple[int, int]:
        size = self.size
        return size.width, size.height

    def _fit_scale(self) -> float:
        width, height = self._plot_size()
        xmin, xmax, ymin, ymax = self._bounds
        xr, yr = xmax - xmin, ymax - ymin
        extent = max(xr, yr)
        if extent <= 0:
            extent = max(abs(xmin), abs(ymin), 1.0) * 1e-3
            xr = yr = extent
        scale = max(xr / (2 * max(width, 1)), yr / (4 * max(height, 1)))
        return max(scale, extent * 1e-9) * (1 + 2 * MARGIN)

    # ---------------------------------------------------------------- invalidation

    def _view_changed(self) -> None:
        self._invalidate(raster=True)
        if self.is_attached:
            self.post_message(self.ViewChanged(self))

    def _invalidate(self, raster: bool = False) -> None:
        if raster:
            self._raster_key = None
        self._frame_dirty = True
        self.refresh()

    def watch_palette_mode(self) -> None:
        self._styles = None
        self._lines.clear()
        self._invalidate()

    def watch_marks(self) -> None:
        self._invalidate()

    def watch_show_cursor_label(self) -> None:
        self._invalidate()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._lines.clear()

    def on_resize(self, event: events.Resize) -> None:
        self._view_changed()

    # ---------------------------------------------------------------- drawing

    def _mode(self) -> str:
        if self.palette_mode != "auto":
            return self.palette_mode
        if not self.is_attached:
            return "truecolor"
        app = self.app
        system = app.console.color_system
        if app.no_color or system is None:
            return "mono"
        if system in ("standard", "windows"):
            return "16"
        return "256" if system == "256" else "truecolor"

    def _current_raster(self):
        view = self.view
        if view is None:
            return None
        width, height = self._plot_size()
        key = (view, width, height)
        if self._raster_key != key:
            self._raster = rasterize(self._x, self._y, view, width, height,
                                     self._groups, self._ngroups, weights=self._weights)
            self._raster_key = key
        return self._raster

    def _current_edges(self):
        """The lines' raster for this view and size (None: no lines)."""
        view = self.view
        if view is None or self._edges is None:
            return None
        width, height = self._plot_size()
        key = (view, width, height)
        if self._edge_key != key:
            a, b, band = self._edges
            self._edge_raster = rasterize_lines(self._x[a], self._y[a], self._x[b], self._y[b],
                                                view, width, height, band)
            self._edge_key = key
        return self._edge_raster

    def _slots(self, mode: str) -> int:
        if mode == "mono":
            return len(MONO_GROUP_STYLES)
        if mode == "16":
            return len(ANSI_PALETTE)
        return len(self._palette)

    def _style_table(self, mode: str) -> list[Style]:
        """Style per key: 0 empty, the edge bands, (slot, level) for points, then highlight,
        label, cursor."""
        if self._styles is not None:
            return self._styles
        base = self.rich_style
        levels = LEVELS[mode]
        slots = self._slots(mode)

        def part(name: str) -> Style:
            style = self.get_component_rich_style(name, partial=True)
            return Style(bold=style.bold, dim=style.dim, italic=style.italic,
                         underline=style.underline, reverse=style.reverse,
                         strike=style.strike) if mode == "mono" else style

        point = part("scatter--point")
        edge = part("scatter--edge")
        table = [base]
        bg = (base.bgcolor or RichColor.parse("black")).get_truecolor()
        bg = Color(bg.red, bg.green, bg.blue)
        if mode in ("truecolor", "256"):
            fg = edge.color.get_truecolor() if edge.color else None
            line = Color(fg.red, fg.green, fg.blue) if fg else Color(180, 195, 220)
            table += [base + edge + Style(color=bg.blend(line, f).rich_color)
                      for f in EDGE_BLEND]
        else:
            table += [base + Style(color=None if mode == "mono" else "white") + step
                      for step in EDGE_STEPS]
        assert len(table) == 1 + EDGE_BANDS
        if mode in ("truecolor", "256"):
            colours = [Color.parse(c) for c in self._palette]
            fg = point.color.get_truecolor() if point.color else None
            colours.append(Color(fg.red, fg.green, fg.blue) if fg else Color(200, 200, 200))
            for colour in colours:
                for level in range(1, levels + 1):
                    shade = bg.blend(colour, 0.35 + 0.65 * level / levels)
                    table.append(base + point + Style(color=shade.rich_color))
        else:
            steps = [Style(dim=True), Style(), Style(bold=True)]
            if mode == "16":
                groups = [Style(color=c) for c in ANSI_PALETTE] + [Style(color=point.color)]
            else:
                groups = list(MONO_GROUP_STYLES) + [Style()]
            for group_style in groups:
                for level in range(levels):
                    table.append(base + point + group_style + steps[level])
        assert len(table) == 1 + EDGE_BANDS + (slots + 1) * levels
        table.append(base + part("scatter--highlight"))
        table.append(base + part("scatter--label"))
        table.append(base + point + part("scatter--cursor"))
        table.append(base + part("scatter--region"))
        self._styles = table
        return table

    def _keys(self, mode: str) -> tuple[int, int, int, int]:
        first = 1 + EDGE_BANDS + (self._slots(mode) + 1) * LEVELS[mode]
        return first, first + 1, first + 2, first + 3   # highlight, label, cursor, region

    def _compose_frame(self) -> None:
        """Frame = raster + overlays, as code points and style keys; drop changed lines."""
        raster = self._current_raster()
        if raster is None:
            self._frame_text = self._frame_keys = None
            self._lines.clear()
            self._frame_dirty = False
            return
        mode = self._mode()
        levels = LEVELS[mode]
        slots = self._slots(mode)
        k_highlight, k_label, k_cursor, k_region = self._keys(mode)
        width, height = self._plot_size()
        view = raster.view

        level = density_level(raster.counts if raster.weight is None else raster.weight,
                              levels)
        filled = level > 0
        slot = np.where(raster.group >= 0, raster.group % slots, slots)
        keys = np.where(filled, 1 + EDGE_BANDS + slot * levels + level.astype(np.int32) - 1,
                        0).astype(np.int32)
        if self.marks == "groups":
            symbols = np.array([ord(c) for c in GROUP_SYMBOLS], dtype=np.uint32)
            text = np.where(raster.group >= 0, symbols[raster.group % len(symbols)],
                            ord(NO_GROUP_SYMBOL)).astype(np.uint32)
            text[~filled] = 0x20
        else:
            text = braille_codepoints(raster.bits)

        lines = self._current_edges()
        if lines is not None:  # only where no point is: points stay readable
            on = (lines.bits != 0) & ~filled
            text[on] = BRAILLE_BASE + lines.bits[on].astype(np.uint32)
            keys[on] = 1 + lines.band[on].astype(np.int32)

        if self._highlight is not None:
            hl = self._highlight
            over = rasterize(self._x[hl], self._y[hl], view, width, height)
            on = over.counts > 0
            text[on] = BRAILLE_BASE + over.bits[on].astype(np.uint32)
            keys[on] = k_highlight

        if self._cursor is not None:
            col, row, bit = locate(self._x[self._cursor], self._y[self._cursor], view,
                                   width, height)
            if col >= 0:
                text[row, col] = BRAILLE_BASE + bit
                keys[row, col] = k_cursor

        for n, (index, label) in enumerate(self._labels_to_draw()):
            col, row = locate(self._x[index], self._y[index], view, width, height)[:2]
            if col >= 0 and label:
                # the first label (the cursor's, else the selection's) may cover points
                _place_label(text, keys, row, col, label, k_label, force=n == 0,
                             free=EDGE_BANDS)
        self._regions_drawn = self._place_regions(text, keys, view, k_highlight, k_region)

        old_text, old_keys = self._frame_text, self._frame_keys
        if old_text is None or old_text.shape != text.shape:
            self._lines.clear()
        else:
            changed = (old_text != text).any(axis=1) | (old_keys != keys).any(axis=1)
            for row in np.flatnonzero(changed).tolist():
                self._lines.discard(row)
        self._frame_text, self._frame_keys = text, keys
        self._frame_dirty = False

    def _place_regions(self, text, keys, view, k_highlight: int, k_region: int) -> list[str]:
        """Centre each region's name on its point, over points and lines but never over the
        highlight, a label, the cursor or (with a cell between) another region's name."""
        if self._regions is None:
            return []
        x, y, names = self._regions
        height, width = text.shape
        cols, rows, _ = locate(x, y, view, width, height)
        inside = np.flatnonzero(cols >= 0)
        cols, rows = cols[inside], rows[inside]
        placed = []
        for i, col, row in zip(inside.tolist(), cols.tolist(), rows.tolist(), strict=True):
            if len(placed) >= max(height // REGION_ROWS, 1):
                break
            chars = [(ch, w) for ch in names[i] if (w := cell_len(ch)) > 0]
            need = sum(w for _, w in chars)
            if need == 0 or need > width:
                continue
            start = min(max(col - need // 2, 0), width - need)
            for r in (row, row - 1, row + 1):
                if not 0 <= r < height:
                    continue
                lo, hi = max(start - 2, 0), min(start + need + 2, width)
                around = keys[max(r - 1, 0):r + 2, lo:hi]
                if (keys[r, start:start + need] >= k_highlight).any() or (
                        around == k_region).any():
                    continue
                _write_label(text, keys, r, start, chars, k_region)
                placed.append(names[i])
                break
        return placed

    def _labels_to_draw(self) -> list[tuple[int, str]]:
        out = []
        if self.show_cursor_label and self._cursor is not None:
            label = self.label_of(self._cursor)
            if label:
                out.append((self._cursor, label))
        if self._highlight is not None and self._highlight_labels is not None:
            for index, raw in zip(self._highlight.tolist()[:LABEL_COUNT_MAX],
                                  self._highlight_labels, strict=False):
                if raw is not None and index != self._cursor:
                    out.append((index, plain_label(raw, LABEL_MAX)))
        return out

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        frame = self._frame_text
        if self._frame_dirty or frame is None or frame.shape != (height, width):
            self._compose_frame()
            frame = self._frame_text
        if frame is None or not 0 <= y < frame.shape[0]:
            return Strip.blank(width, self.rich_style)
        strip = self._lines.get(y)
        if strip is None:
            strip = build_line(frame[y], self._frame_keys[y], self._style_table(self._mode()))
            self._lines[y] = strip
        return strip

    # ---------------------------------------------------------------- actions and mouse

    def action_move_cursor(self, direction: Direction) -> None:
        self.move_cursor(direction)

    def action_zoom(self, factor: float) -> None:
        self.zoom(factor)

    def action_pan(self, dx: float, dy: float) -> None:
        self.pan(dx, dy)

    def action_reset_view(self) -> None:
        self.reset_view()

    def _data_at(self, col: int, row: int) -> tuple[float, float] | None:
        """Data coordinates of the centre of cell (col, row)."""
        view = self.view
        if view is None:
            return None
        x0, x1, y0, y1 = view
        width, height = self._plot_size()
        return (x0 + (col + 0.5) * (x1 - x0) / width, y1 - (row + 0.5) * (y1 - y0) / height)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        point = None if offset is None else self._data_at(offset.x, offset.y)
        index = None if point is None else self._nearest(point)
        if index is None:
            return
        self._cursor = index
        self._invalidate()
        self.post_message(self.CursorMoved(self, index))
        self.post_message(self.Clicked(self, index))

    def on_mouse_move(self, event: events.MouseMove) -> None:
        offset = event.get_content_offset(self)
        cell = None if offset is None else (offset.x, offset.y)
        if cell == self._hover_cell:
            return
        self._hover_cell = cell
        index = None
        raster = self._current_raster()
        if cell is not None and raster is not None:
            col, row = cell
            near = raster.counts[max(row - 1, 0):row + 2, max(col - 1, 0):col + 2]
            if near.any():  # skip the scan over all points when nothing is close
                index = self._nearest(self._data_at(col, row), radius=4.0)
        self._set_hover(index)

    def on_leave(self, event: events.Leave) -> None:
        self._hover_cell = None
        self._set_hover(None)

    def _set_hover(self, index: int | None) -> None:
        if index != self._hover:
            self._hover = index
            self.post_message(self.Hovered(self, index))

    def _wheel(self, event: events.MouseEvent, factor: float) -> None:
        event.stop()
        event.prevent_default()
        offset = event.get_content_offset(self)
        self.zoom(factor, None if offset is None else self._data_at(offset.x, offset.y))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, ZOOM_STEP)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, 1 / ZOOM_STEP)


def build_line(text_row: np.ndarray, keys_row: np.ndarray, styles: list[Style]) -> Strip:
    """One Strip from a row of code points and style keys: one Segment per run of a key."""
    width = len(text_row)
    s = text_row.tobytes().decode("utf-32-le")
    cuts = (np.flatnonzero(keys_row[1:] != keys_row[:-1]) + 1).tolist()
    starts = [0, *cuts]
    ends = [*cuts, width]
    run_styles = [styles[k] for k in keys_row[starts].tolist()]
    # Segment is a NamedTuple; building the tuple directly halves the cost per run
    new = tuple.__new__
    if "\x00" in s:  # second halves of wide label characters
        segments = [new(Segment, (s[a:b].replace("\x00", ""), st, None))
                    for a, b, st in zip(starts, ends, run_styles, strict=True)]
    else:
        segments = [new(Segment, (s[a:b], st, None))
                    for a, b, st in zip(starts, ends, run_styles, strict=True)]
    return Strip(segments, width)


def _place_label(text: np.ndarray, keys: np.ndarray, row: int, col: int, label: str,
                 key: int, force: bool = False, free: int = 0) -> bool:
    """Write `label` right of (row, col), else left of it, else on the row above or below,
    only over free cells (keys ≤ `free`: empty or lines). With `force`, when no such place
    exists, write it beside the point over plain points, never over another label or the
    cursor (keys ≥ `key`), cut to the wider side."""
    chars = [(ch, cell_len(ch)) for ch in label]
    chars = [(ch, w) for ch, w in chars if w > 0]
    need = sum(w for _, w in chars)
    height, width = text.shape
    if need == 0:
        return False
    for r in (row, row - 1, row + 1):
        if not 0 <= r < height:
            continue
        for start in (col + 1, col - need):
            if start < 0 or start + need > width:
                continue
            if (keys[r, start:start + need] > free).any():
                continue
            _write_label(text, keys, r, start, chars, key)
            return True
    if not force:
        return False
    right, left = width - col - 1, col
    start, room = (col + 1, right) if right >= min(need, left) else (0, left)
    while chars and need > room:
        need -= chars.pop()[1]
    if not chars:
        return False
    if start == 0:
        start = col - need
    if (keys[row, start:start + need] >= key).any():
        return False
    _write_label(text, keys, row, start, chars, key)
    return True


def _write_label(text: np.ndarray, keys: np.ndarray, row: int, start: int, chars: list,
                 key: int) -> None:
    c = start
    for ch, w in chars:
        text[row, c] = ord(ch)
        if w == 2:
            text[row, c + 1] = 0
        c += w
    keys[row, start:c] = key
