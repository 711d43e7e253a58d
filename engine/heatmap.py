"""A group's pairwise similarities, ordered by a hierarchical clustering's leaves.

The similarity is the one the dataset's neighbour graph holds, recomputed for every pair of
the group, not only the pairs the graph kept:

- vectors: the metric of engine.knn (cosine; euclidean as 1 / (1 + distance); the dot
  product), from the stored vectors in float64. Ward linkage on the vectors (unit vectors
  under cosine, whose Euclidean distance is √(2 − 2 cos), so Ward's two-entity heights
  follow the cosine; raw vectors under euclidean and dot).
- collections, association graph: the build's measure (engine.cooccur.association) of the
  co-occurrence counted from the group's stored memberships, with the build's weights and
  pair weighting; a pair association leaves out takes the measure's value there (no shared
  collection: npmi −1, jaccard, dice, conditional 0; ppmi 0 also for pmi ≤ 0), or NaN where
  it has none (pmi of no shared collection, inverse-log of a count ≤ 1).
- collections, context graph: σ needs every entity's correlation row after the global
  in-degree cap, so it is not recomputed for a group: the stored kNN graph's similarity of
  each pair (the larger of its two directions), NaN for a pair neither lists.

Average linkage for graphs, on distances top − s: top = 1 for similarities bounded by 1
(cosine-like, npmi, jaccard, dice, conditional, context), else the group's largest
similarity; a pair without a value counts as the group's largest distance, and an
asymmetric measure (conditional) is linked on the mean of its two directions. The diagonal
is 1 for cosine and euclidean, |x|² for dot, and NaN for graphs (no entity is its own pair).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import InputError
from engine.methods import SIMILARITY_RANGES

# A bound the command line keeps a group to: a heatmap of more is no longer read cell by cell.
MAX_ENTITIES = 200

# An association measure's value for a pair it does not store (engine.cooccur._measure at
# that count): no shared collection, or for ppmi also pmi ≤ 0; NaN where it has none.
_UNSTORED = {"npmi": -1.0, "ppmi": 0.0, "pmi": np.nan, "jaccard": 0.0, "dice": 0.0,
             "conditional": 0.0, "inverse-log": np.nan}


@dataclass
class Heatmap:
    idx: np.ndarray  # int64 entity indices, in dendrogram order
    matrix: np.ndarray  # float64 (m, m), rows and columns in that order; NaN: no value
    linkage: np.ndarray  # float64 (m − 1, 4): a, b, height, size; leaves numbered by their
    # position in idx, cluster m + r formed by row r; a's leaves come before b's
    method: str  # "ward" | "average"
    similarity: str  # the metric, the measure, or "context"
    source: str  # "vectors" | "memberships" | "knn"
    top: float | None = None  # average linkage: distance = top − similarity

    def __len__(self) -> int:
        return len(self.idx)

    def cut_height(self, threshold: float) -> float | None:
        """The linkage height that stands for a similarity threshold (None: none does)."""
        t = float(threshold)
        if self.method == "average":
            return self.top - t
        if self.similarity == "cosine":
            return float(np.sqrt(max(0.0, 2.0 - 2.0 * t)))
        if self.similarity == "euclidean":
            return 1.0 / t - 1.0 if t > 0 else float("inf")
        return None  # a dot product has no distance of its own

    def groups(self, threshold: float) -> np.ndarray | None:
        """The flat groups of the dendrogram cut at the threshold's height, numbered 0.. by
        their first leaf (an entity alone is a group too); None where no height stands for
        the threshold."""
        h = self.cut_height(threshold)
        if h is None:
            return None
        return cut(self.linkage, len(self), h)


def heatmap(ds, idx) -> Heatmap:
    """The heatmap of entities `idx` of a Dataset (duplicates dropped, first kept)."""
    idx = _group(idx, ds.n)
    S, similarity, source = group_similarity(ds, idx)
    if source == "vectors":
        return ordered(idx, S, ward_linkage(ds.vectors_of(idx), similarity), "ward",
                       similarity, "vectors")
    Z, top = average_linkage(S, similarity)
    return ordered(idx, S, Z, "average", similarity, source, top)


def group_similarity(ds, idx: np.ndarray) -> tuple[np.ndarray, str, str]:
    """(S, similarity, source): every pair of entities `idx` under the dataset's similarity,
    from its vectors, its memberships, or (context graphs) its stored kNN graph."""
    if ds.kind == "vectors":
        metric = ds.similarity or ds.steps["ingest"].params.get("metric_checks") or "cosine"
        return similarity_matrix(ds.vectors_of(idx), metric), metric, "vectors"
    if not ds.has("knn"):  # the measure and the graph are the knn step's
        raise InputError(f"{ds.path} has no neighbour graph yet (run embtui build)")
    params = ds.steps["knn"].params
    if params.get("graph") == "context":
        return knn_matrix(idx, ds.knn), "context", "knn"
    measure = params.get("measure", "npmi")
    weighted = ds.steps["ingest"].params.get("weight") is not None
    S = group_association(_positions(ds.memberships_of(idx), idx), len(idx), measure,
                          weighted=weighted, pair_scale=params.get("pair_scale")
                          if params.get("pair_attribute") else None)
    return S, measure, "memberships"


def _group(idx, n: int) -> np.ndarray:
    idx = np.asarray(idx, dtype=np.int64).ravel()
    if len(idx) == 0:
        raise InputError("a heatmap needs at least one entity")
    if idx.min() < 0 or idx.max() >= n:
        raise InputError(f"entity index out of range [0, {n})")
    _, first = np.unique(idx, return_index=True)
    return idx[np.sort(first)]


def _positions(m: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    """`m` with "pos", each membership's entity as its position in idx."""
    order = np.argsort(idx)
    m["pos"] = order[np.searchsorted(idx[order], np.asarray(m["idx"], dtype=np.int64))]
    return m


