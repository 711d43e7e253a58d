"""The merge tree of all pairs: its clusters at t are the components of every pair ≥ t."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

from engine.clusters import components_at
from engine.dataset import Dataset
from engine.errors import InputError
from engine.exact_tree import exact_merge_tree, similarity_matrix
from engine.pipeline import BuildOptions, build


def direct_similarity(X: np.ndarray, metric: str) -> np.ndarray:
    """The full matrix, the obvious way, in float64."""
    X = X.astype(np.float64)
    if metric == "cosine":
        Y = X / np.linalg.norm(X, axis=1)[:, None]
        return Y @ Y.T
    if metric == "dot":
        return X @ X.T
    d = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    return 1.0 / (1.0 + d)


def same_partition(x: np.ndarray, y: np.ndarray) -> bool:
    pairs = set(zip(x.tolist(), y.tolist(), strict=True))
    return len(pairs) == len(set(x.tolist())) == len(set(y.tolist()))


def clear_thresholds(S: np.ndarray, count: int, rng) -> list[float]:
    """Thresholds at least 2e-6 (relative) from every pair's similarity, so float32 rounding of the
    tree's values cannot put a pair on the other side."""
    values = np.unique(S[np.triu_indices(len(S), 1)])
    out = []
    for q in rng.uniform(0.02, 0.98, 4 * count):
        t = np.quantile(values, q)
        if np.abs(values - t).min() > 2e-6 * max(1.0, abs(t)):
            out.append(float(t))
        if len(out) == count:
            break
    return out


def check_against_full_matrix(X, metric, tree, rng, count=6):
    n = len(X)
    a, b, s = tree
    S = direct_similarity(X, metric)
    thresholds = clear_thresholds(S, count, rng)
    for t in thresholds:
        above = S >= t
        np.fill_diagonal(above, False)
        _, expected = connected_components(above, directed=False)
        assert same_partition(components_at(n, a, b, s, t), expected), (metric, t)
    return len(thresholds)


def test_hand_worked_four_points():
    # unit vectors at 0°, 10°, 90° and 135°: cosines cos 10° = .985, cos 80° = .174,
    # cos 45° = .707 (90°–135°), cos 125° = −.574, cos 135° = −.707
    deg = np.radians([0.0, 10.0, 90.0, 135.0])
    X = np.stack([np.cos(deg), np.sin(deg)], axis=1)
    a, b, s = exact_merge_tree(X, "cosine")
    assert list(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 1), (2, 3), (1, 2)]
    np.testing.assert_allclose(s, np.cos(np.radians([10.0, 45.0, 80.0])), atol=1e-6)
    # the kNN tree with k = 1 would keep 0–1 and 2–3 apart at every threshold
    assert components_at(4, a, b, s, 0.1).max() == 0
    assert components_at(4, a, b, s, 0.5).tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot"])
@pytest.mark.parametrize("n", [2, 3, 17, 240])
def test_components_equal_those_of_the_full_matrix(metric, n):
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, 6))
    X[n // 2:] += 1.5
    if n > 4:
        X[3] = X[2]  # a duplicate
    # few candidates and small blocks, so rows run out and are refilled
    tree = exact_merge_tree(X, metric, candidates=3, block_bytes=8 * n * 5)
    assert len(tree[0]) == n - 1
    assert check_against_full_matrix(X, metric, tree, rng) >= (0 if n < 17 else 3)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 60), st.integers(1, 5), st.integers(1, 8),
       st.sampled_from(["cosine", "euclidean", "dot"]), st.integers(0, 2**31))
def test_random_data_at_several_thresholds(n, d, m, metric, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    tree = exact_merge_tree(X, metric, candidates=m, block_bytes=4 * n * 3)
    check_against_full_matrix(X, metric, tree, rng)


def test_it_is_a_maximum_spanning_tree():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(150, 4))
    a, b, s = exact_merge_tree(X, "cosine", candidates=2)
    S = direct_similarity(X, "cosine")
    # scipy's minimum spanning tree of (2 − s) is a maximum spanning tree of s
    mst = minimum_spanning_tree(np.triu(2.0 - S, 1))
    assert s.astype(np.float64).sum() == pytest.approx((2.0 - mst.data).sum(), abs=1e-4)
    assert (np.diff(s) <= 0).all() and (a < b).all()
    # its values are the tree's own similarities of those pairs
    np.testing.assert_allclose(s, S[a, b], atol=1e-6)


