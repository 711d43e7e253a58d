"""Communities of a similarity graph (label propagation, SLPA) and k-means on vectors.

Graphs are scipy.sparse matrices read as CSR: row i lists i's neighbours with non-negative
weights (symmetric for an undirected graph); the diagonal and zero weights are ignored.
Every method is deterministic for a given seed and returns labels renumbered by community
size descending (ties: smallest member index), so 0 is the largest community. An entity
without edges is a community of its own.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from numba import njit

from engine.clusters import renumber_by_size
from engine.errors import InputError
from engine.kernels import heaviest, next_random, tally

KMEANS_SAMPLE = 5000  # rows used to choose k by silhouette and to seed the full fit
BLOCK_ROWS = 16384  # rows per block of the point-to-centre distance matrix


# ---- label propagation ----------------------------------------------------------------------

def label_propagation(graph, *, seed: int = 0, max_iter: int = 100) -> np.ndarray:
    """Weighted asynchronous label propagation → community id per entity (int32).

    Each sweep visits the entities in a fresh random order; an entity takes the label with
    the largest total edge weight among its neighbours, keeping its own when that is one of
    the best (which is what lets the sweeps stop), else a random one of the best. Stops
    after a sweep that changes nothing, or after max_iter sweeps.
    """
    indptr, indices, data = _csr(graph)
    n = len(indptr) - 1
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.int64)
    acc = np.zeros(n, np.float64)
    touched = np.empty(n, np.int64)
    for _ in range(int(max_iter)):
        order = rng.permutation(n)
        salt = rng.integers(1, 2**63, dtype=np.int64)
        if _lpa_sweep(indptr, indices, data, order, salt, labels, acc, touched) == 0:
            break
    return renumber_by_size(labels)


@njit(cache=True)
def _lpa_sweep(indptr, indices, data, order, salt, labels, acc, touched):
    state = np.uint64(salt)
    changed = 0
    for v in order:
        cnt = 0
        for p in range(indptr[v], indptr[v + 1]):
            u = indices[p]
            w = data[p]
            if u == v or not w > 0:
                continue
            cnt = tally(acc, touched, cnt, labels[u], w)
        if cnt == 0:
            continue
        cur = labels[v]
        best, top, state = heaviest(acc, touched, cnt, state)
        if acc[cur] == top:
            best = cur
        for q in range(cnt):
            acc[touched[q]] = 0.0
        if best != cur:
            labels[v] = best
            changed += 1
    return changed


# ---- SLPA -------------------------------------------------------------------------------------

class Memberships(NamedTuple):
    """Overlapping memberships, one row each, sorted by entity then strength descending (ties:
    the smaller community)."""

    entity: np.ndarray  # int32
    community: np.ndarray  # int32, numbered as SlpaResult.labels (see slpa)
    strength: np.ndarray  # float32: the label's share of the entity's memory


class SlpaResult(NamedTuple):
    labels: np.ndarray  # int32 top community per entity, -1 where its share is under r
    strength: np.ndarray  # float32 share of the memory holding the top label
    memberships: Memberships  # every label holding ≥ r of an entity's memory


def slpa(graph, *, seed: int = 0, iterations: int = 30, r: float = 0.1) -> SlpaResult:
    """Speaker-listener label propagation (Xie, Szymanski & Liu 2011) → SlpaResult.

    Every entity remembers one label per iteration, after its own as the first. In each
    iteration the entities listen in a random order: each neighbour speaks a label drawn from
    its memory in proportion to how often it is there, and the listener remembers the label
    with the largest total weight of the speakers who said it.

    Post-processing as SLPA defines it: every label holding a share ≥ r of an entity's memory
    (iterations + 1 entries) makes the entity a member of that label's community, with that
    share as its strength, so an entity may belong to several. An entity where no label
    reaches r keeps its most frequent label (ties: the smaller) as its one membership, as
    SLPA's reference implementation does; its strength, under r, shows it. Nested communities
    are kept (no subset removal) and a community is not split into connected parts.

    `labels` is the top label where its share is ≥ r, else -1, numbered by size descending
    (ties: smallest member) as before; a community no entity holds as its top label is
    numbered after those, by its number of members descending (ties: smallest member).
    Memory: N × (iterations + 1) int32.
    """
    if not 0 <= r <= 1:
        raise InputError(f"slpa r must be in [0, 1], got {r}")
    iterations = int(iterations)
    if iterations < 1:
        raise InputError(f"slpa iterations must be at least 1, got {iterations}")
    indptr, indices, data = _csr(graph)
    n = len(indptr) - 1
    rng = np.random.default_rng(seed)
    memory = np.empty((n, iterations + 1), np.int32)
    memory[:, 0] = np.arange(n, dtype=np.int32)
    length = np.ones(n, np.int64)
    acc = np.zeros(n, np.float64)
    touched = np.empty(n, np.int64)
    for _ in range(iterations):
        order = rng.permutation(n)
        salt = rng.integers(1, 2**63, dtype=np.int64)
        _slpa_sweep(indptr, indices, data, order, salt, memory, length, acc, touched)
    top, share = _slpa_top(memory)
    raw = np.where(share >= r, top, -1)
    labels = renumber_by_size(raw)
    ent, lab, held = _slpa_memberships(memory, float(r))
    community = _number_communities(raw, labels, ent, lab, n)
    return SlpaResult(labels, share.astype(np.float32),
                      Memberships(ent, community, held.astype(np.float32)))


def _number_communities(raw, labels, ent, lab, n) -> np.ndarray:
    """Raw labels of the memberships → the community numbers of `labels`; labels nobody holds
    as a top label ≥ r continue the numbering by members descending, ties smallest member."""
    number = np.full(n, -1, np.int64)
    top = raw >= 0
    number[raw[top]] = labels[top]
    rest = number[lab] < 0
    if rest.any():
        extra, first, count = np.unique(lab[rest], return_index=True, return_counts=True)
        smallest = ent[rest][first]  # memberships are sorted by entity: the first is smallest
        order = np.lexsort((smallest, -count))
        base = int(labels.max()) + 1 if len(labels) else 0
        number[extra[order]] = base + np.arange(len(extra))
    return number[lab].astype(np.int32)


@njit(cache=True)
def _slpa_sweep(indptr, indices, data, order, salt, memory, length, acc, touched):
    state = np.uint64(salt)
    for v in order:
        cnt = 0
        for p in range(indptr[v], indptr[v + 1]):
            u = indices[p]
            w = data[p]
            if u == v or not w > 0:
                continue
            state, x = next_random(state)
            # uniform over the memory = in proportion to how often a label is there
            cnt = tally(acc, touched, cnt, memory[u, int(x * length[u])], w)
        if cnt == 0:
            heard = memory[v, 0]  # nobody speaks to an isolated entity: it keeps its own
        else:
            heard, _, state = heaviest(acc, touched, cnt, state)
            for q in range(cnt):
                acc[touched[q]] = 0.0
        memory[v, length[v]] = heard
        length[v] += 1


@njit(cache=True)
def _slpa_top(memory):
    """Most frequent label per row (ties: smallest label) and its share of the row."""
    n, m = memory.shape
    top = np.empty(n, np.int64)
    share = np.empty(n, np.float64)
    row = np.empty(m, np.int32)
    for v in range(n):
        row[:] = memory[v]
        row.sort()
        best, best_cnt, run = row[0], 1, 1
        for q in range(1, m):
            run = run + 1 if row[q] == row[q - 1] else 1
            if run > best_cnt:
                best, best_cnt = row[q], run
        top[v] = best
        share[v] = best_cnt / m
    return top, share


@njit(cache=True)
def _slpa_memberships(memory, r):
    """Every label holding a share ≥ r of its row (the most frequent one, ties the smaller,
    where none does), as (entity, label, share) by entity, then share descending, then label."""
    n, m = memory.shape
    row = np.empty(m, np.int32)
    labs = np.empty(m, np.int32)
    cnts = np.empty(m, np.int64)
    count = np.zeros(n + 1, np.int64)
    for v in range(n):
        k = _row_counts(memory, v, row, labs, cnts)
        kept = 0
        for q in range(k):
            if cnts[q] / m >= r:
                kept += 1
        count[v + 1] = count[v] + max(kept, 1)
    ent = np.empty(count[n], np.int32)
    lab = np.empty(count[n], np.int32)
    held = np.empty(count[n], np.float64)
    for v in range(n):
        k = _row_counts(memory, v, row, labs, cnts)
        best = 0
        for q in range(1, k):
            if cnts[q] > cnts[best]:
                best = q
        if cnts[best] / m < r:  # no label reaches r: SLPA keeps the most frequent
            ent[count[v]] = v
            lab[count[v]] = labs[best]
            held[count[v]] = cnts[best] / m
            continue
        p = count[v]
        for q in range(k):
            share = cnts[q] / m
            if share < r:
                continue
            j = p  # insertion by share descending; equal shares stay in label order
            while j > count[v] and held[j - 1] < share:
                ent[j] = ent[j - 1]
                lab[j] = lab[j - 1]
                held[j] = held[j - 1]
                j -= 1
            ent[j] = v
            lab[j] = labs[q]
            held[j] = share
            p += 1
    return ent, lab, held


@njit(cache=True)
def _row_counts(memory, v, row, labs, cnts):
    """The distinct labels of memory row v, ascending, into labs with their counts in cnts;
    returns how many."""
    row[:] = memory[v]
    row.sort()
    k = 0
    for q in range(len(row)):
        if q == 0 or row[q] != row[q - 1]:
            labs[k] = row[q]
            cnts[k] = 0
            k += 1
        cnts[k - 1] += 1
    return k


def _csr(graph):
    if not sp.issparse(graph):
        raise InputError("community detection needs a scipy.sparse graph")
    if graph.ndim != 2 or graph.shape[0] != graph.shape[1]:
        raise InputError(f"graph must be a square matrix, got shape {graph.shape}")
    G = sp.csr_matrix(graph)
    data = np.asarray(G.data, dtype=np.float64)
    if data.size and not (np.isfinite(data).all() and data.min() >= 0):
        raise InputError("graph weights must be finite and non-negative")
    return G.indptr, G.indices, data


# ---- k-means ----------------------------------------------------------------------------------

def kmeans(X, k: int | None = None, *, seed: int = 0, k_range=range(2, 21),
           normalize: bool = False, sample_size: int = KMEANS_SAMPLE,
           max_iter: int = 100) -> np.ndarray:
    """k-means labels (int32, 0 = largest cluster) of the rows of X (N, d), Euclidean.

    k None: for every k in k_range, k-means on a fixed random sample of at most sample_size
    rows, scored by the silhouette on that sample; the best k wins (ties: the smaller).
    The sample's centres then seed Lloyd iterations on all rows, so large N costs a few
    passes over X. normalize=True clusters the unit vectors (for cosine similarity).
    """
    X = _vectors(X, normalize)
    n = len(X)
    rng = np.random.default_rng(seed)
    if n == 0:
        return np.zeros(0, np.int32)
    S = X if n <= sample_size else X[np.sort(rng.choice(n, int(sample_size), replace=False))]
    if k is None:
        k, _ = _choose_k(S, k_range, rng)
    else:
        k = int(k)
        if k < 1:
            raise InputError(f"kmeans k must be at least 1, got {k}")
    centres, labels = _fit(S, min(k, len(S)), rng, max_iter)
    if S is not X:
        centres, labels = _lloyd(X, centres, max_iter)
    return renumber_by_size(labels)


def choose_k(X, k_range=range(2, 21), *, seed: int = 0, normalize: bool = False,
             sample_size: int = KMEANS_SAMPLE) -> tuple[int, dict[int, float]]:
    """The k kmeans(k=None) would pick, and the silhouette score of every k tried."""
    X = _vectors(X, normalize)
    rng = np.random.default_rng(seed)
    n = len(X)
    S = X if n <= sample_size else X[np.sort(rng.choice(n, int(sample_size), replace=False))]
    return _choose_k(S, k_range, rng)


def silhouette_score(X, labels) -> float:
    """Mean silhouette (Euclidean) of labelled rows; 0 for singletons, as in the usual
    definition. Needs 2 ≤ clusters ≤ N − 1. Memory O(N²) floats in blocks: for samples."""
    X = np.asarray(X, dtype=np.float64)
    labels = renumber_by_size(np.asarray(labels))
    return _silhouette(_pairwise(X), labels)


def _vectors(X, normalize: bool) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise InputError(f"kmeans needs a 2-D array of vectors, got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number):
        raise InputError("kmeans needs numeric vectors")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if not np.isfinite(X).all():
        raise InputError("kmeans vectors contain NaN or infinite values")
    if normalize:
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        X = X / np.where(norms > 0, norms, 1)
    return X


def _choose_k(S: np.ndarray, k_range, rng) -> tuple[int, dict[int, float]]:
    ks = sorted({int(k) for k in k_range if 2 <= int(k) <= len(S) - 1})
    if not ks:
        return 1, {}
    D = _pairwise(S.astype(np.float64))
    scores = {}
    for k in ks:
        _, labels = _fit(S, k, rng, 100)
        scores[k] = _silhouette(D, renumber_by_size(labels)) if labels.max() > 0 else -1.0
    best = max(ks, key=lambda k: (scores[k], -k))
    return best, scores


def _fit(X: np.ndarray, k: int, rng, max_iter: int, n_init: int = 3):
    """Best of n_init k-means++ starts by inertia."""
    best = None
    for _ in range(n_init):
        centres, labels, inertia = _lloyd(X, _kmeans_pp(X, k, rng), max_iter,
                                          with_inertia=True)
        if best is None or inertia < best[2]:
            best = (centres, labels, inertia)
    return best[0], best[1]


def _kmeans_pp(X: np.ndarray, k: int, rng) -> np.ndarray:
    """Greedy k-means++: of 2 + log k candidates drawn by D², the one lowering cost most."""
    n = len(X)
    trials = 2 + int(np.log(k))
    x_sq = np.einsum("ij,ij->i", X, X, dtype=np.float64)
    centres = np.empty((k, X.shape[1]), np.float32)
    first = rng.integers(n)
    centres[0] = X[first]
    closest = _sq_dist(X, x_sq, X[first:first + 1])[:, 0]
    for c in range(1, k):
        total = closest.sum()
        if total <= 0:  # fewer distinct points than k: any point will do
            cand = rng.integers(n, size=trials)
        else:
            cand = np.searchsorted(np.cumsum(closest), rng.random(trials) * total)
            cand = np.minimum(cand, n - 1)
        d = np.minimum(closest[:, None], _sq_dist(X, x_sq, X[cand]))
        pick = int(np.argmin(d.sum(axis=0)))
        centres[c] = X[cand[pick]]
        closest = d[:, pick]
    return centres


def _sq_dist(X: np.ndarray, x_sq: np.ndarray, C: np.ndarray) -> np.ndarray:
    C64 = C.astype(np.float64)
    d = x_sq[:, None] - 2.0 * (X @ C.T).astype(np.float64) + np.einsum("ij,ij->i", C64, C64)
    return np.maximum(d, 0.0)


def _lloyd(X: np.ndarray, centres: np.ndarray, max_iter: int, with_inertia=False):
    n, k = len(X), len(centres)
    x_sq = np.einsum("ij,ij->i", X, X, dtype=np.float64)
    labels = np.full(n, -1, np.int64)
    dist = np.empty(n, np.float64)
    for _ in range(max(int(max_iter), 1)):
        sums = np.zeros((k, X.shape[1]), np.float64)
        changed = 0
        for start in range(0, n, BLOCK_ROWS):
            rows = slice(start, start + BLOCK_ROWS)
            d = _sq_dist(X[rows], x_sq[rows], centres)
            lab = np.argmin(d, axis=1)
            changed += int((lab != labels[rows]).sum())
            labels[rows] = lab
            dist[rows] = d[np.arange(len(lab)), lab]
            onehot = np.zeros((len(lab), k), np.float32)
            onehot[np.arange(len(lab)), lab] = 1
            sums += (onehot.T @ X[rows]).astype(np.float64)
        if changed == 0:
            break
        counts = np.bincount(labels, minlength=k)
        empty = np.flatnonzero(counts == 0)
        new = np.empty_like(centres)
        full = counts > 0
        new[full] = (sums[full] / counts[full, None]).astype(np.float32)
        if len(empty):  # restart empty clusters at the points worst served
            far = np.argsort(-dist, kind="stable")[:len(empty)]
            new[empty[:len(far)]] = X[far]
        centres = new
    if with_inertia:
        return centres, labels, float(dist.sum())
    return centres, labels


def _pairwise(X: np.ndarray) -> np.ndarray:
    """Euclidean distance matrix (float32) of a sample, exact zeros on the diagonal."""
    n = len(X)
    x_sq = np.einsum("ij,ij->i", X, X)
    D = np.empty((n, n), np.float32)
    for start in range(0, n, 1024):
        rows = slice(start, start + 1024)
        sq = x_sq[rows, None] - 2.0 * (X[rows] @ X.T) + x_sq[None, :]
        D[rows] = np.sqrt(np.maximum(sq, 0.0))
    np.fill_diagonal(D, 0.0)
    return D


def _silhouette(D: np.ndarray, labels: np.ndarray) -> float:
    n = len(labels)
    k = int(labels.max()) + 1
    if not 2 <= k <= n - 1:
        raise InputError(f"silhouette needs 2 to N-1 clusters, got {k} for N={n}")
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    onehot = np.zeros((n, k), np.float64)
    onehot[np.arange(n), labels] = 1
    total = np.empty((n, k), np.float64)
    for start in range(0, n, 1024):
        rows = slice(start, start + 1024)
        total[rows] = D[rows].astype(np.float64) @ onehot
    own = counts[labels]
    a = np.divide(total[np.arange(n), labels], own - 1, out=np.zeros(n), where=own > 1)
    mean_other = total / counts
    mean_other[np.arange(n), labels] = np.inf
    b = mean_other.min(axis=1)
    denom = np.maximum(a, b)
    s = np.divide(b - a, denom, out=np.zeros(n), where=denom > 0)
    s[own <= 1] = 0.0
    return float(s.mean())
