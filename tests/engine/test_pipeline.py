"""Cache keys, per-step transactions and the Dataset API over a small built file."""

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from engine import pipeline
from engine.dataset import Dataset, group_labels
from engine.errors import InputError, NoMatch
from engine.pipeline import BuildOptions, build, plan, step_key
from engine.store import Store
from sample_data.fixtures import vectors_table


def test_keys_chain_through_steps():
    a = plan(BuildOptions(k=5), "src")
    b = plan(BuildOptions(k=6), "src")
    assert a["ingest"] == b["ingest"]
    assert a["knn"][1] != b["knn"][1]
    assert a["layout:umap"][1] != b["layout:umap"][1]  # downstream of a changed step
    assert plan(BuildOptions(k=5), "other")["knn"][1] != a["knn"][1]
    assert step_key({"x": 1}, ["a"]) == step_key({"x": 1}, ["a"])


def test_rebuild_recomputes_only_what_changed(tmp_path, vectors_parquet):
    out = tmp_path / "d.duckdb"
    first = build(vectors_parquet, out, BuildOptions(k=4))
    assert first.computed == ["ingest", "knn", "layout:umap", "merge_tree",
                              "communities:label-propagation"]
    again = build(vectors_parquet, out, BuildOptions(k=4))
    assert again.up_to_date and again.cached == first.computed
    seeded = build(vectors_parquet, out, BuildOptions(k=4, seed=1))
    assert "ingest" in seeded.cached and "layout:umap" in seeded.computed
    with Dataset.open(out) as ds:
        assert ds.k == 4 and ds.info()["steps"]["layout:umap"]["params"]["seed"] == 1


def test_a_failing_step_leaves_previous_steps_intact(tmp_path, vectors_parquet, monkeypatch):
    out = tmp_path / "d.duckdb"
    build(vectors_parquet, out, BuildOptions(k=4))
    with Dataset.open(out) as ds:
        before = ds.layout().copy()

    def boom(*args, **kwargs):
        raise RuntimeError("killed")

    import engine.layout
    monkeypatch.setattr(engine.layout, "umap_layout", boom)
    with pytest.raises(RuntimeError):
        build(vectors_parquet, out, BuildOptions(k=4, seed=7))
    with Dataset.open(out) as ds:  # the old layout step still stands, complete and valid
        assert ds.layouts == ["umap"]
        np.testing.assert_array_equal(ds.layout(), before)
        assert ds.steps["layout:umap"].params["seed"] == 0


def test_changed_input_invalidates_downstream(tmp_path):
    src = tmp_path / "v.parquet"
    pq.write_table(vectors_table(n_per=10), src)
    out = tmp_path / "d.duckdb"
    build(src, out, BuildOptions(k=3, layouts=()))
    pq.write_table(vectors_table(n_per=12), src)
    report = build(src, out, BuildOptions(k=3, layouts=()))
    assert report.computed[:2] == ["ingest", "knn"]
    with Dataset.open(out) as ds:
        assert ds.n == 36


def test_dataset_api(vectors_dataset):
    with Dataset.open(vectors_dataset) as ds:
        assert ds.n == 60 and ds.kind == "vectors" and ds.dim == 8
        assert ds.metadata_columns == ["weight", "group"]
        assert ds.labels[0] == "alpha item 0"
        nb = ds.neighbors("e000", k=3)
        assert nb.query == 0 and len(nb.idx) == 3 and (nb.idx < 20).all()
        assert ds.resolve("ALPHA ITEM 0") == 0
        with pytest.raises(NoMatch):
            ds.resolve("qqqqzzzz")
        xy = ds.layout()
        assert xy.shape == (60, 2) and np.isfinite(xy).all()
        cl = ds.clusters(threshold=0.5, min_size=2)
        assert list(cl.sizes) == [20, 20, 20]
        assert ds.entity(0)["group"] == "alpha" and ds.entity(0)["degree"] >= 0
        assert ds.search("gamma")[0]["label"].startswith("gamma")


def test_store_refuses_missing_layout(vectors_dataset):
    with Dataset.open(vectors_dataset) as ds:
        with pytest.raises(InputError, match="no layout 'tsne'"):
            ds.layout("tsne")


def test_group_labels_largest_first():
    labels = np.array([2, 2, 0, 1, 1, 1, 3, -1], dtype=np.int32)
    order, offsets, ids, singletons = group_labels(labels, min_size=2)
    assert list(ids) == [1, 2] and list(np.diff(offsets)) == [3, 2]
    assert list(order) == [3, 4, 5, 0, 1] and singletons == 2


def test_store_is_read_only_for_readers(vectors_dataset):
    store = Store.open(vectors_dataset)
    with pytest.raises(duckdb.InvalidInputException, match="read-only mode"):
        store.con.execute("DELETE FROM knn")
    store.close()
