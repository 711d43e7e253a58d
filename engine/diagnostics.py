"""What is odd about a neighbour graph: hubs, isolates and bridges.

- Hubs: the entities listed among the most others' k nearest, by in-degree (the k-occurrence
  N_k of Radovanović, Nanopoulos and Ivanović 2010); the figure of the whole graph is the
  skewness of N_k, E[(N_k − μ)³] / σ³, which is large where a few points are everyone's
  neighbour.
- Isolates: the entities no other entity lists (N_k = 0, their "anti-hubs").
- Bridges at a threshold t: the articulation points of the graph of stored neighbour edges
  with similarity ≥ t (either direction, compared in float32 as the merge tree is): removing
  one splits its component — its cluster at t, for a kNN merge tree — in two or more
  parts. Found by Hopcroft and Tarjan's depth-first search (low points) in one pass; each
  bridge carries how many entities its removal cuts off from the largest part left.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from numba import njit


class Bridges(NamedTuple):
    idx: np.ndarray  # int64: the articulation points, most cut off first (ties: idx)
    component: np.ndarray  # int64: the size of the component each is in
    cut_off: np.ndarray  # int64: entities its removal separates from the largest part left
    parts: np.ndarray  # int64: parts its removal leaves


def skewness(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    sd = x.std()
    return float(((x - x.mean()) ** 3).mean() / sd ** 3) if sd > 0 else 0.0


def thresholded_graph(idx: np.ndarray, sim: np.ndarray, threshold: float) -> sp.csr_matrix:
    """The undirected graph of neighbour edges with similarity ≥ threshold (no weights)."""
    n, k = idx.shape
    keep = (idx >= 0) & (sim >= np.float32(threshold))
    src = np.broadcast_to(np.arange(n, dtype=np.int64)[:, None], (n, k))[keep]
    dst = idx[keep].astype(np.int64)
    g = sp.coo_matrix((np.ones(len(src), np.int8), (src, dst)), shape=(n, n)).tocsr()
    g = (g + g.T).tocsr()
    g.sum_duplicates()
    g.setdiag(0)
    g.eliminate_zeros()
    return g


@njit(cache=True, nogil=True)
def _articulation(indptr, indices, n):
    """Per vertex: separated (entities in child subtrees cut off by it), largest separated
    child subtree, separating children, DFS root, subtree size; iterative DFS."""
    disc = np.full(n, -1, np.int64)
    low = np.zeros(n, np.int64)
    parent = np.full(n, -1, np.int64)
    sub = np.ones(n, np.int64)
    nxt = indptr[:-1].astype(np.int64).copy()
    root_of = np.full(n, -1, np.int64)
    separated = np.zeros(n, np.int64)
    largest_child = np.zeros(n, np.int64)
    children = np.zeros(n, np.int64)
    stack = np.empty(n, np.int64)
    t = 0
    for r in range(n):
        if disc[r] >= 0:
            continue
        top = 0
        stack[0] = r
        disc[r] = low[r] = t
        t += 1
        root_of[r] = r
        while top >= 0:
            v = stack[top]
            if nxt[v] < indptr[v + 1]:
                w = indices[nxt[v]]
                nxt[v] += 1
                if disc[w] < 0:
                    parent[w] = v
                    root_of[w] = r
                    disc[w] = low[w] = t
                    t += 1
                    top += 1
                    stack[top] = w
                elif w != parent[v] and disc[w] < low[v]:
                    low[v] = disc[w]
            else:
                top -= 1
                p = parent[v]
                if p >= 0:
                    if low[v] < low[p]:
                        low[p] = low[v]
                    sub[p] += sub[v]
                    if low[v] >= disc[p]:  # v's subtree hangs on p alone
                        separated[p] += sub[v]
                        children[p] += 1
                        if sub[v] > largest_child[p]:
                            largest_child[p] = sub[v]
    return separated, largest_child, children, root_of, sub


def bridges(graph: sp.csr_matrix) -> Bridges:
    """The articulation points of an undirected graph, most consequential first."""
    n = graph.shape[0]
    separated, largest_child, children, root_of, sub = _articulation(
        graph.indptr.astype(np.int64), graph.indices.astype(np.int64), n)
    is_root = root_of == np.arange(n)
    size = sub[root_of]  # a root's subtree is its component
    rest = np.where(is_root, 0, size - 1 - separated)
    cut = np.where(is_root, children >= 2, children >= 1)
    at = np.flatnonzero(cut)
    parts = children[at] + (rest[at] > 0)
    largest = np.maximum(largest_child[at], rest[at])
    cut_off = size[at] - 1 - largest
    order = np.lexsort((at, -cut_off))
    return Bridges(at[order].astype(np.int64), size[at][order].astype(np.int64),
                   cut_off[order].astype(np.int64), parts[order].astype(np.int64))


def diagnose(ds, threshold: float, limit: int = 20) -> dict:
    """What `embtui diagnose` prints: hubs, isolates and the bridges at `threshold`."""
    held = ds.held
    deg = ds.in_degree.astype(np.int64)
    k_occ = deg[held]
    hubs = held[np.lexsort((held, -k_occ))][:limit]
    alone = held[k_occ == 0]
    found = bridges(thresholded_graph(ds.knn.idx, ds.knn.sim, threshold))

    def entity(i):
        return {"id": str(ds.ids[i]), "label": str(ds.labels[i])}
    return {
        "k": ds.k, "threshold": threshold, "entities": int(len(held)),
        "in_degree": {"mean": round(float(k_occ.mean()), 6) if len(k_occ) else None,
                      "max": int(k_occ.max()) if len(k_occ) else 0,
                      "skewness": round(skewness(k_occ), 6)},
        "hubs": [{**entity(i), "in_degree": int(deg[i])} for i in hubs.tolist()],
        "isolates": {"count": int(len(alone)),
                     "entities": [entity(i) for i in alone[:limit].tolist()]},
        "bridges": {"count": int(len(found.idx)),
                    "entities": [{**entity(i), "component": int(c), "cut_off": int(x),
                                  "parts": int(p)}
                                 for i, c, x, p in zip(found.idx[:limit].tolist(),
                                                       found.component[:limit].tolist(),
                                                       found.cut_off[:limit].tolist(),
                                                       found.parts[:limit].tolist(),
                                                       strict=True)]},
    }
