import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics import silhouette_score as sk_silhouette

from engine.communities import choose_k, kmeans, label_propagation, silhouette_score, slpa
from engine.errors import InputError


def planted(sizes, weak=0.05, p_in=1.0, seed=0):
    """Dense groups (each pair linked with probability p_in, weight 0.5..1) in a chain of
    single weak edges; returns the graph and the true group per node."""
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    W = np.where(truth[:, None] == truth[None, :], rng.uniform(0.5, 1.0, (n, n)), 0.0)
    W *= rng.random((n, n)) < p_in
    starts = np.cumsum([0] + list(sizes))[:-1]
    for g in range(len(sizes) - 1):
        W[starts[g], starts[g + 1]] = weak
    W = np.triu(W, 1)
    return sp.csr_matrix(W + W.T), truth


def by_size_then_member(labels):
    """True when ids are numbered by size descending, ties by smallest member."""
    kept = labels[labels >= 0]
    if kept.size == 0:
        return True
    sizes = np.bincount(kept)
    first = np.array([np.flatnonzero(labels == c)[0] for c in range(len(sizes))])
    key = list(zip(-sizes, first, strict=True))
    return key == sorted(key) and (sizes > 0).all()


@pytest.mark.parametrize("sizes", [(12, 10), (12, 10, 8)])
def test_label_propagation_recovers_planted_groups(sizes):
    G, truth = planted(sizes, p_in=0.8)
    for seed in range(5):
        labels = label_propagation(G, seed=seed)
        assert labels.dtype == np.int32
        assert adjusted_rand_score(truth, labels) == 1.0
        assert by_size_then_member(labels)


@pytest.mark.parametrize("sizes", [(12, 10), (12, 10, 8)])
def test_slpa_recovers_planted_groups(sizes):
    G, truth = planted(sizes, p_in=0.8)
    for seed in range(3):
        labels, strength, _ = slpa(G, seed=seed)
        assert labels.dtype == np.int32 and strength.dtype == np.float32
        assert adjusted_rand_score(truth, labels) == 1.0
        assert by_size_then_member(labels)
        assert ((strength > 0.5) & (strength <= 1)).all()


def test_same_seed_same_result_and_seeds_matter():
    rng = np.random.default_rng(1)
    A = sp.random(300, 300, density=0.02, random_state=rng, format="csr")
    G = (A + A.T).tocsr()
    np.testing.assert_array_equal(label_propagation(G, seed=3), label_propagation(G, seed=3))
    l1, s1, _ = slpa(G, seed=3)
    l2, s2, _ = slpa(G, seed=3)
    np.testing.assert_array_equal(l1, l2)
    np.testing.assert_array_equal(s1, s2)
    assert any((slpa(G, seed=s)[1] != s1).any() for s in range(4, 8))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 12), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_any_small_graph_gives_size_numbered_labels_within_components(n, density, seed):
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=density, random_state=rng, format="csr") if n else \
        sp.csr_matrix((0, 0))
    G = (A + A.T).tocsr()
    comp = connected_components(G, directed=False)[1] if n else np.zeros(0, int)
    for labels in (label_propagation(G, seed=seed), slpa(G, seed=seed, r=0.0)[0]):
        assert labels.shape == (n,) and labels.dtype == np.int32
        assert (labels >= 0).all() and by_size_then_member(labels)
        # a community never spans two connected components
        for c in np.unique(labels):
            assert len(np.unique(comp[labels == c])) == 1


def test_disconnected_nodes_are_their_own_communities():
    G, _ = planted((5,))
    G = sp.block_diag([G, sp.csr_matrix((3, 3))], format="csr")
    for labels in (label_propagation(G), slpa(G)[0]):
        np.testing.assert_array_equal(labels, [0, 0, 0, 0, 0, 1, 2, 3])
    assert (slpa(G)[1][5:] == 1).all()


def test_tiny_graphs():
    for n in (0, 1, 2):
        G = sp.csr_matrix((n, n))
        np.testing.assert_array_equal(label_propagation(G), np.arange(n))
        np.testing.assert_array_equal(slpa(G)[0], np.arange(n))
    pair = sp.csr_matrix(np.array([[0, 1.0], [1.0, 0]]))
    np.testing.assert_array_equal(label_propagation(pair), [0, 0])
    np.testing.assert_array_equal(slpa(pair)[0], [0, 0])


def test_diagonal_and_zero_weights_are_ignored():
    # node 0: a self-loop and an explicit zero-weight edge to 1, so no neighbours
    G = sp.csr_matrix((np.array([5.0, 0.0, 1.0, 1.0]), np.array([0, 1, 2, 1]),
                       np.array([0, 2, 3, 4])), shape=(3, 3))
    np.testing.assert_array_equal(label_propagation(G), [1, 0, 0])


