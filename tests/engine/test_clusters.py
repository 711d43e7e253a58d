import re

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

from engine.clusters import (
    ThresholdClusters,
    components_at,
    group,
    merge_tree,
    opening_threshold,
    renumber_by_size,
    structure,
)
from engine.errors import InputError


def knn_from_edges(n, k, edges):
    """idx/sim rows from directed (i, j, s) lists, sorted descending, padded."""
    idx = np.full((n, k), -1, np.int32)
    sim = np.full((n, k), np.nan, np.float32)
    rows = {i: [] for i in range(n)}
    for i, j, s in edges:
        rows[i].append((s, j))
    for i, row in rows.items():
        row.sort(key=lambda x: -x[0])
        for r, (s, j) in enumerate(row[:k]):
            idx[i, r], sim[i, r] = j, s
    return idx, sim


def reference_labels(n, idx, sim, t):
    """scipy components of the undirected graph of entries with sim ≥ t, renumbered by size."""
    keep = (idx >= 0) & (sim >= np.float32(t))
    rows = np.broadcast_to(np.arange(n)[:, None], idx.shape)[keep]
    G = sp.csr_matrix((np.ones(keep.sum()), (rows, idx[keep])), shape=(n, n))
    return canonical(connected_components(G, directed=False)[1])


def canonical(labels):
    """Ids by size descending, ties by smallest member, computed the slow obvious way."""
    groups = {}
    for v, c in enumerate(labels):
        groups.setdefault(c, []).append(v)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0]))
    out = np.empty(len(labels), np.int32)
    for new, members in enumerate(ordered):
        out[members] = new
    return out


@st.composite
def knn_graphs(draw):
    n = draw(st.integers(1, 25))
    k = draw(st.integers(0, 5))
    values = draw(st.lists(st.floats(-1, 1, width=32), min_size=1, max_size=4))  # few: ties
    edges = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        nb = draw(st.lists(st.sampled_from(others), unique=True, max_size=k)) if others else []
        edges += [(i, j, draw(st.sampled_from(values))) for j in nb]
    idx, sim = knn_from_edges(n, k, edges)
    thresholds = draw(st.lists(st.one_of(st.sampled_from(values), st.floats(-1.5, 1.5)),
                               min_size=1, max_size=6))
    return n, idx, sim, thresholds


@settings(max_examples=200, deadline=None)
@given(knn_graphs())
def test_tree_components_equal_thresholded_graph_components(case):
    n, idx, sim, thresholds = case
    a, b, s = merge_tree(n, idx, sim)
    assert a.dtype == b.dtype == np.int32 and s.dtype == np.float32
    assert (np.diff(s) <= 0).all() and (a < b).all()
    tc = ThresholdClusters(n, a, b, s)
    for t in thresholds + [-np.inf, np.inf]:
        want = reference_labels(n, idx, sim, t)
        got = components_at(n, a, b, s, t)
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(tc.labels(t), want)
        np.testing.assert_array_equal(tc.sizes(t), np.bincount(want, minlength=0))
        assert tc.n_components(t) == want.max() + 1


@settings(max_examples=100, deadline=None)
@given(knn_graphs())
def test_merge_tree_is_a_maximum_spanning_forest(case):
    n, idx, sim, _ = case
    a, b, s = merge_tree(n, idx, sim)
    keep = idx >= 0
    rows = np.broadcast_to(np.arange(n)[:, None], idx.shape)[keep]
    # Undirected weight = max of both directions; shifted positive (scipy: 0 = no edge).
    M = sp.csr_matrix((sim[keep].astype(np.float64) + 2.0, (rows, idx[keep])), shape=(n, n))
    M = M.maximum(M.T).tocsr()
    M.data = 4.0 - M.data  # a minimum spanning forest of 4 - w is a maximum one of w
    msf = minimum_spanning_tree(M)
    assert len(a) == msf.nnz
    assert np.isclose((2.0 - s.astype(np.float64)).sum(), msf.sum())


