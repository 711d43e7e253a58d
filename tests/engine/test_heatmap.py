"""engine.heatmap: a group's similarities and its dendrogram, against values worked by hand and
against direct computations over the whole file."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.cluster.hierarchy import leaves_list, linkage

from engine.cooccur import association, cooccurrence
from engine.dataset import Dataset
from engine.errors import InputError, NoMatch
from engine.heatmap import (
    average_linkage,
    cut,
    group_association,
    knn_matrix,
    ordered,
    similarity_matrix,
    ward_linkage,
)
from engine.knn import knn_exact
from engine.knngraph import KnnGraph
from sample_data.fixtures import blobs

# ---- by hand -------------------------------------------------------------------------------


def test_ward_on_three_unit_vectors_by_hand():
    # x0 at 0°, x1 at 10°, x2 at 90° (given as x2, x0, x1). Ward first joins x0 and x1 at
    # their chord 2·sin 5° = 0.174311; their centroid c = ((1 + cos 10°)/2, sin 10°/2) =
    # (0.992404, 0.086824), and x2 joins at √(2·2·1/3)·|x2 − c| = √(4/3 · (0.992404² +
    # 0.913176²)) = √(4/3 · 1.818756) = 1.557244.
    a = math.radians(10)
    X = np.array([[0.0, 1.0], [1.0, 0.0], [math.cos(a), math.sin(a)]]) * [[3.0], [1.0], [2.0]]
    Z = ward_linkage(X, "cosine")  # lengths differ: cosine links the unit vectors
    h = ordered(np.array([7, 8, 9]), similarity_matrix(X, "cosine"), Z, "ward", "cosine",
                "vectors")
    assert h.idx.tolist() == [7, 8, 9]  # x2 alone, then the pair, as scipy draws it
    assert h.linkage[:, 2] == pytest.approx([0.174311, 1.557244], abs=1e-6)
    assert h.linkage[:, 3].tolist() == [2, 3]
    assert h.linkage[:, :2].tolist() == [[1, 2], [0, 3]]
    assert h.matrix[1, 2] == pytest.approx(math.cos(a))
    assert h.matrix[0, 1] == pytest.approx(0.0, abs=1e-12)
    assert np.diag(h.matrix).tolist() == [1.0, 1.0, 1.0]
    # a threshold of cos 10° − ε cuts just above the pair's chord: x2 alone, the pair
    assert h.cut_height(math.cos(a)) == pytest.approx(0.174311, abs=1e-6)
    assert h.groups(math.cos(a) - 1e-6).tolist() == [0, 1, 1]
    assert h.groups(math.cos(a) + 1e-6).tolist() == [0, 1, 2]


def test_average_linkage_on_four_similarities_by_hand():
    # d = 1 − s: (0, 1) join at 0.1, (2, 3) at 0.2, and the two pairs at the mean of
    # 0.8, 0.9, 0.7, 0.8 = 0.8. The input comes shuffled (entities 2, 0, 3, 1).
    S = np.array([[np.nan, .9, .2, .1], [.9, np.nan, .3, .2], [.2, .3, np.nan, .8],
                  [.1, .2, .8, np.nan]])
    shuffle = np.array([2, 0, 3, 1])
    Z, top = average_linkage(S[np.ix_(shuffle, shuffle)], "jaccard")
    assert top == 1.0
    h = ordered(shuffle, S[np.ix_(shuffle, shuffle)], Z, "average", "jaccard", "memberships",
                top)
    assert h.linkage[:, 2] == pytest.approx([0.1, 0.2, 0.8])
    assert h.idx.tolist() == [0, 1, 2, 3]
    assert h.linkage[:, :2].tolist() == [[0, 1], [2, 3], [4, 5]]
    np.testing.assert_array_equal(h.matrix, S[np.ix_(h.idx, h.idx)])
    assert h.groups(0.85).tolist() == [0, 0, 1, 2]  # cut at 0.15: only (0, 1) joined
    assert h.groups(0.75).tolist() == [0, 0, 1, 1]  # cut at 0.25: both pairs
    assert h.groups(0.1).tolist() == [0, 0, 0, 0]
    assert h.groups(0.95).tolist() == [0, 1, 2, 3]
    assert h.cut_height(0.3) == pytest.approx(0.7)


def test_unbounded_similarities_link_on_the_largest_minus_s_and_missing_pairs_last():
    S = np.array([[np.nan, 4.0, np.nan], [4.0, np.nan, 1.0], [np.nan, 1.0, np.nan]])
    Z, top = average_linkage(S, "pmi")
    assert top == 4.0
    # d(0, 1) = 0, d(1, 2) = 3, d(0, 2) missing → the largest distance, 3
    assert Z[:, 2].tolist() == pytest.approx([0.0, 3.0])


def test_association_of_a_group_by_hand():
    # collections {a, b}, {a, b}, {a, c}, {c, d} and one without the group (n = 5):
    # c_a = 3, c_b = 2, c_c = 2, c_d = 1; jaccard(a, b) = 2 / (3 + 2 − 2) = 2/3,
    # (a, c) = 1 / (3 + 2 − 1) = 1/4, (c, d) = 1 / (2 + 1 − 1) = 1/2, others share nothing.
    m = {"coll": np.array([0, 0, 1, 1, 2, 2, 3, 3]), "pos": np.array([0, 1, 0, 1, 0, 2, 2, 3]),
         "weight": np.ones(8), "n_collections": 5}
    J = group_association(m, 4, "jaccard")
    want = np.array([[np.nan, 2 / 3, 1 / 4, 0], [2 / 3, np.nan, 0, 0],
                     [1 / 4, 0, np.nan, 1 / 2], [0, 0, 1 / 2, np.nan]])
    np.testing.assert_allclose(J, want, rtol=1e-6)
    # npmi(a, b) = log((2/5) / (3/5 · 2/5)) / −log(2/5) = log(5/3) / log(5/2) = 0.557491;
    # no shared collection: −1; pmi there has no value
    N = group_association(m, 4, "npmi")
    assert N[0, 1] == pytest.approx(math.log(5 / 3) / math.log(5 / 2), rel=1e-6)
    assert N[1, 3] == -1.0 and N[0, 3] == -1.0
    P = group_association(m, 4, "pmi")
    assert np.isnan(P[1, 3]) and P[0, 1] == pytest.approx(math.log(5 / 3), rel=1e-6)
    # conditional is P(b | a) in row a: not symmetric
    C = group_association(m, 4, "conditional")
    assert C[0, 1] == pytest.approx(2 / 3) and C[1, 0] == pytest.approx(1.0)


def test_knn_matrix_takes_the_larger_direction_and_leaves_unlisted_pairs_empty():
    # 0 lists 1 (0.5) and 2 (0.3); 1 lists 0 (0.7); 2 lists 3 (0.9), outside the group
    g = KnnGraph(np.array([[1, 2], [0, -1], [3, -1], [2, -1]], np.int32),
                 np.array([[0.5, 0.3], [0.7, np.nan], [0.9, np.nan], [0.9, np.nan]],
                          np.float32))
    S = knn_matrix(np.array([2, 0, 1]), g)
    assert S[1, 2] == pytest.approx(0.7) and S[2, 1] == pytest.approx(0.7)
    assert S[0, 1] == pytest.approx(0.3) and S[1, 0] == pytest.approx(0.3)
    assert np.isnan(S[0, 2]) and np.isnan(np.diag(S)).all()


# ---- against direct computations ---------------------------------------------------------


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot"])
def test_similarity_matrix_is_the_knn_graphs_similarity(metric):
    X, _ = blobs(n_per=10, dim=6)
    S = similarity_matrix(X, metric)
    g = knn_exact(X, 5, metric)
    rows = np.repeat(np.arange(len(X)), 5)
    np.testing.assert_allclose(S[rows, g.idx.ravel()], g.sim.ravel(), rtol=1e-5, atol=1e-6)
    # and pair by pair, directly
    x = X.astype(np.float64)
    for i, j in [(0, 1), (3, 17), (29, 2)]:
        if metric == "cosine":
            want = x[i] @ x[j] / np.linalg.norm(x[i]) / np.linalg.norm(x[j])
        elif metric == "euclidean":
            want = 1 / (1 + np.linalg.norm(x[i] - x[j]))
        else:
            want = x[i] @ x[j]
        assert S[i, j] == pytest.approx(want, rel=1e-9)


def test_a_vector_heatmap_matches_scipy_and_the_stored_graph(vectors_dataset):
    with Dataset.open(vectors_dataset) as ds:
        group = np.array([5, 40, 0, 21, 33, 2, 59, 22])
        h = ds.heatmap(group)
        assert sorted(h.idx.tolist()) == sorted(group.tolist())
        assert h.method == "ward" and h.similarity == "cosine" and h.source == "vectors"
        assert leaves_list(h.linkage).tolist() == list(range(len(group)))
        X = ds.vectors_of(group).astype(np.float64)
        Z = linkage(X / np.linalg.norm(X, axis=1, keepdims=True), "ward")
        np.testing.assert_allclose(h.linkage[:, 2], Z[:, 2])
        np.testing.assert_allclose(h.matrix, similarity_matrix(ds.vectors_of(h.idx), "cosine"))
        # every stored neighbour pair inside the group carries the stored similarity
        idx, sim = ds.knn
        pos = {int(e): p for p, e in enumerate(h.idx)}
        checked = 0
        for a in h.idx:
            for b, s in zip(idx[a], sim[a], strict=True):
                if int(b) in pos:
                    assert h.matrix[pos[int(a)], pos[int(b)]] == pytest.approx(s, abs=1e-6)
                    checked += 1
        assert checked > 0
        # the fixture's three clusters are the dendrogram's groups at 0.5
        groups = h.groups(0.5)
        names = ds.metadata("group")[h.idx]
        assert len(set(groups.tolist())) == 3
        assert all(len(set(names[groups == g])) == 1 for g in set(groups.tolist()))


def test_a_collections_heatmap_is_the_whole_files_association(baskets_dataset):
    with Dataset.open(baskets_dataset) as ds:
        group = np.arange(ds.n)[::-1]
        h = ds.heatmap(group)
        assert h.method == "average" and h.similarity == "npmi" and h.source == "memberships"
        cols = ds._store.memberships()
        n_coll = int(cols["coll"].max()) + 1
        C = cooccurrence(cols["coll"].astype(np.int64), cols["idx"].astype(np.int64), ds.n,
                         n_coll)
        A = association(C, n_coll, "npmi").toarray()
        present = sp.csr_matrix(association(C, n_coll, "npmi")).toarray() != 0
        want = np.where(present | (C.toarray() > 0), A, -1.0)
        np.fill_diagonal(want, np.nan)
        np.testing.assert_allclose(h.matrix, want[np.ix_(h.idx, h.idx)], rtol=1e-6)
        # the stored kNN similarities are these values
        idx, sim = ds.knn
        pos = {int(e): p for p, e in enumerate(h.idx)}
        for a in range(ds.n):
            for b, s in zip(idx[a], sim[a], strict=True):
                if b >= 0:
                    assert h.matrix[pos[a], pos[int(b)]] == pytest.approx(s, rel=1e-6)
        assert leaves_list(h.linkage).tolist() == list(range(ds.n))


def test_cut_numbers_groups_by_their_first_leaf():
    Z = np.array([[2, 3, 0.1, 2], [0, 1, 0.2, 2], [4, 5, 0.9, 4]], dtype=float)
    assert cut(Z, 4, 0.15).tolist() == [0, 1, 2, 2]
    assert cut(Z, 4, 0.5).tolist() == [0, 0, 1, 1]


def test_bad_groups_and_ids(vectors_dataset):
    with Dataset.open(vectors_dataset) as ds:
        with pytest.raises(InputError, match="at least one entity"):
            ds.heatmap([])
        with pytest.raises(InputError, match="out of range"):
            ds.heatmap([0, ds.n])
        assert ds.find_ids(["e003", "e001"]).tolist() == [3, 1]
        with pytest.raises(NoMatch, match="no entity has the id 'nope' \\(and 1 more\\)"):
            ds.find_ids(["e001", "nope", "other"])
        one = ds.heatmap([4, 4])
        assert one.idx.tolist() == [4] and one.linkage.shape == (0, 4)
        assert one.matrix.tolist() == [[1.0]]
        assert ds.vectors_of([9, 3]).tolist() == ds._store.vectors()[[9, 3]].tolist()


@pytest.mark.parametrize("measure", ["npmi", "ppmi", "pmi", "jaccard", "dice", "conditional",
                                     "inverse-log"])
@pytest.mark.parametrize("kind", ["counts", "weights", "pair weights"])
def test_a_groups_association_is_the_full_matrix_restricted(measure, kind):
    """Counting only the group's memberships gives the whole co-occurrence's values."""
    rng = np.random.default_rng(1)
    n_ent, n_coll = 30, 80
    coll = rng.integers(0, n_coll, 400)
    ent = rng.integers(0, n_ent, 400)
    weight = rng.uniform(0.2, 3.0, 400) if kind == "weights" else None
    value = rng.uniform(0, 10, 400) if kind == "pair weights" else None
    scale = 2.0 if value is not None else None
    C = cooccurrence(coll, ent, n_ent, n_coll, weight=weight, pair_value=value,
                     pair_scale=scale)
    full = association(C, n_coll, measure).toarray().astype(np.float64)
    stored = association(C, n_coll, measure).toarray() != 0
    group = np.array([4, 17, 0, 29, 11, 8])
    keep = np.isin(ent, group)
    # the group's collections renumbered among themselves, as Store.memberships_of does
    _, codes = np.unique(coll[keep], return_inverse=True)
    m = {"coll": codes, "pos": np.searchsorted(np.sort(group), ent[keep]),
         "weight": weight[keep] if weight is not None else np.ones(keep.sum()),
         "value": value[keep] if value is not None else None, "n_collections": n_coll}
    S = group_association(m, len(group), measure, weighted=weight is not None,
                          pair_scale=scale)
    want = full[np.ix_(np.sort(group), np.sort(group))]
    fill = {"npmi": -1.0, "ppmi": 0.0, "jaccard": 0.0, "dice": 0.0, "conditional": 0.0}
    present = stored[np.ix_(np.sort(group), np.sort(group))]
    want = np.where(present, want, fill.get(measure, np.nan))
    np.fill_diagonal(want, np.nan)
    np.testing.assert_allclose(S, want, rtol=1e-6)


def test_a_context_graph_heatmap_reads_the_stored_graph(tmp_path, baskets_csv):
    from engine.pipeline import BuildOptions, build
    out = tmp_path / "context.duckdb"
    build(baskets_csv, out, BuildOptions(kind="collections", collection_col="basket",
                                         entity_col="product", k=5, min_count=2,
                                         graph="context", layouts=(), communities=()))
    with Dataset.open(out) as ds:
        h = ds.heatmap(np.arange(ds.n))
        assert h.source == "knn" and h.similarity == "context" and h.method == "average"
        idx, sim = ds.knn
        pos = np.empty(ds.n, dtype=np.int64)
        pos[h.idx] = np.arange(ds.n)
        want = np.full((ds.n, ds.n), np.nan)
        for a in range(ds.n):
            for b, s in zip(idx[a], sim[a], strict=True):
                if b >= 0:
                    want[pos[a], pos[b]] = np.fmax(want[pos[a], pos[b]], s)
                    want[pos[b], pos[a]] = np.fmax(want[pos[b], pos[a]], s)
        np.testing.assert_allclose(h.matrix, want, rtol=1e-6)
        assert h.top == 1.0 and np.isnan(h.matrix).any()
