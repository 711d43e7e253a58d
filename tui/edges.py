"""Which edges of the kNN graph the scatter draws: plain numpy over its padded rows, no Textual.

The graph is (idx, sim), both (n, k): row i lists i's neighbours, -1 / NaN where short. Three
sets are drawn: the selection's edges to its neighbours (always), the chosen cluster's edges
with similarity ≥ the threshold, and with `E` every such edge among the points in view. An
edge stored in both directions is drawn once. The last two are left out when there are more
than EDGE_LIMIT of them: past that the lines fill the plot and no longer read as lines.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

EDGE_LIMIT = 2000  # undirected edges drawn at most for a cluster or for `E`


class Edges(NamedTuple):
    a: np.ndarray    # int64 one end (the smaller index, but for a selection's own edges)
    b: np.ndarray    # int64 the other end
    sim: np.ndarray  # float32 similarity

    @classmethod
    def none(cls) -> Edges:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))


class EdgeChoice(NamedTuple):
    """What edges_among found: the edges, or none and too_many when over the limit."""

    edges: Edges
    too_many: bool


def neighbour_edges(idx: np.ndarray, sim: np.ndarray, i: int | None) -> Edges:
    """Entity i's edges to its stored neighbours, nearest first (whatever their similarity)."""
    if i is None:
        return Edges.none()
    row, s = idx[i], sim[i]
    keep = (row >= 0) & (row != i)
    b = row[keep].astype(np.int64)
    return Edges(np.full(len(b), i, np.int64), b, s[keep].astype(np.float32))


def in_view(x: np.ndarray, y: np.ndarray, view) -> np.ndarray:
    """Whether each point lies in the view (x0, x1, y0, y1), borders included."""
    x0, x1, y0, y1 = view
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def edges_among(idx: np.ndarray, sim: np.ndarray, keep: np.ndarray, threshold: float | None,
                limit: int = EDGE_LIMIT) -> EdgeChoice:
    """The edges with similarity ≥ threshold (None: any) between two kept points (`keep`, a
    bool per entity), each once, ordered by (a, b) with a < b; none and too_many if there
    are more than `limit`.

    The threshold is compared in float32, as the merge tree's components are, so at a
    cluster's own threshold its edges are exactly those that hold it together.
    """
    keep = np.asarray(keep, dtype=bool)
    rows = None if keep.all() else np.flatnonzero(keep)
    dst = idx if rows is None else idx[rows]
    s = sim if rows is None else sim[rows]
    ok = dst >= 0
    if threshold is not None:
        ok &= s >= np.float32(threshold)   # NaN padding fails this too
    if rows is not None:   # both ends kept
        ok &= keep[np.maximum(dst, 0)]
    own = np.arange(len(dst)) if rows is None else rows
    count = int(np.count_nonzero(ok))
    # each undirected edge is stored at most twice: over 2·limit rows, more than limit edges
    if count > 2 * limit and count - int(np.count_nonzero(ok & (dst == own[:, None]))) > (
            2 * limit):
        return EdgeChoice(Edges.none(), True)
    r, c = np.nonzero(ok)
    a = own[r].astype(np.int64)
    b = dst[r, c].astype(np.int64)
    w = s[r, c]
    loop = a == b
    a, b, w = a[~loop], b[~loop], w[~loop]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    # one row per pair: the larger similarity if the two directions differ
    order = np.lexsort((-w, hi, lo))
    lo, hi, w = lo[order], hi[order], w[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    if int(first.sum()) > limit:
        return EdgeChoice(Edges.none(), True)
    return EdgeChoice(Edges(lo[first], hi[first], w[first].astype(np.float32)), False)


def members_mask(n: int, members: np.ndarray | None) -> np.ndarray | None:
    """A bool per entity, True for `members` (None: no cluster)."""
    if members is None:
        return None
    mask = np.zeros(n, dtype=bool)
    mask[np.asarray(members, dtype=np.int64)] = True
    return mask


def strength(sim: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Similarity as brightness in [0, 1] over the graph's range [lo, hi]."""
    s = np.asarray(sim, dtype=np.float64)
    if not hi > lo:
        return np.ones(len(s))
    return np.clip((s - lo) / (hi - lo), 0.0, 1.0)


def join(*parts: Edges) -> Edges:
    """The edges of every part, one after the other (a repeat draws the same dots)."""
    parts = [p for p in parts if len(p.a)]
    if not parts:
        return Edges.none()
    return Edges(*(np.concatenate(cols) for cols in zip(*parts, strict=True)))
