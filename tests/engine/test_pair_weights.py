"""Pair weighting within a collection: a pair adds exp(−|x_a − x_b| / S) instead of 1."""

from math import exp

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.cooccur import association, cooccurrence
from engine.errors import InputError
from engine.ingest import read_collections
from engine.pipeline import BuildOptions, build
from engine.steps import plan

# c0 = {a: 0, b: 1, c: 3}, c1 = {a: 0, b: 2}
COLL = np.array([0, 0, 0, 1, 1])
ENT = np.array([0, 1, 2, 0, 1])
X = np.array([0.0, 1.0, 3.0, 0.0, 2.0])


def test_hand_worked_values_and_the_diagonal_stays_a_count():
    C = cooccurrence(COLL, ENT, 3, 2, pair_value=X, pair_scale=1.0).toarray()
    expected = np.array([
        [2, exp(-1) + exp(-2), exp(-3)],
        [exp(-1) + exp(-2), 2, exp(-2)],
        [exp(-3), exp(-2), 1],
    ])
    np.testing.assert_allclose(C, expected)
    # S scales the distance: S = 2 halves every exponent
    C2 = cooccurrence(COLL, ENT, 3, 2, pair_value=X, pair_scale=2.0).toarray()
    np.testing.assert_allclose(C2[0, 1], exp(-0.5) + exp(-1))
    # the measures read c_a = collections holding a: jaccard of (a, c) = e⁻³ / (2 + 1 − e⁻³)
    J = association(sp_csr(C), 2, "jaccard").toarray()
    np.testing.assert_allclose(J[0, 2], exp(-3) / (3 - exp(-3)), rtol=1e-6)


def sp_csr(M):
    import scipy.sparse as sp
    return sp.csr_matrix(M)


def test_a_huge_scale_gives_the_plain_counts_and_duplicates_take_the_smallest_value():
    plain = cooccurrence(COLL, ENT, 3, 2).toarray()
    near = cooccurrence(COLL, ENT, 3, 2, pair_value=X, pair_scale=1e12).toarray()
    np.testing.assert_allclose(near, plain)
    # a listed twice in c0, at 0 and at 5: the 0 counts
    coll, ent, x = np.r_[COLL, 0], np.r_[ENT, 0], np.r_[X, 5.0]
    C = cooccurrence(coll, ent, 3, 2, pair_value=x, pair_scale=1.0).toarray()
    np.testing.assert_allclose(C, cooccurrence(COLL, ENT, 3, 2, pair_value=X,
                                               pair_scale=1.0).toarray())


def slow(coll, ent, n, weight, x, s):
    """The write-up's per-collection double loop, over distinct memberships."""
    C = np.zeros((n, n))
    members = {}
    for i, (c, e) in enumerate(zip(coll, ent, strict=True)):
        w = 1.0 if weight is None else weight[i]
        old = members.setdefault(c, {}).get(e)
        members[c][e] = (max(w, old[0]), min(x[i], old[1])) if old else (w, x[i])
    for m in members.values():
        for a, (wa, xa) in m.items():
            for b, (wb, xb) in m.items():
                if wa > 0 and wb > 0:
                    C[a, b] += min(wa, wb) * np.exp(-abs(xa - xb) / s)
    return C


memberships = st.integers(1, 7).flatmap(lambda n: st.integers(1, 6).flatmap(
    lambda m: st.tuples(st.just(n), st.just(m), st.lists(st.tuples(
        st.integers(0, m - 1), st.integers(0, n - 1), st.floats(-50, 50),
        st.sampled_from([0.0, 0.5, 1.0, 2.0])), min_size=1, max_size=40))))


