"""--where on neighbors, clusters, search and export; expressions that try to run more than a
predicate are refused in one line and leave the file as it was."""

import hashlib
import json

import pytest


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_clusters_list_only_members_that_pass(run, vectors_dataset):
    res = run("clusters", vectors_dataset, "--threshold", "0.5", "--where", "group = 'beta'",
              "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["where"] == "group = 'beta'" and doc["passing"] == 20
    members = [m["label"] for c in doc["clusters"] for m in c["members"]]
    assert members and all(m.startswith("beta") for m in members)
    assert all(c["passing"] == len(c["members"]) <= c["size"] for c in doc["clusters"])
    text = run("clusters", vectors_dataset, "--threshold", "0.5", "--where", "group = 'beta'")
    assert "20 of 60 entities pass" in text.stdout


def test_search_neighbors_and_export_respect_the_filter(run, vectors_dataset, tmp_path):
    res = run("search", vectors_dataset, "item", "--where", "group ~ 'GAM'", "--limit", "50",
              "--json")
    labels = [m["label"] for m in json.loads(res.stdout)["matches"]]
    assert labels and all(x.startswith("gamma") for x in labels)
    res = run("neighbors", vectors_dataset, "e000", "--where", "group != 'alpha'", "--json")
    assert res.returncode in (0, 1)
    assert all(not n["label"].startswith("alpha") for n in json.loads(res.stdout)["neighbors"])
    out = tmp_path / "beta.csv"
    res = run("export", vectors_dataset, "--table", "entities", "--where", "group = 'beta'",
              "-o", out)
    assert res.returncode == 0, res.stderr
    rows = out.read_text().splitlines()
    assert len(rows) == 21 and all(",beta" in r for r in rows[1:])
    res = run("export", vectors_dataset, "--table", "knn", "--where", "group = 'beta'")
    srcs = {line.split(",")[1] for line in res.stdout.splitlines()[1:]}
    assert srcs == {f"e{i:03d}" for i in range(20, 40)}


@pytest.mark.parametrize("expr, message", [
    ("group = 'alpha'; DROP TABLE entities", "unexpected ';'"),
    ("group = 'alpha'; DELETE FROM entities", "unexpected ';'"),
    ("group = 'alpha') OR (1=1", "unexpected ')'"),
    ("id IN (SELECT id FROM entities)", "expected a number or 'text'"),
    ("group = 'a' UNION SELECT * FROM knn", "unexpected '*'"),
    ("group = 'a' UNION SELECT id FROM knn", "unexpected 'UNION'"),
    ("1=1", "expected a column name at character 1"),
    ("group = 'x' /* */", "unexpected '/'"),
    ("pragma_version() = 1", "no column 'pragma_version'"),
    ("nope = 1", "no column 'nope'"),
])
def test_smuggled_statements_and_writes_are_refused(run, vectors_dataset, expr, message):
    before = digest(vectors_dataset)
    res = run("clusters", vectors_dataset, "--threshold", "0.5", "--where", expr)
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr
    # a value is a parameter, never SQL: this one only matches nothing
    res = run("export", vectors_dataset, "--table", "entities", "--where",
              "label = 'x''; DELETE FROM entities; --'")
    assert res.returncode == 0 and res.stdout.count("\n") == 1, res.stdout
    assert digest(vectors_dataset) == before
    assert run("info", vectors_dataset, "--json").returncode == 0
