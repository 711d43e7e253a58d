"""The "concepts" method: association → correlation graph → context similarity → communities.

Two entities are similar when they are correlated with the same other entities, even if they
never co-occur themselves (two brands of cola, each bought with chips and pizza but never
together). The correlation graph G holds, for each entity i, its row ρ_i: the weights of its
association edges that pass the weight threshold (`min_weight`; weights ≤ 0 are never kept),
after the in-degree cap (each entity keeps only its `in_degree_cap` strongest incoming edges by
|weight|; the rest are removed from the graph). The method's context similarity is

    σ(i, j) = 1 − Σ_k |ρ_ik − ρ_jk| / (|ρ_i|₁ + |ρ_j|₁)                    (in [0, 1])

on raw weights, so it is not scale-free: contexts (2, 2) and (1, 1) on the same two entities
score 1 − 2/6 = 2/3. It is computed only for pairs sharing a neighbour (two hops i → k ← j),
through the decomposition L1(i, j) = |ρ_i|₁ + |ρ_j|₁ + Λ(i, j) with

    Λ(i, j) = Σ_{k ∈ n_i ∩ n_j} (|ρ_ik − ρ_jk| − |ρ_ik| − |ρ_jk|),
    σ(i, j) = −Λ(i, j) / (|ρ_i|₁ + |ρ_j|₁)

where the row norms |ρ_i|₁ are of the whole row as built. To bound the work, Λ may run over
each row's `corr_k` strongest edges only; the weight that drops still counts in |ρ_i|₁, so the
value stays the method's (a lower bound of the exact σ), not a renormalised one. The cap
bounds the candidates a context entity proposes to cap² and the work to cap × edges scored.

measure="normalised-l1" is the scale-free variant: σ of the rows scaled to unit mass,
ρ_i / |ρ_i|₁, i.e. 1 − ½‖p_i − p_j‖₁ = Σ_k min(p_ik, p_jk) for positive weights.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from engine.errors import InputError
from engine.kernels import push
from engine.knngraph import KnnGraph
from engine.methods import CONTEXT_MEASURES

DEFAULTS = {"corr_k": 50, "min_weight": None, "in_degree_cap": 1000, "threshold": 0.0,
            "k": 15, "measure": CONTEXT_MEASURES[0]}


def correlation_graph(S, min_weight: float | None = DEFAULTS["min_weight"]) -> sp.csr_matrix:
    """Directed CSR of the association edges (off-diagonal) with weight > 0 and ≥ min_weight.

    Whole rows: the per-row top-k (corr_k) is context_similarity's, so the weight it drops
    still counts in the row norms.
    """
    if not sp.issparse(S) or S.ndim != 2 or S.shape[0] != S.shape[1]:
        raise InputError("the similarity matrix must be a square sparse matrix")
    S = sp.coo_matrix(S)
    keep = (S.row != S.col) & (S.data > 0)
    if min_weight is not None:
        keep &= S.data >= min_weight
    G = sp.csr_matrix((S.data[keep].astype(np.float64), (S.row[keep], S.col[keep])),
                      shape=S.shape)
    G.sum_duplicates()
    G.sort_indices()
    return G


@numba.njit(cache=True)
def _keep_largest(indptr, data, m, keep):
    """Mark each segment's m entries of largest |data| (ties: the earlier entry) in keep."""
    for s in range(len(indptr) - 1):
        lo, hi = indptr[s], indptr[s + 1]
        if hi - lo <= m:
            keep[lo:hi] = True
            continue
        mag = np.abs(data[lo:hi])
        cut = np.partition(mag, len(mag) - m)[len(mag) - m]  # the m-th largest |w|
        ties = m - np.count_nonzero(mag > cut)  # entries equal to cut that still fit
        for r in range(len(mag)):
            if mag[r] > cut:
                keep[lo + r] = True
            elif mag[r] == cut and ties > 0:
                keep[lo + r] = True
                ties -= 1


def _largest(G: sp.csr_matrix, m: int | None) -> sp.csr_matrix:
    """G with each row's m entries of largest |weight| (ties: smaller column); None: all."""
    if m is None:
        return G
    keep = np.zeros(G.nnz, dtype=np.bool_)
    _keep_largest(G.indptr, G.data, m, keep)
    rows = np.repeat(np.arange(G.shape[0]), np.diff(G.indptr))[keep]
    indptr = np.zeros(G.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=G.shape[0]), out=indptr[1:])
    return sp.csr_matrix((G.data[keep], G.indices[keep], indptr), shape=G.shape)


