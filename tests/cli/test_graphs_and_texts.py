"""`build --graph context` (the concepts method) and `build --text-column` (MiniLM vectors)."""

import importlib.util
import json

import pytest

BASKETS = ("--collections", "--collection", "basket", "--entity", "product", "--min-count", "2",
           "-k", "3", "--quiet")


def neighbour_ids(run, dataset, query):
    res = run("neighbors", dataset, query, "--json")
    assert res.returncode == 0, res.stderr
    return [n["id"] for n in json.loads(res.stdout)["neighbors"]]


def test_context_graph_finds_the_substitute_association_misses(run, baskets_csv, tmp_path):
    direct, context = tmp_path / "direct.duckdb", tmp_path / "context.duckdb"
    assert run("build", baskets_csv, "-o", direct, *BASKETS).returncode == 0
    res = run("build", baskets_csv, "-o", context, *BASKETS, "--graph", "context")
    assert res.returncode == 0, res.stderr
    # The colas are never bought together: no co-occurrence, but the same contexts.
    assert "cola-b" not in neighbour_ids(run, direct, "cola-a")
    assert neighbour_ids(run, context, "cola-a")[0] == "cola-b"

    info = json.loads(run("info", context, "--json").stdout)
    graph = info["graph"]
    assert graph["graph"] == "context" and graph["in_degree_cap"] == 1000
    assert graph["correlation_edges"] > 0 and graph["similarity_edges"] > 0
    assert {"communities:label-propagation", "communities:slpa"} <= set(info["steps"])
    assert info["steps"]["knn"]["params"]["graph"] == "context"
    text = run("info", context).stdout
    assert "context graph" in text and "in degree cap 1000" in text

    slpa = json.loads(run("clusters", context, "--method", "slpa", "--json").stdout)
    themes = [{m["id"] for m in c["members"]} for c in slpa["clusters"]]
    assert any({"cola-a", "cola-b", "chips"} <= t for t in themes)
    assert all(c["label"] and "keywords" in c for c in slpa["clusters"])  # overlapping too


def test_changing_a_context_knob_recomputes_the_graph(run, baskets_csv, tmp_path):
    out = tmp_path / "c.duckdb"
    assert run("build", baskets_csv, "-o", out, *BASKETS, "--graph", "context").returncode == 0
    res = run("build", baskets_csv, "-o", out, *BASKETS[:-1], "--graph", "context",
              "--in-degree-cap", "2")
    assert res.returncode == 0 and "computed knn" in res.stderr and "reused ingest" in res.stderr
    graph = json.loads(run("info", out, "--json").stdout)["graph"]
    assert graph["in_degree_cap"] == 2 and graph["capped_hubs"] > 0


def test_context_measure_is_an_option_and_in_the_key(run, baskets_csv, tmp_path):
    out = tmp_path / "c.duckdb"
    assert run("build", baskets_csv, "-o", out, *BASKETS, "--graph", "context").returncode == 0
    graph = json.loads(run("info", out, "--json").stdout)["graph"]
    assert graph["context_measure"] == "sigma"
    res = run("build", baskets_csv, "-o", out, *BASKETS[:-1], "--graph", "context",
              "--context-measure", "normalised-l1")
    assert res.returncode == 0 and "computed knn" in res.stderr, res.stderr
    graph = json.loads(run("info", out, "--json").stdout)["graph"]
    assert graph["context_measure"] == "normalised-l1"
    assert neighbour_ids(run, out, "cola-a")[0] == "cola-b"
    res = run("build", baskets_csv, "-o", out, *BASKETS, "--graph", "context",
              "--context-measure", "sigma2")
    assert res.returncode == 2 and "invalid choice: 'sigma2'" in res.stderr


@pytest.mark.parametrize("args, needle", [
    (("--graph", "context"), "apply to collections"),
    (("--collections", "--graph", "context", "--context-threshold", "2"), "[0, 1]"),
    (("--collections", "--graph", "context", "--corr-k", "0"), "--corr-k"),
    (("--collections", "--text-column", "a"), "does not go with --collections"),
    (("--text-column", "a", "--vector", "b"), "not both"),
    (("--communities", "louvain"), "unknown community method 'louvain'"),
    (("--collections", "--collection", "id", "--entity", "a", "--communities", "kmeans"),
     "kmeans clusters vectors"),
    (("--communities", "kmeans", "--kmeans-k", "0"), "--kmeans-k"),
])
def test_option_conflicts_are_one_line(run, tmp_path, args, needle):
    src = tmp_path / "v.csv"
    src.write_text("id,a,b\n1,1,2\n2,2,1\n")
    res = run("build", src, "-o", tmp_path / "o.duckdb", *args)
    assert res.returncode == 2 and needle in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.duckdb").exists()


needs_text = pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is None,
                                reason="the [text] extra is not installed")


