"""The "concepts" method: association → correlation graph → context similarity → communities.

Two entities are similar when they are correlated with the same other entities, even if they
never co-occur themselves (two brands of cola, each bought with chips and pizza but never
together). Each entity's context is its row of the correlation graph G (its top associated
entities), normalised to a probability vector p_a. The similarity of a and b is

    sim(a, b) = 1 − ||p_a − p_b||₁ / 2 = Σ_c min(p_a[c], p_b[c])      (in [0, 1])

i.e. one minus the relative L1 (total variation) distance. Only pairs sharing a context
entity (two hops a → c ← b) are candidates; a context entity with more than `in_degree_cap`
in-links (a hub) generates no candidates, which bounds the work by cap × edges(G) instead of
Σ in-degree², but its overlap still counts in the similarity of the pairs that are scored.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from engine.cooccur import top_k
from engine.errors import InputError
from engine.kernels import push
from engine.knngraph import KnnGraph

DEFAULTS = {"corr_k": 50, "min_weight": None, "in_degree_cap": 1000, "threshold": 0.1,
            "k": 15}


def correlation_graph(S, k: int = DEFAULTS["corr_k"],
                      min_weight: float | None = DEFAULTS["min_weight"]) -> sp.csr_matrix:
    """Directed CSR: row a holds a's top-k associated entities with weight > 0 and ≥ min_weight.

    Weights must be positive to act as context mass, so entries ≤ 0 are never kept.
    """
    return top_k(S, k, min_weight=min_weight).to_csr(positive=True)


def context_vectors(G) -> sp.csr_matrix:
    """Rows of G scaled to sum to 1 (float64): each entity's context distribution."""
    G = sp.csr_matrix(G)
    sums = np.asarray(G.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    P = sp.csr_matrix((G.data.astype(np.float64), G.indices, G.indptr), shape=G.shape)
    P.data *= np.repeat(scale, np.diff(P.indptr))
    return P


def _rows_where(P: sp.csr_matrix, keep_col: np.ndarray) -> sp.csr_matrix:
    """P restricted to the columns where keep_col is True."""
    mask = keep_col[P.indices]
    rows = np.repeat(np.arange(P.shape[0]), np.diff(P.indptr))[mask]
    indptr = np.zeros(P.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=P.shape[0]), out=indptr[1:])
    return sp.csr_matrix((P.data[mask], P.indices[mask], indptr), shape=P.shape)


