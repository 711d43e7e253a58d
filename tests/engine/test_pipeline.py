"""Cache keys, per-step transactions and the Dataset API over a small built file."""

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from engine.dataset import Dataset
from engine.errors import InputError, NoMatch
from engine.ingest import file_key
from engine.knngraph import KnnGraph
from engine.pipeline import BuildOptions, build, plan, step_key
from engine.store import Store
from sample_data.fixtures import vectors_table


def test_keys_chain_through_steps():
    a = plan(BuildOptions(k=5), "src")
    b = plan(BuildOptions(k=6), "src")
    assert a["ingest"] == b["ingest"]
    assert a["knn"].key != b["knn"].key
    assert a["layout:umap"].key != b["layout:umap"].key  # downstream of a changed step
    assert plan(BuildOptions(k=5), "other")["knn"].key != a["knn"].key
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


def test_clusters_by_method_and_threshold_are_one_listing(vectors_dataset):
    with Dataset.open(vectors_dataset) as ds:
        method = ds.community_methods[0]
        by_method = ds.clusters(method=method, min_size=1)
        labels, _ = ds.community_labels(method)
        assert by_method.method == method and by_method.threshold is None
        assert sorted(by_method.order) == list(np.flatnonzero(labels >= 0))
        t = float(np.median(ds.merge_tree[2]))
        at_t = ds.clusters(threshold=t)
        assert at_t.threshold == t and (np.diff(at_t.sizes) <= 0).all()
        assert all(at_t.cluster_of(i) == c for c in range(len(at_t)) for i in at_t.members(c))
        with pytest.raises(InputError, match="either a threshold or a method"):
            ds.clusters()


def test_stored_graph_is_a_knn_graph(vectors_dataset):
    with Dataset.open(vectors_dataset) as ds:
        graph = ds.knn
        assert isinstance(graph, KnnGraph) and (graph.n, graph.k) == (ds.n, ds.k)
        assert graph.to_csr().nnz == int((graph.idx >= 0).sum())


def test_store_is_read_only_for_readers(vectors_dataset):
    store = Store.open(vectors_dataset)
    with pytest.raises(duckdb.InvalidInputException, match="read-only mode"):
        store.con.execute("DELETE FROM knn")
    store.close()


def _rebuild(src, out, opt):
    """Build, then check every planned step's stored row is the plan's (params and key)."""
    report = build(src, out, opt)
    with Dataset.open(out) as ds:
        planned = plan(opt, file_key(src), ds.n)
        assert set(planned) <= ds.valid
        assert {name: (ds.steps[name].params, ds.steps[name].key) for name in planned} == {
            name: (p.params, p.key) for name, p in planned.items()}
    order = list(planned)
    assert sorted(report.computed + report.cached, key=order.index) == order
    return report


def test_one_changed_parameter_recomputes_its_step_and_those_after(tmp_path, vectors_parquet):
    out = tmp_path / "d.duckdb"
    after_graph = ["layout:umap", "merge_tree", "communities:label-propagation"]
    assert _rebuild(vectors_parquet, out, BuildOptions(k=4)).computed == [
        "ingest", "knn", *after_graph]
    assert _rebuild(vectors_parquet, out, BuildOptions(k=5)).computed == ["knn", *after_graph]
    # 60 entities get an exact graph, which no seed changes
    assert _rebuild(vectors_parquet, out, BuildOptions(k=5, seed=1)).computed == [
        "layout:umap", "communities:label-propagation"]
    slpa = _rebuild(vectors_parquet, out, BuildOptions(k=5, seed=1, communities=("slpa",)))
    assert slpa.computed == ["communities:slpa"]
    assert slpa.cached == ["ingest", "knn", "layout:umap", "merge_tree"]
    assert _rebuild(vectors_parquet, out, BuildOptions(k=5, seed=1)).up_to_date
    with Dataset.open(out) as ds:  # the other build's step stays while its graph does
        assert ds.community_methods == ["label-propagation", "slpa"]
    _rebuild(vectors_parquet, out, BuildOptions(k=6, seed=1))
    with Dataset.open(out) as ds:  # a new graph drops the steps of builds that read the old
        assert ds.community_methods == ["label-propagation"]
        assert "communities:slpa" not in ds.steps


