"""Comparing two embeddings: overlaps, ARI and contingency against direct computations."""

from __future__ import annotations

import numpy as np
import pytest

from engine.compare import adjusted_rand, align, contingency, neighbour_overlap
from engine.errors import InputError


def halves(n=40, k=4, seed=0):
    """Two neighbour tables that agree on the first half of the entities and share nothing
    on the second."""
    rng = np.random.default_rng(seed)
    a = np.array([rng.choice([j for j in range(n) if j != i], k, replace=False)
                  for i in range(n)])
    b = a.copy()
    for i in range(n // 2, n):
        b[i] = rng.choice([j for j in range(n) if j != i and j not in a[i]], k, replace=False)
    return a, b


def test_the_halves_agree_and_disagree_as_built():
    a, b = halves()
    ids = [f"e{i}" for i in range(40)]
    al = align(ids, ids)
    j = neighbour_overlap(a, b, al)
    assert (j[:20] == 1).all() and (j[20:] == 0).all() and np.nanmean(j) == 0.5


def test_overlap_is_the_direct_jaccard_with_ids_matched_not_positions():
    rng = np.random.default_rng(3)
    n, k = 30, 5
    ids_a = np.array([f"x{i}" for i in range(n)])
    perm = rng.permutation(n)
    ids_b = np.append(ids_a[perm][:-3], ["new1", "new2"])  # B lacks 3 of A's, has 2 more
    nb = len(ids_b)
    A = np.array([rng.choice([j for j in range(n) if j != i], k, replace=False)
                  for i in range(n)])
    B = np.array([rng.choice([j for j in range(nb) if j != i], k, replace=False)
                  for i in range(nb)])
    B[rng.random((nb, k)) < 0.2] = -1
    al = align(ids_a, ids_b)
    assert al.only_a == 3 and al.only_b == 2 and len(al.a) == n - 3
    got = neighbour_overlap(A, B, al, k=4)
    shared = set(ids_a) & set(ids_b)
    for pos, (i, jb) in enumerate(zip(al.a, al.b, strict=True)):
        sa = {ids_a[x] for x in A[i, :4] if x >= 0} & shared
        sb = {ids_b[x] for x in B[jb, :4] if x >= 0} & shared
        want = len(sa & sb) / len(sa | sb) if sa | sb else np.nan
        assert got[pos] == pytest.approx(want, nan_ok=True)


def test_align_refuses_nothing_shared():
    with pytest.raises(InputError, match="share no entity id"):
        align(["a", "b"], ["c"])


@pytest.mark.parametrize("seed", range(5))
def test_adjusted_rand_is_sklearns(seed):
    from sklearn.metrics import adjusted_rand_score
    rng = np.random.default_rng(seed)
    a = rng.integers(-1, 6, 200)
    b = np.where(rng.random(200) < 0.7, a, rng.integers(-1, 6, 200))
    # sklearn's labels with every −1 its own cluster
    def own(x):
        x = x.copy()
        x[x < 0] = 100 + np.arange((x < 0).sum())
        return x
    assert adjusted_rand(a, b) == pytest.approx(adjusted_rand_score(own(a), own(b)))


def test_adjusted_rand_hand_worked():
    # {0,1},{2,3} against {0,1,2},{3}: n_ij pairs 1; rows 2, cols 3; E = 2·3/6 = 1;
    # ARI = (1 − 1) / (2.5 − 1) = 0
    assert adjusted_rand([0, 0, 1, 1], [0, 0, 0, 1]) == 0.0
    assert adjusted_rand([0, 0, 1, 1], [5, 5, 7, 7]) == 1.0
    assert adjusted_rand([-1, -1, -1], [-1, -1, -1]) == 1.0  # all alone in both


def test_contingency_of_the_largest_clusters():
    a = np.array([0, 0, 0, 1, 1, 2, -1, 0])
    b = np.array([5, 5, 6, 6, 6, 6, 5, -1])
    ta, tb, t = contingency(a, b, top=2)
    assert ta.tolist() == [0, 1] and tb.tolist() == [6, 5]
    assert t.tolist() == [[1, 2], [2, 0]]


def test_procrustes_recovers_a_turned_mirrored_scaled_shifted_copy():
    from engine.compare import procrustes_onto
    rng = np.random.default_rng(4)
    ref = rng.normal(size=(50, 2))
    a = 0.7
    turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ np.diag([1, -1])
    moved = (ref @ turn) * 3.5 + np.array([10.0, -4.0])
    moved[7] = np.nan  # an entity the other embedding lacks stays without a point
    back = procrustes_onto(moved, ref)
    keep = np.arange(50) != 7
    assert np.abs(back[keep] - ref[keep]).max() < 1e-4 and np.isnan(back[7]).all()


def test_procrustes_turn_is_scipys_orthogonal_procrustes():
    from scipy.linalg import orthogonal_procrustes

    from engine.compare import procrustes_onto
    rng = np.random.default_rng(5)
    ref, xy = rng.normal(size=(40, 2)), rng.normal(size=(40, 2)) * 2 + 1
    X, Y = xy - xy.mean(0), ref - ref.mean(0)
    sx, sy = np.sqrt((X ** 2).sum(1).mean()), np.sqrt((Y ** 2).sum(1).mean())
    R, _ = orthogonal_procrustes(X / sx, Y / sy)
    direct = (X / sx) @ R * sy + ref.mean(0)
    assert procrustes_onto(xy, ref) == pytest.approx(direct, abs=1e-5)
    few = np.full((40, 2), np.nan)
    few[:2] = 1.0
    assert np.isnan(procrustes_onto(xy, few)).sum() == 0  # too few shared: left as it was