@settings(max_examples=60, deadline=None)
@given(memberships, st.floats(0.1, 20), st.booleans())
def test_kernel_matches_the_double_loop(case, s, weighted):
    n, m, rows = case
    coll = np.array([r[0] for r in rows])
    ent = np.array([r[1] for r in rows])
    x = np.array([r[2] for r in rows])
    w = np.array([r[3] for r in rows]) if weighted else None
    got = cooccurrence(coll, ent, n, m, weight=w, pair_value=x, pair_scale=s).toarray()
    np.testing.assert_allclose(got, slow(coll, ent, n, w, x, s), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("x, s, message", [
    (np.array([0.0, np.nan, 1, 2, 3]), 1.0, "NaN"),
    (X, 0.0, "--pair-scale must be a positive number"),
    (X, -1.0, "--pair-scale must be a positive number"),
    (X, float("nan"), "--pair-scale must be a positive number"),
])
def test_missing_values_and_bad_scales_are_refused(x, s, message):
    with pytest.raises(InputError, match=message):
        cooccurrence(COLL, ENT, 3, 2, pair_value=x, pair_scale=s)


def test_the_size_cap_guards_the_pair_kernel_too():
    with pytest.raises(InputError, match="--max-collection-size 2"):
        cooccurrence(COLL, ENT, 3, 2, pair_value=X, pair_scale=1.0, max_collection_size=2)


FRAME = pd.DataFrame({"collection": ["u1", "u1", "u1", "u2", "u2"],
                      "entity": ["a", "b", "c", "a", "b"], "t": X})


def test_ingest_keeps_the_value_and_refuses_a_missing_one():
    got = read_collections(FRAME, pair_attribute="t")
    assert got.memberships.column("value").to_pylist() == [0.0, 1.0, 3.0, 0.0, 2.0]
    holed = FRAME.assign(t=[0.0, None, 3.0, 0.0, 2.0])
    with pytest.raises(InputError, match="column 't' has no number .* on 1 memberships"):
        read_collections(holed, pair_attribute="t")
    with pytest.raises(InputError, match="'entity' is .*not numeric"):
        read_collections(FRAME, pair_attribute="entity")
    with pytest.raises(InputError, match="no pair attribute column 'when'"):
        read_collections(FRAME, pair_attribute="when")


def test_options_in_the_keys_only_when_given():
    base = BuildOptions(kind="collections")
    paired = BuildOptions(kind="collections", pair_attribute="t", pair_scale=2.0)
    p0, p1 = plan(base, "src", 10), plan(paired, "src", 10)
    assert "pair_attribute" not in p0["ingest"].params
    assert "pair_scale" not in p0["knn"].params
    assert p1["ingest"].params["pair_attribute"] == "t"
    assert p1["knn"].params["pair_scale"] == 2.0 and p1["knn"].key != p0["knn"].key


@pytest.mark.parametrize("changes, message", [
    ({"pair_attribute": "t"}, "--pair-attribute needs --pair-scale"),
    ({"pair_scale": 1.0}, "--pair-scale goes with --pair-attribute"),
    ({"pair_attribute": "t", "pair_scale": 0.0}, "--pair-scale must be a positive"),
    ({"pair_attribute": "t", "pair_scale": 1.0, "kind": "vectors"}, "applies to --collections"),
])
def test_bad_option_sets_are_refused_before_anything_is_written(tmp_path, changes, message):
    out = tmp_path / "out.duckdb"
    opt = BuildOptions(**{"kind": "collections", "layouts": (), **changes})
    with pytest.raises(InputError, match=message):
        build(FRAME, out, opt, source_key="frame")
    assert not out.exists()


def test_a_build_weights_pairs_and_a_rebuild_reads_the_stored_values(tmp_path):
    out = tmp_path / "out.duckdb"
    opt = BuildOptions(kind="collections", pair_attribute="t", pair_scale=1.0, k=2,
                       measure="jaccard", layouts=(), communities=())
    build(FRAME, out, opt, source_key="frame")
    # a new scale recomputes the graph from the values stored by ingest
    from engine.dataset import Dataset
    report = build(FRAME, out, BuildOptions(**{**opt.__dict__, "pair_scale": 1e9}),
                   source_key="frame")
    assert report.computed == ["knn", "merge_tree"] and "ingest" in report.cached
    with Dataset.open(out) as ds:
        nb = ds.neighbors("a", 2)
        # with a huge scale the plain jaccard: (a, b) share both collections
        assert ds.ids[nb.idx[0]] == "b" and nb.sim[0] == pytest.approx(1.0)