@numba.njit(cache=True, parallel=True)
def _context_kernel(p_indptr, p_indices, p_data, t_indptr, t_indices, t_data, hub,
                    h_indptr, h_indices, h_data, threshold, k, n_chunks, out_i, out_v, n_cand):
    n = len(p_indptr) - 1
    for chunk in numba.prange(n_chunks):
        # Per-chunk scratch, as in a sparse matrix product: `seen[b] == a` marks b as a
        # candidate of row a, so nothing needs clearing between rows.
        seen = np.full(n, -1, dtype=np.int64)
        acc = np.zeros(n, dtype=np.float64)
        hubval = np.zeros(n, dtype=np.float64)
        cand = np.empty(n, dtype=np.int64)
        top_v = np.empty(k, dtype=np.float64)
        for a in range(chunk * n // n_chunks, (chunk + 1) * n // n_chunks):
            m = 0
            for p in range(p_indptr[a], p_indptr[a + 1]):
                c = p_indices[p]
                pa = p_data[p]
                if hub[c]:
                    hubval[c] = pa
                    continue
                for q in range(t_indptr[c], t_indptr[c + 1]):
                    b = t_indices[q]
                    if b == a:
                        continue
                    if seen[b] != a:
                        seen[b] = a
                        acc[b] = 0.0
                        cand[m] = b
                        m += 1
                    acc[b] += min(pa, t_data[q])
            fill = 0
            for r in range(m):
                b = cand[r]
                s = acc[b]
                for q in range(h_indptr[b], h_indptr[b + 1]):  # shared hubs still count
                    s += min(hubval[h_indices[q]], h_data[q])
                if s >= threshold:
                    fill = push(out_i[a], top_v, fill, k, b, s)
            for r in range(fill):
                out_v[a, r] = top_v[r]
            for p in range(p_indptr[a], p_indptr[a + 1]):
                hubval[p_indices[p]] = 0.0
            n_cand[a] = m


def _check_graph(G, what: str) -> sp.csr_matrix:
    if not sp.issparse(G) or G.ndim != 2 or G.shape[0] != G.shape[1]:
        raise InputError(f"the {what} must be a square sparse matrix")
    G = sp.csr_matrix(G, copy=True)
    G.eliminate_zeros()
    if G.nnz and (not np.isfinite(G.data).all() or G.data.min() < 0):
        raise InputError(f"the {what} must have finite, non-negative weights")
    G.sort_indices()
    return G


def in_degrees(G) -> np.ndarray:
    """In-links of every entity in a directed graph (column counts)."""
    G = sp.csr_matrix(G)
    return np.bincount(G.indices, minlength=G.shape[1])


def context_similarity(G, *, in_degree_cap: int | None = DEFAULTS["in_degree_cap"],
                       threshold: float = DEFAULTS["threshold"], k: int = DEFAULTS["k"],
                       mutual: bool = False, return_stats: bool = False):
    """Symmetric CSR of context similarities (see the module docstring) ≥ threshold.

    Each entity keeps its k most similar candidates (ties: smaller index). The graph is the
    union of these choices with weight sim(a, b), so an entity many others chose can have more
    than k edges; mutual=True keeps only pairs both sides chose (every degree ≤ k).
    in_degree_cap=None caps nothing. With return_stats, returns (graph, stats) where stats
    adds the number of scored candidate pairs (ordered, self excluded) to graph_stats().
    """
    if k < 1:
        raise InputError(f"k must be at least 1 (got {k})")
    if in_degree_cap is not None and in_degree_cap < 1:
        raise InputError(f"in_degree_cap must be at least 1 or None (got {in_degree_cap})")
    G = _check_graph(G, "correlation graph")
    n = G.shape[0]
    P = context_vectors(G)
    T = P.T.tocsr()  # in-links of each context entity, with the linking entity's mass
    T.sort_indices()
    indeg = np.diff(T.indptr)
    hub = indeg > in_degree_cap if in_degree_cap is not None else np.zeros(n, dtype=bool)
    H = _rows_where(P, hub)
    idx = np.full((n, k), -1, dtype=np.int32)
    sim = np.full((n, k), np.nan, dtype=np.float32)
    n_cand = np.zeros(n, dtype=np.int64)
    n_chunks = max(1, min(n, 8 * numba.get_num_threads()))
    _context_kernel(P.indptr, P.indices, P.data, T.indptr, T.indices, T.data, hub,
                    H.indptr, H.indices, H.data, float(threshold), k, n_chunks, idx, sim,
                    n_cand)
    A = KnnGraph(idx, sim).to_csr()
    # sim(a, b) and sim(b, a) add the same terms in different orders: take one value.
    out = A.minimum(A.T) if mutual else A.maximum(A.T)
    out = sp.csr_matrix(out)
    out.eliminate_zeros()
    out.sort_indices()
    if not return_stats:
        return out
    stats = graph_stats(G, out, in_degree_cap)
    stats["candidate_pairs"] = int(n_cand.sum())
    return out, stats


def graph_stats(G, similarity, in_degree_cap: int | None) -> dict:
    """Sizes for `embtui info`: correlation edges (directed), similarity edges (undirected),
    the in-degree cap, how many hubs it capped, and how many correlation links point at them."""
    indeg = in_degrees(G)
    hubs = indeg > in_degree_cap if in_degree_cap is not None else np.zeros(len(indeg), bool)
    sim = sp.csr_matrix(similarity)
    return {
        "entities": int(G.shape[0]),
        "correlation_edges": int(sp.csr_matrix(G).nnz),
        "similarity_edges": int((sim.nnz - np.count_nonzero(sim.diagonal())) // 2),
        "in_degree_cap": in_degree_cap,
        "capped_hubs": int(hubs.sum()),
        "hub_links": int(indeg[hubs].sum()),
        "max_in_degree": int(indeg.max()) if len(indeg) else 0,
    }


def concepts(S, *, method: str = "label-propagation", seed: int = 0,
             corr_k: int = DEFAULTS["corr_k"], min_weight: float | None = DEFAULTS["min_weight"],
             in_degree_cap: int | None = DEFAULTS["in_degree_cap"],
             threshold: float = DEFAULTS["threshold"], k: int = DEFAULTS["k"]):
    """Association matrix → community labels (N,) and the graph stats.

    method: "label-propagation" or "slpa" from engine.communities (SLPA's extra output, if
    any, is dropped: concepts are the primary labels).
    """
    if method not in ("label-propagation", "slpa"):
        raise InputError(f"unknown community method '{method}' (use label-propagation, slpa)")
    from engine import communities
    G = correlation_graph(S, corr_k, min_weight)
    graph, stats = context_similarity(G, in_degree_cap=in_degree_cap, threshold=threshold, k=k,
                                      return_stats=True)
    if method == "slpa":
        labels = communities.slpa(graph, seed=seed)
        labels = labels[0] if isinstance(labels, tuple) else labels
    else:
        labels = communities.label_propagation(graph, seed=seed)
    return np.asarray(labels), stats
