"""Which kNN edges the scatter draws: values worked by hand and a slow pair-by-pair version."""

from __future__ import annotations

import numpy as np
import pytest

from tui.edges import (
    EDGE_LIMIT,
    Edges,
    edges_among,
    in_view,
    join,
    members_mask,
    neighbour_edges,
    strength,
)

NAN = np.nan
# 0-1 both ways (0.9 one way, 0.7 the other), 0-2 both ways, 1→2 one way, 3-4, 3→0, and a
# row that lists itself (4)
IDX = np.array([[1, 2], [0, 2], [0, -1], [4, 0], [3, 4]], dtype=np.int32)
SIM = np.array([[0.9, 0.5], [0.7, 0.4], [0.5, NAN], [0.8, 0.2], [0.8, 1.0]], dtype=np.float32)
ALL = np.ones(5, dtype=bool)


def pairs(edges: Edges) -> list[tuple[int, int, float]]:
    return [(int(a), int(b), round(float(s), 3))
            for a, b, s in zip(edges.a, edges.b, edges.sim, strict=True)]


def test_edges_above_a_threshold_once_each_by_pair():
    got = edges_among(IDX, SIM, ALL, 0.45)
    assert not got.too_many
    assert pairs(got.edges) == [(0, 1, 0.9), (0, 2, 0.5), (3, 4, 0.8)]
    got = edges_among(IDX, SIM, ALL, None)
    assert pairs(got.edges) == [(0, 1, 0.9), (0, 2, 0.5), (0, 3, 0.2), (1, 2, 0.4),
                                (3, 4, 0.8)]
    assert got.edges.a.dtype == np.int64 and got.edges.sim.dtype == np.float32


def test_threshold_is_inclusive_and_compared_in_float32():
    # 0.5 in float32 is 0.5 exactly; 0.8 in float32 is a little above 0.8 as a double
    assert pairs(edges_among(IDX, SIM, ALL, 0.5).edges) == [(0, 1, 0.9), (0, 2, 0.5),
                                                           (3, 4, 0.8)]
    assert pairs(edges_among(IDX, SIM, ALL, 0.8).edges) == [(0, 1, 0.9), (3, 4, 0.8)]
    assert pairs(edges_among(IDX, SIM, ALL, 0.95).edges) == []


def test_only_edges_between_two_kept_points():
    keep = np.array([True, True, False, True, True])
    assert pairs(edges_among(IDX, SIM, keep, None).edges) == [(0, 1, 0.9), (0, 3, 0.2),
                                                             (3, 4, 0.8)]
    keep = np.array([False, True, True, False, False])
    assert pairs(edges_among(IDX, SIM, keep, None).edges) == [(1, 2, 0.4)]
    assert pairs(edges_among(IDX, SIM, np.zeros(5, bool), None).edges) == []


def test_over_the_limit_there_are_none_and_it_says_so():
    assert not edges_among(IDX, SIM, ALL, 0.45, limit=3).too_many
    for limit in (2, 1, 0):   # 2: after pairing up; 1, 0: already by the stored rows
        got = edges_among(IDX, SIM, ALL, 0.45, limit=limit)
        assert got.too_many and len(got.edges.a) == 0
    assert EDGE_LIMIT >= 500


def test_neighbour_edges_are_the_row_whatever_the_similarity():
    assert pairs(neighbour_edges(IDX, SIM, 3)) == [(3, 4, 0.8), (3, 0, 0.2)]
    assert pairs(neighbour_edges(IDX, SIM, 2)) == [(2, 0, 0.5)]   # padding dropped
    assert pairs(neighbour_edges(IDX, SIM, 4)) == [(4, 3, 0.8)]   # itself dropped
    assert pairs(neighbour_edges(IDX, SIM, None)) == []


def test_helpers():
    x = np.array([0.0, 1.0, 2.0, 1.0])
    y = np.array([0.0, 1.0, 1.0, 1.01])
    assert in_view(x, y, (0.0, 1.0, 0.0, 1.0)).tolist() == [True, True, False, False]
    assert members_mask(4, np.array([1, 3])).tolist() == [False, True, False, True]
    assert members_mask(4, None) is None
    assert strength(np.array([0.25, 0.625, 1.0, 1.5, -1.0]), 0.25, 1.0).tolist() == [
        0.0, 0.5, 1.0, 1.0, 0.0]
    assert strength(np.array([0.3]), 0.3, 0.3).tolist() == [1.0]
    both = join(neighbour_edges(IDX, SIM, 2), Edges.none(), neighbour_edges(IDX, SIM, 4))
    assert pairs(both) == [(2, 0, 0.5), (4, 3, 0.8)]
    assert len(join().a) == 0


def slow_edges(idx, sim, keep, threshold):
    best: dict[tuple[int, int], float] = {}
    for i in range(len(idx)):
        for j, s in zip(idx[i].tolist(), sim[i].tolist(), strict=True):
            if j < 0 or j == i or not (keep[i] and keep[j]):
                continue
            if threshold is not None and not s >= float(np.float32(threshold)):
                continue
            key = (min(i, j), max(i, j))
            best[key] = max(best.get(key, -np.inf), s)
    return [(a, b, round(s, 3)) for (a, b), s in sorted(best.items())]


@pytest.mark.parametrize("seed", range(6))
def test_matches_the_pair_by_pair_version(seed):
    rng = np.random.default_rng(seed)
    n, k = 80, 6
    idx = rng.integers(0, n, (n, k)).astype(np.int32)
    idx[rng.random((n, k)) < 0.1] = -1
    sim = np.round(rng.random((n, k)), 2).astype(np.float32)
    sim[idx < 0] = np.nan
    keep = rng.random(n) < [1.0, 0.7, 0.3][seed % 3]
    for threshold in (None, 0.3, 0.5, 0.71, 0.99):
        got = edges_among(idx, sim, keep, threshold, limit=10_000)
        assert pairs(got.edges) == slow_edges(idx, sim, keep, threshold)
