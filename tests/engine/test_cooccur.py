"""Co-occurrence counts, association measures and sparse row top-k on hand-made collections."""

from math import log

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.cooccur import MEASURES, association, cooccurrence, top_k
from engine.errors import InputError

A, B, C, D, E = range(5)
# c0 {A,B,C}, c1 {A,B}, c2 {B,C,D}, c3 {A,D} (A listed twice), c4 {E}
COLL = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 4], dtype=np.int32)
ENT = np.array([A, B, C, A, B, B, C, D, A, A, D, E], dtype=np.int32)
N_COLL = 5
EXPECTED = np.array([
    # A  B  C  D  E
    [3, 2, 1, 1, 0],  # A: c0 c1 c3
    [2, 3, 2, 1, 0],  # B: c0 c1 c2
    [1, 2, 2, 1, 0],  # C: c0 c2
    [1, 1, 1, 2, 0],  # D: c2 c3
    [0, 0, 0, 0, 1],  # E: c4
])


def counts():
    return cooccurrence(COLL, ENT, 5, N_COLL)


def pmi(a, b):
    p = EXPECTED / N_COLL
    return log(p[a, b] / (p[a, a] * p[b, b]))


def test_counts_are_exact_and_duplicates_count_once():
    Cm = counts()
    assert isinstance(Cm, sp.csr_matrix) and Cm.shape == (5, 5)
    assert Cm.has_sorted_indices
    np.testing.assert_array_equal(Cm.toarray(), EXPECTED)
    assert (Cm != Cm.T).nnz == 0


def test_weighted_counts_use_min_and_max_of_duplicates():
    w = np.array([1.0, 0.5, 0.25, 1.0, 1.0, 0.5, 0.5, 1.0, 0.1, 0.75, 0.5, 2.0])
    Cm = cooccurrence(COLL, ENT, 5, N_COLL, weight=w).toarray()
    # A in c3 is listed with 0.1 and 0.75: the max, 0.75, counts.
    assert Cm[A, A] == pytest.approx(1.0 + 1.0 + 0.75)
    assert Cm[A, B] == pytest.approx(min(1.0, 0.5) + min(1.0, 1.0))
    assert Cm[A, D] == pytest.approx(min(0.75, 0.5))
    assert Cm[B, C] == pytest.approx(min(0.5, 0.25) + min(0.5, 0.5))
    assert Cm[E, E] == pytest.approx(2.0)
    np.testing.assert_allclose(Cm, Cm.T)
    # min keeps every entry below both diagonals, so jaccard is the weighted Σmin / Σmax.
    S = association(sp.csr_matrix(Cm), N_COLL, "jaccard").toarray()
    assert S[A, B] == pytest.approx(1.5 / (1.0 + 1.0 + 0.5 + 0.75))  # max in c0, c1, c2, c3


def test_zero_weight_is_no_membership():
    w = np.ones(len(ENT))
    w[ENT == E] = 0.0
    Cm = cooccurrence(COLL, ENT, 5, N_COLL, weight=w)
    assert Cm[E, E] == 0 and Cm.getrow(E).nnz == 0