def test_duplicates_and_ties_make_one_tree():
    X = np.array([[1.0, 0.0]] * 5 + [[0.0, 1.0]] * 4)
    a, b, s = exact_merge_tree(X, "cosine", candidates=2)
    assert len(a) == 8 and (s[:7] == 1.0).all()
    assert components_at(9, a, b, s, 0.5).tolist() == [0] * 5 + [1] * 4


def test_similarity_rows_match_the_direct_matrix():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 5))
    for metric in ("cosine", "euclidean", "dot"):
        np.testing.assert_allclose(similarity_matrix(X, metric, np.arange(40)),
                                   direct_similarity(X, metric), atol=2e-5)


def test_bad_input():
    with pytest.raises(InputError, match="all-zero"):
        exact_merge_tree(np.zeros((3, 2)), "cosine")
    with pytest.raises(InputError, match="unknown metric"):
        exact_merge_tree(np.ones((3, 2)), "manhattan")
    assert all(len(x) == 0 for x in exact_merge_tree(np.ones((1, 2))))


def vectors_file(path, X):
    pq.write_table(pa.table({"id": [f"e{i:03d}" for i in range(len(X))],
                             "vector": list(X.astype(np.float32))}), path)
    return path


def two_groups_apart_in_knn(rng, n=40):
    """Two tight groups whose closest pairs are similar, but each point's k nearest all lie
    in its own group: the kNN tree keeps them apart at thresholds where all pairs join."""
    base = np.array([1.0, 0.0, 0.0])
    other = np.array([0.9, 0.43, 0.0])
    X = np.concatenate([base + rng.normal(scale=0.01, size=(n // 2, 3)),
                        other + rng.normal(scale=0.01, size=(n // 2, 3))])
    return X


def test_a_build_holds_the_exact_tree_and_clusters_join_every_pair(tmp_path):
    rng = np.random.default_rng(0)
    X = two_groups_apart_in_knn(rng)
    src = vectors_file(tmp_path / "v.parquet", X)
    exact, knn = tmp_path / "exact.duckdb", tmp_path / "knn.duckdb"
    build(src, exact, BuildOptions(kind="vectors", k=3, communities=()))
    build(src, knn, BuildOptions(kind="vectors", k=3, communities=(), merge_tree="knn"))
    S = direct_similarity(X, "cosine")
    cross = S[:20, 20:].max()
    t = float(cross) - 1e-3
    with Dataset.open(exact) as ds, Dataset.open(knn) as other:
        assert ds.merge_tree_kind == "exact" and ds.info()["merge_tree"] == "exact"
        assert other.merge_tree_kind == "knn"
        assert ds.threshold_labels(t).max() == 0  # one cluster: the groups' closest pair
        assert other.threshold_labels(t).max() == 1  # the kNN graph has no pair across
        for t in clear_thresholds(S, 5, rng):
            above = S >= t
            np.fill_diagonal(above, False)
            assert same_partition(ds.threshold_labels(t),
                                  connected_components(above, directed=False)[1])


def test_the_tree_kind_is_part_of_the_step_key(tmp_path):
    src = vectors_file(tmp_path / "v.parquet", np.random.default_rng(1).normal(size=(30, 4)))
    out = tmp_path / "d.duckdb"
    build(src, out, BuildOptions(kind="vectors", k=3, communities=()))
    report = build(src, out, BuildOptions(kind="vectors", k=3, communities=(),
                                          merge_tree="knn"))
    assert report.computed == ["merge_tree"]
    with Dataset.open(out) as ds:
        assert ds.merge_tree_kind == "knn"


def test_exact_needs_vectors_and_auto_leaves_collections_on_the_graph(tmp_path, baskets_csv):
    opt = dict(kind="collections", collection_col="basket", entity_col="product", k=5,
               min_count=2, communities=())
    with pytest.raises(InputError, match="--merge-tree exact compares all pairs of vectors"):
        build(baskets_csv, tmp_path / "b.duckdb", BuildOptions(**opt, merge_tree="exact"))
    assert not (tmp_path / "b.duckdb").exists()
    build(baskets_csv, tmp_path / "b.duckdb", BuildOptions(**opt))
    with Dataset.open(tmp_path / "b.duckdb") as ds:
        assert ds.merge_tree_kind == "knn"
    with pytest.raises(InputError, match="unknown merge tree"):
        build(baskets_csv, tmp_path / "c.duckdb", BuildOptions(**opt, merge_tree="full"))
