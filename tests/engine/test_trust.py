"""How far a layout can be trusted: kept shares and trustworthiness, against direct versions."""

from __future__ import annotations

import numpy as np
import pytest

from engine.trust import (
    FAR,
    far_on_map,
    kept_share,
    layout_neighbours,
    layout_trust,
    sample_k,
    sample_of,
    trustworthiness,
)


def direct_share(stored, xy):
    """For each entity, by brute force: its stored neighbours among its nearest on the map."""
    n = len(xy)
    out = []
    for i in range(n):
        nb = [j for j in stored[i] if j >= 0]
        if not nb:
            out.append(np.nan)
            continue
        d = [(float(np.hypot(*(xy[j] - xy[i]))), j) for j in range(n) if j != i]
        near = {j for _, j in sorted(d)[:len(nb)]}
        out.append(len(near & set(nb)) / len(nb))
    return np.array(out)


def test_hand_worked_shares():
    # four points on a line at 0, 1, 3, 7; stored neighbours (k = 2) chosen by hand
    xy = np.array([[0, 0], [1, 0], [3, 0], [7, 0]], float)
    stored = np.array([[1, 3], [0, 2], [3, -1], [-1, -1]])
    share = kept_share(stored, layout_neighbours(xy, 2)[0])
    # 0: map nearest {1, 2}, stored {1, 3} → 1/2; 1: map {0, 2} = stored → 1;
    # 2: one stored (3), map nearest one: 1 (distance 2 < 4) → 0; 3: none stored → NaN
    assert share[:3].tolist() == [0.5, 1.0, 0.0] and np.isnan(share[3])
    _, radius = layout_neighbours(xy, 2)
    assert radius.tolist() == [3.0, 2.0, 3.0, 6.0]  # to the 2nd nearest on the map


@pytest.mark.parametrize("seed", range(4))
def test_shares_match_the_direct_version(seed):
    rng = np.random.default_rng(seed)
    n, k = 80, 6
    xy = rng.normal(size=(n, 2))
    stored = np.array([rng.choice([j for j in range(n) if j != i], k, replace=False)
                       for i in range(n)])
    stored[rng.random((n, k)) < 0.2] = -1  # padding where an entity has fewer
    trust = layout_trust(stored, xy)
    want = direct_share(stored, xy)
    np.testing.assert_allclose(trust.share, want, rtol=1e-6)
    assert trust.mean == pytest.approx(np.nanmean(want))
    assert trust.trustworthiness is None and trust.why_not  # no similarity given


def test_duplicate_positions_never_list_the_point_itself():
    xy = np.zeros((5, 2))
    idx, radius = layout_neighbours(xy, 3)
    assert all(i not in row for i, row in enumerate(idx.tolist()))
    assert radius.tolist() == [0.0] * 5


@pytest.mark.parametrize("seed", range(3))
def test_trustworthiness_is_sklearns(seed):
    from sklearn.manifold import trustworthiness as sk_trustworthiness
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 5))
    Y = X[:, :2] + 0.3 * rng.normal(size=(60, 2))
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(axis=2))
    for k in (1, 5, 12):
        want = sk_trustworthiness(D, Y, n_neighbors=k, metric="precomputed")
        assert trustworthiness(-D, Y, k) == pytest.approx(want, abs=1e-12)


def test_trustworthiness_hand_worked():
    # m = 5, k = 1, input positions 0, 1, 3, 6, 10 on a line; the map moves entity 4 to 3.5.
    # On the map 2's nearest is 4 (input rank 4: penalty 3), 3's is 4 (rank 2: 1), 4's is 2
    # (rank 2: 1); 0 and 1 keep theirs. T = 1 − 2 / (5 · 1 · (10 − 3 − 1)) · 5 = 2/3.
    x = np.array([0.0, 1, 3, 6, 10])
    S = -np.abs(x[:, None] - x[None])
    Y = np.c_[[0.0, 1, 3, 6, 3.5], np.zeros(5)]
    assert trustworthiness(S, Y, 1) == pytest.approx(2 / 3)


def test_a_perfect_layout_is_fully_trusted():
    xy = np.random.default_rng(1).normal(size=(50, 2))
    D = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2))
    assert trustworthiness(-D, xy, 5) == pytest.approx(1.0)
    assert trustworthiness(np.where(np.eye(50) > 0, np.nan, -D), xy, 5) == pytest.approx(1.0)


def test_sample_and_its_k():
    assert sample_of(10).tolist() == list(range(10))
    s = sample_of(10_000, 100)
    assert len(s) == 100 and (np.diff(s) > 0).all() and (s == sample_of(10_000, 100)).all()
    assert sample_k(15, 1000) == 15 and sample_k(15, 11) == 5 and sample_k(15, 2) == 0
    assert all(sample_k(15, m) < m / 2 for m in range(3, 40))


def test_far_on_the_map():
    xy = np.array([[0, 0], [1, 0], [10, 0], [2.5, 0]], float)
    radius = np.array([1.0, 1, 1, 1])
    assert far_on_map(0, np.array([1, 2, 3]), xy, radius).tolist() == [False, True, True]
    assert FAR == 2.0


def test_the_dataset_answers_through_the_api(vectors_dataset, baskets_dataset):
    from engine.dataset import Dataset
    with Dataset.open(vectors_dataset) as ds:
        trust = ds.trust()
        want = direct_share(ds.knn.idx, ds.layout())
        np.testing.assert_allclose(trust.share, want, rtol=1e-6)
        assert trust.mean == pytest.approx(np.nanmean(want))
        # all 60 entities: the sample is the dataset, k = the stored 5
        X = ds.vectors_of(np.arange(ds.n))
        Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
        from sklearn.manifold import trustworthiness as sk_trustworthiness
        want_t = sk_trustworthiness(np.clip(1 - Xn @ Xn.T, 0, None), ds.layout(), n_neighbors=5,
                                    metric="precomputed")
        assert trust.sample == 60 and trust.trustworthiness == pytest.approx(want_t, abs=1e-9)
        assert ds.trust() is trust  # kept
    with Dataset.open(baskets_dataset) as ds:
        trust = ds.trust()
        assert trust.trustworthiness is not None and 0 <= trust.trustworthiness <= 1
