"""`build --pair-attribute/--pair-scale` and `build --text-column COL --windows W`."""

import json

SESSIONS = """collection,entity,t
s1,a,0
s1,b,1
s1,c,50
s2,a,10
s2,b,11
s2,c,90
s3,c,0
s3,d,1
s4,c,5
s4,d,6
"""


def neighbours(run, dataset, query):
    res = run("neighbors", dataset, query, "--json")
    assert res.returncode == 0, res.stderr
    return {n["id"]: n["similarity"] for n in json.loads(res.stdout)["neighbors"]}


def test_pair_attribute_weights_pairs_by_closeness(run, tmp_path):
    src = tmp_path / "sessions.csv"
    src.write_text(SESSIONS)
    plain, paired = tmp_path / "plain.duckdb", tmp_path / "paired.duckdb"
    common = ("--collections", "--measure", "conditional", "-k", "3", "--quiet")
    assert run("build", src, "-o", plain, *common).returncode == 0
    res = run("build", src, "-o", paired, *common, "--pair-attribute", "t",
              "--pair-scale", "2")
    assert res.returncode == 0, res.stderr
    # a and c share two sessions, but far apart in time: nearly nothing once weighted
    assert neighbours(run, plain, "a")["c"] == 1.0
    got = neighbours(run, paired, "a")
    assert got.get("c", 0.0) < 1e-6 < got["b"]
    steps = json.loads(run("info", paired, "--json").stdout)["steps"]
    assert steps["knn"]["params"]["pair_scale"] == 2.0
    assert steps["ingest"]["params"]["pair_attribute"] == "t"


def test_pair_attribute_bad_inputs_are_one_line(run, tmp_path):
    src = tmp_path / "sessions.csv"
    src.write_text(SESSIONS.replace("s1,b,1", "s1,b,"))
    out = tmp_path / "out.duckdb"
    cases = [
        (("--pair-attribute", "t", "--pair-scale", "1"), "column 't' has no number"),
        (("--pair-attribute", "t", "--pair-scale", "0"), "--pair-scale must be a positive"),
        (("--pair-attribute", "t"), "--pair-attribute needs --pair-scale"),
        (("--pair-attribute", "nope", "--pair-scale", "1"), "no pair attribute column 'nope'"),
    ]
    for extra, message in cases:
        res = run("build", src, "-o", out, "--collections", "--quiet", *extra)
        assert res.returncode == 2 and message in res.stderr, (extra, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1
        assert not out.exists()