def test_hand_made_graph_components_at_each_threshold():
    # 0-1 (0.9), 1-2 (0.8), 3-4 (0.8 one way, 0.7 the other: the max counts), 2-3 (0.5),
    # 0-2 (0.6, a cycle edge the tree drops), 5 alone, 6 only padding.
    edges = [(0, 1, 0.9), (1, 0, 0.9), (1, 2, 0.8), (3, 4, 0.8), (4, 3, 0.7), (2, 3, 0.5),
             (0, 2, 0.6), (5, 5, 0.99)]
    idx, sim = knn_from_edges(7, 3, [e for e in edges if e[0] != e[1]])
    a, b, s = merge_tree(7, idx, sim)
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    np.testing.assert_allclose(s, [0.9, 0.8, 0.8, 0.5])
    expect = {
        0.95: [0, 1, 2, 3, 4, 5, 6],
        0.9: [0, 0, 1, 2, 3, 4, 5],
        0.8: [0, 0, 0, 1, 1, 2, 3],
        0.7: [0, 0, 0, 1, 1, 2, 3],
        0.5: [0, 0, 0, 0, 0, 1, 2],
        -1.0: [0, 0, 0, 0, 0, 1, 2],
    }
    tc = ThresholdClusters(7, a, b, s)
    for t, want in expect.items():
        np.testing.assert_array_equal(components_at(7, a, b, s, t), want, err_msg=str(t))
        np.testing.assert_array_equal(tc.labels(t), want, err_msg=str(t))


def test_threshold_is_rounded_to_float32_like_the_similarities():
    idx, sim = knn_from_edges(2, 1, [(0, 1, 0.9)])
    a, b, s = merge_tree(2, idx, sim)
    assert float(s[0]) < 0.9 < float(np.nextafter(s[0], np.float32(1)))
    assert components_at(2, a, b, s, 0.9).max() == 0
    assert components_at(2, a, b, s, float(np.nextafter(s[0], np.float32(1)))).max() == 1
    assert ThresholdClusters(2, a, b, s).labels(0.9).max() == 0


def test_labels_are_numbered_by_size_then_smallest_member():
    # components {0}, {1, 4}, {2, 3, 5}, {6, 7}: sizes 1, 2, 3, 2
    a = np.array([2, 3, 1, 6], np.int32)
    b = np.array([3, 5, 4, 7], np.int32)
    s = np.array([0.9, 0.9, 0.8, 0.7], np.float32)
    np.testing.assert_array_equal(components_at(8, a, b, s, 0.0), [3, 1, 0, 0, 1, 0, 2, 2])


def test_threshold_clusters_caches_by_selected_edges_and_is_read_only():
    a, b, s = np.array([0], np.int32), np.array([1], np.int32), np.array([0.5], np.float32)
    tc = ThresholdClusters(3, a, b, s)
    first = tc.labels(0.2)
    assert tc.labels(0.4) is first  # same edges selected
    assert tc.edges_at(0.4) == 1 and tc.edges_at(0.6) == 0
    assert not first.flags.writeable
    np.testing.assert_array_equal(tc.labels(0.6), [0, 1, 2])


def test_unsorted_tree_input_is_sorted():
    a, b = np.array([0, 1], np.int32), np.array([1, 2], np.int32)
    s = np.array([0.2, 0.9], np.float32)
    np.testing.assert_array_equal(components_at(3, a, b, s, 0.5), [1, 0, 0])
    np.testing.assert_array_equal(ThresholdClusters(3, a, b, s).labels(0.5), [1, 0, 0])


def test_empty_and_tiny_graphs():
    for n in (0, 1, 2):
        idx = np.full((n, 1), -1, np.int32)
        sim = np.full((n, 1), np.nan, np.float32)
        a, b, s = merge_tree(n, idx, sim)
        assert len(a) == 0
        np.testing.assert_array_equal(components_at(n, a, b, s, 0.0), np.arange(n))
        assert len(ThresholdClusters(n, a, b, s).labels(0.0)) == n
    a, b, s = merge_tree(3, np.zeros((3, 0), np.int32), np.zeros((3, 0), np.float32))
    assert len(a) == 0


def test_bad_input():
    idx, sim = knn_from_edges(3, 1, [(0, 1, 0.5)])
    with pytest.raises(InputError, match="shape"):
        merge_tree(4, idx, sim)
    with pytest.raises(InputError, match="outside"):
        merge_tree(3, idx + 5, sim)
    a, b, s = merge_tree(3, idx, sim)
    with pytest.raises(InputError, match="NaN"):
        components_at(3, a, b, s, float("nan"))
    with pytest.raises(InputError, match="outside"):
        components_at(3, a + 3, b, s, 0.0)
    with pytest.raises(InputError, match="forest"):
        components_at(1, a, b, s, 0.0)
    with pytest.raises(InputError, match="finite"):
        ThresholdClusters(3, a, b, np.array([np.nan], np.float32))


def test_non_finite_and_self_entries_are_ignored():
    idx = np.array([[1, 0], [2, -1], [0, 1]], np.int32)
    sim = np.array([[np.nan, 0.9], [0.4, 0.3], [np.inf, np.nan]], np.float32)
    a, b, s = merge_tree(3, idx, sim)
    assert list(zip(a, b, s, strict=True)) == [(1, 2, np.float32(0.4))]


