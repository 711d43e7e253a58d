"""Collections of entities → sparse co-occurrence counts → association measures → top-k rows.

Memberships arrive as parallel arrays (`coll`, `ent`[, `weight`]) of dense indices. The
co-occurrence matrix is the incidence product Bᵀ·B (B = collection × entity), so its cost and
memory are those of the output: Σ over collections of size² pair contributions, folded into
one entry per distinct pair by scipy's sparse product. That is quadratic in a collection's
size, so `check_collection_sizes` refuses, before anything is counted, a collection over the
size cap and a total that would not fit in memory.
"""

from __future__ import annotations

import os

import numba
import numpy as np
import scipy.sparse as sp

from engine.errors import InputError
from engine.kernels import push
from engine.knngraph import KnnGraph
from engine.methods import MEASURES

_CODES = {name: i for i, name in enumerate(MEASURES)}
# The kernels compare against these; numba freezes them at compile time.
_NPMI, _PPMI, _PMI = _CODES["npmi"], _CODES["ppmi"], _CODES["pmi"]
_JACCARD, _DICE, _CONDITIONAL = _CODES["jaccard"], _CODES["dice"], _CODES["conditional"]
_INVERSE_LOG = _CODES["inverse-log"]


# --------------------------------------------------------------------------- co-occurrence


# A rough cost per pair contribution while counting: the product's index and value arrays,
# scipy's scratch, and the association matrix and top-k pass that read it.
PAIR_BYTES = 32
DEFAULT_MAX_COLLECTION_SIZE = 20_000


