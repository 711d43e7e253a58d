"""`embtui heatmap`: the JSON shape in its three modes, csv, text, the size bound and misuse."""

import csv
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.cluster.hierarchy import leaves_list

from engine.pipeline import BuildOptions, build

KEYS = {"ids", "labels", "matrix", "order", "linkage", "similarity", "linkage_method"}


def heatmap_json(run, *args):
    res = run("heatmap", *args, "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert set(doc) == KEYS and doc["order"] == "dendrogram"
    m = len(doc["ids"])
    assert len(doc["labels"]) == m and len(doc["matrix"]) == m
    assert all(len(row) == m for row in doc["matrix"])
    assert len(doc["linkage"]) == m - 1
    if m > 1:
        Z = np.array(doc["linkage"], dtype=float)
        assert Z[-1, 3] == m and (np.diff(Z[:, 2]) >= -1e-12).all()
        # rows are in the dendrogram's order: its leaves, drawn, are 0, 1, …, m − 1
        assert leaves_list(Z).tolist() == list(range(m))
    return doc


def cosine(vectors_parquet, ids):
    t = pq.read_table(vectors_parquet)
    where = {i: n for n, i in enumerate(t.column("id").to_pylist())}
    X = np.array(t.column("embedding").to_pylist(), dtype=np.float64)[[where[i] for i in ids]]
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return np.clip(X @ X.T, -1, 1)


def test_query_and_its_neighbours(run, vectors_dataset, vectors_parquet):
    doc = heatmap_json(run, vectors_dataset, "e000", "-k", "3")
    nb = json.loads(run("neighbors", vectors_dataset, "e000", "-k", "3", "--json").stdout)
    assert sorted(doc["ids"]) == sorted(["e000", *(n["id"] for n in nb["neighbors"])])
    assert doc["similarity"] == "cosine" and doc["linkage_method"] == "ward"
    np.testing.assert_allclose(np.array(doc["matrix"]), cosine(vectors_parquet, doc["ids"]),
                               atol=1e-12)
    # a neighbour's similarity is the one `neighbors` reports
    row = doc["ids"].index("e000")
    for n in nb["neighbors"]:
        assert doc["matrix"][row][doc["ids"].index(n["id"])] == pytest.approx(
            n["similarity"], abs=1e-6)


def test_a_cluster_at_a_threshold_and_by_a_method(run, vectors_dataset):
    clusters = json.loads(run("clusters", vectors_dataset, "--threshold", "0.5",
                              "--json").stdout)["clusters"]
    doc = heatmap_json(run, vectors_dataset, "--cluster", "1", "--threshold", "0.5")
    assert sorted(doc["ids"]) == sorted(m["id"] for m in clusters[1]["members"])
    assert np.diag(np.array(doc["matrix"])) == pytest.approx(1.0)
    lp = json.loads(run("clusters", vectors_dataset, "--method", "label-propagation",
                        "--json").stdout)["clusters"]
    doc = heatmap_json(run, vectors_dataset, "--cluster", "0", "--method", "label-propagation")
    assert sorted(doc["ids"]) == sorted(m["id"] for m in lp[0]["members"])


def test_ids_of_a_collections_file(run, baskets_dataset):
    doc = heatmap_json(run, baskets_dataset, "--ids", "pasta,basil,coffee,milk")
    assert sorted(doc["ids"]) == ["basil", "coffee", "milk", "pasta"]
    assert doc["similarity"] == "npmi" and doc["linkage_method"] == "average"
    M = np.array(doc["matrix"], dtype=float)  # null → NaN
    assert np.isnan(np.diag(M)).all()
    np.testing.assert_array_equal(M, M.T)
    # pasta and basil (one theme) are tied closer than either to coffee or milk
    pos = {i: n for n, i in enumerate(doc["ids"])}
    assert M[pos["pasta"], pos["basil"]] > max(M[pos["pasta"], pos["coffee"]],
                                              M[pos["basil"], pos["milk"]])
    assert {frozenset(doc["ids"][:2]), frozenset(doc["ids"][2:])} == {
        frozenset({"pasta", "basil"}), frozenset({"coffee", "milk"})}
    # the stored graph's similarity of a listed pair is the matrix's
    nb = json.loads(run("neighbors", baskets_dataset, "pasta", "--json").stdout)["neighbors"]
    basil = [n for n in nb if n["id"] == "basil"]
    if basil:
        assert M[pos["pasta"], pos["basil"]] == pytest.approx(basil[0]["similarity"])


def test_csv_is_the_matrix_with_labels(run, baskets_dataset):
    doc = heatmap_json(run, baskets_dataset, "--ids", "pasta,basil,coffee")
    res = run("heatmap", baskets_dataset, "--ids", "pasta,basil,coffee", "--format", "csv")
    assert res.returncode == 0, res.stderr
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["label", *doc["labels"]]
    assert [r[0] for r in rows[1:]] == doc["labels"]
    for r, want in zip(rows[1:], doc["matrix"], strict=True):
        assert [None if v == "" else float(v) for v in r[1:]] == want


def test_text_shows_a_row_per_entity_with_the_dendrogram(run, vectors_dataset):
    res = run("heatmap", vectors_dataset, "--cluster", "0", "--threshold", "0.5")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("heatmap of 20 entities · cosine · Ward linkage")
    assert len(lines) == 22 and lines[-1].startswith("shades: ")
    assert all(line[:4].strip() == str(n) for n, line in enumerate(lines[1:-1], 1))
    assert any(ch in res.stdout for ch in "┐┘├")
    assert "\x1b" not in res.stdout  # the odd labels show as text
    assert "┊ the cut at threshold 0.5" in lines[-1]


def test_a_group_over_the_bound_is_cut_with_a_note(run, tmp_path):
    rng = np.random.default_rng(0)
    X = (np.ones(4) + rng.normal(scale=0.05, size=(230, 4))).astype(np.float32)
    src = tmp_path / "many.parquet"
    pq.write_table(pa.table({"id": [f"v{i}" for i in range(230)],
                             "embedding": pa.array(list(X), type=pa.list_(pa.float32()))}),
                   src)
    out = tmp_path / "many.duckdb"
    build(src, out, BuildOptions(kind="vectors", k=5, layouts=(), communities=()))
    ids = ",".join(f"v{i}" for i in range(230))
    res = run("heatmap", out, "--ids", ids, "--json")
    assert res.returncode == 0, res.stderr
    assert len(json.loads(res.stdout)["ids"]) == 200
    assert res.stderr.strip() == ("embtui: heatmap: 230 entities asked for; showing the ids "
                                  "given, the first 200 (30 left out)")


def one_line(res, needle, code=2):
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert needle in lines[0], lines[0]


@pytest.mark.parametrize("args, needle", [
    ((), "give QUERY, --cluster C with --threshold T or --method NAME, or --ids"),
    (("e000", "--ids", "e001"), "give one of QUERY, --cluster and --ids (got QUERY and --ids)"),
    (("--cluster", "0", "--ids", "e001", "--threshold", "0.5"), "got --cluster and --ids"),
    (("--ids", "e001", "-k", "3"), "-k goes with QUERY"),
    (("e000", "-k", "0"), "-k must be at least 1"),
    (("--cluster", "0"), "--cluster needs --threshold T or --method NAME"),
    (("--ids", "e000", "--threshold", "0.5"), "--threshold goes with --cluster C"),
    (("--cluster", "0", "--threshold", "0.5", "--method", "label-propagation"),
     "give --threshold or --method, not both"),
    (("--cluster", "9", "--threshold", "0.5"), "no cluster 9 at threshold 0.5 (clusters of "
                                               "at least 2: 0 to 2)"),
    (("--cluster", "0", "--threshold", "7"), "--threshold 7 is outside [-1, 1]"),
    (("--cluster", "0", "--method", "nope"), "no communities 'nope'"),
    (("--ids", " , "), "--ids lists no id"),
    (("  ",), "the query is empty"),
    (("e000", "--json", "--format", "csv"), "give --json or --format csv, not both"),
    (("e000", "--format", "tsv"), "invalid choice: 'tsv'"),
])
def test_misuse_is_one_line(run, vectors_dataset, args, needle):
    one_line(run("heatmap", vectors_dataset, *args), needle)


def test_an_unknown_id_matches_nothing(run, vectors_dataset):
    one_line(run("heatmap", vectors_dataset, "--ids", "e001,nope"),
             "no entity has the id 'nope'", code=1)
