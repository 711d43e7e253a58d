"""engine.pairs and Dataset.pairs: the most and least similar pairs, against answers worked by
hand and against a direct double loop over every pair (or every stored edge)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.dataset import Dataset
from engine.errors import InputError
from engine.pairs import (
    MAX_LIMIT,
    SAMPLE_SEED,
    check_limit,
    graph_pairs,
    lowest_vector_pairs,
    pairs,
    undirected,
)
from engine.pipeline import BuildOptions, build
from engine.store import Store


def vectors_file(tmp_path, X, name="v", k=3, metric="cosine"):
    X = np.asarray(X, dtype=np.float32)
    src = tmp_path / f"{name}.parquet"
    pq.write_table(pa.table({"id": [f"e{i}" for i in range(len(X))],
                             "embedding": pa.array(list(X), type=pa.list_(pa.float32()))}), src)
    out = tmp_path / f"{name}.duckdb"
    build(src, out, BuildOptions(kind="vectors", k=k, metric=metric, layouts=(),
                                 communities=()))
    return out


def by_id(ds, result):
    return [(str(ds.ids[a]), str(ds.ids[b])) for a, b in zip(result.a, result.b, strict=True)]


def cosine(x, y) -> float:
    return float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y)))


def slow_pairs(X, sim, least):
    """Every pair i < j by a double loop, sorted by similarity, ties by (i, j)."""
    rows = [(sim(X[i], X[j]), i, j) for i, j in itertools.combinations(range(len(X)), 2)]
    return sorted(rows, key=lambda r: ((r[0] if least else -r[0]), r[1], r[2]))


def slow_graph(idx, sim):
    """Every stored edge once, with the larger of its two similarities, by a loop."""
    best = {}
    for i in range(idx.shape[0]):
        for j, s in zip(idx[i], sim[i], strict=True):
            if j < 0 or j == i or not math.isfinite(s):
                continue
            key = (min(i, int(j)), max(i, int(j)))
            best[key] = max(best.get(key, -math.inf), float(s))
    return best


def ordered(best, least):
    return sorted(((s, a, b) for (a, b), s in best.items()),
                  key=lambda r: ((r[0] if least else -r[0]), r[1], r[2]))


# ---- by hand -------------------------------------------------------------------------------

def test_four_vectors_by_hand(tmp_path):
    # e0 at 0°, e1 at 10°, e2 at 180°, e3 at 90°: most alike e0–e1 (cos 10°), least alike
    # e0–e2 (−1), then e1–e2 (−cos 10°)
    a = math.radians(10)
    X = [[1, 0], [math.cos(a), math.sin(a)], [-1, 0], [0, 1]]
    with Dataset.open(vectors_file(tmp_path, X)) as ds:
        most = ds.pairs(limit=1)
        assert by_id(ds, most) == [("e0", "e1")]
        assert most.similarity[0] == pytest.approx(math.cos(a), abs=1e-6)
        assert most.exact and most.among == "knn graph" and most.measure == "cosine"
        least = ds.pairs(least=True, limit=2)
        assert by_id(ds, least) == [("e0", "e2"), ("e1", "e2")]
        assert least.similarity.tolist() == pytest.approx([-1.0, -math.cos(a)])
        assert least.exact and least.sampled is None and least.among == "all pairs"
        doc = least.document(ds)
        assert doc["pairs"][0] == {"a": {"id": "e0", "label": "e0"},
                                   "b": {"id": "e2", "label": "e2"}, "similarity": -1.0}
        assert doc["exact"] is True and doc["measure"] == "cosine" and "sampled" not in doc


def test_ties_go_to_the_smaller_pair(tmp_path):
    # five equal vectors: every pair has similarity 1, so the order is the pairs' own
    with Dataset.open(vectors_file(tmp_path, [[1.0, 2.0]] * 5, k=4)) as ds:
        want = [(f"e{i}", f"e{j}") for i, j in itertools.combinations(range(5), 2)]
        for least in (False, True):
            got = ds.pairs(least=least, limit=10)
            assert [(ds.ids[a], ds.ids[b]) for a, b in zip(got.a, got.b, strict=True)] == want
            assert got.exact  # the graph lists every pair, so the strongest are all pairs'


# ---- against a double loop -----------------------------------------------------------------

@pytest.fixture(scope="module")
def random_vectors(tmp_path_factory):
    X = np.random.default_rng(3).normal(size=(70, 6)).astype(np.float32)
    return X, vectors_file(tmp_path_factory.mktemp("pairs"), X, k=5)


def test_least_similar_vectors_are_those_of_every_pair(random_vectors):
    X, path = random_vectors
    want = slow_pairs(X.astype(np.float64), cosine, least=True)[:25]
    with Dataset.open(path) as ds:
        got = ds.pairs(least=True, limit=25)
        assert [(int(a), int(b)) for a, b in zip(got.a, got.b, strict=True)] == [
            (i, j) for _, i, j in want]
        np.testing.assert_allclose(got.similarity, [s for s, _, _ in want], atol=1e-12)


def test_most_similar_vectors_are_the_graphs_strongest_and_exact_up_to_k(random_vectors):
    X, path = random_vectors
    every = slow_pairs(X.astype(np.float64), cosine, least=False)
    with Dataset.open(path) as ds:
        top = ds.pairs(limit=5)  # k = 5: the 5 strongest of all pairs are in the graph
        assert top.exact
        assert [(int(a), int(b)) for a, b in zip(top.a, top.b, strict=True)] == [
            (i, j) for _, i, j in every[:5]]
        np.testing.assert_allclose(top.similarity, [s for s, _, _ in every[:5]], atol=1e-6)
        # beyond k the listing is the graph's, as the merge tree weighs its edges
        wide = ds.pairs(limit=60)
        assert not wide.exact
        want = ordered(slow_graph(ds.knn.idx, ds.knn.sim), least=False)[:60]
        assert [(int(a), int(b)) for a, b in zip(wide.a, wide.b, strict=True)] == [
            (a, b) for _, a, b in want]
        assert wide.values() == [float(str(np.float32(s))) for s, _, _ in want]


def test_the_sample_is_the_seeded_one_and_its_pairs_are_exact_among_it(random_vectors):
    X, path = random_vectors
    with Dataset.open(path) as ds:
        got = pairs(ds, least=True, limit=10, exact_max_n=50, sample_size=30)
    assert not got.exact and got.sampled == 30
    sample = np.sort(np.random.default_rng(SAMPLE_SEED).choice(70, size=30, replace=False))
    want = slow_pairs(X[sample].astype(np.float64), cosine, least=True)[:10]
    assert [(int(a), int(b)) for a, b in zip(got.a, got.b, strict=True)] == [
        (int(sample[i]), int(sample[j])) for _, i, j in want]
    np.testing.assert_allclose(got.similarity, [s for s, _, _ in want], atol=1e-12)


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot"])
def test_blocks_of_one_row_give_the_whole_matrix_answer(metric):
    X = np.random.default_rng(1).normal(size=(40, 5))
    sims = {"cosine": cosine,
            "euclidean": lambda x, y: 1.0 / (1.0 + float(np.linalg.norm(x - y))),
            "dot": lambda x, y: float(np.dot(x, y))}
    want = slow_pairs(X, sims[metric], least=True)[:15]
    for block_bytes in (1, 8 * 40 * 7, 1 << 20):
        a, b, s = lowest_vector_pairs(X, metric, 15, block_bytes=block_bytes)
        assert list(zip(a.tolist(), b.tolist(), strict=True)) == [(i, j) for _, i, j in want]
        np.testing.assert_allclose(s, [v for v, _, _ in want], atol=1e-12)


def test_the_graphs_shortcut_matches_every_edge_sorted():
    rng = np.random.default_rng(5)
    n, k = 200, 6
    idx = np.array([rng.choice(np.delete(np.arange(n), i), k, replace=False) for i in range(n)],
                   dtype=np.int32)
    sim = rng.choice(np.linspace(0, 1, 50), size=(n, k)).astype(np.float32)  # many ties
    idx[::7, -2:] = -1  # short rows
    sim[::7, -2:] = np.nan
    best = slow_graph(idx, sim)
    a, b, w = undirected(idx, sim)
    assert dict(zip(zip(a.tolist(), b.tolist(), strict=True), w.tolist(), strict=True)) == best
    for least in (False, True):
        for limit in (1, 7, 40, 5000):
            ga, gb, gs = graph_pairs((idx, sim), limit, least)
            want = ordered(best, least)[:limit]
            assert list(zip(ga.tolist(), gb.tolist(), strict=True)) == [
                (x, y) for _, x, y in want]


# ---- collections ---------------------------------------------------------------------------

def slow_npmi(ds):
    """npmi of every pair sharing a collection, counted by a loop over the memberships."""
    m = ds.memberships_of(np.arange(ds.n))
    holds = {}
    for c, i in zip(m["coll"].tolist(), m["idx"].tolist(), strict=True):
        holds.setdefault(int(i), set()).add(int(c))
    total = m["n_collections"]
    out = {}
    for i, j in itertools.combinations(range(ds.n), 2):
        c = len(holds[i] & holds[j])
        if c == 0:
            continue
        pmi = math.log(c * total / (len(holds[i]) * len(holds[j])))
        out[(i, j)] = 1.0 if c == total else pmi / -math.log(c / total)
    return out


def test_least_associated_pairs_are_those_that_met(baskets_dataset):
    with Dataset.open(baskets_dataset) as ds:
        got = ds.pairs(least=True, limit=12)
        slow = slow_npmi(ds)
        want = ordered(slow, least=True)[:12]
        assert got.exact and got.measure == "npmi" and got.among == "co-occurring pairs"
        assert [(int(a), int(b)) for a, b in zip(got.a, got.b, strict=True)] == [
            (a, b) for _, a, b in want]
        np.testing.assert_allclose(got.similarity, [s for s, _, _ in want], atol=1e-6)
        # the values are the heatmap's, whose matrix holds every pair
        hm = ds.heatmap(np.arange(ds.n))
        pos = {int(e): p for p, e in enumerate(hm.idx)}
        for a, b, s in zip(got.a, got.b, got.similarity, strict=True):
            assert hm.matrix[pos[int(a)], pos[int(b)]] == pytest.approx(s, abs=1e-7)
        # the colas are never bought together: no association of their own, so not listed
        cola = {i for i in range(ds.n) if str(ds.ids[i]).startswith("cola")}
        every = ds.pairs(least=True, limit=MAX_LIMIT)
        assert len(every) == len(slow)
        assert cola not in [{int(a), int(b)} for a, b in zip(every.a, every.b, strict=True)]


def test_most_associated_pairs_are_the_graphs_strongest(baskets_dataset):
    with Dataset.open(baskets_dataset) as ds:
        got = ds.pairs(limit=5)
        want = ordered(slow_graph(ds.knn.idx, ds.knn.sim), least=False)[:5]
        assert [(int(a), int(b)) for a, b in zip(got.a, got.b, strict=True)] == [
            (a, b) for _, a, b in want]
        assert got.exact  # limit ≤ k on an association graph
        every = ordered(slow_npmi(ds), least=False)[:5]
        assert [(int(a), int(b)) for a, b in zip(got.a, got.b, strict=True)] == [
            (a, b) for _, a, b in every]


def test_a_context_graphs_pairs_are_its_stored_edges(tmp_path, baskets_csv):
    out = tmp_path / "context.duckdb"
    build(baskets_csv, out, BuildOptions(kind="collections", collection_col="basket",
                                         entity_col="product", k=4, min_count=2,
                                         graph="context", layouts=(), communities=()))
    with Dataset.open(out) as ds:
        best = slow_graph(ds.knn.idx, ds.knn.sim)
        for least in (False, True):
            got = ds.pairs(least=least, limit=8)
            assert got.exact and got.measure == "context" and got.among == "knn graph"
            want = ordered(best, least)[:8]
            assert [(int(a), int(b)) for a, b in zip(got.a, got.b, strict=True)] == [
                (a, b) for _, a, b in want]


# ---- refusals ------------------------------------------------------------------------------

@pytest.mark.parametrize("limit, says", [(0, "at least 1"), (-3, "at least 1"),
                                         (MAX_LIMIT + 1, "at most 10,000"),
                                         (2.5, "whole number")])
def test_a_limit_out_of_bounds_is_refused(limit, says):
    with pytest.raises(InputError, match=says):
        check_limit(limit)


def test_without_a_graph_it_says_what_is_missing(tmp_path, baskets_dataset):
    import shutil
    path = tmp_path / "nograph.duckdb"
    shutil.copy(baskets_dataset, path)
    store = Store.open(path, read_only=False)
    store.con.execute("DELETE FROM steps WHERE name = 'knn'")
    store.close()
    before = path.read_bytes()
    with Dataset.open(path) as ds:
        for least in (False, True):
            with pytest.raises(InputError, match="has no neighbour graph yet"):
                ds.pairs(least=least)
    assert path.read_bytes() == before
