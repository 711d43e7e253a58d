"""A heatmap and its dendrogram as character cells: no Textual, so the command line's text
output and the explorer's screen draw the same thing, and tests read it as text.

The grid is one column per entity and, in colour, two rows per line (▀ in the upper row's
colour on the lower row's); without colour, one row per line in shades (' ░▒▓█'). The
dendrogram lies beside it, root to the right, one leaf per row: with two rows a line, the two
leaves of a line share its stub. Heights map to columns on a square-root scale (Ward's last
merges would squeeze the others into a few columns), a parent at least one column right of
its children; the threshold's cut is a dotted line (┊) and the groups under it coloured.
"""

from __future__ import annotations

import math

import numpy as np

SHADES = " ░▒▓█"
UPPER_HALF = "▀"
CUT = "┊"
NO_VALUE_SHADE = "·"
NO_VALUE_COLOUR = "#3a3a3a"  # not on the scale
# viridis at nine stops: dark to light, readable as order without colour vision
SCALE = ("#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962",
         "#addc30", "#fde725")
SCALE_LEVELS = 32

# a cell's arms (up, down, left, right) → its box character
_U, _D, _L, _R = 1, 2, 4, 8
_BOX = {_L | _R: "─", _U | _D: "│", _L | _D: "┐", _L | _U: "┘", _R | _D: "┌", _R | _U: "└",
        _U | _D | _R: "├", _U | _D | _L: "┤", _L | _R | _D: "┬", _L | _R | _U: "┴",
        _U | _D | _L | _R: "┼", _L: "─", _R: "─", _U: "│", _D: "│"}


def describe(hm) -> str:
    """How the similarities and the tree were made (a title's words)."""
    how = {"vectors": "Ward linkage", "memberships": "average linkage (memberships)",
           "knn": "average linkage (stored graph)"}[hm.source]
    return f"{hm.similarity} · {how}"


def value_range(matrix: np.ndarray) -> tuple[float, float]:
    """The scale's ends: the finite values off the diagonal (the diagonal, 1 for cosine or
    |x|² for dot, would stretch it), else any finite value, else [0, 1]."""
    m = len(matrix)
    off = matrix[~np.eye(m, dtype=bool)] if m > 1 else matrix.ravel()
    finite = off[np.isfinite(off)]
    if not finite.size:
        finite = matrix[np.isfinite(matrix)]
    if not finite.size:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


def levels(matrix: np.ndarray, lo: float, hi: float, n: int) -> np.ndarray:
    """Each value's level 0..n−1 on [lo, hi] (clipped), −1 where there is no value."""
    x = np.asarray(matrix, dtype=np.float64)
    span = hi - lo
    f = np.clip((x - lo) / span, 0.0, 1.0) if span > 0 else np.ones_like(x)
    out = np.minimum((np.nan_to_num(f) * n).astype(np.int64), n - 1)
    return np.where(np.isfinite(x), out, -1)


def scale_colour(level: int, n: int = SCALE_LEVELS) -> str:
    """Level 0..n−1 as a colour on the scale (linear in RGB between its stops)."""
    if level < 0:
        return NO_VALUE_COLOUR
    f = level / max(1, n - 1) * (len(SCALE) - 1)
    i = min(int(f), len(SCALE) - 2)
    t = f - i
    a, b = (tuple(int(c[k:k + 2], 16) for k in (1, 3, 5)) for c in SCALE[i:i + 2])
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def shade(level: int) -> str:
    return NO_VALUE_SHADE if level < 0 else SHADES[level]


def shade_legend(lo: float, hi: float, fmt=".2f") -> str:
    """What each shade stands for: its lower bound."""
    step = (hi - lo) / len(SHADES)
    parts = [f"'{s}'≥{lo + i * step:{fmt}}" for i, s in enumerate(SHADES)]
    return " ".join(parts) + f" '{NO_VALUE_SHADE}' no value"


