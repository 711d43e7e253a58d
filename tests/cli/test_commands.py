"""The command line contract of DESIGN.md: JSON shapes, exit statuses, caching."""

import json
import os
import shlex
import subprocess

import numpy as np
import pyarrow.parquet as pq
import pytest


def test_info_json(run, vectors_dataset):
    res = run("info", vectors_dataset, "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["entities"] == 60 and info["dim"] == 8 and info["kind"] == "vectors"
    assert {"ingest", "knn", "layout:umap", "merge_tree"} <= set(info["steps"])
    assert info["steps"]["knn"]["params"]["k"] == 5


def test_neighbors_json_shape_and_known_answer(run, vectors_dataset):
    res = run("neighbors", vectors_dataset, "e000", "-k", "3", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["query"] == {"id": "e000", "label": "alpha item 0"}
    assert [n["rank"] for n in doc["neighbors"]] == [1, 2, 3]
    assert set(doc["neighbors"][0]) == {"rank", "id", "label", "similarity"}
    sims = [n["similarity"] for n in doc["neighbors"]]
    assert sims == sorted(sims, reverse=True)
    # e000..e019 are the alpha cluster: its neighbours are too
    assert all(int(n["id"][1:]) < 20 for n in doc["neighbors"])


def test_neighbors_by_fuzzy_label_and_k_above_stored(run, vectors_dataset):
    res = run("neighbors", vectors_dataset, "gamma item 45", "-k", "50", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["query"]["id"] == "e045"
    assert len(doc["neighbors"]) == 5
    assert "only 5 neighbours are stored" in res.stderr


def test_neighbors_no_match_exits_1(run, vectors_dataset):
    res = run("neighbors", vectors_dataset, "zzzzqqqq")
    assert res.returncode == 1
    assert res.stderr.strip().count("\n") == 0 and "no entity matches" in res.stderr


def test_clusters_json_shape(run, vectors_dataset):
    res = run("clusters", vectors_dataset, "--threshold", "0.5", "--min-size", "3", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["threshold"] == 0.5 and doc["method"] is None
    sizes = [c["size"] for c in doc["clusters"]]
    assert sizes == [20, 20, 20]  # three well separated blobs
    assert set(doc["clusters"][0]) == {"cluster", "size", "label", "keywords", "central",
                                       "members"}
    assert set(doc["clusters"][0]["members"][0]) == {"id", "label"}
    assert doc["singletons"] == 0
    for c in doc["clusters"]:  # c-TF-IDF keywords, best first; the label is the first three
        scores = [k["score"] for k in c["keywords"]]
        assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
        assert all(set(k) == {"text", "from", "score"} for k in c["keywords"])
        words = list(dict.fromkeys(k["text"].casefold() for k in c["keywords"]))[:3]
        words = [next(k["text"] for k in c["keywords"] if k["text"].casefold() == w)
                 for w in words]
        assert c["label"] == (", ".join(words) if words else c["central"]["label"])
        assert c["central"]["id"] in {m["id"] for m in c["members"]}


def test_clusters_by_stored_method(run, vectors_dataset):
    res = run("clusters", vectors_dataset, "--method", "label-propagation", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["method"] == "label-propagation" and doc["threshold"] is None
    assert sum(c["size"] for c in doc["clusters"]) + doc["singletons"] == 60


def test_search_json(run, vectors_dataset):
    res = run("search", vectors_dataset, "beta 2", "--limit", "5", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["query"] == "beta 2"
    assert doc["matches"] and all("beta" in m["label"] for m in doc["matches"])
    assert set(doc["matches"][0]) == {"id", "label", "score", "typo"}
    assert not any(m["typo"] for m in doc["matches"])
    assert run("search", vectors_dataset, "qqqqxxxx").returncode == 1


def test_search_forgives_typos_unless_exact(run, demo_dataset):
    res = run("search", demo_dataset, "godfahter", "--limit", "3", "--json")
    assert res.returncode == 0, res.stderr
    first = json.loads(res.stdout)["matches"][0]
    assert first["label"].startswith("Godfather, The") and first["typo"]
    res = run("search", demo_dataset, "godfahter", "--limit", "3")
    assert res.stdout.splitlines()[0].split()[0].endswith("~")  # typo matches are marked
    res = run("search", demo_dataset, "godfahter", "--limit", "3", "--exact", "--json")
    assert not any(m["label"].startswith("Godfather, The")
                   for m in json.loads(res.stdout)["matches"])


def test_labels_are_plain_text_in_terminal_output(run, vectors_dataset):
    res = run("search", vectors_dataset, "bold red", "--limit", "3")
    assert res.returncode == 0, res.stderr
    assert "[bold red]x[/]" in res.stdout
    res = run("search", vectors_dataset, "evil")
    assert "\x1b" not in res.stdout and "\x07" not in res.stdout
    res = run("neighbors", vectors_dataset, "e004", "--json")  # the OSC 52 label, as JSON
    assert "\x1b" not in res.stdout
    doc = json.loads(res.stdout)
    assert doc["query"]["label"].startswith("\x1b]52;")


def test_export_formats(run, vectors_dataset, tmp_path):
    out = tmp_path / "knn.parquet"
    res = run("export", vectors_dataset, "--table", "knn", "-o", out)
    assert res.returncode == 0, res.stderr
    table = pq.read_table(out)
    assert table.num_rows == 60 * 5
    assert {"src", "src_id", "rank", "dst", "dst_id", "sim"} <= set(table.column_names)
    res = run("export", vectors_dataset, "--table", "clusters", "--threshold", "0.5",
              "--format", "jsonl")
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == 60 and {r["cluster_size"] for r in rows} == {20}
    res = run("export", vectors_dataset, "--table", "layout", "-o", tmp_path / "l.csv")
    assert res.returncode == 0 and (tmp_path / "l.csv").read_text().startswith("idx,id,label,x,y")


def test_collections_build_and_rebuild_is_cached(run, baskets_csv, tmp_path):
    out = tmp_path / "b.duckdb"
    args = ("build", baskets_csv, "--collections", "--collection", "basket", "--entity",
            "product", "--min-count", "2", "-k", "4", "-o", out)
    first = run(*args)
    assert first.returncode == 0, first.stderr
    again = run(*args)
    assert again.returncode == 0 and "up to date" in again.stderr
    changed = run(*args[:-2], "--measure", "jaccard", "-o", out)
    assert changed.returncode == 0, changed.stderr
    assert "computed knn" in changed.stderr and "reused ingest" in changed.stderr
    doc = json.loads(run("neighbors", out, "cola-a", "--json").stdout)
    assert doc["neighbors"] and doc["neighbors"][0]["id"] != "cola-a"


def test_fewer_entities_than_k(run, tmp_path):
    src = tmp_path / "three.csv"
    src.write_text("id,a,b\nx,1,0\ny,0,1\nz,1,1\n")
    out = tmp_path / "three.duckdb"
    res = run("build", src, "-o", out, "-k", "15", "--quiet")
    assert res.returncode == 0, res.stderr
    doc = json.loads(run("neighbors", out, "x", "--json").stdout)
    assert len(doc["neighbors"]) == 2


def test_export_to_standard_output_appends_and_keeps_what_came_before(shell_exe,
                                                                     vectors_dataset, tmp_path):
    exe = shell_exe
    out = tmp_path / "out.csv"
    out.write_text("kept\n")
    for fmt in ("csv", "jsonl"):
        subprocess.run(f"{exe} export {shlex.quote(str(vectors_dataset))} --table knn "
                       f"--format {fmt} >> {shlex.quote(str(out))}", shell=True, check=True)
    lines = out.read_text().splitlines()
    assert lines[0] == "kept" and lines[1].startswith("src,src_id,rank")
    assert len(lines) == 1 + 301 + 300 and json.loads(lines[-1])["src"] == 59
    both = tmp_path / "both.csv"
    subprocess.run(f"(echo header; {exe} export {shlex.quote(str(vectors_dataset))} --table "
                   f"entities -o -) > {shlex.quote(str(both))}", shell=True, check=True)
    first, second = both.read_text().splitlines()[:2]
    assert first == "header" and second.startswith("idx,id,label,weight")


def test_a_closed_pipe_ends_quietly(shell_exe, vectors_dataset):
    exe = shell_exe
    res = subprocess.run(f"{exe} export {shlex.quote(str(vectors_dataset))} --table knn | head -1",
                         shell=True, capture_output=True, text=True)
    assert res.stdout == "src,src_id,rank,dst,dst_id,sim\n" and res.stderr == ""
    read, write = os.pipe()  # a reader already gone: the first write fails
    os.close(read)
    try:
        for args in (("export", vectors_dataset, "--table", "knn"), ("info", vectors_dataset)):
            res = subprocess.run([*shlex.split(exe), *map(str, args)], stdout=write,
                                 stderr=subprocess.PIPE, text=True)
            assert (res.returncode, res.stderr) == (141, "")  # as a tool ended by SIGPIPE
    finally:
        os.close(write)


def test_mixed_type_jsonl_labels_build_as_written(run, tmp_path):
    src = tmp_path / "m.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in [
        {"id": 1, "label": "Movie 1", "vec": [1, 0]}, {"id": 1.0, "label": 3, "vec": [0, 1]},
        {"id": "x", "label": "Movie 3", "vec": [1, 1]}]))
    out = tmp_path / "m.duckdb"
    res = run("build", src, "-o", out, "-k", "2", "--quiet")
    assert res.returncode == 0, res.stderr
    doc = json.loads(run("neighbors", out, "x", "--json").stdout)
    assert doc["query"]["label"] == "Movie 3"
    assert sorted((n["id"], n["label"]) for n in doc["neighbors"]) == [("1", "Movie 1"),
                                                                       ("1.0", "3")]


def test_slpa_clusters_list_the_bridge_in_both_groups(run, tmp_path):
    from sample_data.fixtures import bridge_table
    src = tmp_path / "bridge.parquet"
    pq.write_table(bridge_table(), src)
    out = tmp_path / "bridge.duckdb"
    res = run("build", src, "-o", out, "-k", "10", "--communities", "slpa,label-propagation",
              "--slpa-r", "0.1", "--slpa-iterations", "30", "--quiet")
    assert res.returncode == 0, res.stderr
    doc = json.loads(run("clusters", out, "--method", "slpa", "--json").stdout)
    assert doc["method"] == "slpa" and doc["overlapping"] is True
    assert [c["size"] for c in doc["clusters"]] == [11, 11]
    for c in doc["clusters"]:
        ids = {m["id"] for m in c["members"]}
        assert "bridge" in ids and len({i[0] for i in ids - {"bridge"}}) == 1  # l… or r…
        bridge = next(m for m in c["members"] if m["id"] == "bridge")
        assert bridge["communities"] == 2 and bridge["clusters"] == [0, 1]
        assert 0.1 <= bridge["strength"] < 1
        others = [m for m in c["members"] if m["id"] != "bridge"]
        assert all(m["communities"] == 1 and m["clusters"] == [c["cluster"]] for m in others)
    strengths = sorted(m["strength"] for c in doc["clusters"] for m in c["members"]
                       if m["id"] == "bridge")
    text = run("clusters", out, "--method", "slpa")
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert lines[0].startswith("2 communities of at least 2 by slpa; 0 singletons; "
                               "1 in several communities")
    marked = [line for line in lines if line.lstrip().startswith("*")]
    assert len(marked) == 2 and all("bridge  [bridge]" in line for line in marked)
    assert sorted(float(line.split()[1]) for line in marked) == \
        [round(s, 2) for s in strengths]
    assert len(lines) == 1 + 2 * (1 + 11)  # every member of each community listed
    # other methods print as before: first eight members on the cluster's line
    lp = run("clusters", out, "--method", "label-propagation").stdout.splitlines()
    assert lp[0] == "2 clusters of at least 2 by label-propagation; 0 singletons"
    assert all("… (+" in line for line in lp[1:])
    lp_json = json.loads(run("clusters", out, "--method", "label-propagation", "--json").stdout)
    assert "overlapping" not in lp_json
    assert set(lp_json["clusters"][0]["members"][0]) == {"id", "label"}


def test_clusters_without_a_threshold_cut_at_the_opening_threshold(run, vectors_dataset):
    from engine.dataset import Dataset
    from tui.state import opening_threshold
    with Dataset.open(vectors_dataset) as ds:
        t = opening_threshold(ds)
        largest = int(np.bincount(ds.threshold_labels(t)).max())
    doc = json.loads(run("clusters", vectors_dataset, "--json").stdout)
    assert doc["threshold"] == pytest.approx(t) and doc["method"] is None
    assert doc["clusters"][0]["size"] == largest <= 60 / 3
    text = run("clusters", vectors_dataset)
    assert text.returncode == 0
    assert f"at threshold {t:g} (the opening threshold" in text.stdout.splitlines()[0]


def test_clusters_are_named_on_the_demo(run, demo_dataset):
    """The opening clusters of the demo, named: the trilogy by the Rings, Ghibli by Animation."""
    doc = json.loads(run("clusters", demo_dataset, "--json").stdout)
    by_member = {m["label"]: c for c in doc["clusters"] for m in c["members"]}
    rings = by_member["Lord of the Rings: The Two Towers, The"]
    assert rings["label"].startswith("rings, lord")
    assert rings["keywords"][0] == {"text": "rings", "from": "label",
                                    "score": rings["keywords"][0]["score"]}
    assert "Animation" in by_member["My Neighbor Totoro (Tonari no Totoro)"]["label"]
    text = run("clusters", demo_dataset).stdout
    assert any("[rings, lord" in line and "Two Towers" in line for line in text.splitlines())


def test_info_says_how_far_each_layout_can_be_trusted(run, vectors_dataset, tmp_path):
    from engine.dataset import Dataset
    with Dataset.open(vectors_dataset) as ds:
        trust = ds.trust("umap")
    doc = json.loads(run("info", vectors_dataset, "--json").stdout)
    assert doc["trust"]["umap"] == {"kept": round(trust.mean, 6), "k": 5,
                                    "trustworthiness": round(trust.trustworthiness, 6),
                                    "sample": 60, "why_not": None}
    text = run("info", vectors_dataset).stdout
    line = next(ln for ln in text.splitlines() if "trust of umap" in ln)
    assert f"{trust.mean:.0%} of each entity's 5 neighbours" in line
    assert f"trustworthiness {trust.trustworthiness:.3f} (60 entities sampled)" in line


def test_build_a_tsne_layout_beside_umap(run, vectors_parquet, tmp_path):
    out = tmp_path / "tsne.duckdb"
    res = run("build", vectors_parquet, "-o", out, "-k", "5", "--layout", "umap,tsne",
              "--quiet")
    assert res.returncode == 0, res.stderr
    info = json.loads(run("info", out, "--json").stdout)
    assert {"layout:umap", "layout:tsne"} <= set(info["steps"])
    assert info["steps"]["layout:tsne"]["params"] == {"layout": "tsne", "seed": 0}
    assert set(info["trust"]) == {"umap", "tsne"}
    rows = run("export", out, "--table", "layout", "--layout", "tsne", "--format", "csv")
    assert rows.returncode == 0 and len(rows.stdout.splitlines()) == 61
    again = run("build", vectors_parquet, "-o", out, "-k", "5", "--layout", "umap,tsne")
    assert again.returncode == 0 and "nothing to recompute" in again.stderr


def test_neighbors_of_a_new_vector(run, vectors_dataset, tmp_path):
    from engine.dataset import Dataset
    with Dataset.open(vectors_dataset) as ds:
        v = ds.vectors_of([12])[0] * 3.0  # a scaled copy of entity 12: cosine 1
        want = ds.nearest_to(v, 6).records(ds)
    np.save(tmp_path / "q.npy", v)
    doc = json.loads(run("neighbors", vectors_dataset, "--vector", tmp_path / "q.npy", "-k",
                         "6", "--json").stdout)
    assert doc["query"] == {"vector": str(tmp_path / "q.npy")} and doc["exact"] is True
    assert doc["neighbors"] == want and doc["neighbors"][0]["id"] == "e012"
    text = run("neighbors", vectors_dataset, "--vector", tmp_path / "q.npy", "-k", "2")
    assert text.returncode == 0 and "exact, over all 60 vectors" in text.stdout
    assert len(text.stdout.splitlines()) == 3


@pytest.mark.parametrize("args, needle", [
    ((), "give one of QUERY, --vector FILE.npy or --text TEXT"),
    (("e001", "--vector", "q.npy"), "(got QUERY and --vector)"),
    (("--vector", "missing.npy"), "no such file (--vector)"),
    (("--vector", "short.npy"), "the query has 3 dimensions, the dataset's vectors"),
    (("--vector", "nan.npy"), "NaN or infinity"),
    (("--text", "a new text"), "was not built from text"),
])
def test_neighbors_of_something_new_refused_in_one_line(run, vectors_dataset, tmp_path,
                                                        args, needle, monkeypatch):
    np.save(tmp_path / "short.npy", np.ones(3))
    np.save(tmp_path / "nan.npy", np.full(8, np.nan))
    monkeypatch.chdir(tmp_path)
    res = run("neighbors", vectors_dataset, *args)
    assert res.returncode == 2 and needle in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_a_query_vector_needs_vectors(run, baskets_dataset, tmp_path):
    np.save(tmp_path / "q.npy", np.ones(4))
    res = run("neighbors", baskets_dataset, "--vector", tmp_path / "q.npy")
    assert res.returncode == 2 and "holds no vectors (collections input)" in res.stderr


def test_compare_two_files_of_the_same_entities(run, vectors_dataset, vectors_parquet, tmp_path):
    import pyarrow.parquet as pq
    same = json.loads(run("compare", vectors_dataset, vectors_dataset, "--json").stdout)
    assert same["shared"] == 60 and same["k"] == 5
    assert same["overlap"]["mean"] == 1.0 and same["clusters"]["adjusted_rand"] == 1.0
    counts = np.array(same["clusters"]["contingency"]["counts"])
    assert (counts == np.diag(np.diag(counts))).all()  # each cluster is itself
    assert sum(same["overlap"]["histogram"]["counts"]) == 60
    # B: the same vectors shuffled, ten entities dropped, and built with a larger k
    table = pq.read_table(vectors_parquet)
    order = np.random.default_rng(0).permutation(60)[:50]
    pq.write_table(table.take(order), tmp_path / "b.parquet")
    out = tmp_path / "b.duckdb"
    assert run("build", tmp_path / "b.parquet", "-o", out, "-k", "8", "--merge-tree", "knn",
               "--quiet").returncode == 0
    doc = json.loads(run("compare", vectors_dataset, out, "--json", "--limit", "3").stdout)
    assert doc["shared"] == 50 and doc["a"]["only_here"] == 10 and doc["b"]["only_here"] == 0
    assert doc["k"] == 5 and len(doc["most_changed"]) == 3
    assert set(doc) == {"a", "b", "shared", "k", "overlap", "most_changed", "least_changed",
                        "clusters"}
    assert set(doc["clusters"]["contingency"]["a"][0]) == {"cluster", "size", "label"}
    text = run("compare", vectors_dataset, out)
    assert text.returncode == 0
    assert ": 50 entities in both (10 only in A, 0 only in B)" in text.stdout
    assert "adjusted Rand index" in text.stdout
    bad = run("compare", vectors_dataset, out, "--limit", "-1")
    assert bad.returncode == 2 and "--limit" in bad.stderr
