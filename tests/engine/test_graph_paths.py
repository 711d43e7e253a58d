"""Paths between entities, hubs, isolates and bridges: against hand-worked graphs and direct
(slow, obvious) computations."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree, shortest_path

from engine.diagnostics import bridges, skewness, thresholded_graph
from engine.graph_paths import fewest_hops, widest_path


def _random_knn(n, k, seed):
    rng = np.random.default_rng(seed)
    idx = np.array([rng.choice([j for j in range(n) if j != i], k, replace=False)
                    for i in range(n)])
    sim = rng.uniform(-0.2, 1.0, size=(n, k)).astype(np.float32)
    idx[rng.random((n, k)) < 0.1] = -1  # some short rows
    sim[idx < 0] = np.nan
    return idx.astype(np.int32), sim


def _undirected_max(idx, sim):
    n = len(idx)
    W = np.full((n, n), -np.inf)
    for i in range(n):
        for j, s in zip(idx[i], sim[i], strict=True):
            if j >= 0:
                W[i, j] = W[j, i] = max(W[i, j], s)
    return W


def test_a_path_graph_by_hand():
    # 0 –0.9– 1 –0.2– 2 –0.8– 3, and 0 –0.3– 3: the widest 0→3 goes round by 0.3
    a, b, s = np.array([0, 2, 0, 1]), np.array([1, 3, 3, 2]), np.array([0.9, 0.8, 0.3, 0.2])
    tree = minimum_spanning_tree(sp.coo_matrix((-s, (a, b)), shape=(4, 4))).tocoo()
    p = widest_path(tree.row, tree.col, -tree.data, 4, 0, 2)
    assert p.idx.tolist() == [0, 3, 2] and p.sim.tolist() == pytest.approx([0.3, 0.8])
    assert p.weakest == pytest.approx(0.3)
    idx = np.array([[1, 3], [2, -1], [3, -1], [-1, -1]], np.int32)
    sim = np.array([[0.9, 0.3], [0.2, np.nan], [0.8, np.nan], [np.nan, np.nan]], np.float32)
    h = fewest_hops(idx, sim, 0, 2)
    assert len(h.idx) == 3 and h.idx[0] == 0 and h.idx[-1] == 2


@pytest.mark.parametrize("seed", range(6))
def test_the_widest_path_is_the_highest_threshold_joining_the_two(seed):
    n = 25
    idx, sim = _random_knn(n, 3, seed)
    W = _undirected_max(idx, sim)
    rows, cols = np.nonzero(np.isfinite(W) & (np.triu(np.ones((n, n)), 1) > 0))
    # a maximum spanning forest, as the merge tree stores it
    tree = minimum_spanning_tree(sp.coo_matrix((-(W[rows, cols] + 2), (rows, cols)),
                                               shape=(n, n))).tocoo()
    t_a, t_b, t_s = tree.row, tree.col, -tree.data - 2
    for a, b in [(0, n - 1), (3, 7), (5, 11)]:
        p = widest_path(t_a, t_b, t_s, n, a, b)
        # directly: the largest t at which a and b are joined by edges ≥ t
        best = None
        for t in sorted(set(W[np.isfinite(W)].ravel().tolist()), reverse=True):
            g = sp.csr_matrix(np.isfinite(W) & (W >= t))
            if connected_components(g, directed=False)[1][a] == \
                    connected_components(g, directed=False)[1][b]:
                best = t
                break
        if best is None:
            assert p is None
        else:
            assert p.weakest == pytest.approx(best, abs=1e-6)
            for x, y, s in zip(p.idx[:-1], p.idx[1:], p.sim, strict=True):
                assert W[x, y] == pytest.approx(s, abs=1e-6)  # every step is an edge


@pytest.mark.parametrize("seed", range(6))
def test_fewest_hops_is_the_unweighted_shortest_path(seed):
    n = 30
    idx, sim = _random_knn(n, 2, seed)
    W = _undirected_max(idx, sim)
    D = shortest_path(sp.csr_matrix(np.isfinite(W).astype(float)), unweighted=True,
                      directed=False)
    for a, b in [(0, n - 1), (2, 9), (4, 4)]:
        p = fewest_hops(idx, sim, a, b)
        if not np.isfinite(D[a, b]):
            assert p is None
            continue
        assert len(p.idx) - 1 == D[a, b] and p.idx[0] == a and p.idx[-1] == b
        assert all(np.isfinite(W[x, y]) for x, y in zip(p.idx[:-1], p.idx[1:], strict=True))
        assert p.sim == pytest.approx([W[x, y] for x, y in zip(p.idx[:-1], p.idx[1:],
                                                                   strict=True)], abs=1e-6)


def test_bridges_by_hand():
    # 0-1-2 (a path) and a triangle 3-4-5 hanging on 2 by the edge 2-3
    e = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 3)]
    a, b = np.array(e).T
    g = sp.coo_matrix((np.ones(len(e)), (a, b)), shape=(6, 6)).tocsr()
    g = (g + g.T).tocsr()
    found = bridges(g)
    got = dict(zip(found.idx.tolist(), zip(found.cut_off.tolist(), found.parts.tolist(),
                                            strict=True), strict=True))
    # removing 2 leaves {0, 1} and {3, 4, 5}: 2 cut off the largest; 3 leaves {0,1,2},{4,5}
    assert got == {1: (1, 2), 2: (2, 2), 3: (2, 2)}
    assert found.idx.tolist() == [2, 3, 1] and (found.component == 6).all()


@pytest.mark.parametrize("seed", range(8))
def test_bridges_are_what_removing_each_entity_does(seed):
    n = 40
    idx, sim = _random_knn(n, 2, seed)
    g = thresholded_graph(idx, sim, 0.3)
    found = bridges(g)
    dense = g.toarray() > 0
    _, comp = connected_components(g, directed=False)
    expect = {}
    for v in range(n):
        members = np.flatnonzero(comp == comp[v])
        rest = members[members != v]
        if len(rest) < 2:
            continue
        sub = dense[np.ix_(rest, rest)]
        parts, lab = connected_components(sp.csr_matrix(sub), directed=False)
        if parts >= 2:
            largest = np.bincount(lab).max()
            expect[v] = (len(members), len(rest) - largest, parts)
    got = {int(i): (int(c), int(x), int(p)) for i, c, x, p in
           zip(found.idx, found.component, found.cut_off, found.parts, strict=True)}
    assert got == expect


def test_skewness_of_in_degrees():
    x = np.array([0, 0, 0, 1, 9])
    m, s = x.mean(), x.std()
    assert skewness(x) == pytest.approx(((x - m) ** 3).mean() / s ** 3)
    assert skewness(np.ones(5)) == 0.0