def test_slpa_drops_memberships_below_r():
    # a star: the centre hears a different leaf almost every time, so no label reaches r
    n = 40
    rows = np.zeros(n - 1, int)
    G = sp.csr_matrix((np.ones(n - 1), (rows, np.arange(1, n))), shape=(n, n))
    G = (G + G.T).tocsr()
    labels, strength, _ = slpa(G, seed=0, r=0.5)
    weak = strength < 0.5
    assert (labels[weak] == -1).all() and (labels[~weak] >= 0).all()
    labels0, _, _ = slpa(G, seed=0, r=0.0)
    assert (labels0 >= 0).all()


def test_bad_graphs():
    with pytest.raises(InputError, match="scipy.sparse"):
        label_propagation(np.eye(3))
    with pytest.raises(InputError, match="square"):
        slpa(sp.csr_matrix((2, 3)))
    with pytest.raises(InputError, match="non-negative"):
        label_propagation(sp.csr_matrix(np.array([[0, -1.0], [-1.0, 0]])))
    with pytest.raises(InputError, match="r must be"):
        slpa(sp.csr_matrix((2, 2)), r=2)


def blobs(k, per=120, d=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = 12.0 * np.eye(d)[:k] + rng.normal(size=(k, d))  # pairwise ≈ 17 apart
    X = np.concatenate([c + rng.normal(size=(per, d)) for c in centres]).astype(np.float32)
    return X, np.repeat(np.arange(k), per)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_kmeans_finds_planted_blobs_and_their_k(k):
    X, truth = blobs(k)
    labels = kmeans(X, seed=1)
    assert labels.dtype == np.int32 and labels.max() + 1 == k
    assert adjusted_rand_score(truth, labels) == 1.0
    assert by_size_then_member(labels)
    assert choose_k(X, seed=1)[0] == k


def test_kmeans_with_given_k_and_on_a_sample_of_a_large_input():
    X, truth = blobs(4, per=600)
    labels = kmeans(X, k=4, seed=0, sample_size=300)  # fit on 300 rows, then all 2400
    assert adjusted_rand_score(truth, labels) == 1.0
    np.testing.assert_array_equal(kmeans(X, seed=7, sample_size=500),
                                  kmeans(X, seed=7, sample_size=500))


def test_kmeans_normalize_clusters_directions():
    rng = np.random.default_rng(0)
    dirs = np.array([[1, 0, 0], [0, 1, 0]], np.float32)
    truth = np.repeat([0, 1], 100)
    X = (dirs[truth] + 0.05 * rng.normal(size=(200, 3))) * rng.uniform(0.1, 10, (200, 1))
    assert adjusted_rand_score(truth, kmeans(X, k=2, normalize=True)) == 1.0


def test_silhouette_matches_sklearn():
    X, _ = blobs(3, per=40)
    rng = np.random.default_rng(0)
    for labels in (np.repeat(np.arange(3), 40), rng.integers(0, 4, 120)):
        assert np.isclose(silhouette_score(X, labels), sk_silhouette(X, labels), atol=1e-6)
    labels = np.array([0, 1, 1, 1, 2, 2])  # a singleton scores 0
    Y = rng.normal(size=(6, 2))
    assert np.isclose(silhouette_score(Y, labels), sk_silhouette(Y, labels), atol=1e-6)


def test_kmeans_edge_cases():
    assert len(kmeans(np.zeros((0, 3)))) == 0
    np.testing.assert_array_equal(kmeans(np.ones((1, 3))), [0])
    np.testing.assert_array_equal(kmeans(np.ones((2, 3))), [0, 0])
    np.testing.assert_array_equal(kmeans(np.ones((5, 2)), k=3), np.zeros(5))
    assert kmeans(np.arange(8.0)[:, None], k=20).max() == 7  # k above N: one per point
    with pytest.raises(InputError, match="NaN"):
        kmeans(np.array([[np.nan, 1.0], [0, 0]]))
    with pytest.raises(InputError, match="2-D"):
        kmeans(np.zeros(4))
    with pytest.raises(InputError, match="at least 1"):
        kmeans(np.zeros((4, 2)), k=0)


# ---- SLPA's overlapping memberships ----------------------------------------------------------

def two_cliques_and_a_bridge(size=10, links=5):
    """Cliques 0..size-1 and size+1..2·size, and entity `size` linked to `links` members of
    each (weight 1 everywhere): the bridge is tied equally to both groups."""
    n = 2 * size + 1
    A = np.zeros((n, n))
    for group in (np.arange(size), np.arange(size + 1, n)):
        A[np.ix_(group, group)] = 1
    tied = np.r_[np.arange(links), np.arange(size + 1, size + 1 + links)]
    A[size, tied] = A[tied, size] = 1
    np.fill_diagonal(A, 0)
    return sp.csr_matrix(A), size


def communities_of(result, i):
    m = result.memberships
    return dict(zip(m.community[m.entity == i].tolist(), m.strength[m.entity == i].tolist(),
                    strict=True))


@pytest.mark.parametrize("seed", range(5))
def test_slpa_bridge_belongs_to_both_cliques(seed):
    G, bridge = two_cliques_and_a_bridge()
    result = slpa(G, seed=seed)
    left, right = result.labels[:bridge], result.labels[bridge + 1:]
    assert len(set(left)) == 1 and len(set(right)) == 1 and left[0] != right[0]
    mine = communities_of(result, bridge)
    assert {int(left[0]), int(right[0])} <= set(mine)
    assert all(s >= 0.1 for s in mine.values())
    assert sum(mine.values()) <= 1 + 1e-6
    # the top label is the strongest membership, with the strength the labels report
    assert mine[int(result.labels[bridge])] == pytest.approx(float(result.strength[bridge]))


def test_slpa_memberships_threshold_by_hand():
    from engine.communities import _slpa_memberships
    # ten remembered labels: 7 three times, 4 twice, 1 once, 9 four times
    memory = np.array([[7, 4, 9, 7, 1, 9, 4, 9, 7, 9]], np.int32)
    for r, want in ((0.1, [(9, 0.4), (7, 0.3), (4, 0.2), (1, 0.1)]),
                    (0.2, [(9, 0.4), (7, 0.3), (4, 0.2)]),
                    (0.25, [(9, 0.4), (7, 0.3)]),
                    (0.4, [(9, 0.4)]),
                    # no label reaches r: SLPA keeps the most frequent one, strength under r
                    (0.5, [(9, 0.4)])):
        ent, lab, held = _slpa_memberships(memory, r)
        assert ent.tolist() == [0] * len(want)
        assert list(zip(lab.tolist(), np.round(held, 6).tolist(), strict=True)) == want
    # equal shares: the smaller label first, and it is the one kept when none reaches r
    ent, lab, held = _slpa_memberships(np.array([[5, 3, 5, 3]], np.int32), 0.9)
    assert lab.tolist() == [3] and held.tolist() == [0.5]
    ent, lab, held = _slpa_memberships(np.array([[5, 3, 5, 3]], np.int32), 0.5)
    assert lab.tolist() == [3, 5]


def direct_memberships(memory, r):
    """SLPA's post-processing written out: each row's label counts → shares → the labels at
    or above r, else the most frequent (ties: smaller label)."""
    rows = []
    for v, row in enumerate(memory.tolist()):
        counts = {}
        for label in row:
            counts[label] = counts.get(label, 0) + 1
        shares = {label: c / len(row) for label, c in counts.items()}
        kept = [(label, s) for label, s in shares.items() if s >= r]
        if not kept:
            best = max(shares.values())
            kept = [(min(label for label, s in shares.items() if s == best), best)]
        for label, s in sorted(kept, key=lambda ls: (-ls[1], ls[0])):
            rows.append((v, label, s))
    return rows


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 30), st.integers(1, 25), st.integers(1, 8), st.floats(0, 1),
       st.integers(0, 2**32 - 1))
