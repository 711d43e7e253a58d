"""`--embedding` on the command line: build adds one, queries pick one, compare takes two."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

N = 60


def _write(path, ids, X):
    pq.write_table(pa.table({"id": list(ids), "label": [f"film {i}" for i in ids],
                             "vec": list(np.asarray(X, np.float32))}), path)


@pytest.fixture(scope="module")
def halves(tmp_path_factory):
    """Embeddings A and B of 60 entities: the first 30 sit far from the rest with the same
    vectors in both (their neighbourhoods agree exactly); the other 30 get new random
    vectors in B."""
    from engine.pipeline import BuildOptions, build
    d = tmp_path_factory.mktemp("halves")
    rng = np.random.default_rng(0)
    ids = [f"m{i:02d}" for i in range(N)]
    near = rng.normal(size=(30, 8)) + np.r_[20, np.zeros(7)]
    far = rng.normal(size=(30, 8)) - np.r_[20, np.zeros(7)]
    far_b = rng.normal(size=(30, 8)) - np.r_[20, np.zeros(7)]
    _write(d / "a.parquet", ids, np.vstack([near, far]))
    order = rng.permutation(N)  # B's rows in another order: matched by id
    _write(d / "b.parquet", [ids[i] for i in order], np.vstack([near, far_b])[order])
    out = d / "films.duckdb"
    for src, name in (("a", "alpha"), ("b", "beta")):
        build(d / f"{src}.parquet", out, BuildOptions(id_col="id", label_col="label",
                                                       vector_col="vec", k=5, embedding=name))
    return out, ids


def test_info_lists_the_embeddings(run, halves):
    out, _ = halves
    text = run("info", out).stdout
    assert "*embedding alpha (vectors, 8 dimensions): cosine k=5" in text
    assert " embedding beta (vectors, 8 dimensions): cosine k=5; layouts umap" in text
    doc = json.loads(run("info", out, "--embedding", "beta", "--json").stdout)
    assert doc["embedding"] == "beta" and list(doc["embeddings"]) == ["alpha", "beta"]
    assert doc["embeddings"]["alpha"]["entities"] == N and doc["steps"]["knn"]["params"]["k"] == 5


def test_queries_take_the_embedding(run, halves):
    out, _ = halves
    a = json.loads(run("neighbors", out, "m40", "--json").stdout)["neighbors"]
    b = json.loads(run("neighbors", out, "m40", "--embedding", "beta", "--json")
                   .stdout)["neighbors"]
    assert [r["id"] for r in a] != [r["id"] for r in b]
    near = json.loads(run("neighbors", out, "m03", "--embedding", "beta", "--json").stdout)
    assert all(int(r["id"][1:]) < 30 for r in near["neighbors"])
    for cmd in (("clusters", "--threshold", "0.5"), ("search", "film"), ("pairs",),
                ("export", "--table", "knn")):
        res = run(*cmd[:1], out, *cmd[1:], "--embedding", "beta")
        assert res.returncode == 0, (cmd, res.stderr)
    bad = run("neighbors", out, "m40", "--embedding", "gamma")
    assert bad.returncode == 2
    assert bad.stderr.strip().endswith("has no embedding 'gamma' (it has: alpha, beta)")


def test_compare_two_embeddings_of_one_file_against_a_direct_count(run, halves):
    from engine.dataset import Dataset
    out, ids = halves
    doc = json.loads(run("compare", out, "alpha", "beta", "--json", "--limit", "60").stdout)
    assert doc["shared"] == N and doc["a"]["embedding"] == "alpha"
    assert doc["b"]["embedding"] == "beta" and doc["k"] == 5
    with Dataset.open(out, "alpha") as a, Dataset.open(out, "beta") as b:
        direct = {}
        for i in range(N):
            na, nb = set(a.neighbors(i).idx.tolist()), set(b.neighbors(i).idx.tolist())
            direct[ids[i]] = len(na & nb) / len(na | nb)
        from engine.compare import entity_overlap
        per_entity = entity_overlap(a, b)  # what the explorer's "agreement" colours by
        assert per_entity == pytest.approx([direct[i] for i in ids], abs=1e-9)
    got = {e["id"]: e["overlap"] for e in doc["least_changed"]}
    assert got == pytest.approx(direct, abs=1e-6)
    assert all(direct[ids[i]] == 1.0 for i in range(30))  # the half that agrees
    assert np.mean([direct[ids[i]] for i in range(30, N)]) < 0.5
    assert doc["overlap"]["mean"] == pytest.approx(np.mean(list(direct.values())), abs=1e-6)
    text = run("compare", out, "alpha", "beta").stdout
    assert text.startswith("A = alpha, B = beta: 60 entities in both (0 only in A, 0 only")


def test_build_refuses_a_bad_embedding_name(run, halves, tmp_path):
    out, _ = halves
    res = run("build", out.parent / "a.parquet", "-o", tmp_path / "x.duckdb",
              "--embedding", "no/slash", "--quiet")
    assert res.returncode == 2 and "--embedding 'no/slash': a name is" in res.stderr
    assert not (tmp_path / "x.duckdb").exists()


def test_the_explorer_refuses_an_unknown_embedding_before_the_screen(run, halves):
    out, _ = halves
    res = run(out, "--embedding", "gamma")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip().endswith("has no embedding 'gamma' (it has: alpha, beta)")
    res = run(out, "--layout", "x")
    assert res.returncode == 2 and "or 'embtui DATASET [--embedding NAME]'" in res.stderr