def test_measures_by_hand():
    Cm = counts()
    npmi = association(Cm, N_COLL, "npmi")
    assert npmi[A, B] == pytest.approx(pmi(A, B) / -log(2 / 5), rel=1e-6)
    assert npmi[A, C] == pytest.approx(pmi(A, C) / -log(1 / 5), rel=1e-6)
    assert npmi[A, C] < 0  # 1/5 < 3/5 · 2/5
    # never together
    assert npmi[A, E] == 0 and (A, E) not in set(zip(*npmi.nonzero(), strict=True))
    assert npmi.nnz == 12  # every co-occurring ordered pair, no diagonal
    assert np.all(np.abs(npmi.data) <= 1)

    ppmi = association(Cm, N_COLL, "ppmi")
    assert ppmi[C, D] == pytest.approx(pmi(C, D), rel=1e-6)  # log(5/4) > 0
    assert ppmi[A, C] == 0 and ppmi.nnz == int((association(Cm, N_COLL, "npmi").data > 0).sum())

    jac = association(Cm, N_COLL, "jaccard")
    assert jac[A, B] == pytest.approx(2 / (3 + 3 - 2))
    assert jac[C, D] == pytest.approx(1 / (2 + 2 - 1))

    cond = association(Cm, N_COLL, "conditional")
    assert cond[A, C] == pytest.approx(1 / 3)  # P(C | A)
    assert cond[C, A] == pytest.approx(1 / 2)  # P(A | C): not symmetric

    inv = association(Cm, N_COLL, "inverse-log")
    assert inv[A, B] == pytest.approx(log(2))  # 1 / d with d = 1 / log(2)
    # a count of 1 has d = 1 / log 1, no finite dissimilarity: not a neighbour
    assert inv[A, D] == 0 and inv[A, C] == 0 and inv.nnz == 4  # A–B, B–C both ways

    raw = association(Cm, N_COLL, "pmi")
    assert raw[A, B] == pytest.approx(log(2 * 5 / (3 * 3)), rel=1e-6)
    assert raw[A, C] == pytest.approx(log(1 * 5 / (3 * 2)), rel=1e-6) and raw[A, C] < 0
    assert raw.nnz == 12  # raw PMI keeps negative values, like npmi

    dice = association(Cm, N_COLL, "dice")
    assert dice[A, B] == pytest.approx(2 * 2 / (3 + 3))
    assert dice[C, D] == pytest.approx(2 * 1 / (2 + 2))
    assert dice[A, D] == pytest.approx(2 * 1 / (3 + 2))
    for name in MEASURES:
        S = association(Cm, N_COLL, name)
        assert S.diagonal().sum() == 0 and np.isfinite(S.data).all() and S.dtype == np.float32


def test_npmi_is_one_when_both_are_in_every_collection():
    coll = np.array([0, 0, 1, 1], dtype=np.int32)
    ent = np.array([0, 1, 0, 1], dtype=np.int32)
    S = association(cooccurrence(coll, ent, 2, 2), 2, "npmi")
    assert S[0, 1] == 1.0


def test_association_refuses_bad_counts_and_survives_inconsistent_ones():
    with pytest.raises(InputError, match="finite and non-negative"):
        association(sp.csr_matrix(np.array([[1.0, np.nan], [np.nan, 1.0]])), 2, "npmi")
    no_diagonal = sp.csr_matrix(np.array([[0.0, 1.0], [1.0, 0.0]]))
    for name in MEASURES:  # not counts of real collections: odd values, but no crash
        assert association(no_diagonal, 2, name).shape == (2, 2)


def test_unknown_measure_names_the_allowed_ones():
    with pytest.raises(InputError,
                       match="npmi, ppmi, pmi, jaccard, dice, conditional, inverse-log"):
        association(counts(), N_COLL, "cosine")


@pytest.mark.parametrize("kwargs, match", [
    ({"ent": np.array([0, 7], np.int32)}, "entity index out of range"),
    ({"coll": np.array([0, -1], np.int32)}, "collection index out of range"),
    ({"ent": np.array([0], np.int32)}, "same length"),
    ({"weight": np.array([1.0, np.nan])}, "NaN"),
    ({"weight": np.array([1.0, -2.0])}, "negative"),
])
def test_bad_memberships(kwargs, match):
    args = {"coll": np.array([0, 1], np.int32), "ent": np.array([0, 1], np.int32),
            "weight": None} | kwargs
    with pytest.raises(InputError, match=match):
        cooccurrence(args["coll"], args["ent"], 3, 2, weight=args["weight"])


def test_no_memberships_gives_an_empty_matrix():
    empty = np.array([], dtype=np.int32)
    Cm = cooccurrence(empty, empty, 4, 0)
    assert Cm.shape == (4, 4) and Cm.nnz == 0
    idx, sim = top_k(association(Cm, 1, "npmi"), 2)
    assert (idx == -1).all() and np.isnan(sim).all()