# ---- similarities ------------------------------------------------------------------------

def similarity_matrix(X: np.ndarray, metric: str) -> np.ndarray:
    """All pairs of rows of X under `metric`, as engine.knn defines it, in float64."""
    X = np.asarray(X, dtype=np.float64)
    S = similarity_block(X, X, metric)
    if metric != "dot":  # an entity is itself: 1, not a rounding of it
        np.fill_diagonal(S, 1.0)
    return S


def similarity_block(A: np.ndarray, B: np.ndarray, metric: str) -> np.ndarray:
    """Every row of A against every row of B under `metric` (A·B for dot; cosine clipped to
    [−1, 1]; euclidean as 1 / (1 + distance)), in float64: one block of the whole matrix,
    so a caller can walk all pairs in bounded memory."""
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    S = A @ B.T
    if metric == "euclidean":
        sa, sb = np.einsum("ij,ij->i", A, A), np.einsum("ij,ij->i", B, B)
        d2 = np.maximum(sa[:, None] + sb[None, :] - 2.0 * S, 0.0)
        return 1.0 / (1.0 + np.sqrt(d2))
    if metric == "cosine":
        na = np.sqrt(np.einsum("ij,ij->i", A, A))
        nb = np.sqrt(np.einsum("ij,ij->i", B, B))
        return np.clip(S / np.outer(na, nb), -1.0, 1.0)
    if metric != "dot":
        raise InputError(f"unknown metric '{metric}'")
    return S


def group_association(m: dict[str, np.ndarray], size: int, measure: str, *,
                      weighted: bool = False, pair_scale: float | None = None) -> np.ndarray:
    """The association measure between the `size` entities whose memberships `m` holds
    (coll codes, "pos" the entity's position 0..size−1, weight, value, n_collections:
    Store.memberships_of with `_positions`), as the build computes it for the whole file.

    A pair's co-occurrence and each entity's own count depend only on the two entities'
    memberships, so counting the group's memberships alone gives the same values as the
    file's whole co-occurrence matrix; n is the file's number of collections."""
    S = np.full((size, size), unstored(measure), dtype=np.float64)
    counted = group_counts(m, size, measure, weighted=weighted, pair_scale=pair_scale)
    if counted is not None:
        A = counted[1].tocoo()
        S[A.row, A.col] = A.data
    np.fill_diagonal(S, np.nan)
    return S


def unstored(measure: str) -> float:
    """The measure's value for a pair it does not store (NaN: it has none)."""
    return _UNSTORED.get(measure, np.nan)


def group_counts(m: dict[str, np.ndarray], size: int, measure: str, *,
                 weighted: bool = False, pair_scale: float | None = None):
    """(co-occurrence C, association A), both sparse (size, size), of the group's
    memberships as `group_association` reads them; None when the group has none."""
    from engine.cooccur import association, cooccurrence
    if pair_scale and m.get("value") is None:  # as the build refuses a store without them
        raise InputError("the stored memberships have no --pair-attribute values: rebuild")
    coll = np.asarray(m["coll"], dtype=np.int64)
    ent = np.asarray(m["pos"], dtype=np.int64)
    if not len(coll):
        return None
    C = cooccurrence(coll, ent, size, int(coll.max()) + 1,
                     weight=m["weight"] if weighted else None,
                     pair_value=m.get("value") if pair_scale else None,
                     pair_scale=pair_scale)
    return C, association(C, int(m["n_collections"]), measure)


