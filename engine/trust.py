"""How far a 2-D layout can be trusted: the neighbours it keeps, and trustworthiness.

- Kept share, per entity i with stored neighbours N(i) (the k of the neighbour graph, padding
  left out): |N(i) ∩ M(i)| / |N(i)|, where M(i) are i's |N(i)| nearest other entities on the
  layout (Euclidean; a scipy cKDTree, ties as it breaks them). The layout's figure is the
  mean over the entities with neighbours. The radius r(i), the distance to the k-th of them,
  is kept: a stored neighbour further than FAR × r(i) from i on the map "sits far away".
- Trustworthiness (Venna and Kaski, 2001; sklearn.manifold.trustworthiness):

      T(k) = 1 − 2 / (m k (2m − 3k − 1)) · Σ_i Σ_{j ∈ U_k(i)} (r(i, j) − k)

  where U_k(i) are the k nearest of i on the layout that are not among its k nearest in the
  input, and r(i, j) is j's rank among i's neighbours in the input (1 = most similar). It
  needs every pair's input similarity, so it is computed on a seeded sample of m = SAMPLE
  entities (all of them when there are fewer), as the trustworthiness of that sub-dataset:
  the similarities of every pair of the sample (the metric on the stored vectors, or the
  build's association measure recounted from the memberships, as the heatmap computes them;
  a pair with none is the least similar), with k the stored k bounded as sklearn bounds it
  (k < m / 2). A context graph's similarity is not recomputed for pairs, so it has none.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engine.knngraph import shared_per_row

SAMPLE = 1000  # entities the trustworthiness is computed on
SEED = 0
FAR = 2.0  # a stored neighbour this many layout radii away sits far away on the map
_BLOCK = 1 << 16  # rows a block when querying the layout's k-d tree


class Trust(NamedTuple):
    share: np.ndarray  # float32 (n,): kept share per entity, NaN without stored neighbours
    radius: np.ndarray  # float32 (n,): distance to its k-th nearest on the layout
    mean: float  # of share over entities with neighbours (NaN: none)
    k: int  # the stored k
    trustworthiness: float | None  # on the sample; None where it cannot be computed
    sample: int  # entities it was computed on (0: none)
    why_not: str | None  # why there is no trustworthiness


def layout_neighbours(xy: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each point's k nearest other points on the layout (n, k) and the distance to the k-th.
    A point's own row never lists it, duplicates of its position included."""
    from scipy.spatial import cKDTree
    xy = np.asarray(xy, dtype=np.float64)
    n = len(xy)
    k = min(int(k), max(n - 1, 0))
    if k == 0:
        return np.zeros((n, 0), np.int64), np.zeros(n, np.float32)
    finite = np.isfinite(xy).all(axis=1)
    xy = np.where(finite[:, None], xy, 0.0)  # a NaN point: at the origin, as no neighbour
    tree = cKDTree(xy)
    out = np.empty((n, k), np.int32 if n < 2**31 else np.int64)
    radius = np.empty(n, np.float32)
    for lo in range(0, n, _BLOCK):  # in blocks: the query's float64 rows stay small
        hi = min(lo + _BLOCK, n)
        dist, idx = tree.query(xy[lo:hi], k=k + 1, workers=-1)
        dist, idx = np.atleast_2d(dist), np.atleast_2d(idx)
        me = idx == np.arange(lo, hi)[:, None]
        me[~me.any(axis=1), -1] = True  # where another point at distance 0 came first
        keep = ~me
        out[lo:hi] = idx[keep].reshape(hi - lo, k)
        radius[lo:hi] = dist[keep].reshape(hi - lo, k)[:, -1]
    return out, radius


def kept_share(stored: np.ndarray, on_map: np.ndarray) -> np.ndarray:
    """|N(i) ∩ M(i)| / |N(i)| per row, N the stored rows (−1 padding), M the layout's rows
    (M(i) = the first |N(i)| of its row); NaN for a row without neighbours."""
    stored = np.asarray(stored)
    count = (stored >= 0).sum(axis=1)
    hits = shared_per_row(stored, on_map, b_len=count)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, hits / count, np.nan).astype(np.float32)


def sample_k(k: int, m: int) -> int:
    """The k of a sample of m: sklearn's bound, k < m / 2."""
    return max(min(int(k), (m - 1) // 2), 0) if m >= 3 else 0


def trustworthiness(S: np.ndarray, xy: np.ndarray, k: int) -> float:
    """T(k) of points with input similarities S (m, m; NaN: the least similar) laid out at
    xy (m, 2): Venna and Kaski's formula, ranks tied by index."""
    S = np.array(S, dtype=np.float64)
    m = len(S)
    if not 0 < k < m / 2:
        raise ValueError(f"k must be in (0, m/2), got k={k} for m={m}")
    S[np.isnan(S)] = -np.inf
    np.fill_diagonal(S, np.inf)  # itself first, rank 0
    order = np.argsort(-S, axis=1, kind="stable")
    rank = np.empty_like(order)
    rank[np.arange(m)[:, None], order] = np.arange(m)[None, :]
    xy = np.asarray(xy, dtype=np.float64)
    D = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(D, -1.0)
    near = np.argsort(D, axis=1, kind="stable")[:, 1:k + 1]
    r = rank[np.arange(m)[:, None], near] - k
    penalty = float(np.where(r > 0, r, 0).sum())
    return 1.0 - 2.0 / (m * k * (2.0 * m - 3.0 * k - 1.0)) * penalty


def sample_of(n: int, size: int = SAMPLE, seed: int = SEED) -> np.ndarray:
    """The entities the trustworthiness is computed on, ascending."""
    if n <= size:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False)).astype(np.int64)


def layout_trust(stored: np.ndarray, xy: np.ndarray, sample_similarity=None,
                 sample_size: int = SAMPLE) -> Trust:
    """The layout's trust: kept shares from the stored rows, and trustworthiness on a sample
    from `sample_similarity(idx) -> (S, None)` or `(None, why not)`."""
    n, k = stored.shape
    on_map, radius = layout_neighbours(xy, k)
    share = kept_share(stored, on_map) if k else np.full(n, np.nan, np.float32)
    have = np.isfinite(share)
    mean = float(share[have].mean()) if have.any() else float("nan")
    idx = sample_of(n, sample_size)
    tk = sample_k(k, len(idx))
    t, why = None, None
    if tk == 0:
        why = "too few entities or neighbours"
    elif sample_similarity is None:
        why = "no similarity for every pair"
    else:
        S, why = sample_similarity(idx)
        if S is not None:
            t = trustworthiness(S, np.asarray(xy)[idx], tk)
    return Trust(share, radius, mean, k, t, len(idx) if t is not None else 0, why)


def far_on_map(i: int, neighbours: np.ndarray, xy: np.ndarray, radius: np.ndarray
               ) -> np.ndarray:
    """Which of entity i's stored neighbours sit further than FAR layout radii from it."""
    nb = np.asarray(neighbours, dtype=np.int64)
    d = np.sqrt(((np.asarray(xy, np.float64)[nb] - np.asarray(xy, np.float64)[i]) ** 2
                 ).sum(axis=1))
    return d > FAR * float(radius[i])
