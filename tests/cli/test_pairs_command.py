"""`embtui pairs`: the JSON shape, --least, --limit, the plain text table and refusals."""

import json
import shutil

import pytest

from engine.dataset import Dataset
from engine.store import Store
from tui.text import plain_label

KEYS = {"pairs", "least", "measure", "exact", "among"}


def pairs_json(run, *args):
    res = run("pairs", *args, "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert KEYS <= set(doc) <= KEYS | {"sampled"}
    for p in doc["pairs"]:
        assert set(p) == {"a", "b", "similarity"}
        assert set(p["a"]) == set(p["b"]) == {"id", "label"}
        assert p["a"]["id"] != p["b"]["id"]
    return doc


def refused(res, *needles, code=2):
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert res.stdout == ""
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_most_similar_first_each_pair_once(run, vectors_dataset):
    doc = pairs_json(run, vectors_dataset)
    assert len(doc["pairs"]) == 20 and doc["least"] is False
    assert doc["measure"] == "cosine" and doc["among"] == "knn graph"
    assert doc["exact"] is False  # 20 > k = 5: pairs past rank 5 may be missing
    sims = [p["similarity"] for p in doc["pairs"]]
    assert sims == sorted(sims, reverse=True)
    seen = [frozenset((p["a"]["id"], p["b"]["id"])) for p in doc["pairs"]]
    assert len(set(seen)) == len(seen)
    # the strongest pair is a stored neighbour with that similarity
    top = doc["pairs"][0]
    nb = json.loads(run("neighbors", vectors_dataset, top["a"]["id"], "--json").stdout)
    assert {n["id"]: n["similarity"] for n in nb["neighbors"]}.get(
        top["b"]["id"], top["similarity"]) == pytest.approx(top["similarity"])
    assert pairs_json(run, vectors_dataset, "--limit", "5")["exact"] is True


def test_least_and_limit(run, vectors_dataset):
    doc = pairs_json(run, vectors_dataset, "--least", "--limit", "7")
    assert len(doc["pairs"]) == 7 and doc["least"] is True
    assert doc["exact"] is True and doc["among"] == "all pairs" and "sampled" not in doc
    sims = [p["similarity"] for p in doc["pairs"]]
    assert sims == sorted(sims) and sims[0] < 0 < pairs_json(run, vectors_dataset)[
        "pairs"][-1]["similarity"]
    # the values are the heatmap's
    a, b = doc["pairs"][0]["a"]["id"], doc["pairs"][0]["b"]["id"]
    hm = json.loads(run("heatmap", vectors_dataset, "--ids", f"{a},{b}", "--json").stdout)
    assert hm["matrix"][0][1] == pytest.approx(sims[0], abs=1e-12)


def test_collections_least_are_pairs_that_met(run, baskets_dataset):
    doc = pairs_json(run, baskets_dataset, "--least", "--limit", "3")
    assert doc["measure"] == "npmi" and doc["among"] == "co-occurring pairs"
    assert all(-1 < p["similarity"] < 0 for p in doc["pairs"])
    text = run("pairs", baskets_dataset, "--least", "--limit", "3").stdout
    assert "of the pairs sharing at least one collection (exact)" in text.splitlines()[0]


def test_text_is_an_aligned_plain_table(run, vectors_dataset):
    res = run("pairs", vectors_dataset, "--limit", "30")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("30 most similar pairs · cosine · from the stored neighbour "
                               "graph (not exact: it holds each entity's 5 nearest")
    assert lines[1].split() == ["rank", "similarity", "a", "b"]
    rows = lines[2:]
    assert len(rows) == 30
    assert [int(r[:4]) for r in rows] == list(range(1, 31))
    doc = pairs_json(run, vectors_dataset, "--limit", "30")
    # every label b starts in the same column: labels a are padded to one width
    starts = {r.rindex(plain_label(p["b"]["label"], 40))
              for r, p in zip(rows, doc["pairs"], strict=True)}
    assert len(starts) == 1
    assert "\x1b" not in res.stdout and "\u202e" not in res.stdout
    # the fixture's odd labels, among the strongest pairs, show as text
    assert "␛]52;c;aGk=␇evil" in res.stdout and "[bold red]x[/]" in res.stdout
    shown = [plain_label(p[s]["label"], 40) for p in doc["pairs"] for s in "ab"]
    assert all(x in res.stdout for x in shown)


@pytest.mark.parametrize("limit, says", [("0", "--limit must be at least 1 (got 0)"),
                                         ("-4", "--limit must be at least 1 (got -4)"),
                                         ("10001", "--limit must be at most 10,000"),
                                         ("many", "invalid int value")])
def test_bad_limits_are_refused_in_one_line(run, vectors_dataset, limit, says):
    refused(run("pairs", vectors_dataset, "--limit", limit), says)


def test_a_file_without_a_graph_says_what_is_missing(run, tmp_path, baskets_dataset):
    path = tmp_path / "nograph.duckdb"
    shutil.copy(baskets_dataset, path)
    store = Store.open(path, read_only=False)
    store.con.execute("DELETE FROM steps WHERE name = 'knn'")
    store.close()
    before = path.read_bytes()
    refused(run("pairs", path), "has no neighbour graph yet", "run embtui build")
    refused(run("pairs", path, "--least", "--json"), "has no neighbour graph yet")
    assert path.read_bytes() == before


def test_the_file_is_left_as_it_was_and_readers_may_share_it(run, vectors_dataset):
    before = vectors_dataset.read_bytes()
    with Dataset.open(vectors_dataset):  # a reader holds it open meanwhile
        assert run("pairs", vectors_dataset, "--least").returncode == 0
    assert vectors_dataset.read_bytes() == before


def test_missing_file(run, tmp_path):
    refused(run("pairs", tmp_path / "nope.duckdb"), "nope.duckdb")