@needs_text
@pytest.mark.slow
def test_text_column_embeds_and_paraphrases_are_neighbours(run, tmp_path):
    src = tmp_path / "items.csv"
    src.write_text(
        "id,title,shelf\n"
        "1,A cat sits on the mat,pets\n"
        "2,A kitten is resting on the rug,pets\n"
        "3,The stock market fell sharply today,news\n"
        "4,Share prices dropped steeply this afternoon,news\n"
        "5,How to bake sourdough bread,food\n"
        "6,A recipe for homemade bread with starter,food\n"
        "7,,misc\n")
    out = tmp_path / "items.duckdb"
    res = run("build", src, "--text-column", "title", "-k", "2", "-o", out, "--quiet")
    assert res.returncode == 0, res.stderr
    info = json.loads(run("info", out, "--json").stdout)
    assert info["dim"] == 384 and info["kind"] == "vectors"
    assert info["steps"]["ingest"]["params"]["text"] == "title"
    assert "all-MiniLM-L6-v2" in info["steps"]["ingest"]["params"]["model"]
    for a, b in (("1", "2"), ("3", "4"), ("5", "6")):
        assert neighbour_ids(run, out, a)[0] == b
    doc = json.loads(run("search", out, "kitten", "--json").stdout)
    assert doc["matches"][0]["id"] == "2"  # the text is the label
    rows = run("export", out, "--table", "entities").stdout.splitlines()
    assert rows[0].split(",")[:3] == ["idx", "id", "label"] and "shelf" in rows[0]
    assert any(r.startswith("6,7,7,") for r in rows)  # no text: the label is the id
    again = run("build", src, "--text-column", "title", "-k", "2", "-o", out)
    assert "up to date" in again.stderr
    # a new text, embedded with the same model: its nearest entities, exact
    doc = json.loads(run("neighbors", out, "--text", "my dog sleeps on the sofa", "-k", "3",
                         "--json").stdout)
    assert doc["query"] == {"text": "my dog sleeps on the sofa"} and doc["exact"]
    assert {n["id"] for n in doc["neighbors"][:2]} == {"1", "2"}
    text = run("neighbors", out, "--text", "bread baking")
    assert text.returncode == 0 and text.stdout.splitlines()[1].split()[-1] in ("[5]", "[6]")


def test_kmeans_communities_by_silhouette_or_given_k(run, vectors_parquet, tmp_path):
    out = tmp_path / "k.duckdb"
    res = run("build", vectors_parquet, "-o", out, "-k", "5", "--communities",
              "label-propagation,kmeans", "--quiet")
    assert res.returncode == 0, res.stderr
    doc = json.loads(run("clusters", out, "--method", "kmeans", "--json").stdout)
    assert [c["size"] for c in doc["clusters"]] == [20, 20, 20]  # the three blobs
    res = run("build", vectors_parquet, "-o", out, "-k", "5", "--communities",
              "label-propagation,kmeans", "--kmeans-k", "6")
    assert res.returncode == 0 and "computed communities:kmeans" in res.stderr
    assert "reused ingest, knn" in res.stderr
    doc = json.loads(run("clusters", out, "--method", "kmeans", "--min-size", "1",
                         "--json").stdout)
    assert len(doc["clusters"]) == 6


@pytest.mark.parametrize("measure", ["pmi", "dice", "inverse-log"])
def test_new_measures_build_from_the_command_line(run, baskets_csv, tmp_path, measure):
    out = tmp_path / f"{measure}.duckdb"
    res = run("build", baskets_csv, "-o", out, *BASKETS, "--measure", measure)
    assert res.returncode == 0, res.stderr
    info = json.loads(run("info", out, "--json").stdout)
    assert info["steps"]["knn"]["params"]["measure"] == measure
    assert ("inverse_log_version" in info["steps"]["knn"]["params"]) == (measure == "inverse-log")


@pytest.mark.skipif(importlib.util.find_spec("pymde") is None, reason="needs the [mde] extra")
def test_mde_options_from_the_command_line(run, baskets_csv, tmp_path):
    out = tmp_path / "m.duckdb"
    res = run("build", baskets_csv, "-o", out, *BASKETS[:-3], "-k", "4", "--layout", "mde-umap",
              "--mde-neighbors", "4", "--mde-dim", "4", "--mde-iters", "20")
    assert res.returncode == 0, res.stderr
    assert "--mde-neighbors 4 is outside 10..40" in res.stderr
    params = json.loads(run("info", out, "--json").stdout)["steps"]["layout:mde-umap"]["params"]
    assert params == {"layout": "mde-umap", "seed": 0, "neighbors": 4, "dim": 4, "iters": 20}
    res = run("build", baskets_csv, "-o", out, *BASKETS[:-3], "-k", "4", "--layout", "mde-umap",
              "--mde-neighbors", "4", "--mde-dim", "4", "--mde-iters", "30")
    assert "computed layout:mde-umap" in res.stderr and "computed knn" not in res.stderr