def pair_contributions(sizes) -> int:
    """Σ size² over collections: the pair contributions counting them costs (a collection of
    n entities adds n² entries, its diagonal and both orders of each pair, before they fold)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    return int(np.dot(sizes, sizes)) if sizes.size else 0


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not every platform names them
        return None


def check_collection_sizes(coll, n_collections: int, max_size: int | None = None, *,
                           name=str, memory: int | None = None) -> None:
    """Refuse, in one line and before anything is counted, memberships whose co-occurrence
    would not fit: a collection larger than `max_size` entities (None or 0: no cap), or
    Σ size² × PAIR_BYTES over half of `memory` (default: the machine's physical memory).
    `name` turns a collection code into its id for the message."""
    sizes = np.bincount(np.asarray(coll, dtype=np.int64), minlength=n_collections)
    if max_size and sizes.size and int(sizes.max()) > max_size:
        big = int(np.argmax(sizes))
        label = str(name(big))  # the command line prints errors as plain text
        label = label if len(label) <= 60 else label[:59] + "…"
        over = int((sizes > max_size).sum())
        others = f", as do {over - 1:,} other collections" if over > 1 else ""
        raise InputError(
            f"collection '{label}' has {int(sizes[big]):,} entities (over "
            f"--max-collection-size {max_size}{others}); co-occurrence is quadratic in a "
            "collection's size: raise the cap, or pass --max-collection-size 0 to count "
            "every collection")
    memory = physical_memory() if memory is None else memory
    need = pair_contributions(sizes) * PAIR_BYTES
    if memory and need > memory / 2:
        raise InputError(
            f"counting co-occurrence needs about {need / 1e9:,.1f} GB "
            f"({pair_contributions(sizes):,} pair contributions, Σ size² over collections), "
            f"more than half of this machine's {memory / 1e9:,.1f} GB of memory; lower "
            "--max-collection-size or split the largest collections")


def _check_memberships(coll, ent, n_entities, n_collections, weight):
    coll = np.asarray(coll)
    ent = np.asarray(ent)
    if coll.ndim != 1 or ent.ndim != 1 or len(coll) != len(ent):
        raise InputError(f"coll and ent must be 1-D arrays of the same length "
                         f"(got shapes {coll.shape} and {ent.shape})")
    if n_entities < 0 or n_collections < 0:
        raise InputError(f"negative sizes: {n_entities} entities, {n_collections} collections")
    for name, arr, bound in (("entity", ent, n_entities), ("collection", coll, n_collections)):
        if not np.issubdtype(arr.dtype, np.integer):
            raise InputError(f"{name} indices must be integers (got {arr.dtype})")
        if len(arr) and (arr.min() < 0 or arr.max() >= bound):
            raise InputError(f"{name} index out of range [0, {bound}): "
                             f"min {arr.min()}, max {arr.max()}")
    if weight is not None:
        weight = np.asarray(weight, dtype=np.float64)
        if weight.shape != ent.shape:
            raise InputError(f"weight must match the memberships (got shape {weight.shape}, "
                             f"expected {ent.shape})")
        if not np.isfinite(weight).all():
            raise InputError(f"{int((~np.isfinite(weight)).sum())} weights are NaN or infinite")
        if (weight < 0).any():
            raise InputError(f"{int((weight < 0).sum())} weights are negative")
    return coll, ent, weight


def incidence(coll, ent, n_entities: int, n_collections: int, weight=None) -> sp.csr_matrix:
    """B: collection × entity CSR, one entry per distinct membership (weights: the max).

    Unweighted entries are int32 ones; weighted entries float64, with zero weights dropped
    (a zero-weight membership is no membership).
    """
    coll, ent, weight = _check_memberships(coll, ent, n_entities, n_collections, weight)
    key = coll.astype(np.int64) * max(n_entities, 1) + ent
    if weight is None:
        key = np.unique(key)
        data = np.ones(len(key), dtype=np.int32)
    else:
        # Sort by (membership, weight) so the last of each run of equal keys holds the max.
        order = np.lexsort((weight, key))
        key, w = key[order], weight[order]
        last = np.flatnonzero(np.r_[key[1:] != key[:-1], True]) if len(key) else order[:0]
        key, data = key[last], w[last]
        keep = data > 0
        key, data = key[keep], data[keep]
    rows = key // max(n_entities, 1)
    cols = (key % max(n_entities, 1)).astype(np.int32)
    indptr = np.zeros(n_collections + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_collections), out=indptr[1:])
    idx_dtype = np.int32 if len(key) < 2**31 else np.int64
    return sp.csr_matrix((data, cols.astype(idx_dtype), indptr.astype(idx_dtype)),
                         shape=(n_collections, n_entities))


@numba.njit(cache=True, parallel=True)
def _min_product(c_indptr, c_indices, bt_indptr, bt_indices, bt_data, b_indptr, b_indices,
                 b_data, n_chunks, out):
    """out[a, b] = Σ_collections min(w_a, w_b), written into C's known sparsity structure."""
    n = len(c_indptr) - 1
    for chunk in numba.prange(n_chunks):
        acc = np.zeros(n, dtype=np.float64)
        for a in range(chunk * n // n_chunks, (chunk + 1) * n // n_chunks):
            for p in range(bt_indptr[a], bt_indptr[a + 1]):
                c = bt_indices[p]
                wa = bt_data[p]
                for q in range(b_indptr[c], b_indptr[c + 1]):
                    acc[b_indices[q]] += min(wa, b_data[q])
            for p in range(c_indptr[a], c_indptr[a + 1]):
                j = c_indices[p]
                out[p] = acc[j]
                acc[j] = 0.0


@numba.njit(cache=True, parallel=True)
def _pair_weighted_product(c_indptr, c_indices, e_indptr, e_coll, e_w, e_x, m_indptr, m_ent,
                           m_w, m_x, inv_scale, n_chunks, out):
    """out[a, b] = Σ_collections min(w_a, w_b) · exp(−|x_a − x_b| / S), into C's structure.

    e_*: each entity's memberships (collection, weight, value); m_*: each collection's
    (entity, weight, value). The work is Σ size² over collections, as counting is.
    """
    n = len(c_indptr) - 1
    for chunk in numba.prange(n_chunks):
        acc = np.zeros(n, dtype=np.float64)
        for a in range(chunk * n // n_chunks, (chunk + 1) * n // n_chunks):
            for p in range(e_indptr[a], e_indptr[a + 1]):
                c = e_coll[p]
                wa = e_w[p]
                xa = e_x[p]
                for q in range(m_indptr[c], m_indptr[c + 1]):
                    acc[m_ent[q]] += min(wa, m_w[q]) * np.exp(-abs(xa - m_x[q]) * inv_scale)
            for p in range(c_indptr[a], c_indptr[a + 1]):
                j = c_indices[p]
                out[p] = acc[j]
                acc[j] = 0.0


def _distinct_memberships(coll, ent, n_entities, weight, value):
    """(coll, ent, w, x) one row per distinct membership, collection-major: the largest
    weight (zero weights dropped, as `incidence` does) and the smallest value."""
    key = coll.astype(np.int64) * max(n_entities, 1) + ent
    w = np.ones(len(key)) if weight is None else np.asarray(weight, dtype=np.float64)
    order = np.lexsort((value, key))  # the first of each run holds the smallest value
    key, w, x = key[order], w[order], value[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else order[:0]
    w = np.maximum.reduceat(w, starts) if len(key) else w
    key, x = key[starts], x[starts]
    keep = w > 0
    key, w, x = key[keep], w[keep], x[keep]
    return key // max(n_entities, 1), (key % max(n_entities, 1)), w, x


def _grouped(by, n_groups, *columns):
    """CSR-style groups: indptr over `by` and the columns in that order (stable)."""
    order = np.argsort(by, kind="stable")
    indptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(by, minlength=n_groups), out=indptr[1:])
    return (indptr, *(np.ascontiguousarray(c[order]) for c in columns))


def pair_weighted(C, coll, ent, n_entities: int, n_collections: int, weight, value,
                  scale: float) -> sp.csr_matrix:
    """C's structure with float64 values Σ min(w_a, w_b) · exp(−|x_a − x_b| / scale)."""
    coll, ent, w, x = _distinct_memberships(coll, ent, n_entities, weight, value)
    e_indptr, e_coll, e_w, e_x = _grouped(ent, n_entities, coll, w, x)
    m_indptr, m_ent, m_w, m_x = _grouped(coll, n_collections, ent, w, x)
    data = np.empty(C.nnz, dtype=np.float64)
    _pair_weighted_product(C.indptr, C.indices, e_indptr, e_coll, e_w, e_x, m_indptr,
                           m_ent, m_w, m_x, 1.0 / scale, _chunks(C.shape[0]), data)
    return sp.csr_matrix((data, C.indices, C.indptr), shape=C.shape)


def check_pair_values(value, n: int, scale, name: str = "the pair attribute") -> np.ndarray:
    value = np.asarray(value, dtype=np.float64)
    if value.shape != (n,):
        raise InputError(f"{name} must have one value a membership (got shape {value.shape}, "
                         f"expected ({n},))")
    bad = ~np.isfinite(value)
    if bad.any():
        raise InputError(f"{name}: {int(bad.sum()):,} memberships have a missing, NaN or "
                         "infinite value (every membership needs a number)")
    if scale is None or not np.isfinite(scale) or not scale > 0:
        raise InputError(f"--pair-scale must be a positive number (got {scale})")
    return value


def _chunks(n: int) -> int:
    # Each chunk allocates one dense scratch row; a few per thread balance uneven rows.
    return max(1, min(n, 8 * numba.get_num_threads()))


def cooccurrence(coll, ent, n_entities: int, n_collections: int, weight=None, *,
                 max_collection_size: int | None = None, collection_name=str,
                 memory: int | None = None, pair_value=None,
                 pair_scale: float | None = None) -> sp.csr_matrix:
    """(N, N) symmetric co-occurrence counts with sorted indices.

    Unweighted (int32): entry (a, b) = number of collections containing both a and b; the
    diagonal = number of collections containing the entity. A collection listing an entity
    twice counts it once.

    Weighted (float64): a collection contributes min(w_a, w_b) to (a, b), so the diagonal is
    the summed weight of the entity and every entry is at most both diagonals — weights act
    as degrees of membership (fuzzy set intersection): jaccard and conditional stay in [0, 1]
    (`jaccard` becomes the weighted Ruzicka Σmin / Σmax), and with weights in [0, 1] the
    pmi measures see valid probabilities (above 1, npmi is clipped to [−1, 1]). Duplicate
    memberships take the max weight; zero weights are no membership.

    Pair-weighted (`pair_value` x, one number a membership, and `pair_scale` S > 0; float64):
    a collection contributes exp(−|x_a − x_b| / S) to (a, b) instead of 1 (times min(w_a,
    w_b) when weighted), so a pair close in the attribute counts nearly fully and a distant
    one hardly. The diagonal is the pair (a, a), exp(0) = 1: it stays the number of
    collections holding the entity (the summed weight when weighted), so c_a and n in the
    measures keep their meaning and every entry is at most both diagonals. A duplicate
    membership takes the smallest value (the earliest timestamp).

    Refused first (`check_collection_sizes`): a collection over `max_collection_size`, and a
    count that would need more than half of `memory`. The pair weights cost Σ size² exp
    terms, the same quadratic bound the cap keeps.
    """
    coll, ent, _ = _check_memberships(coll, ent, n_entities, n_collections, None)
    if pair_value is not None:
        pair_value = check_pair_values(pair_value, len(ent), pair_scale)
    check_collection_sizes(coll, n_collections, max_collection_size, name=collection_name,
                           memory=memory)
    B = incidence(coll, ent, n_entities, n_collections, weight)
    binary = B if weight is None else sp.csr_matrix(
        (np.ones(B.nnz, dtype=np.int32), B.indices, B.indptr), shape=B.shape)
    Bt = binary.T.tocsr()
    C = Bt @ binary  # scipy sizes the output exactly (symbolic pass) before filling it
    C.sort_indices()
    if pair_value is not None:
        return pair_weighted(C, coll, ent, n_entities, n_collections, weight, pair_value,
                             float(pair_scale))
    if weight is None:
        return C
    Bt_w = B.T.tocsr()
    data = np.empty(C.nnz, dtype=np.float64)
    _min_product(C.indptr, C.indices, Bt_w.indptr, Bt_w.indices, Bt_w.data,
                 B.indptr, B.indices, B.data, _chunks(C.shape[0]), data)
    return sp.csr_matrix((data, C.indices, C.indptr), shape=C.shape)


# --------------------------------------------------------------------------- association


@numba.njit(cache=True, inline="always", error_model="numpy")
def _measure(code, c, ca, cb, n):
    """One association value; NaN means 'not stored'."""
    if code == _NPMI or code == _PPMI or code == _PMI:
        # One log of the ratio, not a sum of four logs: a pair seen exactly as often as
        # chance (c·n = c_a·c_b, exact in float64 for counts) gets pmi exactly 0.
        pmi = np.log((c * n) / (ca * cb))  # log(c·n / (c_a·c_b))
        if code == _PMI:
            return pmi
        if code == _PPMI:
            return pmi if pmi > 0.0 else np.nan
        if c >= n:  # p(a,b) = 1: the normalised limit
            return 1.0
        v = pmi / np.log(n / c)  # −log p(a,b)
        return min(1.0, max(-1.0, v))  # weights > 1 could step outside
    if code == _JACCARD:
        return c / (ca + cb - c)
    if code == _DICE:
        return 2.0 * c / (ca + cb)
    if code == _CONDITIONAL:  # P(b | a) for row a
        return c / ca
    # inverse-log: the similarity 1/d of the dissimilarity d = 1/log(c); a count of 1 (or a
    # weighted count ≤ 1) has no finite positive d, so the pair is no neighbour
    return np.log(c) if c > 1.0 else np.nan


@numba.njit(cache=True, inline="always")
def _stored(code, v):
    """ppmi and inverse-log leave some co-occurring pairs out; the others store every value."""
    return (code != _PPMI and code != _INVERSE_LOG) or not np.isnan(v)


@numba.njit(cache=True, error_model="numpy")
def _association_count(indptr, indices, data, diag, n, code, counts):
    for a in range(len(indptr) - 1):
        m = 0
        for p in range(indptr[a], indptr[a + 1]):
            b = indices[p]
            c = float(data[p])
            if b == a or not c > 0.0:
                continue
            # Short-circuit: only ppmi and inverse-log need the value to know if it is stored.
            if ((code != _PPMI and code != _INVERSE_LOG)
                    or _stored(code, _measure(code, c, diag[a], diag[b], n))):
                m += 1
        counts[a] = m


@numba.njit(cache=True, error_model="numpy")
def _association_fill(indptr, indices, data, diag, n, code, out_indptr, out_indices,
                      out_data):
    for a in range(len(indptr) - 1):
        q = out_indptr[a]
        for p in range(indptr[a], indptr[a + 1]):
            b = indices[p]
            c = float(data[p])
            if b == a or not c > 0.0:
                continue
            v = _measure(code, c, diag[a], diag[b], n)
            if _stored(code, v):
                out_indices[q] = b
                out_data[q] = v
                q += 1


def check_measure(measure: str) -> int:
    if measure not in _CODES:
        raise InputError(f"unknown measure '{measure}' (use {', '.join(MEASURES)})")
    return _CODES[measure]


def association(C, n_collections: int, measure: str = "npmi") -> sp.csr_matrix:
    """Similarity (float32 CSR) between co-occurring entities, no diagonal.

    With c = C[a, b], c_a = C[a, a] and n = n_collections, probabilities are over
    collections: p(a,b) = c/n, p(a) = c_a/n, and

    - ``npmi``: pmi / −log p(a,b); in [−1, 1], 1 when p(a,b) = 1. Every co-occurring pair
      is stored, negative values included.
    - ``ppmi``: max(pmi, 0); pairs with pmi ≤ 0 are not stored.
    - ``pmi``: log(p(a,b) / (p(a) p(b))) = log(c·n / (c_a·c_b)), raw; negative for pairs
      seen together less often than chance. Every co-occurring pair is stored.
    - ``jaccard``: c / (c_a + c_b − c).
    - ``dice``: the Sørensen–Dice coefficient 2c / (c_a + c_b), in [0, 1].
    - ``conditional``: P(b | a) = c / c_a in row a (not symmetric).
    - ``inverse-log``: the dissimilarity d = 1/log(c) (natural log), stored as the
      similarity 1/d = log(c), which ranks neighbours exactly as ascending d does;
      unbounded above. A count of 1 (log 1 = 0: no finite d), or a weighted count ≤ 1, is
      not stored, so such a pair is never a neighbour.

    The neighbour graph (`top_k`) keeps positive values only unless `min_weight` says
    otherwise, so negative npmi and pmi are no neighbours by default.
    """
    code = check_measure(measure)
    if not sp.issparse(C) or C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise InputError("the co-occurrence matrix must be a square sparse matrix")
    if n_collections < 1:
        raise InputError(f"n_collections must be at least 1 (got {n_collections})")
    C = sp.csr_matrix(C)
    if C.nnz and (not np.isfinite(C.data).all() or C.data.min() < 0):
        raise InputError("co-occurrence counts must be finite and non-negative")
    diag = C.diagonal().astype(np.float64)
    n = float(n_collections)
    counts = np.empty(C.shape[0], dtype=np.int64)
    _association_count(C.indptr, C.indices, C.data, diag, n, code, counts)
    indptr = np.zeros(C.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    nnz = int(indptr[-1])
    idx_dtype = np.int32 if nnz < 2**31 else np.int64
    indices = np.empty(nnz, dtype=idx_dtype)
    data = np.empty(nnz, dtype=np.float32)
    _association_fill(C.indptr, C.indices, C.data, diag, n, code, indptr, indices, data)
    return sp.csr_matrix((data, indices, indptr.astype(idx_dtype)), shape=C.shape)


# --------------------------------------------------------------------------- top-k


@numba.njit(cache=True)
def _top_k(indptr, indices, data, k, lo, strict, out_i, out_v):
    for a in range(len(indptr) - 1):
        top_i = out_i[a]
        top_v = np.empty(k, dtype=np.float64)
        fill = 0
        for p in range(indptr[a], indptr[a + 1]):
            j = indices[p]
            v = float(data[p])
            if j == a or np.isnan(v) or v < lo or (strict and v == lo):
                continue
            fill = push(top_i, top_v, fill, k, j, v)
        for r in range(fill):
            out_v[a, r] = top_v[r]


def top_k(S, k: int, *, min_weight: float | None = None) -> KnnGraph:
    """Each row's k largest entries → KnnGraph (idx (N, k) int32, sim (N, k) float32).

    Kept: off-diagonal entries > 0 (min_weight=None) or ≥ min_weight. Rows are sorted by
    value descending, ties broken by the smaller column index, and padded with idx −1 /
    sim NaN where a row has fewer than k kept entries.
    """
    if k < 1:
        raise InputError(f"k must be at least 1 (got {k})")
    if not sp.issparse(S) or S.ndim != 2 or S.shape[0] != S.shape[1]:
        raise InputError("the similarity matrix must be a square sparse matrix")
    S = sp.csr_matrix(S)
    n = S.shape[0]
    idx = np.full((n, k), -1, dtype=np.int32)
    sim = np.full((n, k), np.nan, dtype=np.float32)
    lo, strict = (0.0, True) if min_weight is None else (float(min_weight), False)
    _top_k(S.indptr, S.indices, S.data, k, lo, strict, idx, sim)
    return KnnGraph(idx, sim)
