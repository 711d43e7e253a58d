"""kNN graphs of vectors: exact answers on hand-made points, the NN-descent path's recall."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import InputError
from engine.knn import knn_exact, knn_vectors, similarity_to_distance
from engine.knngraph import KnnGraph

# points on a line: neighbours by distance are unambiguous
LINE = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [7.0, 0.0]], np.float32)


def test_euclidean_on_a_line():
    idx, sim = knn_vectors(LINE, 2, "euclidean")
    assert idx.dtype == np.int32 and sim.dtype == np.float32
    np.testing.assert_array_equal(idx, [[1, 2], [0, 2], [1, 0], [2, 1]])
    # similarity 1 / (1 + distance)
    np.testing.assert_allclose(sim, 1 / (1 + np.array([[1, 3], [1, 2], [2, 3], [4, 6]])),
                               rtol=1e-6)


def test_graph_type_and_csr_drop_padding():
    graph = knn_vectors(LINE, 5, "euclidean")  # 3 neighbours each: k is capped at n - 1
    assert isinstance(graph, KnnGraph) and (graph.n, graph.k) == (4, 3)
    padded = KnnGraph(np.array([[1, -1], [0, 2], [-1, -1]], np.int32),
                      np.array([[0.5, np.nan], [0.5, -0.25], [np.nan, np.nan]], np.float32))
    G = padded.to_csr()
    assert G.shape == (3, 3) and G.nnz == 3 and G.has_sorted_indices
    np.testing.assert_array_equal(G.toarray(), [[0, 0.5, 0], [0.5, 0, -0.25], [0, 0, 0]])
    assert padded.to_csr(positive=True).nnz == 2
    dense = graph.to_csr().toarray()
    for i in range(4):
        np.testing.assert_array_equal(dense[i, graph.idx[i]], graph.sim[i])


def test_cosine_ignores_length():
    X = np.array([[1, 0], [10, 1], [0, 1], [-1, 0], [1, 1]], np.float32)
    idx, sim = knn_vectors(X, 2, "cosine")
    assert idx[0].tolist() == [1, 4]  # [10, 1] is nearly parallel despite its length
    assert idx[3, 0] == 2  # [-1, 0]: opposite to 0, orthogonal to [0, 1]
    np.testing.assert_allclose(sim[0], [10 / np.sqrt(101), 1 / np.sqrt(2)], rtol=1e-6)
    np.testing.assert_allclose(sim[3, 0], 0.0, atol=1e-7)


def test_dot_prefers_long_vectors():
    X = np.array([[1, 0], [0.9, 0.1], [5, 5], [-3, 0]], np.float32)
    idx, sim = knn_vectors(X, 3, "dot")
    assert idx[0].tolist() == [2, 1, 3]  # [5, 5]·[1, 0] = 5 beats the near-parallel 0.9
    np.testing.assert_allclose(sim[0], [5, 0.9, -3], rtol=1e-6)


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot"])
def test_rows_sorted_and_self_never_included(metric):
    X = np.random.default_rng(0).normal(size=(50, 5)).astype(np.float32)
    idx, sim = knn_vectors(X, 7, metric)
    assert idx.shape == sim.shape == (50, 7)
    assert not (idx == np.arange(50)[:, None]).any()
    assert (np.diff(sim, axis=1) <= 0).all()
    assert all(len(set(row)) == 7 for row in idx)


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot"])
def test_exact_matches_brute_force(metric):
    X = np.random.default_rng(1).normal(size=(40, 6)).astype(np.float32)
    idx, sim = knn_vectors(X, 5, metric)
    X64 = X.astype(np.float64)
    if metric == "cosine":
        U = X64 / np.linalg.norm(X64, axis=1, keepdims=True)
        S = U @ U.T
    elif metric == "euclidean":
        S = 1 / (1 + np.linalg.norm(X64[:, None] - X64[None], axis=2))
    else:
        S = X64 @ X64.T
    np.fill_diagonal(S, -np.inf)
    expected = np.argsort(-S, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(idx, expected)
    np.testing.assert_allclose(sim, np.take_along_axis(S, expected, 1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_duplicates_are_neighbours_with_full_similarity(metric):
    X = np.array([[1, 2], [1, 2], [1, 2], [5, -1], [0, 3]], np.float32)
    idx, sim = knn_vectors(X, 2, metric)
    for i in range(3):
        assert sorted(idx[i]) == sorted({0, 1, 2} - {i})  # the other copies, never itself
        np.testing.assert_array_equal(sim[i], [1.0, 1.0])


def test_fewer_entities_than_k():
    idx, sim = knn_vectors(LINE, 15, "euclidean")
    assert idx.shape == (4, 3)  # each entity gets its N - 1 neighbours
    assert (idx >= 0).all() and np.isfinite(sim).all()
    assert [sorted(r) for r in idx] == [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot"])
def test_single_entity(metric):
    idx, sim = knn_vectors(np.ones((1, 3), np.float32), 15, metric)
    assert idx.shape == sim.shape == (1, 0)
    assert idx.dtype == np.int32 and sim.dtype == np.float32


def test_two_entities():
    idx, sim = knn_vectors(LINE[:2], 15, "euclidean")
    np.testing.assert_array_equal(idx, [[1], [0]])


def test_query_rows_subset():
    X = np.random.default_rng(2).normal(size=(30, 4)).astype(np.float32)
    full_idx, full_sim = knn_exact(X, 4, "cosine")
    rows = np.array([3, 17, 29])
    idx, sim = knn_exact(X, 4, "cosine", rows=rows)
    np.testing.assert_array_equal(idx, full_idx[rows])
    np.testing.assert_array_equal(sim, full_sim[rows])


def test_progress_reports_blocks(monkeypatch):
    import engine.knn
    monkeypatch.setattr(engine.knn, "BLOCK_BYTES", 4 * 100 * 10)  # 10 rows per block
    calls = []
    knn_vectors(np.random.default_rng(3).normal(size=(100, 3)).astype(np.float32), 3,
                progress=lambda done, total: calls.append((done, total)))
    assert len(calls) == 10 and calls[-1] == (100, 100)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_unknown_metric():
    with pytest.raises(InputError, match="unknown metric"):
        knn_vectors(LINE, 2, "manhattan")


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 30), st.integers(1, 8), st.integers(0, 2**16))
def test_every_row_gets_min_k_n_minus_1_distinct_neighbours(n, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, size=(n, 3)).astype(np.float32)  # small grid: many ties, duplicates
    X[np.abs(X).sum(axis=1) == 0] = 1
    idx, sim = knn_vectors(X, k, "cosine")
    assert idx.shape == (n, min(k, n - 1))
    assert not (idx == np.arange(n)[:, None]).any()
    assert all(len(set(r)) == idx.shape[1] for r in idx)
    assert (np.diff(sim, axis=1) <= 0).all() and (sim <= 1).all()


def _clustered(n, dim=32, centres=20, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim))
    X = c[rng.integers(0, centres, n)] + 0.4 * rng.normal(size=(n, dim))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


# pynndescent compiles per metric in every process (~30 s each, not cacheable): test the
# built-in metric path (cosine) and the custom one (dot); euclidean shares cosine's code.
@pytest.mark.slow
@pytest.mark.parametrize("metric", ["cosine", "dot"])
def test_nndescent_path_has_high_recall(metric):
    X = _clustered(3000)
    if metric == "dot":  # unequal lengths make the dot product differ from cosine
        X *= np.random.default_rng(1).uniform(0.5, 2.0, size=(len(X), 1)).astype(np.float32)
    idx, sim = knn_vectors(X, 10, metric, seed=0, exact_max_n=100)
    rows = np.arange(0, 3000, 15)
    true_idx, true_sim = knn_exact(X, 10, metric, rows=rows)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx[rows], true_idx, strict=True)])
    assert recall >= 0.95
    assert not (idx == np.arange(3000)[:, None]).any() and (idx >= 0).all()
    assert (np.diff(sim, axis=1) <= 0).all()


@pytest.mark.slow
def test_nndescent_path_is_deterministic_and_keeps_duplicates():
    X = _clustered(1500, seed=4)
    X[1] = X[0]
    a = knn_vectors(X, 8, "cosine", seed=5, exact_max_n=100)
    b = knn_vectors(X, 8, "cosine", seed=5, exact_max_n=100)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0][0, 0] == 1 and a[0][1, 0] == 0 and a[1][0, 0] == 1.0


def test_similarity_to_distance():
    np.testing.assert_allclose(similarity_to_distance(np.array([1.0, 0.25, -0.5, 1.0000001]),
                                                      "cosine"), [0, 0.75, 1.5, 0])
    np.testing.assert_allclose(similarity_to_distance(np.array([1.0, 0.5, 0.2]), "euclidean"),
                               [0, 1, 4], rtol=1e-6)
    d = similarity_to_distance(np.array([[3.0, -1.0], [2.0, np.nan]]), "dot")
    np.testing.assert_allclose(d[:, 0], [0, 1])
    np.testing.assert_allclose(d[0, 1], 4)
    assert np.isnan(d[1, 1])
    assert np.isnan(similarity_to_distance(np.array([np.nan]), "cosine")).all()