def cap_in_degree(G, cap: int | None) -> sp.csr_matrix:
    """G with each entity's in-links cut to its `cap` strongest by |weight| (ties: the smaller
    source index); None caps nothing."""
    G = sp.csr_matrix(G)
    if cap is None:
        return G
    T = _largest(sp.csr_matrix(G.T), cap)  # rows of Gᵀ are in-links, sources ascending
    out = sp.csr_matrix(T.T)
    out.sort_indices()
    return out


@numba.njit(cache=True, parallel=True)
def _context_kernel(p_indptr, p_indices, p_data, t_indptr, t_indices, t_data, norm,
                    threshold, k, n_chunks, out_i, out_v, n_cand):
    n = len(p_indptr) - 1
    for chunk in numba.prange(n_chunks):
        # Per-chunk scratch, as in a sparse matrix product: `seen[b] == a` marks b as a
        # candidate of row a, so nothing needs clearing between rows.
        seen = np.full(n, -1, dtype=np.int64)
        lam = np.zeros(n, dtype=np.float64)
        cand = np.empty(n, dtype=np.int64)
        top_v = np.empty(k, dtype=np.float64)
        for a in range(chunk * n // n_chunks, (chunk + 1) * n // n_chunks):
            m = 0
            for p in range(p_indptr[a], p_indptr[a + 1]):
                c = p_indices[p]
                ra = p_data[p]
                for q in range(t_indptr[c], t_indptr[c + 1]):
                    b = t_indices[q]
                    if b == a:
                        continue
                    if seen[b] != a:
                        seen[b] = a
                        lam[b] = 0.0
                        cand[m] = b
                        m += 1
                    rb = t_data[q]
                    lam[b] += abs(ra - rb) - abs(ra) - abs(rb)  # Λ's term for c
            fill = 0
            for r in range(m):
                b = cand[r]
                s = -lam[b] / (norm[a] + norm[b])  # 1 − L1 / (|ρ_a|₁ + |ρ_b|₁)
                if s > 0 and s >= threshold:
                    fill = push(out_i[a], top_v, fill, k, b, s)
            for r in range(fill):
                out_v[a, r] = top_v[r]
            n_cand[a] = m


def _check_graph(G, what: str) -> sp.csr_matrix:
    if not sp.issparse(G) or G.ndim != 2 or G.shape[0] != G.shape[1]:
        raise InputError(f"the {what} must be a square sparse matrix")
    G = sp.csr_matrix(G, dtype=np.float64, copy=True)
    G.sum_duplicates()
    G.eliminate_zeros()
    if G.nnz and not np.isfinite(G.data).all():
        raise InputError(f"the {what} must have finite weights")
    G.sort_indices()
    return G


def in_degrees(G) -> np.ndarray:
    """In-links of every entity in a directed graph (column counts)."""
    G = sp.csr_matrix(G)
    return np.bincount(G.indices, minlength=G.shape[1])


def context_similarity(G, *, in_degree_cap: int | None = DEFAULTS["in_degree_cap"],
                       threshold: float = DEFAULTS["threshold"], k: int = DEFAULTS["k"],
                       corr_k: int | None = None, measure: str = DEFAULTS["measure"],
                       mutual: bool = False, return_stats: bool = False):
    """Symmetric CSR of the context similarities σ (see the module docstring) ≥ threshold.

    G is the correlation graph before the in-degree cap (in_degree_cap=None caps nothing);
    corr_k, if given, keeps each row's corr_k strongest edges for Λ (the rest still count in
    the row norms). Only pairs sharing a neighbour are scored; threshold=0 keeps every scored
    pair with σ > 0. Each entity keeps its k most similar candidates (ties: smaller index); the
    graph is the union of these choices with weight σ, so an entity many others chose can have
    more than k edges; mutual=True keeps only pairs both sides chose (every degree ≤ k). With
    return_stats, returns (graph, stats): graph_stats() and the number of scored candidate
    pairs (ordered, self excluded).
    """
    if k < 1:
        raise InputError(f"k must be at least 1 (got {k})")
    if in_degree_cap is not None and in_degree_cap < 1:
        raise InputError(f"in_degree_cap must be at least 1 or None (got {in_degree_cap})")
    if corr_k is not None and corr_k < 1:
        raise InputError(f"corr_k must be at least 1 or None (got {corr_k})")
    if measure not in CONTEXT_MEASURES:
        raise InputError(f"unknown context measure '{measure}' (use "
                         f"{', '.join(CONTEXT_MEASURES)})")
    G = _check_graph(G, "correlation graph")
    n = G.shape[0]
    R = cap_in_degree(G, in_degree_cap)  # the graph as built: the rows ρ_i
    norm = np.asarray(abs(R).sum(axis=1), dtype=np.float64).ravel()
    if measure == "normalised-l1":  # rows of unit mass
        R = sp.csr_matrix(R, copy=True)
        R.data /= np.repeat(norm, np.diff(R.indptr))
        norm = (norm > 0).astype(np.float64)
    P = _largest(R, corr_k)  # the edges Λ runs over
    T = P.T.tocsr()  # in-links of each context entity, with the linking entity's weight
    T.sort_indices()
    idx = np.full((n, k), -1, dtype=np.int32)
    sim = np.full((n, k), np.nan, dtype=np.float32)
    n_cand = np.zeros(n, dtype=np.int64)
    n_chunks = max(1, min(n, 8 * numba.get_num_threads()))
    _context_kernel(P.indptr, P.indices, P.data, T.indptr, T.indices, T.data, norm,
                    float(threshold), k, n_chunks, idx, sim, n_cand)
    A = KnnGraph(idx, sim).to_csr()
    # σ(a, b) and σ(b, a) add the same terms in different orders: take one value.
    out = A.minimum(A.T) if mutual else A.maximum(A.T)
    out = sp.csr_matrix(out)
    out.eliminate_zeros()
    out.sort_indices()
    if not return_stats:
        return out
    stats = graph_stats(G, out, in_degree_cap, capped=R, scored=P)
    stats.update(candidate_pairs=int(n_cand.sum()), context_measure=measure, corr_k=corr_k)
    return out, stats


def graph_stats(G, similarity, in_degree_cap: int | None, *, capped=None, scored=None) -> dict:
    """Sizes for `embtui info`: correlation edges (directed, after the cap), those the cap
    removed, similarity edges (undirected), the cap, how many hubs it cut (entities with more
    in-links than the cap) and how many links pointed at them before; with `scored` (the
    edges Λ ran over), their number."""
    indeg = in_degrees(G)
    hubs = indeg > in_degree_cap if in_degree_cap is not None else np.zeros(len(indeg), bool)
    if capped is None:
        capped = cap_in_degree(G, in_degree_cap)
    sim = sp.csr_matrix(similarity)
    stats = {
        "entities": int(G.shape[0]),
        "correlation_edges": int(sp.csr_matrix(capped).nnz),
        "capped_edges": int(sp.csr_matrix(G).nnz - sp.csr_matrix(capped).nnz),
        "similarity_edges": int((sim.nnz - np.count_nonzero(sim.diagonal())) // 2),
        "in_degree_cap": in_degree_cap,
        "capped_hubs": int(hubs.sum()),
        "hub_links": int(indeg[hubs].sum()),
        "max_in_degree": int(indeg.max()) if len(indeg) else 0,
    }
    if scored is not None:
        stats["scored_edges"] = int(scored.nnz)
    return stats


def concepts(S, *, method: str = "label-propagation", seed: int = 0,
             corr_k: int = DEFAULTS["corr_k"], min_weight: float | None = DEFAULTS["min_weight"],
             in_degree_cap: int | None = DEFAULTS["in_degree_cap"],
             threshold: float = DEFAULTS["threshold"], k: int = DEFAULTS["k"],
             measure: str = DEFAULTS["measure"]):
    """Association matrix → community labels (N,) and the graph stats.

    method: "label-propagation" or "slpa" from engine.communities (SLPA's top labels; its
    overlapping memberships are the build's, engine.pipeline).
    """
    if method not in ("label-propagation", "slpa"):
        raise InputError(f"unknown community method '{method}' (use label-propagation, slpa)")
    from engine import communities
    G = correlation_graph(S, min_weight)
    graph, stats = context_similarity(G, in_degree_cap=in_degree_cap, threshold=threshold, k=k,
                                      corr_k=corr_k, measure=measure, return_stats=True)
    if method == "slpa":
        labels = communities.slpa(graph, seed=seed).labels
    else:
        labels = communities.label_propagation(graph, seed=seed)
    return np.asarray(labels), stats
