"""The merge tree of the complete similarity graph: the maximum spanning tree of all pairs.

With it, the clusters at threshold t are exactly the connected components of "every pair with
similarity ≥ t" (the kNN merge tree only sees pairs among each other's k nearest). The N × N
matrix is never held: Borůvka's rounds each pick, for every component, its most similar pair
to any other component, from per-row candidate lists.

Each row keeps its best M candidates outside its own component, in a total order (similarity
descending, then index ascending), so the first candidate not yet in the row's component is
the row's best outside pair. A row whose candidates have all joined its component is refilled
from a full row of similarities, blocked so memory stays at BLOCK_BYTES; components only grow,
so a refill stays valid until the component swallows it again. Pairs are ordered by
(similarity descending, smaller index, larger index): every pair has a distinct rank, so the
tree is unique and Borůvka's picks never form a cycle.

Similarities are float32 products of the vectors (normalised in float64 for cosine), per metric
as engine.knn defines them: cosine similarity, 1 / (1 + euclidean distance), the dot product.
The tree is exact for these values, which are what it stores; they differ from float64 ones
by about 1e-7.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit, prange

from engine.errors import InputError
from engine.kernels import find, push
from engine.methods import METRICS

# Candidates per row. At 20k × 384 (200 clusters), 32 needed 20k refilled rows on top of the
# first pass (11.7 s in all), 128 only 207: one pass over all pairs is then the whole cost.
CANDIDATES = 128
BLOCK_BYTES = 64 << 20

ProgressFn = Callable[[float, float], None] | None


def exact_merge_tree(X: np.ndarray, metric: str = "cosine", *, progress: ProgressFn = None,
                     candidates: int = CANDIDATES, block_bytes: int = BLOCK_BYTES
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximum spanning tree of all pairs of rows of X: (a int32, b int32, s float32), s
    descending, a < b. N − 1 edges for N ≥ 1 rows."""
    if metric not in METRICS:
        raise InputError(f"unknown metric '{metric}' (use {', '.join(METRICS)})")
    X = np.asarray(X)
    if X.ndim != 2:
        raise InputError(f"vectors must be a 2-D array; got shape {X.shape}")
    n = len(X)
    empty = (np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32))
    if n < 2:
        return empty
    rows_of = _similarity_rows(X, metric)
    m = max(1, min(int(candidates), n - 1))
    block = max(1, min(n, block_bytes // (4 * n)))
    parent = np.arange(n, dtype=np.int32)
    roots = parent.copy()
    cand_idx = np.full((n, m), -1, np.int32)
    cand_sim = np.full((n, m), np.nan, np.float32)
    ptr = np.zeros(n, np.int64)
    a = np.empty(n - 1, np.int32)
    b = np.empty(n - 1, np.int32)
    s = np.empty(n - 1, np.float32)
    for start in range(0, n, block):
        q = np.arange(start, min(n, start + block))
        _fill(rows_of(q), q, roots, cand_idx, cand_sim)
    # an exhausted row's pairs outside its component are all below its last candidate
    bound = np.where(cand_idx[:, -1] >= 0, cand_sim[:, -1], -np.inf).astype(np.float32)
    done = 0
    while done < n - 1:
        first = _first_outside(cand_idx, cand_sim, ptr, roots)
        best = np.full(n, -np.inf, np.float32)  # per component, its best pair found so far
        np.maximum.at(best, roots, np.where(np.isnan(first), -np.inf, first))
        need = np.flatnonzero(np.isnan(first) & (bound >= best[roots]))
        need = need[np.argsort(-bound[need], kind="stable")]
        while len(need):  # refill the rows that could still hold their component's best
            q = need[:block]
            _fill(rows_of(q), q, roots, cand_idx, cand_sim)
            ptr[q] = 0
            bound[q] = np.where(cand_idx[q, -1] >= 0, cand_sim[q, -1], -np.inf)
            np.maximum.at(best, roots[q], np.where(np.isnan(cand_sim[q, 0]), -np.inf,
                                                   cand_sim[q, 0]))
            need = need[block:]
            need = need[bound[need] >= best[roots[need]]]
        done = _round(parent, roots, cand_idx, cand_sim, ptr, a, b, s, done)
        _roots(parent, roots)
        if progress is not None:
            progress(done, n - 1)
    order = np.lexsort((b, a, -s))
    return a[order], b[order], s[order]


def similarity_matrix(X: np.ndarray, metric: str, rows: np.ndarray) -> np.ndarray:
    """Similarities of `rows` of X to every row (len(rows), N) float32, as the tree uses."""
    return _similarity_rows(np.asarray(X), metric)(np.asarray(rows))


def _similarity_rows(X: np.ndarray, metric: str):
    X64 = X.astype(np.float64)
    sq = np.einsum("ij,ij->i", X64, X64)
    if metric == "cosine":
        if (sq == 0).any():
            raise InputError("cosine similarity is undefined for an all-zero vector")
        Y = (X64 / np.sqrt(sq)[:, None]).astype(np.float32)
        return lambda q: np.clip(Y[q] @ Y.T, np.float32(-1), np.float32(1))
    X = np.ascontiguousarray(X, dtype=np.float32)
    if metric == "dot":
        return lambda q: X[q] @ X.T
    sq = sq.astype(np.float32)

    def euclidean(q):
        d2 = sq[q][:, None] + sq[None, :] - 2.0 * (X[q] @ X.T)
        d2[np.arange(len(q)), q] = 0.0  # a row's distance to itself, without rounding
        return np.float32(1) / (np.float32(1) + np.sqrt(np.maximum(d2, np.float32(0))))
    return euclidean


@njit(cache=True, parallel=True)
def _fill(S, rows, roots, cand_idx, cand_sim):
    """Each row's best candidates (in the total order) among rows of other components."""
    m = cand_idx.shape[1]
    for r in prange(S.shape[0]):
        i = rows[r]
        me = roots[i]
        ids = cand_idx[i]
        vals = cand_sim[i]
        ids[:] = -1
        vals[:] = np.nan
        filled = 0
        for j in range(S.shape[1]):
            if roots[j] != me:
                filled = push(ids, vals, filled, m, j, S[r, j])


@njit(cache=True)
def _round(parent, roots, cand_idx, cand_sim, ptr, a, b, s, done):
    """One Borůvka round: every component's best outside pair joins it to another."""
    n, m = cand_idx.shape
    best_s = np.full(n, -np.inf, np.float32)
    best_lo = np.full(n, -1, np.int64)
    best_hi = np.full(n, -1, np.int64)
    for i in range(n):
        p = ptr[i]  # at the row's best outside candidate: _first_outside or a refill put it
        if p == m or cand_idx[i, p] < 0:
            continue  # only when every row is in one component (refills come first)
        j = cand_idx[i, p]
        v = cand_sim[i, p]
        lo, hi = min(i, j), max(i, j)
        r = roots[i]
        if (best_lo[r] < 0 or v > best_s[r] or (v == best_s[r] and (
                lo < best_lo[r] or (lo == best_lo[r] and hi < best_hi[r])))):
            best_s[r], best_lo[r], best_hi[r] = v, lo, hi
    for r in range(n):
        if best_lo[r] < 0:
            continue
        x = find(parent, best_lo[r])
        y = find(parent, best_hi[r])
        if x == y:  # the same pair, picked by both of its components
            continue
        parent[max(x, y)] = min(x, y)
        a[done], b[done], s[done] = best_lo[r], best_hi[r], best_s[r]
        done += 1
    return done


@njit(cache=True)
def _roots(parent, roots):
    for i in range(len(parent)):
        roots[i] = find(parent, i)


@njit(cache=True)
def _first_outside(cand_idx, cand_sim, ptr, roots):
    """Each row's best candidate outside its component (NaN: all have joined it), moving the
    row's pointer past those that joined."""
    n, m = cand_idx.shape
    out = np.full(n, np.nan, np.float32)
    for i in range(n):
        p = ptr[i]
        while p < m and cand_idx[i, p] >= 0 and roots[cand_idx[i, p]] == roots[i]:
            p += 1
        ptr[i] = p
        if p < m and cand_idx[i, p] >= 0:
            out[i] = cand_sim[i, p]
    return out
