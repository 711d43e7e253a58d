"""Nearest-neighbour graphs of vectors: exact blocked BLAS for small N, NN-descent above.

A graph is `idx` (N, k) int32 and `sim` (N, k) float32, each row sorted by similarity
descending, self never included. Similarity per metric: cosine → cosine similarity,
euclidean → 1 / (1 + distance), dot → the dot product; larger is always more similar.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit, prange

from engine.errors import InputError
from engine.kernels import push
from engine.knngraph import KnnGraph
from engine.methods import METRICS

# Above this many vectors NN-descent beats exact search. Measured on 2 cores at d = 384 in
# fresh processes, as a build runs: pynndescent compiles for ~30 s in every process (its
# kernels take the metric as an argument, so numba cannot cache them), so exact wins up
# to ~70k (60k: exact 24 s, NN-descent 39 s; 100k: 75 s against 44 s). Already compiled,
# the crossover would be ~25k. Exact cost grows as N², NN-descent's about as N log N.
EXACT_MAX_N = 60_000
# Memory for one block of the exact similarity matrix (rows × N float32).
BLOCK_BYTES = 64 << 20
# NN-descent: build a graph NND_EXTRA wider than asked and keep its best k. At 100k × 384
# (benchmarks/bench_knn.py data) recall@15 goes 0.965 → 0.992 for +10 (+5: 0.984), and on
# noisier data 0.905 → 0.973 (+5: 0.949), for ~2 s; pynndescent's own trees/iterations
# (which grow with N) were no worse than other settings tried.
NND_EXTRA = 10
NND_TREES = None
NND_ITERS = None

ProgressFn = Callable[[float, float], None] | None


def knn_vectors(X: np.ndarray, k: int, metric: str = "cosine", *, seed: int = 0,
                progress: ProgressFn = None,
                exact_max_n: int = EXACT_MAX_N) -> KnnGraph:
    """The k nearest neighbours of every row of X (N, d) under `metric`.

    Exact below `exact_max_n` rows, approximate (NN-descent) above. Each row gets
    min(k, N - 1) neighbours; duplicates of a row are neighbours, the row itself never is.
    """
    _check_metric(metric)
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = len(X)
    k = max(0, min(int(k), n - 1))
    if k == 0:
        return KnnGraph(np.zeros((n, 0), np.int32), np.zeros((n, 0), np.float32))
    if n <= exact_max_n:
        return knn_exact(X, k, metric, progress=progress)
    return _knn_nndescent(X, k, metric, seed=seed, progress=progress)


def knn_exact(X: np.ndarray, k: int, metric: str, rows: np.ndarray | None = None,
              progress: ProgressFn = None) -> KnnGraph:
    """Exact k nearest neighbours of `rows` (default: all rows) among all rows of X."""
    _check_metric(metric)
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = len(X)
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    k = max(0, min(int(k), n - 1))
    idx = np.full((len(rows), k), -1, np.int32)
    sim = np.full((len(rows), k), np.nan, np.float32)
    if k == 0 or len(rows) == 0:
        return KnnGraph(idx, sim)
    Y = _normalized(X) if metric == "cosine" else X
    half_sq = 0.5 * np.einsum("ij,ij->i", X, X) if metric == "euclidean" else None
    block = max(1, min(len(rows), BLOCK_BYTES // (4 * n)))
    vals = np.empty((block, k), np.float32)
    for start in range(0, len(rows), block):
        q = rows[start:start + block]
        S = Y[q] @ Y.T
        if half_sq is not None:
            S -= half_sq  # x·y − |y|²/2 orders rows like −|x − y|²
        _top_k(S, q, idx[start:start + len(q)], vals[:len(q)])
        if progress is not None:
            progress(start + len(q), len(rows))
    sim[:] = _refine(X, rows, idx, metric)
    return _sort_rows(idx, sim)


def similarity_to_distance(sim: np.ndarray, metric: str) -> np.ndarray:
    """UMAP input distances from similarities; NaN (padding) stays NaN.

    cosine: 1 − sim, clipped at 0. euclidean: 1/sim − 1 (the distance itself).
    dot (unbounded similarities): max(sim) − sim over the whole graph — non-negative and
    monotone, and UMAP's per-row calibration (distance to the nearest neighbour and a
    fitted bandwidth) makes any shift of all distances irrelevant.
    """
    _check_metric(metric)
    sim = np.asarray(sim, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "cosine":
            d = np.maximum(1.0 - sim, 0.0)
        elif metric == "euclidean":
            d = np.maximum(1.0 / sim - 1.0, 0.0)
        else:
            finite = sim[np.isfinite(sim)]
            d = (finite.max() if finite.size else 0.0) - sim
    return d.astype(np.float32)


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise InputError(f"unknown metric '{metric}' (use {', '.join(METRICS)})")


def _normalized(X: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))
    return (X / norms[:, None]).astype(np.float32)


@njit(cache=True, parallel=True)
def _top_k(S, self_ids, out_idx, out_val):
    """Row-wise top-k of S (B, N) into out_idx/out_val (B, k), sorted descending.

    Skips column self_ids[r] in row r; ties keep the lower column index first.
    """
    k = out_idx.shape[1]
    for r in prange(S.shape[0]):
        me = self_ids[r]
        ids = out_idx[r]
        vals = out_val[r]
        filled = 0
        for j in range(S.shape[1]):
            if j != me:
                filled = push(ids, vals, filled, k, j, S[r, j])


def _refine(X: np.ndarray, rows: np.ndarray, idx: np.ndarray, metric: str) -> np.ndarray:
    """Similarities of the chosen pairs recomputed in float64 (exact 1 for duplicates)."""
    out = np.full(idx.shape, np.nan, np.float32)
    k = idx.shape[1]
    block = max(1, (BLOCK_BYTES // 8) // max(1, k * X.shape[1]))
    for start in range(0, len(rows), block):
        q = X[rows[start:start + block]].astype(np.float64)
        nb = idx[start:start + block]
        Y = X[np.maximum(nb, 0)].astype(np.float64)  # (B, k, d); -1 masked below
        if metric == "euclidean":
            s = 1.0 / (1.0 + np.sqrt(np.einsum("bkd,bkd->bk", Y - q[:, None], Y - q[:, None])))
        else:
            s = np.matmul(Y, q[:, :, None])[..., 0]
            if metric == "cosine":
                qn = np.sqrt(np.einsum("bd,bd->b", q, q))
                yn = np.sqrt(np.einsum("bkd,bkd->bk", Y, Y))
                s = np.clip(s / (qn[:, None] * yn), -1.0, 1.0)
        out[start:start + block] = np.where(nb >= 0, s, np.nan)
    return out


def _sort_rows(idx: np.ndarray, sim: np.ndarray) -> KnnGraph:
    """Each row by similarity descending, ties by index ascending, padding (NaN) last."""
    key = np.where(np.isnan(sim), -np.inf, sim)
    order = np.lexsort((idx, -key), axis=1)
    return KnnGraph(np.take_along_axis(idx, order, 1).astype(np.int32),
                    np.take_along_axis(sim, order, 1).astype(np.float32))


def _knn_nndescent(X: np.ndarray, k: int, metric: str, *, seed: int,
                   progress: ProgressFn) -> KnnGraph:
    from pynndescent import NNDescent

    n = len(X)
    width = min(n - 1, k + NND_EXTRA) + 1  # +1: NN-descent lists the point itself
    total = 3.0
    if progress is not None:
        progress(0.0, total)
    index = NNDescent(X, metric=_neg_dot if metric == "dot" else metric, n_neighbors=width,
                      n_trees=NND_TREES, n_iters=NND_ITERS, random_state=seed,
                      angular_trees=metric == "dot", compressed=True)
    nb = index.neighbor_graph[0]
    del index
    if progress is not None:
        progress(2.0, total)
    # candidates come sorted by distance: keep the best k that are not the point itself
    idx = _drop_self(nb.astype(np.int64), k).astype(np.int32)
    idx, sim = _sort_rows(idx, _refine(X, np.arange(n), idx, metric))
    short = np.flatnonzero((idx < 0).any(axis=1))
    if len(short):  # NN-descent left a few rows short: answer those exactly
        idx[short], sim[short] = knn_exact(X, k, metric, rows=short)
    if progress is not None:
        progress(total, total)
    return KnnGraph(idx, sim)


def _drop_self(nb: np.ndarray, width: int) -> np.ndarray:
    """The first `width` entries of each row that are neither the row itself nor -1."""
    n = len(nb)
    keep = (nb != np.arange(n)[:, None]) & (nb >= 0)
    # stable compaction: kept entries first, in their original order
    order = np.argsort(~keep, axis=1, kind="stable")[:, :width]
    out = np.take_along_axis(nb, order, 1)
    return np.where(np.take_along_axis(keep, order, 1), out, -1)


@njit(cache=True, fastmath=True)
def _neg_dot(x, y):
    """NN-descent distance for the dot metric: smaller = larger dot product. NN-descent's
    local joins only need a symmetric score, so this finds maximum-inner-product
    neighbours directly (pynndescent's own "dot" normalises the vectors first)."""
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * y[i]
    return -s
