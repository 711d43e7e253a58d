"""Step keys and validity, the part of the build that readers share: keys stay byte-identical
across releases so a dataset file built before an upgrade is not rebuilt after it."""

import subprocess
import sys

import pytest

import engine.text
from engine.steps import BuildOptions, plan, upstream, valid_steps
from engine.store import StepRecord

# Options touching every param of every step; n = None plans before ingest, 100 an exact graph,
# 100_000 an NN-descent graph (whose key has the seed).
CASES = {
    "vectors_small": (BuildOptions(k=7, seed=3, layouts=("umap", "mde-umap"),
                                   communities=("label-propagation", "slpa", "kmeans"),
                                   kmeans_k=4, merge_tree="knn"), 100),
    "vectors_small_exact": (BuildOptions(k=7, seed=3), 100),
    "vectors_unknown_n": (BuildOptions(k=7, seed=3), None),
    "vectors_large": (BuildOptions(k=7, seed=3, metric="dot", id_col="id", label_col="name",
                                   vector_col="emb", weight_col="w", table="t",
                                   labels_file="l.csv"), 100_000),
    "text": (BuildOptions(text_col="body", id_col="id", k=5, merge_tree="knn"), 50),
    "collections": (BuildOptions(kind="collections", collection_col="basket",
                                 entity_col="product", meta_cols=("aisle",), measure="ppmi",
                                 min_count=2, min_weight=0.1, k=9, communities=("slpa",)), 200),
    "context": (BuildOptions(kind="collections", collection_col="basket", entity_col="product",
                             graph="context", corr_k=20, in_degree_cap=None,
                             context_threshold=0.2), 200),
}

