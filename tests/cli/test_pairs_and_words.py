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


CORPUS = """id,text
1,I love Monday mornings and coffee
2,"Tuesday mornings, coffee again!"
3,Monday evenings with tea
4,Tuesday evenings with tea
5,The coffee is hot; the tea is hot
"""


def test_text_windows_build_words_as_entities(run, tmp_path):
    src, stop = tmp_path / "corpus.csv", tmp_path / "stop.txt"
    src.write_text(CORPUS)
    stop.write_text("i\nand\nthe\nis\nwith\nagain\n")
    out = tmp_path / "words.duckdb"
    res = run("build", src, "-o", out, "--text-column", "text", "--windows", "2",
              "--stop-words", stop, "-k", "3", "--quiet")
    assert res.returncode == 0, res.stderr
    info = json.loads(run("info", out, "--json").stdout)
    assert info["kind"] == "collections"
    assert info["steps"]["ingest"]["params"]["windows"] == 2
    # bigrams once the stop words are gone: "love monday" is monday's one positive npmi
    # ("monday mornings" is as frequent as chance: npmi 0, not kept)
    assert set(neighbours(run, out, "monday")) == {"love"}
    assert {"tea", "tuesday"} == set(neighbours(run, out, "evenings"))  # "with" dropped
    listed = run("search", out, "and", "--json")
    assert "and" not in [m["id"] for m in json.loads(listed.stdout)["matches"]]
    # a rebuild with another W recomputes from ingest on
    res = run("build", src, "-o", out, "--text-column", "text", "--windows", "3",
              "--stop-words", stop, "-k", "3")
    assert res.returncode == 0 and "computed ingest" in res.stderr


def test_text_windows_bad_inputs_are_one_line(run, tmp_path):
    src = tmp_path / "corpus.csv"
    src.write_text(CORPUS)
    out = tmp_path / "out.duckdb"
    cases = [
        (("--text-column", "text", "--windows", "1"), "--windows must be at least 2"),
        (("--text-column", "text", "--windows", "2", "--stop-words", tmp_path / "none.txt"),
         "none.txt: no such file (--stop-words)"),
        (("--windows", "2"), "name it with --text-column COL"),
        (("--text-column", "text", "--stop-words", "x.txt"), "--stop-words applies to"),
        (("--text-column", "text", "--collections"), "add --windows W"),
        (("--text-column", "text", "--windows", "2", "--id", "id"), "--id does not go with"),
        (("--text-column", "body", "--windows", "2"), "no text column 'body'"),
    ]
    for extra, message in cases:
        res = run("build", src, "-o", out, "--quiet", *extra)
        assert res.returncode == 2 and message in res.stderr, (extra, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1
        assert not out.exists()