def test_slpa_memberships_match_a_direct_implementation(n, m, labels, r, seed):
    from engine.communities import _slpa_memberships
    memory = np.random.default_rng(seed).integers(0, labels, (n, m)).astype(np.int32)
    ent, lab, held = _slpa_memberships(memory, r)
    got = list(zip(ent.tolist(), lab.tolist(), held.tolist(), strict=True))
    assert got == direct_memberships(memory, r)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.floats(0.02, 0.5), st.floats(0.01, 1), st.integers(0, 2**32 - 1))
def test_slpa_memberships_agree_with_the_top_labels(n, density, r, seed):
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=density, random_state=rng, format="csr")
    result = slpa((A + A.T).tocsr(), seed=seed, iterations=12, r=r)
    m = result.memberships
    assert (np.diff(m.entity) >= 0).all() and np.isin(np.arange(n), m.entity).all()
    first = np.searchsorted(m.entity, np.arange(n))  # each entity's strongest membership
    has_top = result.labels >= 0
    np.testing.assert_array_equal(m.community[first][has_top], result.labels[has_top])
    np.testing.assert_allclose(m.strength[first], result.strength)
    # a membership under r is the one membership of an entity whose top share is under r
    under = m.entity[m.strength < r]
    assert (result.strength[under] < r).all()
    assert (np.bincount(m.entity, minlength=n)[under] == 1).all()
    # communities numbered after the top labels' ones, consecutively
    assert set(m.community.tolist()) == set(range(int(m.community.max()) + 1))