def test_top_k_order_ties_and_padding():
    S = sp.csr_matrix(np.array([
        [9.0, 0.5, 0.9, 0.5, -0.3],  # self (9) excluded; tie 0.5: index 1 before 3
        [0.0, 0.0, 0.0, 0.0, 0.0],   # nothing: all padding
        [0.2, 0.2, 0.0, 0.2, 0.2],   # four-way tie, k=3 keeps the smallest indices
    ] + [[0.0] * 5] * 2))
    idx, sim = top_k(S, 3)
    assert idx.dtype == np.int32 and sim.dtype == np.float32 and idx.shape == (5, 3)
    np.testing.assert_array_equal(idx[0], [2, 1, 3])
    np.testing.assert_allclose(sim[0], [0.9, 0.5, 0.5])
    np.testing.assert_array_equal(idx[1], [-1, -1, -1])
    assert np.isnan(sim[1]).all()
    np.testing.assert_array_equal(idx[2], [0, 1, 3])
    # Negative associations are not partners unless min_weight lets them in.
    idx, sim = top_k(S, 5, min_weight=-1.0)
    np.testing.assert_array_equal(idx[0], [2, 1, 3, 4, -1])
    assert np.isnan(sim[0, 4])
    idx, _ = top_k(S, 5, min_weight=0.5)
    np.testing.assert_array_equal(idx[0], [2, 1, 3, -1, -1])
    with pytest.raises(InputError, match="k must be at least 1"):
        top_k(S, 0)


memberships = st.integers(1, 40).flatmap(lambda m: st.tuples(
    st.lists(st.integers(0, 5), min_size=m, max_size=m),
    st.lists(st.integers(0, 6), min_size=m, max_size=m),
    st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=m, max_size=m)))


@settings(max_examples=60, deadline=None)
@given(memberships)
def test_counts_match_a_dense_incidence_product(data):
    coll, ent, w = (np.array(x) for x in data)
    member = np.zeros((6, 7), dtype=int)
    member[coll, ent] = 1
    got = cooccurrence(coll.astype(np.int32), ent.astype(np.int32), 7, 6).toarray()
    np.testing.assert_array_equal(got, member.T @ member)
    Bd = np.zeros((6, 7))
    np.maximum.at(Bd, (coll, ent), w)  # duplicates: the max weight
    weighted = cooccurrence(coll.astype(np.int32), ent.astype(np.int32), 7, 6, weight=w)
    expected = np.minimum(Bd.T[:, None, :], Bd.T[None, :, :]).sum(axis=2)
    np.testing.assert_allclose(weighted.toarray(), expected)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 8).flatmap(lambda n: st.lists(
    st.lists(st.sampled_from([0.0, 0.0, -0.5, 0.25, 0.5, 1.0]), min_size=n, max_size=n),
    min_size=n, max_size=n)), st.integers(1, 6))
def test_top_k_matches_a_sort(rows, k):
    M = np.array(rows)
    idx, sim = top_k(sp.csr_matrix(M), k)
    for a, row in enumerate(M):
        partners = [j for j in range(len(row)) if j != a and row[j] > 0]
        want = sorted(partners, key=lambda j: (-row[j], j))[:k]
        assert idx[a].tolist() == want + [-1] * (k - len(want))
        np.testing.assert_allclose(sim[a, :len(want)], row[want])


# ---- size guard: co-occurrence is quadratic in a collection's size ----------------------

def _memberships(sizes):
    """Collections of these sizes over entities 0..max(sizes)-1."""
    coll = np.concatenate([np.full(s, c, np.int32) for c, s in enumerate(sizes)])
    ent = np.concatenate([np.arange(s, dtype=np.int32) for s in sizes])
    return coll, ent, max(sizes), len(sizes)