def test_group_lists_largest_first():
    labels = np.array([2, 0, 1, 1, -1, 2, 3, 1, 4, 4], np.int32)
    table = group(labels, min_size=2, threshold=0.5)
    assert table.threshold == 0.5 and table.method is None and len(table) == 3
    np.testing.assert_array_equal(table.ids, [1, 2, 4])  # sizes 3, 2, 2 (ties: label)
    np.testing.assert_array_equal(table.sizes, [3, 2, 2])
    np.testing.assert_array_equal(table.members(0), [2, 3, 7])
    np.testing.assert_array_equal(table.members(1), [0, 5])
    np.testing.assert_array_equal(table.members(2), [8, 9])
    np.testing.assert_array_equal(table.rank, [-1, 0, 1, -1, 2])
    assert table.singletons == 2  # labels 0 and 3
    assert [table.cluster_of(i) for i in range(10)] == [1, None, 0, 0, None, 1, None, 0, 2, 2]
    np.testing.assert_array_equal(table.positions(), [1, -1, 0, 0, -1, 1, -1, 0, 2, 2])
    everything = group(labels, min_size=1)
    assert len(everything.order) == 9 and list(everything.ids) == [1, 2, 4, 0, 3]
    empty = group(np.zeros(0, np.int32))
    assert len(empty) == 0 and empty.singletons == 0 and list(empty.offsets) == [0]
    with pytest.raises(InputError, match="1-D integer"):
        group(np.zeros(3, np.float32))


def slow_group(labels, min_size):
    """The listing written out directly: members per label, sorted by (-size, label)."""
    members = {}
    for i, lab in enumerate(labels):
        if lab >= 0:
            members.setdefault(int(lab), []).append(i)
    listed = sorted((lab for lab, m in members.items() if len(m) >= min_size),
                    key=lambda lab: (-len(members[lab]), lab))
    rank = {lab: r for r, lab in enumerate(listed)}
    singletons = sum(len(m) == 1 for m in members.values())
    return listed, [members[lab] for lab in listed], rank, singletons


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-1, 12), max_size=60), st.integers(0, 4),
       st.sampled_from([np.int32, np.int64]))
def test_group_equals_the_direct_listing(values, min_size, dtype):
    labels = np.array(values, dtype=dtype)
    got = group(labels, min_size)
    ids, members, rank, singletons = slow_group(values, max(min_size, 1))
    assert list(got.ids) == ids
    assert [list(got.members(c)) for c in range(len(got))] == members
    assert got.singletons == singletons
    for i, lab in enumerate(values):
        assert got.cluster_of(i) == (rank.get(lab) if lab >= 0 else None)
    assert list(got.positions()) == [rank.get(lab, -1) if lab >= 0 else -1 for lab in values]


def test_renumber_by_size_keeps_left_out():
    np.testing.assert_array_equal(renumber_by_size(np.array([7, -1, 3, 3, 7, 9])),
                                  [0, -1, 1, 1, 0, 2])


def test_threshold_ranges_by_similarity():
    from engine.methods import MEASURES, METRICS, SIMILARITY_RANGES, check_threshold
    assert set(METRICS) | set(MEASURES) | {"context"} == set(SIMILARITY_RANGES)
    for similarity, t in (("cosine", -1), ("cosine", 1), ("npmi", -1.0), ("jaccard", 0),
                          ("dot", -1e9), ("ppmi", 1e6), ("inverse-log", 3), (None, 7)):
        check_threshold(t, similarity)
    for similarity, t, span in (("cosine", 1.5, "[-1, 1]"), ("npmi", -1.01, "[-1, 1]"),
                                ("jaccard", -0.1, "[0, 1]"), ("context", 2, "[0, 1]"),
                                ("ppmi", -1, "[0, ∞)"), ("euclidean", 1.2, "[0, 1]")):
        with pytest.raises(InputError, match=rf"outside {re.escape(span)}, the range of "
                           f"{similarity} similarities"):
            check_threshold(t, similarity)
    with pytest.raises(InputError, match="must be a number"):
        check_threshold(float("nan"), "dot")


