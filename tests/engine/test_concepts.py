"""Context similarity: substitutes found from shared contexts, the exact measure, the hub cap."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.concepts import concepts, context_similarity, correlation_graph, graph_stats, in_degrees
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


def dense_similarity(G: np.ndarray) -> np.ndarray:
    """1 − ||p_a − p_b||₁ / 2 for pairs sharing a context; 0 elsewhere and on the diagonal."""
    sums = G.sum(axis=1, keepdims=True)
    P = np.divide(G, sums, out=np.zeros_like(G), where=sums > 0)
    out = 1 - np.abs(P[:, None, :] - P[None, :, :]).sum(axis=2) / 2
    shared = ((G > 0).astype(int) @ (G > 0).T.astype(int)) > 0
    np.fill_diagonal(shared, False)
    return np.where(shared, out, 0.0)


def test_context_similarity_finds_substitutes_direct_pmi_misses():
    C, S = snack_association()
    assert C[COLA_A, COLA_B] == 0
    assert S[COLA_A, COLA_B] == 0 and S.getrow(COLA_A).indices.tolist().count(COLA_B) == 0
    direct, _ = top_k(S, 3)
    assert COLA_B not in direct[COLA_A]
    G = correlation_graph(S, k=3)
    X = context_similarity(G, in_degree_cap=None, threshold=0.1, k=3)
    idx, sim = top_k(X, 3)
    assert idx[COLA_A, 0] == COLA_B and idx[COLA_B, 0] == COLA_A
    # Both colas' contexts are {chips, pizza} with the same weights: identical distributions.
    assert sim[COLA_A, 0] == pytest.approx(1.0)
    assert X[COLA_A, COFFEE] == 0  # nothing shared across themes


def test_similarity_is_one_minus_half_the_l1_distance():
    G = np.array([
        [0, 0, 3, 1, 0],
        [0, 0, 1, 1, 2],
        [0, 0, 0, 0, 1],
        [1, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
    ], dtype=float)
    X = context_similarity(sp.csr_matrix(G), in_degree_cap=None, threshold=0.0, k=4)
    # rows 0, 1: p0 = (¾, ¼, 0) and p1 = (¼, ¼, ½) over contexts 2, 3, 4 → 1 − (½ + 0 + ½)/2
    assert X[0, 1] == pytest.approx(0.5)
    np.testing.assert_allclose(X.toarray(), dense_similarity(G), atol=1e-6)
    assert (X != X.T).nnz == 0


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 9).flatmap(lambda n: st.lists(
    st.lists(st.sampled_from([0.0, 0.0, 0.0, 0.3, 1.0, 2.0]), min_size=n, max_size=n),
    min_size=n, max_size=n)))
def test_uncapped_similarity_matches_dense_on_random_graphs(rows):
    G = np.array(rows)
    X = context_similarity(sp.csr_matrix(G), in_degree_cap=None, threshold=0.0, k=len(G))
    np.testing.assert_allclose(X.toarray(), dense_similarity(G), atol=1e-6)


def hub_graph():
    """Entities 1..5 all link to hub 0; 6 and 7 also share context 8, plus the hub."""
    G = np.zeros((9, 9))
    G[1:8, 0] = 1.0
    G[6, 8] = G[7, 8] = 1.0
    return sp.csr_matrix(G)


def test_in_degree_cap_drops_hub_candidates_but_hub_still_counts():
    G = hub_graph()
    assert in_degrees(G)[0] == 7
    full, full_stats = context_similarity(G, in_degree_cap=None, threshold=0.0, k=8,
                                          return_stats=True)
    assert full[1, 2] == pytest.approx(1.0) and full_stats["capped_hubs"] == 0
    capped, stats = context_similarity(G, in_degree_cap=6, threshold=0.0, k=8,
                                       return_stats=True)
    # Through the hub alone, 1..5 are no longer candidates of anyone.
    assert capped[1:6].nnz == 0
    # 6 and 7 are candidates through context 8; their shared hub mass still counts (½ + ½).
    assert capped[6, 7] == pytest.approx(full[6, 7]) == pytest.approx(1.0)
    assert stats["capped_hubs"] == 1 and stats["hub_links"] == 7
    assert stats["candidate_pairs"] == 2 < full_stats["candidate_pairs"] == 7 * 6
    assert stats["in_degree_cap"] == 6 and stats["max_in_degree"] == 7
    assert stats["correlation_edges"] == 9 and stats["similarity_edges"] == 1


def test_threshold_k_and_mutual():
    G = hub_graph()  # uncapped: sim = 1 within 1..5 and for 6-7, ½ between the groups
    X = context_similarity(G, in_degree_cap=None, threshold=0.0, k=2)
    # Row 1 picks 2 and 3 (ties by index); 4, 5, 6 and 7 pick 1: the union gives it six.
    assert sorted(X.getrow(1).indices) == [2, 3, 4, 5, 6, 7]
    assert X[1, 6] == pytest.approx(0.5) and X[6, 7] == pytest.approx(1.0)
    mutual = context_similarity(G, in_degree_cap=None, threshold=0.0, k=2, mutual=True)
    assert np.diff(mutual.indptr).max() <= 2 and (mutual != mutual.T).nnz == 0
    assert mutual[1, 2] > 0 and mutual[6, 7] > 0 and mutual[1, 6] == 0
    high = context_similarity(G, in_degree_cap=None, threshold=0.9, k=8)
    assert high.data.min() >= 0.9 and high[1, 6] == 0


def test_graph_stats_and_bad_input():
    _, S = snack_association()
    G = correlation_graph(S, k=2)
    assert np.diff(G.indptr).max() <= 2 and G.data.min() > 0
    X = context_similarity(G, k=3)
    stats = graph_stats(G, X, 1000)
    assert stats["correlation_edges"] == G.nnz and stats["similarity_edges"] == X.nnz // 2
    with pytest.raises(InputError, match="non-negative"):
        context_similarity(sp.csr_matrix(np.array([[0, -1.0], [1.0, 0]])))
    with pytest.raises(InputError, match="k must be at least 1"):
        context_similarity(G, k=0)
    with pytest.raises(InputError, match="in_degree_cap"):
        context_similarity(G, in_degree_cap=0)
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
