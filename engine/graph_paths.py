"""Paths between two entities through the similarity graph.

- `widest` (the default): the path whose weakest step is the strongest possible, the
  maximin (bottleneck) path. In a maximum spanning forest the one path between two entities
  is such a path (Hu 1961), so it is read off the stored merge tree: its weakest similarity
  is the highest threshold at which the two share a cluster. For a kNN merge tree every step
  is a stored neighbour edge; for the tree of all pairs (`--merge-tree exact`) a step may be
  any pair of vectors.
- `hops`: the fewest steps through the stored neighbour graph, an edge in either direction
  (breadth-first from the first entity; among paths of as many steps, the one breadth-first
  search reaches first, neighbours taken in index order).

Each step carries its similarity: the merge tree's edge, or for a neighbour edge the larger
of the two directions' stored similarities.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from engine.errors import NoMatch

PATH_KINDS = ("widest", "hops")


class Path(NamedTuple):
    kind: str  # "widest" | "hops"
    idx: np.ndarray  # int64: the entities from the first to the last
    sim: np.ndarray  # float64: the similarity of each step (len(idx) - 1)

    @property
    def weakest(self) -> float | None:
        return float(self.sim.min()) if len(self.sim) else None


def _undirected(a: np.ndarray, b: np.ndarray, w: np.ndarray, n: int):
    """Symmetric CSR of the edges a → b (each listed once) weighted w, the larger weight
    where both directions are listed, and the shift added to every weight (so that a
    similarity of 0 or below stays an edge)."""
    shift = 1.0 - min(float(w.min()), 0.0) if len(w) else 1.0
    g = sp.coo_matrix((w + shift, (a, b)), shape=(n, n)).tocsr()
    return g.maximum(g.T).tocsr(), shift


def _walk(graph: sp.csr_matrix, a: int, b: int) -> np.ndarray | None:
    """The breadth-first path from a to b (None: not connected)."""
    if a == b:
        return np.array([a], dtype=np.int64)
    _, pred = breadth_first_order(graph, a, directed=False, return_predecessors=True)
    if pred[b] < 0:
        return None
    path = [b]
    while path[-1] != a:
        path.append(int(pred[path[-1]]))
    return np.array(path[::-1], dtype=np.int64)


def _step_weights(graph: sp.csr_matrix, path: np.ndarray, shift: float) -> np.ndarray:
    if len(path) < 2:
        return np.zeros(0, dtype=np.float64)
    return np.asarray(graph[path[:-1], path[1:]]).ravel() - shift


def widest_path(tree_a, tree_b, tree_sim, n: int, a: int, b: int) -> Path | None:
    """The maximin path from a to b in the merge tree (None: never joined)."""
    g, shift = _undirected(np.asarray(tree_a, np.int64), np.asarray(tree_b, np.int64),
                           np.asarray(tree_sim, np.float64), n)
    path = _walk(g, a, b)
    return None if path is None else Path("widest", path, _step_weights(g, path, shift))


def fewest_hops(idx: np.ndarray, sim: np.ndarray, a: int, b: int) -> Path | None:
    """The fewest steps from a to b through the neighbour rows (None: not connected)."""
    n, k = idx.shape
    keep = (idx >= 0) & np.isfinite(sim)
    src = np.broadcast_to(np.arange(n)[:, None], (n, k))[keep]
    g, shift = _undirected(src, idx[keep].astype(np.int64), sim[keep].astype(np.float64), n)
    path = _walk(g, a, b)
    return None if path is None else Path("hops", path, _step_weights(g, path, shift))


def path_between(ds, a: int, b: int, kind: str = "widest") -> Path:
    """The path a Dataset's graph gives between entities a and b; NoMatch when there is
    none (the two are in different components at every threshold)."""
    for i in (a, b):
        if not ds.holds(i):
            raise NoMatch(f"'{ds.ids[i]}' is not in embedding {ds.embedding}")
    if kind == "widest":
        ds._require("merge_tree", "merge tree")
        found = widest_path(*ds.merge_tree, ds.n, a, b)
    elif kind == "hops":
        found = fewest_hops(ds.knn.idx, ds.knn.sim, a, b)
    else:
        raise ValueError(f"kind must be one of {PATH_KINDS}")
    if found is None:
        raise NoMatch(f"no path between '{ds.ids[a]}' and '{ds.ids[b]}': they are in "
                      "different components of the graph")
    return found