def test_overlapping_memberships_list_every_member_of_each_community():
    from engine.clusters import group_memberships
    # entity 2 is in communities 0 and 1; entity 5 only in community 2, a singleton
    labels = np.array([0, 0, 0, 1, 1, 2], np.int32)
    ent = np.array([0, 1, 2, 2, 3, 4, 5])
    com = np.array([0, 0, 0, 1, 1, 1, 2])
    held = np.array([1, 1, .6, .4, 1, 1, 1], np.float32)
    view = group_memberships(labels, ent, com, held, 2, method="slpa")
    assert view.overlapping and len(view) == 2 and view.singletons == 1
    assert [view.members(c).tolist() for c in range(2)] == [[0, 1, 2], [2, 3, 4]]
    assert view.strengths(1).tolist() == pytest.approx([.4, 1, 1])
    assert view.count.tolist() == [1, 1, 2, 1, 1, 1]
    assert view.clusters_of(2) == [(0, pytest.approx(.6)), (1, pytest.approx(.4))]
    assert view.clusters_of(5) == []
    assert view.contains(1, 2) and not view.contains(0, 3)
    assert view.cluster_of(2) == 0  # its top community
    assert view.positions_of_members()[2] == [0, 1]


# ---- the opening threshold -------------------------------------------------------------------

# Six entities: 0-1-2 tight, 3-4 and 4-5 looser, joined by a weak 2-3 edge.
TREE = (6, np.array([0, 1, 3, 4, 2]), np.array([1, 2, 4, 5, 3]),
        np.array([0.9, 0.8, 0.7, 0.5, 0.3], np.float32))


def test_opening_threshold_by_hand():
    # Largest ≤ 3 (share 1/2): 0.8 and 0.7 give one cluster of ≥ 3, 0.5 gives two ({0,1,2},
    # {3,4,5}), 0.3 joins all six.
    assert opening_threshold(*TREE, max_share=0.5) == pytest.approx(0.5)
    # Clusters of ≥ 2: 0.7 and 0.5 both give two; the tie goes to the lower.
    assert opening_threshold(*TREE, min_size=2, max_share=0.5) == pytest.approx(0.5)
    # The defaults (≥ 3, a third = 2 entities): only 0.9 keeps the largest at 2.
    assert opening_threshold(*TREE) == pytest.approx(0.9)


def test_opening_threshold_falls_back_to_the_smallest_largest_cluster():
    # No candidate keeps the largest at ≤ 0.6 entities: the one with the smallest largest.
    assert opening_threshold(*TREE, max_share=0.1) == pytest.approx(0.9)
    assert opening_threshold(*TREE, [0.95, 0.5], max_share=0.1) == pytest.approx(0.95)


def test_opening_threshold_compares_in_float32_like_the_labels():
    # 0.5 given as a float64 a hair above float32(0.5) still keeps the 0.5 edge
    n, a, b, s = TREE
    s = s.copy()
    s[3] = np.float32(0.7)  # 4-5 now ties 3-4
    t = opening_threshold(n, a, b, s, [0.7 + 1e-9, 0.8], max_share=0.5)
    assert t == pytest.approx(0.7)
    assert np.bincount(components_at(n, a, b, s, t)).max() == 3


def test_opening_threshold_rejects_no_or_nan_candidates():
    with pytest.raises(InputError, match="candidate"):
        opening_threshold(*TREE, [])
    with pytest.raises(InputError, match="candidate"):
        opening_threshold(*TREE, [0.5, float("nan")])


@settings(max_examples=150, deadline=None)
@given(knn_graphs(), st.integers(1, 4), st.sampled_from([0.25, 1 / 3, 0.5, 1.0]))
def test_opening_threshold_equals_the_direct_search(case, min_size, share):
    n, idx, sim, _ = case
    a, b, s = merge_tree(n, idx, sim)
    candidates = np.unique(np.append(s, [0.0, 2.0])).astype(np.float64)

    def score(t):
        sizes = np.bincount(reference_labels(n, idx, sim, t))
        return sizes.max(), int((sizes >= min_size).sum())

    scored = [(t, *score(t)) for t in candidates]
    fits = [(t, c) for t, big, c in scored if big <= share * n]
    if fits:
        best = max(c for _, c in fits)
        want = min(t for t, c in fits if c == best)
    else:
        smallest = min(big for _, big, _ in scored)
        want = min(t for t, big, _ in scored if big == smallest)
    got = opening_threshold(n, a, b, s, candidates, min_size=min_size, max_share=share)
    assert got == pytest.approx(want)


def test_structure_counts_groups_unless_one_holds_too_many():
    assert structure(np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])) == 3
    assert structure(np.array([0, 0, 0, 0, 1, 1, 1, 2, 2])) == 0  # 4 of 9 > a third
    assert structure(np.array([0, 0, 0, -1, -1, -1, 1, 1, 1])) == 2  # left out still count in n
    assert structure(np.array([0, 1, 2, 3]), min_size=2) == 0
    assert structure(np.array([], int)) == 0