def knn_matrix(idx: np.ndarray, knn) -> np.ndarray:
    """The stored graph's similarity of every pair of `idx` (the larger of the two
    directions), NaN for a pair neither lists."""
    idx = np.asarray(idx, dtype=np.int64)
    m = len(idx)
    order = np.argsort(idx)
    rows, sims = knn.idx[idx].astype(np.int64), knn.sim[idx].astype(np.float64)
    p = np.clip(np.searchsorted(idx[order], rows), 0, m - 1)
    hit = (rows >= 0) & (idx[order][p] == rows) & np.isfinite(sims)
    S = np.full((m, m), -np.inf)
    r, c = np.nonzero(hit)
    np.maximum.at(S, (r, order[p[r, c]]), sims[r, c])
    S = np.maximum(S, S.T)
    S[np.isinf(S)] = np.nan
    np.fill_diagonal(S, np.nan)
    return S


# ---- linkage -----------------------------------------------------------------------------

def ward_linkage(X: np.ndarray, metric: str) -> np.ndarray:
    """Ward linkage (scipy) on the vectors: unit vectors under cosine, raw otherwise."""
    from scipy.cluster.hierarchy import linkage
    X = np.asarray(X, dtype=np.float64)
    if len(X) < 2:
        return np.zeros((0, 4))
    if metric == "cosine":
        X = X / np.linalg.norm(X, axis=1, keepdims=True)
    return linkage(X, method="ward", metric="euclidean")


def distance_top(S: np.ndarray, similarity: str) -> float:
    """`top` of the distances top − s: 1 for similarities bounded by 1, else the largest
    finite similarity off the diagonal (0 if there is none)."""
    if SIMILARITY_RANGES.get(similarity, (None, None))[1] == 1.0:
        return 1.0
    off = S[~np.eye(len(S), dtype=bool)]
    off = off[np.isfinite(off)]
    return float(off.max()) if off.size else 0.0


def average_linkage(S: np.ndarray, similarity: str) -> tuple[np.ndarray, float]:
    """Average linkage (scipy) on the distances top − s; (linkage, top)."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform
    top = distance_top(S, similarity)
    m = len(S)
    if m < 2:
        return np.zeros((0, 4)), top
    sym = np.nanmean(np.stack([S, S.T]), axis=0) if not np.allclose(
        np.nan_to_num(S), np.nan_to_num(S.T)) else S
    D = np.maximum(top - sym, 0.0)
    finite = D[np.isfinite(D) & ~np.eye(m, dtype=bool)]
    D[~np.isfinite(D)] = finite.max() if finite.size else 1.0
    np.fill_diagonal(D, 0.0)
    return linkage(squareform(D, checks=False), method="average"), top


def leaves(Z: np.ndarray, m: int) -> np.ndarray:
    """The dendrogram's leaf order (scipy's: a node's first child before its second)."""
    if m < 2:
        return np.arange(m)
    from scipy.cluster.hierarchy import leaves_list
    return leaves_list(Z)


def ordered(idx, S, Z, method, similarity, source, top=None) -> Heatmap:
    """The heatmap with rows, columns and linkage leaves renumbered in dendrogram order."""
    m = len(idx)
    order = leaves(Z, m)
    pos = np.empty(m, dtype=np.int64)
    pos[order] = np.arange(m)
    Z = np.array(Z, dtype=np.float64, copy=True).reshape(-1, 4)
    for col in (0, 1):
        leaf = Z[:, col] < m
        Z[leaf, col] = pos[Z[leaf, col].astype(np.int64)]
    return Heatmap(np.asarray(idx)[order], S[np.ix_(order, order)], Z, method, similarity,
                   source, top)


def cut(Z: np.ndarray, m: int, height: float) -> np.ndarray:
    """Flat groups of the linkage at `height` (merges at heights ≤ it), numbered by first
    leaf in order."""
    if m < 2:
        return np.zeros(m, dtype=np.int64)
    from scipy.cluster.hierarchy import fcluster
    labels = fcluster(Z, height, criterion="distance")
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse]