def test_a_new_layout_computes_only_itself(tmp_path, vectors_parquet):
    pytest.importorskip("pymde")
    out = tmp_path / "d.duckdb"
    _rebuild(vectors_parquet, out, BuildOptions(k=4))
    report = _rebuild(vectors_parquet, out, BuildOptions(k=4, layouts=("umap", "mde-umap")))
    assert report.computed == ["layout:mde-umap"]
    with Dataset.open(out) as ds:
        assert sorted(ds.layouts) == ["mde-umap", "umap"]


def test_a_changed_measure_keeps_the_ingested_collections(tmp_path, baskets_csv):
    out = tmp_path / "b.duckdb"
    opt = dict(kind="collections", collection_col="basket", entity_col="product", k=5,
               min_count=2)
    _rebuild(baskets_csv, out, BuildOptions(**opt))
    report = _rebuild(baskets_csv, out, BuildOptions(**opt, measure="ppmi"))
    assert report.cached == ["ingest"]
    assert report.computed == ["knn", "layout:umap", "merge_tree",
                               "communities:label-propagation"]


def test_context_measure_changes_recompute_the_graph_and_unknown_is_refused(tmp_path,
                                                                             baskets_csv):
    out = tmp_path / "c.duckdb"
    opt = dict(kind="collections", collection_col="basket", entity_col="product", k=3,
               min_count=2, graph="context", corr_k=2, communities=("label-propagation",))
    _rebuild(baskets_csv, out, BuildOptions(**opt))
    report = _rebuild(baskets_csv, out, BuildOptions(**opt, context_measure="normalised-l1"))
    assert report.cached == ["ingest"] and "knn" in report.computed
    with pytest.raises(InputError, match="unknown context measure 'l1'"):
        build(baskets_csv, str(tmp_path / "d.duckdb"),
              BuildOptions(**opt, context_measure="l1"))
    assert not (tmp_path / "d.duckdb").exists()


def test_mde_options_recompute_only_the_mde_layout(tmp_path, vectors_parquet):
    pytest.importorskip("pymde")
    out = tmp_path / "m.duckdb"
    base = dict(k=10, layouts=("umap", "mde-umap"), mde_iters=20)
    _rebuild(vectors_parquet, out, BuildOptions(**base))
    for change in ({"mde_dim": 4}, {"mde_neighbors": 10}, {"mde_iters": 30}):
        report = _rebuild(vectors_parquet, out, BuildOptions(**base | change))
        assert report.computed == ["layout:mde-umap"], change
        base |= change
    with Dataset.open(out) as ds:
        assert ds.steps["layout:mde-umap"].params == {
            "layout": "mde-umap", "seed": 0, "dim": 4, "neighbors": 10, "iters": 30}
        assert ds.layout("mde-umap").shape == (ds.n, 2)


def test_mde_options_are_checked_before_anything_is_written(tmp_path, vectors_parquet):
    out = tmp_path / "m.duckdb"
    for opt, match in ((BuildOptions(mde_dim=4), "apply to --layout mde-umap only"),
                       (BuildOptions(layouts=("mde-umap",), mde_dim=2), "3 or 4"),
                       (BuildOptions(layouts=("mde-umap",), k=5, mde_neighbors=6), r"1\.\.5"),
                       (BuildOptions(layouts=("mde-umap",), device="tpu"), "unknown device")):
        with pytest.raises(InputError, match=match):
            build(vectors_parquet, out, opt)
    assert not out.exists()


def test_cuda_without_a_gpu_is_one_clear_error(tmp_path, vectors_parquet):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    with pytest.raises(InputError, match="needs a GPU that torch can see"):
        build(vectors_parquet, tmp_path / "m.duckdb",
              BuildOptions(layouts=("mde-umap",), device="cuda"))
