"""Several named embeddings in one dataset file: each with its own steps, matched by id."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.dataset import Dataset
from engine.errors import InputError, NoMatch
from engine.pipeline import BuildOptions, build
from engine.store import Store

N = 40


def _opts(**kw) -> BuildOptions:
    return BuildOptions(**{"id_col": "id", "vector_col": "vec", "k": 4, **kw})


def _vectors(path, ids, X, labels=None):
    cols = {"id": list(ids), "vec": list(np.asarray(X, np.float32))}
    if labels is not None:
        cols["label"] = list(labels)
    pq.write_table(pa.table(cols), path)


def _direct_neighbours(X: np.ndarray, k: int) -> np.ndarray:
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    S = Xn @ Xn.T
    np.fill_diagonal(S, -np.inf)
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """A file of 40 entities (embedding "first"), then "second" from an input holding 30 of
    them in another order plus two ids the file lacks."""
    d = tmp_path_factory.mktemp("emb")
    rng = np.random.default_rng(1)
    ids = [f"e{i:02d}" for i in range(N)]
    X = rng.normal(size=(N, 6))
    _vectors(d / "a.parquet", ids, X, [f"entity {i}" for i in range(N)])
    pick = rng.permutation(N)[:30]
    Y = rng.normal(size=(32, 3))
    _vectors(d / "b.parquet", [ids[i] for i in pick] + ["zz1", "zz2"], Y)
    out = d / "x.duckdb"
    first = build(d / "a.parquet", out, _opts(embedding="first"))
    second = build(d / "b.parquet", out, _opts(embedding="second"))
    return {"out": out, "d": d, "ids": ids, "X": X, "Y": Y, "pick": pick, "first": first,
            "second": second}


def test_a_second_embedding_is_added_beside_the_first(two):
    assert "ingest" in two["second"].computed and "knn" in two["second"].computed
    with Dataset.open(two["out"]) as ds:
        assert ds.embedding == "first" and ds.embeddings == ["first", "second"]
        assert ds.n == N and ds.dim == 6 and ds.members is None
        with ds.with_embedding("second") as other:
            assert other.n == N and other.dim == 3 and other.kind == "vectors"
            assert other.members.tolist() == sorted(two["pick"].tolist())
            # the first embedding's labels: entities are the file's, not the input's
            assert other.labels[0] == "entity 0"


def test_ids_are_matched_not_positions(two):
    pick, Y, ids = two["pick"], two["Y"][:30], two["ids"]
    direct = _direct_neighbours(Y, 4)  # in the input's own order
    with Dataset.open(two["out"], "second") as ds:
        for row, i in enumerate(pick):
            got = ds.neighbors(int(i)).idx
            assert [ds.ids[j] for j in got] == [ids[pick[j]] for j in direct[row]]
        left_out = sorted(set(range(N)) - set(pick.tolist()))[0]
        with pytest.raises(NoMatch, match="is not in embedding second"):
            ds.neighbors(left_out)
        xy = ds.layout()
        assert np.isnan(xy[left_out]).all() and np.isfinite(xy[pick]).all()
        labels, _ = ds.community_labels("label-propagation")
        assert labels[left_out] == -1
        a, b, _ = ds.merge_tree
        assert set(a.tolist()) | set(b.tolist()) <= set(pick.tolist())
        t = ds.trust()
        assert np.isnan(t.share[left_out]) and 0 <= t.mean <= 1


def test_what_was_left_out_is_reported(two):
    warnings = " ".join(two["second"].warnings)
    assert "2 of its 32 ids are not entities of the dataset" in warnings
    assert "'zz1'" in warnings
    assert "holds 30 of the dataset's 40 entities; the other 10" in warnings


def test_building_one_embedding_never_recomputes_another(two, tmp_path):
    out = tmp_path / "x.duckdb"
    out.write_bytes(two["out"].read_bytes())
    with Store.open(out) as store:
        before = store.steps()
    report = build(two["d"] / "b.parquet", out, _opts(embedding="second", k=3))
    assert "knn" in report.computed and "ingest" in report.cached
    again = build(two["d"] / "a.parquet", out, _opts(embedding="first"))
    assert again.up_to_date
    with Store.open(out) as store:
        assert store.steps() == before  # the first embedding's steps, untouched
    with Dataset.open(out, "second") as ds:
        assert ds.k == 3


def test_new_entities_for_the_first_drop_the_others(two, tmp_path):
    out = tmp_path / "x.duckdb"
    out.write_bytes(two["out"].read_bytes())
    _vectors(tmp_path / "c.parquet", [f"n{i}" for i in range(N)], two["X"])
    report = build(tmp_path / "c.parquet", out, _opts())
    assert any("embeddings built over them are removed: second" in w
               for w in report.warnings)
    with Dataset.open(out) as ds:
        assert ds.embeddings == ["first"] and ds.ids[0] == "n0"
    with pytest.raises(InputError, match="has no embedding 'second'"):
        Dataset.open(out, "second")


def test_an_embedding_of_collections_beside_vectors(two, tmp_path):
    out = tmp_path / "x.duckdb"
    out.write_bytes(two["out"].read_bytes())
    ids = two["ids"]
    # baskets of four neighbouring ids: e00..e03, e01..e04, …
    rows = [(f"b{j}", ids[(j + t) % N]) for j in range(N) for t in range(4)]
    pq.write_table(pa.table({"basket": [r[0] for r in rows], "item": [r[1] for r in rows]}),
                   tmp_path / "m.parquet")
    build(tmp_path / "m.parquet", out,
          BuildOptions(kind="collections", collection_col="basket", entity_col="item", k=4,
                       embedding="baskets"))
    with Dataset.open(out, "baskets") as ds:
        assert ds.kind == "collections" and ds.dim is None and ds.members is None
        near = {ds.ids[j] for j in ds.neighbors("e10").idx[:2]}
        assert near == {"e09", "e11"}
    with Dataset.open(out) as ds:  # the first is still vectors
        assert ds.kind == "vectors" and ds.embeddings == ["first", "second", "baskets"]


def test_a_version_2_file_reads_and_takes_a_second_embedding(two, tmp_path):
    out = tmp_path / "v2.duckdb"
    build(two["d"] / "a.parquet", out, _opts())
    with Store.open(out, read_only=False) as store:  # as version 2 wrote it
        store.con.execute("DELETE FROM meta WHERE key = 'embeddings'")
        store.con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with Dataset.open(out) as ds:
        assert ds.embeddings == ["default"] and ds.embedding == "default"
        assert ds.neighbors("e00").idx.shape == (4,)
    build(two["d"] / "b.parquet", out, _opts(embedding="more"))
    with Store.open(out) as store:
        assert store.schema_version() == 3 and store.embeddings() == ["default", "more"]


def test_bad_embedding_names_are_refused_in_one_line(two, tmp_path):
    with pytest.raises(InputError, match="a name is 1 to 64 letters"):
        build(two["d"] / "a.parquet", tmp_path / "y.duckdb", _opts(embedding="a;b"))
    assert not (tmp_path / "y.duckdb").exists()
    with pytest.raises(InputError, match=r"has no embedding 'nope' \(it has: first, second\)"):
        Dataset.open(two["out"], "nope")


def test_an_input_sharing_no_id_is_refused_and_leaves_the_file(two, tmp_path):
    out = tmp_path / "x.duckdb"
    out.write_bytes(two["out"].read_bytes())
    before = out.read_bytes()
    _vectors(tmp_path / "z.parquet", [f"q{i}" for i in range(10)], np.eye(10)[:, :4] + 0.1)
    with pytest.raises(InputError, match="none of its 10 ids is an entity of the dataset"):
        build(tmp_path / "z.parquet", out, _opts(embedding="third"))
    assert out.read_bytes() == before
