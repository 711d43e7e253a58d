"""Context similarity: substitutes from shared contexts, the method's σ by hand and against the
dense formula, the dropped weight in the norms, the in-degree cap."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.concepts import (
    cap_in_degree,
    concepts,
    context_similarity,
    correlation_graph,
    graph_stats,
)
from engine.cooccur import association, cooccurrence, top_k
from engine.errors import InputError

NAMES = ["cola-a", "cola-b", "chips", "pizza", "coffee", "milk", "croissant"]
COLA_A, COLA_B, CHIPS, PIZZA, COFFEE, MILK, CROISSANT = range(len(NAMES))
# Two colas, each bought with chips and pizza, never with each other; a breakfast theme.
BASKETS = [
    [COLA_A, CHIPS, PIZZA], [COLA_A, CHIPS], [COLA_A, PIZZA],
    [COLA_B, CHIPS, PIZZA], [COLA_B, CHIPS], [COLA_B, PIZZA],
    [CHIPS, PIZZA],
    [COFFEE, MILK, CROISSANT], [COFFEE, MILK], [MILK, CROISSANT], [COFFEE, CROISSANT],
]


def snack_association(measure="npmi"):
    coll = np.repeat(np.arange(len(BASKETS)), [len(b) for b in BASKETS]).astype(np.int32)
    ent = np.concatenate(BASKETS).astype(np.int32)
    C = cooccurrence(coll, ent, len(NAMES), len(BASKETS))
    return C, association(C, len(BASKETS), measure)


def dense_cap(G: np.ndarray, cap: int | None) -> np.ndarray:
    """Each column keeps its cap entries of largest |weight| (ties: smaller row)."""
    G = G.copy()
    if cap is None:
        return G
    for c in range(G.shape[1]):
        rows = np.flatnonzero(G[:, c])
        order = rows[np.argsort(-np.abs(G[rows, c]), kind="stable")]
        G[order[cap:], c] = 0.0
    return G


def dense_sigma(G: np.ndarray, cap: int | None = None, unit_mass: bool = False) -> np.ndarray:
    """σ(i, j) = 1 − Σ_k |ρ_ik − ρ_jk| / (Σ_k |ρ_ik| + Σ_k |ρ_jk|), literally, for pairs that
    share a neighbour; 0 elsewhere and on the diagonal. unit_mass: rows scaled to sum |ρ| = 1."""
    G = dense_cap(G, cap)
    norm = np.abs(G).sum(axis=1)
    if unit_mass:
        G = np.divide(G, norm[:, None], out=np.zeros_like(G), where=norm[:, None] > 0)
        norm = (norm > 0).astype(float)
    n = len(G)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j and ((G[i] != 0) & (G[j] != 0)).any():
                out[i, j] = 1 - np.abs(G[i] - G[j]).sum() / (norm[i] + norm[j])
    return out


def test_context_similarity_finds_substitutes_direct_pmi_misses():
    C, S = snack_association()
    assert C[COLA_A, COLA_B] == 0
    assert S[COLA_A, COLA_B] == 0 and S.getrow(COLA_A).indices.tolist().count(COLA_B) == 0
    direct, _ = top_k(S, 3)
    assert COLA_B not in direct[COLA_A]
    G = correlation_graph(S)
    assert G.data.min() > 0 and G.diagonal().sum() == 0
    X = context_similarity(G, in_degree_cap=None, threshold=0.1, k=3, corr_k=3)
    idx, sim = top_k(X, 3)
    assert idx[COLA_A, 0] == COLA_B and idx[COLA_B, 0] == COLA_A
    # Both colas' contexts are {chips, pizza} with the same weights: σ = 1.
    assert sim[COLA_A, 0] == pytest.approx(1.0)
    assert X[COLA_A, COFFEE] == 0  # nothing shared across themes


def test_sigma_is_not_scale_free_two_contexts_example():
    # Entities 0 and 1 have contexts (2, 2) and (1, 1) on entities 3 and 4; 2 has (2, 1).
    G = np.zeros((5, 5))
    G[0, 3:5] = 2, 2
    G[1, 3:5] = 1, 1
    G[2, 3:5] = 2, 1
    X = context_similarity(sp.csr_matrix(G), in_degree_cap=None, threshold=0.0, k=4)
    assert X[0, 1] == pytest.approx(1 - (1 + 1) / (4 + 2))  # 2/3
    assert X[0, 2] == pytest.approx(1 - (0 + 1) / (4 + 3))  # 6/7
    N = context_similarity(sp.csr_matrix(G), in_degree_cap=None, threshold=0.0, k=4,
                           measure="normalised-l1")
    assert N[0, 1] == pytest.approx(1.0)  # the same distribution (½, ½)
    assert N[0, 2] == pytest.approx(1 - (1 / 6 + 1 / 6) / 2)  # 5/6
    # The nearest neighbour of 0 changes with the measure.
    assert top_k(X, 1)[0][0, 0] == 2 and top_k(N, 1)[0][0, 0] == 1


def test_same_neighbours_different_weights():
    # 0: (3, 1), 1: (1, 3), 2: (3, 1) × 2 on contexts 3 and 4.
    G = np.zeros((5, 5))
    G[0, 3:5] = 3, 1
    G[1, 3:5] = 1, 3
    G[2, 3:5] = 6, 2
    X = context_similarity(sp.csr_matrix(G), in_degree_cap=None, threshold=0.0, k=4)
    assert X[0, 1] == pytest.approx(1 - (2 + 2) / (4 + 4))  # ½
    assert X[0, 2] == pytest.approx(1 - (3 + 1) / (4 + 8))  # 2/3
    assert X[1, 2] == pytest.approx(1 - (5 + 1) / (4 + 8))  # ½
    np.testing.assert_allclose(X.toarray(), dense_sigma(G), atol=1e-6)
    assert (X != X.T).nnz == 0


def test_dropped_weight_still_counts_in_the_row_norms():
    # 0 and 1 have the same row (2, 1) on contexts 2 and 3: σ = 1. Scoring only each row's
    # strongest edge (corr_k=1) drops context 3 from Λ but not from the norms: 1 − 2/6.
    G = np.zeros((4, 4))
    G[0, 2:4] = G[1, 2:4] = 2, 1
    exact = context_similarity(sp.csr_matrix(G), in_degree_cap=None, threshold=0.0, k=2)
    assert exact[0, 1] == pytest.approx(1.0)
    cut, stats = context_similarity(sp.csr_matrix(G), in_degree_cap=None, threshold=0.0, k=2,
                                    corr_k=1, return_stats=True)
    assert cut[0, 1] == pytest.approx(2 / 3)
    assert stats["scored_edges"] == 2 and stats["correlation_edges"] == 4


def test_in_degree_cap_removes_a_hubs_weakest_in_link():
    # Hub 0 has in-links from 1, 2, 3 of weights 3, 2, 1; 1 and 3 also link to 4 (weight 1).
    G = np.zeros((5, 5))
    G[1, 0], G[2, 0], G[3, 0] = 3, 2, 1
    G[1, 4] = G[3, 4] = 1
    full = context_similarity(sp.csr_matrix(G), in_degree_cap=None, threshold=0.0, k=4)
    assert full[1, 3] == pytest.approx(1 - (2 + 0) / (4 + 2))  # 2/3
    assert full[2, 3] == pytest.approx(1 - (1 + 1) / (2 + 2))  # ½
    capped, stats = context_similarity(sp.csr_matrix(G), in_degree_cap=2, threshold=0.0, k=4,
                                       return_stats=True)
    # 3 → 0 is gone from the graph: 3's row is (4: 1) alone, its norm 1.
    assert capped[1, 3] == pytest.approx(1 - (3 + 0) / (4 + 1))  # 2/5
    assert capped[2, 3] == 0  # no shared neighbour left: not scored
    assert capped[1, 2] == pytest.approx(full[1, 2]) == pytest.approx(1 - (1 + 1) / (4 + 2))
    np.testing.assert_allclose(capped.toarray(), dense_sigma(G, cap=2), atol=1e-6)
    assert stats["capped_hubs"] == 1 and stats["hub_links"] == 3
    assert stats["capped_edges"] == 1 and stats["correlation_edges"] == 4
    assert stats["in_degree_cap"] == 2 and stats["max_in_degree"] == 3


def test_cap_keeps_strongest_by_magnitude_ties_to_smaller_source():
    # Column 2's in-links: 1.0 from 0, −3.0 from 1, 1.0 from 3; a cap of 2 keeps −3 and the
    # tie 1.0 from the smaller source, 0.
    G = np.zeros((4, 4))
    G[0, 2], G[1, 2], G[3, 2] = 1.0, -3.0, 1.0
    G = sp.csr_matrix(G)
    kept = cap_in_degree(G, 2).toarray()
    assert kept[:, 2].tolist() == [1.0, -3.0, 0.0, 0.0]


WEIGHTS = st.sampled_from([0.0, 0.0, 0.0, 0.3, 1.0, 2.0, -1.0])
GRAPHS = st.integers(2, 8).flatmap(lambda n: st.lists(
    st.lists(WEIGHTS, min_size=n, max_size=n), min_size=n, max_size=n))


@settings(max_examples=60, deadline=None)
@given(GRAPHS, st.sampled_from([None, 1, 2, 3]))
def test_sigma_matches_the_dense_formula_on_random_graphs(rows, cap):
    G = np.array(rows)
    X = context_similarity(sp.csr_matrix(G), in_degree_cap=cap, threshold=0.0, k=len(G))
    np.testing.assert_allclose(X.toarray(), dense_sigma(G, cap), atol=1e-6)
    N = context_similarity(sp.csr_matrix(G), in_degree_cap=cap, threshold=0.0, k=len(G),
                           measure="normalised-l1")
    np.testing.assert_allclose(N.toarray(), dense_sigma(G, cap, unit_mass=True), atol=1e-6)


def hub_graph():
    """Entities 1..7 all link to hub 0; 6 and 7 also share context 8."""
    G = np.zeros((9, 9))
    G[1:8, 0] = 1.0
    G[6, 8] = G[7, 8] = 1.0
    return sp.csr_matrix(G)


def test_threshold_k_and_mutual():
    G = hub_graph()  # uncapped: σ = 1 within 1..5 and for 6-7, 2/3 between the groups
    X = context_similarity(G, in_degree_cap=None, threshold=0.0, k=2)
    # Row 1 picks 2 and 3 (ties by index); 4, 5, 6 and 7 pick 1: the union gives it six.
    assert sorted(X.getrow(1).indices) == [2, 3, 4, 5, 6, 7]
    assert X[1, 6] == pytest.approx(1 - 1 / 3) and X[6, 7] == pytest.approx(1.0)
    mutual = context_similarity(G, in_degree_cap=None, threshold=0.0, k=2, mutual=True)
    assert np.diff(mutual.indptr).max() <= 2 and (mutual != mutual.T).nnz == 0
    assert mutual[1, 2] > 0 and mutual[6, 7] > 0 and mutual[1, 6] == 0
    high = context_similarity(G, in_degree_cap=None, threshold=0.9, k=8)
    assert high.data.min() >= 0.9 and high[1, 6] == 0


def test_graph_stats_and_bad_input():
    _, S = snack_association()
    G = correlation_graph(S)
    X, stats = context_similarity(G, k=3, corr_k=2, return_stats=True)
    assert stats == {**graph_stats(G, X, 1000), "scored_edges": stats["scored_edges"],
                     "candidate_pairs": stats["candidate_pairs"], "context_measure": "sigma",
                     "corr_k": 2}
    assert stats["correlation_edges"] == G.nnz and stats["similarity_edges"] == X.nnz // 2
    assert stats["scored_edges"] <= 2 * G.shape[0] and stats["capped_edges"] == 0
    with pytest.raises(InputError, match="finite"):
        context_similarity(sp.csr_matrix(np.array([[0, np.inf], [1.0, 0]])))
    with pytest.raises(InputError, match="k must be at least 1"):
        context_similarity(G, k=0)
    with pytest.raises(InputError, match="in_degree_cap"):
        context_similarity(G, in_degree_cap=0)
    with pytest.raises(InputError, match="corr_k"):
        context_similarity(G, corr_k=0)
    with pytest.raises(InputError, match="unknown context measure 'sigma2'"):
        context_similarity(G, measure="sigma2")
    with pytest.raises(InputError, match="unknown community method"):
        concepts(S, method="kmeans")


def test_concepts_groups_the_themes():
    _, S = snack_association()
    labels, stats = concepts(S, corr_k=3, threshold=0.1, k=3, seed=0)
    assert len(labels) == len(NAMES) and stats["similarity_edges"] > 0
    assert labels[COLA_A] == labels[COLA_B]
    assert labels[COLA_A] != labels[COFFEE]


def test_concepts_hands_the_symmetric_similarity_graph_to_the_community_step(monkeypatch):
    import types

    from scipy.sparse.csgraph import connected_components

    import engine

    seen = {}

    def label_propagation(graph, seed=None):
        seen["graph"], seen["seed"] = graph, seed
        return connected_components(graph, directed=False)[1]

    fake = types.SimpleNamespace(label_propagation=label_propagation)
    monkeypatch.setitem(__import__("sys").modules, "engine.communities", fake)
    monkeypatch.setattr(engine, "communities", fake, raising=False)
    _, S = snack_association()
    labels, stats = concepts(S, corr_k=3, threshold=0.1, k=3, seed=7)
    assert seen["seed"] == 7 and (seen["graph"] != seen["graph"].T).nnz == 0
    assert labels[COLA_A] == labels[COLA_B] != labels[COFFEE]
    assert stats["similarity_edges"] == seen["graph"].nnz // 2