def test_pair_contributions_by_hand():
    from engine.cooccur import PAIR_BYTES, pair_contributions
    assert pair_contributions([3, 4, 1, 0]) == 9 + 16 + 1
    assert pair_contributions([]) == 0
    assert pair_contributions([40_000]) * PAIR_BYTES == 51_200_000_000  # the 40k case: 51 GB


def test_a_collection_over_the_cap_is_refused_before_counting(monkeypatch):
    import engine.cooccur as co
    coll, ent, n, n_coll = _memberships([300, 5, 250])
    monkeypatch.setattr(co, "incidence", lambda *a, **k: pytest.fail("counted"))
    names = {0: "big\x1bone", 1: "small", 2: "also"}
    with pytest.raises(InputError, match=r"collection 'big\x1bone' has 300 entities \(over "
                       r"--max-collection-size 200, as do 1 other") as err:
        co.cooccurrence(coll, ent, n, n_coll, max_collection_size=200,
                        collection_name=names.get)
    assert "--max-collection-size 0" in str(err.value)


def test_the_cap_lets_smaller_collections_through_and_none_means_no_cap():
    coll, ent, n, n_coll = _memberships([300, 5])
    C = cooccurrence(coll, ent, n, n_coll, max_collection_size=300)
    assert C[0, 1] == 2 and C[10, 11] == 1  # 0..4 are in both collections
    assert cooccurrence(coll, ent, n, n_coll, max_collection_size=None).nnz == C.nnz


def test_pair_memory_over_half_of_memory_is_refused_with_the_estimate():
    from engine.cooccur import check_collection_sizes
    coll, _, _, n_coll = _memberships([100, 50])  # 12,500 contributions × 32 = 400,000 bytes
    check_collection_sizes(coll, n_coll, memory=800_000)  # exactly half: still allowed
    with pytest.raises(InputError, match=r"about 0\.0 GB \(12,500 pair contributions"):
        check_collection_sizes(coll, n_coll, memory=799_999)
    big = np.zeros(1, np.int32)  # memory is checked regardless of the cap
    with pytest.raises(InputError, match="more than half of this machine's 0.0 GB"):
        check_collection_sizes(big, 1, None, memory=40)


def _direct(name, c, ca, cb, n):
    """Each measure from its definition, one pair at a time (None: not stored)."""
    pmi = log(c * n / (ca * cb))
    if name == "pmi":
        return pmi
    if name == "ppmi":
        return pmi if pmi > 0 else None
    if name == "npmi":
        return 1.0 if c >= n else max(-1.0, min(1.0, pmi / -log(c / n)))
    if name == "jaccard":
        return c / (ca + cb - c)
    if name == "dice":
        return 2 * c / (ca + cb)
    if name == "conditional":
        return c / ca
    return 1 / (1 / log(c)) if c > 1 else None  # inverse-log: 1 / d, d = 1 / log(count)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=6), min_size=1, max_size=12),
       st.sampled_from(MEASURES))
@example([[0]] * 6 + [[0, 1]] * 2, "ppmi")  # c·n = c_a·c_b: pmi exactly 0, not stored
def test_every_measure_matches_its_definition(collections, name):
    coll = np.array([i for i, c in enumerate(collections) for _ in c], dtype=np.int32)
    ent = np.array([e for c in collections for e in c], dtype=np.int32)
    n = len(collections)
    Cm = cooccurrence(coll, ent, 6, n)
    dense = Cm.toarray()
    S = association(Cm, n, name)
    coo = S.tocoo()  # explicit zeros are stored pairs (pmi of exactly chance)
    got = {(int(a), int(b)): float(v) for a, b, v in zip(coo.row, coo.col, coo.data,
                                                          strict=True)}
    want = {}
    for a in range(6):
        for b in range(6):
            if a != b and dense[a, b] > 0:
                v = _direct(name, dense[a, b], dense[a, a], dense[b, b], n)
                if v is not None:
                    want[(a, b)] = v
    assert got.keys() == want.keys()
    for pair, v in want.items():
        assert got[pair] == pytest.approx(v, rel=1e-5, abs=1e-6)