def coloured_groups(groups: np.ndarray | None) -> np.ndarray | None:
    """Groups of two or more leaves numbered 0.. in leaf order; −1 for an entity alone."""
    if groups is None:
        return None
    groups = np.asarray(groups)
    counts = np.bincount(groups) if len(groups) else np.zeros(0, np.int64)
    shared = counts[groups] > 1
    out = np.full(len(groups), -1, dtype=np.int64)
    _, first, inverse = np.unique(groups[shared], return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    out[shared] = rank[inverse]
    return out


def dendrogram(Z: np.ndarray, m: int, width: int, rows_per_line: int = 2,
               cut_height: float | None = None, groups: np.ndarray | None = None
               ) -> tuple[list[str], np.ndarray, int | None]:
    """The linkage (leaves numbered by row, engine.heatmap) drawn in `width` columns.

    Returns the lines, an owner per cell (its group from `coloured_groups`, −1 none, −2 the
    cut line) and the cut's column (None: no cut, or it lies above the root)."""
    lines = max(1, math.ceil(m / rows_per_line))
    width = max(2, width)
    arms = np.zeros((lines, width), dtype=np.int64)
    owner = np.full((lines, width), -1, dtype=np.int64)
    Z = np.asarray(Z, dtype=np.float64).reshape(-1, 4)
    heights = Z[:, 2]
    top = float(heights.max()) if len(heights) else 0.0

    n_nodes = m + len(Z)
    y = np.zeros(n_nodes)
    colour = np.full(n_nodes, -1, dtype=np.int64)
    y[:m] = np.arange(m) + 0.5
    if groups is not None:
        colour[:m] = groups
    # the widest scale on which every parent stands right of its children within the width
    for span in range(width - 2, -1, -1):
        x = _columns(Z, m, top, span)
        if x.max(initial=0) <= width - 1:
            break
    x = np.minimum(x, width - 1)

    def column(h: float) -> int:
        return _column(h, top, span)

    for r, (a, b, h, _) in enumerate(Z):
        node = m + r
        a, b = int(a), int(b)
        y[node] = (y[a] + y[b]) / 2
        under = cut_height is not None and h <= cut_height
        if under and colour[a] >= 0 and colour[a] == colour[b]:
            colour[node] = colour[a]

    def line(node: int) -> int:
        return min(lines - 1, int(y[node] // rows_per_line))

    def mark(row: int, col: int, bits: int, who: int) -> None:
        arms[row, col] |= bits
        owner[row, col] = colour[who]

    for leaf in range(m):
        mark(line(leaf), 0, _L | _R, leaf)
    for r, (a, b, _, _) in enumerate(Z):
        node, a, b = m + r, int(a), int(b)
        top_child, bottom_child = (a, b) if y[a] <= y[b] else (b, a)
        la, lb, ln, xn = line(top_child), line(bottom_child), line(node), x[node]
        for child in (a, b):
            lc = line(child)
            for col in range(x[child] + 1, xn):
                mark(lc, col, _L | _R, child)
        mark(la, xn, _L | (_D if lb > la else 0), node)
        mark(lb, xn, _L | (_U if lb > la else 0), node)
        for row in range(la + 1, lb):
            mark(row, xn, _U | _D, node)
        if r < len(Z) - 1:  # the root goes nowhere
            mark(ln, xn, _R, node)
    text = [["" for _ in range(width)] for _ in range(lines)]
    for row in range(lines):
        for col in range(width):
            text[row][col] = _BOX.get(int(arms[row, col]), " ")
    cut_col = None
    if cut_height is not None and len(Z) and cut_height <= top:
        cut_col = column(cut_height)
        owner[:, cut_col + 1:] = -1  # past the cut every branch joins groups
        for row in range(lines):  # over empty cells and straight stubs, not joints
            if arms[row, cut_col] in (0, _L | _R):
                text[row][cut_col] = CUT
                owner[row, cut_col] = -2
    return ["".join(row) for row in text], owner, cut_col


def _column(h: float, top: float, span: int) -> int:
    """A height's column on a square-root scale (Ward's last merges dwarf the rest)."""
    return 1 + (round(math.sqrt(max(h, 0.0) / top) * span) if top > 0 else 0)


def _columns(Z: np.ndarray, m: int, top: float, span: int) -> np.ndarray:
    """Every node's column: its height's, and at least one right of its children."""
    x = np.zeros(m + len(Z), dtype=np.int64)
    for r, (a, b, h, _) in enumerate(Z):
        x[m + r] = max(_column(h, top, span), x[int(a)] + 1, x[int(b)] + 1)
    return x


def text_grid(matrix: np.ndarray) -> list[str]:
    """The matrix in shades, one row per line, one character per column."""
    lo, hi = value_range(matrix)
    lv = levels(matrix, lo, hi, len(SHADES))
    return ["".join(shade(int(v)) for v in row) for row in lv]
