"""`embtui path` and `embtui diagnose` as a user runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest


def _far_in_its_component(ds) -> str:
    """The last entity in e000's component of the graph (the fixture's blobs are apart)."""
    comp = ds.clusters(threshold=float(np.nanmin(ds.knn.sim)), min_size=1).labels
    return str(ds.ids[np.flatnonzero(comp == comp[0])[-1]])


def test_the_widest_paths_weakest_step_is_where_the_two_join(run, vectors_dataset):
    from engine.dataset import Dataset
    with Dataset.open(vectors_dataset) as ds:
        far = _far_in_its_component(ds)
    doc = json.loads(run("path", vectors_dataset, "e000", far, "--json").stdout)
    assert doc["by"] == "widest" and doc["path"][0]["id"] == "e000"
    assert doc["path"][-1]["id"] == far and doc["steps"] == len(doc["path"]) - 1
    sims = [s["similarity"] for s in doc["path"][1:]]
    assert doc["weakest"] == pytest.approx(min(sims))
    with Dataset.open(vectors_dataset) as ds:
        a, b = ds.find_ids(["e000", far])
        t = doc["weakest"]
        joined = ds.clusters(threshold=t - 1e-6, min_size=1).labels  # t has 6 decimals
        assert joined[a] == joined[b]
        apart = ds.clusters(threshold=t + 1e-5, min_size=1).labels
        assert apart[a] != apart[b]


def test_fewest_hops_and_the_text_listing(run, vectors_dataset):
    from engine.dataset import Dataset
    with Dataset.open(vectors_dataset) as ds:
        far = _far_in_its_component(ds)
    hops = json.loads(run("path", vectors_dataset, "e000", far, "--by", "hops",
                          "--json").stdout)
    widest = json.loads(run("path", vectors_dataset, "e000", far, "--json").stdout)
    assert hops["steps"] <= widest["steps"]
    text = run("path", vectors_dataset, "e000", "e001")
    assert text.returncode == 0 and text.stdout.startswith("widest path")
    assert "[e001]" in text.stdout.splitlines()[-1]
    apart = run("path", vectors_dataset, "e000", "e059")  # another blob
    assert apart.returncode == 1
    assert "no path between 'e000' and 'e059': they are in different components" in \
        apart.stderr
    bad = run("path", vectors_dataset, "e000", " ")
    assert bad.returncode == 2 and "the query is empty" in bad.stderr


def test_diagnose_lists_hubs_isolates_and_bridges(run, vectors_dataset):
    from engine.dataset import Dataset
    from engine.diagnostics import bridges, thresholded_graph
    doc = json.loads(run("diagnose", vectors_dataset, "--threshold", "0.5", "--json",
                         "--limit", "3").stdout)
    assert set(doc) == {"k", "threshold", "entities", "in_degree", "hubs", "isolates",
                        "bridges"}
    with Dataset.open(vectors_dataset) as ds:
        deg = ds.in_degree
        assert doc["in_degree"]["max"] == deg.max() and doc["entities"] == 60
        assert [h["in_degree"] for h in doc["hubs"]] == sorted(deg, reverse=True)[:3]
        assert doc["isolates"]["count"] == int((deg == 0).sum())
        found = bridges(thresholded_graph(ds.knn.idx, ds.knn.sim, 0.5))
        assert doc["bridges"]["count"] == len(found.idx)
        assert [e["id"] for e in doc["bridges"]["entities"]] == \
            [ds.ids[i] for i in found.idx[:3]]
    text = run("diagnose", vectors_dataset)
    assert text.returncode == 0 and "hubs (listed among the most others' neighbours)" in \
        text.stdout and "bridges at " in text.stdout
    bad = run("diagnose", vectors_dataset, "--threshold", "7")
    assert bad.returncode == 2 and "--threshold" in bad.stderr