# Computed by the build as released before steps were declared one by one; never edit these to
# make a test pass: a changed key rebuilds every existing dataset file. The small inputs pin the
# kNN merge tree they were built with; the exact tree (the default up to EXACT_TREE_MAX_N since
# it arrived) has a key of its own, pinned in "vectors_small_exact".
PINNED = {
    "vectors_small": {
        "ingest": "d5415c3af792235f190ba4ff22fb6382",
        "knn": "a4114e3d423ab8b1156548baf4a963b4",
        "layout:umap": "c4f7befcb704d7e9f1cfb53c542fee72",
        "layout:mde-umap": "fb9827fd95451d6d5d5bdb2303053fa1",
        "merge_tree": "7da7d31e84dd463cac2b2f832f2d1eae",
        "communities:label-propagation": "51e59e5b5d9a627f2c3002fd8d7c4d38",
        "communities:slpa": "791bf9207eec42988a6b461bff7a82ed",
        "communities:kmeans": "cf0d7f5911f7480f63650db4f94c9ca7",
    },
    "vectors_small_exact": {
        "ingest": "d5415c3af792235f190ba4ff22fb6382",
        "knn": "a4114e3d423ab8b1156548baf4a963b4",
        "layout:umap": "c4f7befcb704d7e9f1cfb53c542fee72",
        "merge_tree": "267b1949651cc5fb83bc95b1e59a62e7",
        "communities:label-propagation": "51e59e5b5d9a627f2c3002fd8d7c4d38",
    },
    "vectors_unknown_n": {
        "ingest": "d5415c3af792235f190ba4ff22fb6382",
        "knn": "21b38ab36973289414fdc439f05394a5",
        "layout:umap": "6d7c8befb832c41be467a462b8d244cc",
        "merge_tree": "993cfd2cd5647c3e8c51eb1bfb9a7eba",
        "communities:label-propagation": "cfbb2128df6a72cf217c419961064b72",
    },
    "vectors_large": {
        "ingest": "71502809656beb4a25e8c3a6cc99dfbe",
        "knn": "f940e352a67c5580fe561c4ab01b7716",
        "layout:umap": "0fb92f98298f3716675190c5dee3ed9e",
        "merge_tree": "b63a8c0331c4a1db20d902caed332071",
        "communities:label-propagation": "df1b158f25466e38a0cde4fdb6f04ff4",
    },
    "text": {
        "ingest": "46f57001c49996826df878f4132afb63",
        "knn": "0b5169e114f6427de547caec7af4ecf0",
        "layout:umap": "90babde8957a8481c11b556bbb7b1e11",
        "merge_tree": "c99f0436df13f07e46f7ca992610f059",
        "communities:label-propagation": "6bf2cca694fc7a20048647398e2c552d",
    },
    "collections": {
        "ingest": "76c59f6a22e8de0486347d8a918c9f1b",
        "knn": "8ac3060e2c0764d63fd82c85ab9b0750",
        "layout:umap": "8ffaaace5c4ca08c742c8449b66969a6",
        "merge_tree": "f9b7b678f2154a257da6578f15e32c0e",
        "communities:slpa": "33ec8b5c63e619b36fabe5f022db195e",
    },
    "context": {
        "ingest": "948c7916a32de0d52caddaa9393ecf99",
        "knn": "936d213e55be2b54f4727f6455d6241b",
        "layout:umap": "0efea6dbf5e8e1eb5c0270ae1a3827db",
        "merge_tree": "6ad98bc2b258334f3c1c4ce5d3600227",
        "communities:label-propagation": "722f5040293ff800c817ea7ac9739406",
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keys_are_pinned(case, monkeypatch):
    monkeypatch.setattr(engine.text, "model_key", lambda: "minilm@pinned")
    opt, n = CASES[case]
    assert {name: p.key for name, p in plan(opt, "src-key", n).items()} == PINNED[case]


def test_context_measure_and_its_version_are_in_the_graph_key():
    # A file built before σ (no context_version, normalised rows, the old cap) recomputes.
    sigma = plan(BuildOptions(kind="collections", graph="context"), "src", 100)
    variant = plan(BuildOptions(kind="collections", graph="context",
                                context_measure="normalised-l1"), "src", 100)
    assert sigma["knn"].params["context_measure"] == "sigma"
    assert sigma["knn"].params["context_version"] == 2
    assert sigma["knn"].key != variant["knn"].key
    assert sigma["ingest"].key == variant["ingest"].key


def test_inverse_log_carries_its_version_and_other_measures_do_not():
    # inverse-log was log(1 + c) before it became the write-up's 1/d = log(c): such files
    # recompute; the other measures' keys are the pinned ones.
    inv = plan(BuildOptions(kind="collections", measure="inverse-log"), "src", 100)
    assert inv["knn"].params["inverse_log_version"] == 2
    for measure in ("npmi", "ppmi", "pmi", "jaccard", "dice", "conditional"):
        opt = BuildOptions(kind="collections", measure=measure)
        assert "inverse_log_version" not in plan(opt, "src", 100)["knn"].params


def test_exact_graph_key_leaves_out_the_seed():
    a, b = plan(BuildOptions(seed=0), "src", 100), plan(BuildOptions(seed=1), "src", 100)
    assert a["knn"] == b["knn"] and a["merge_tree"] == b["merge_tree"]
    assert a["layout:umap"].key != b["layout:umap"].key
    big = plan(BuildOptions(seed=0), "src", 10**6), plan(BuildOptions(seed=1), "src", 10**6)
    assert big[0]["knn"].key != big[1]["knn"].key


def test_planned_reads_are_what_readers_check():
    for opt, n in CASES.values():
        for name, p in plan(opt, "src", n).items():
            assert p.reads == ((upstream(name),) if upstream(name) else ())


def _records(steps):
    return {p.name: StepRecord(p.name, p.params, p.key, None, 0.0) for p in steps.values()}


def test_valid_steps_follow_the_chain():
    steps = plan(BuildOptions(communities=("slpa",)), "src", 100)
    records = _records(steps)
    assert valid_steps(records) == set(steps)
    other = plan(BuildOptions(k=3), "src", 100)  # a graph from another build
    records["knn"] = _records(other)["knn"]
    assert valid_steps(records) == {"ingest", "knn"}
    del records["knn"]
    assert valid_steps(records) == {"ingest"}


def test_the_reader_never_imports_the_build():
    code = "import sys, engine.dataset; print('engine.pipeline' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_slpa_r_and_iterations_are_in_the_slpa_key_only():
    methods = ("label-propagation", "slpa", "kmeans")
    default = plan(BuildOptions(communities=methods), "src", 100)
    explicit = plan(BuildOptions(communities=methods, slpa_r=0.1, slpa_iterations=30),
                    "src", 100)
    assert default == explicit  # the defaults leave the released keys as they were
    for change in ({"slpa_r": 0.3}, {"slpa_iterations": 50}):
        other = plan(BuildOptions(communities=methods, **change), "src", 100)
        changed = {name for name in default if default[name].key != other[name].key}
        assert changed == {"communities:slpa"}
    params = plan(BuildOptions(communities=("slpa",), slpa_r=0.25, slpa_iterations=40),
                  "src", 100)["communities:slpa"].params
    assert params == {"method": "slpa", "seed": 0, "r": 0.25, "iterations": 40}


def test_mde_options_are_in_the_mde_layout_key_only_when_changed():
    default = plan(BuildOptions(layouts=("umap", "mde-umap")), "src", 100)
    assert default["layout:mde-umap"].params == {"layout": "mde-umap", "seed": 0}
    tuned = plan(BuildOptions(layouts=("umap", "mde-umap"), mde_neighbors=20, mde_dim=4,
                              mde_iters=2000, device="cuda"), "src", 100)
    assert tuned["layout:mde-umap"].params == {"layout": "mde-umap", "seed": 0, "neighbors": 20,
                                               "dim": 4, "iters": 2000, "device": "cuda"}
    assert tuned["layout:umap"] == default["layout:umap"] and tuned["knn"] == default["knn"]
