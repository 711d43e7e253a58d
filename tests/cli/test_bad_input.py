"""Every bad input of DESIGN.md: exit 2, one line on stderr naming it, no file changed."""

import hashlib
import json
import os
import stat
import subprocess
import sys

import duckdb
import pytest


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(res, *needles):
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def dataset_copy(vectors_dataset, tmp_path):
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(vectors_dataset.read_bytes())
    return copy


def test_missing_file(run, tmp_path):
    one_line(run("info", tmp_path / "nope.duckdb"), "no such file")
    one_line(run(tmp_path / "nope.duckdb"), "no such file")


def test_not_a_duckdb_file(run, tmp_path):
    bad = tmp_path / "x.duckdb"
    bad.write_text("hello")
    one_line(run("info", bad), "not a DuckDB file")
    assert bad.read_text() == "hello"


def test_duckdb_file_that_is_not_a_dataset(run, tmp_path):
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    before = digest(other)
    one_line(run("neighbors", other, "x"), "not an embtui dataset")
    src = tmp_path / "v.csv"
    src.write_text("id,a,b\n1,1,2\n2,2,1\n")
    one_line(run("build", src, "-o", other), "not an embtui dataset")
    assert digest(other) == before


def test_newer_schema(run, dataset_copy):
    con = duckdb.connect(str(dataset_copy))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    one_line(run("info", dataset_copy), "schema version 99", "upgrade embtui")


def test_locked_by_a_writer(run, dataset_copy):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); sys.stdin.read()", str(dataset_copy)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        one_line(run("info", dataset_copy), "locked by another process (a build or a viewer)")
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


@pytest.mark.parametrize("text, args, needles", [
    ("id,a,b\n1,1,2\n", ("--vector", "nope"), ("no vector column 'nope'",)),
    ("id,a,b\n1,1,2\n", ("--id", "key"), ("no id column 'key'",)),
    ("id,a,b\n1,nan,2\n2,1,1\n", (), ("NaN or infinite", "'1'")),
    ("id,a,b\n1,inf,2\n2,1,1\n", ("--metric", "euclidean"), ("NaN or infinite", "'1'")),
    ("id,a,b\n1,0,0\n2,1,1\n", (), ("zero vectors", "'1'")),
    ("id,a,b\n1,1,2\n1,2,1\n", (), ("duplicate ids", "'1'")),
])
def test_bad_vector_csv_leaves_dataset_untouched(run, dataset_copy, tmp_path, text, args,
                                                 needles):
    src = tmp_path / "bad.csv"
    src.write_text(text)
    before = digest(dataset_copy)
    one_line(run("build", src, "-o", dataset_copy, *args), *needles)
    assert digest(dataset_copy) == before


def test_ragged_and_non_numeric_vectors(run, tmp_path):
    src = tmp_path / "r.jsonl"
    src.write_text(json.dumps({"id": "a", "v": [1, 2, 3]}) + "\n"
                   + json.dumps({"id": "b", "v": [1, 2]}) + "\n")
    out = tmp_path / "out.duckdb"
    one_line(run("build", src, "-o", out), "ragged vectors")
    assert not out.exists()  # a failed first build leaves no file behind
    src.write_text(json.dumps({"id": "a", "v": ["x", "y"]}) + "\n")
    one_line(run("build", src, "-o", out), "non-numeric vectors")


def test_empty_collection_file(run, tmp_path):
    src = tmp_path / "empty.csv"
    src.write_text("collection,entity\n")
    one_line(run("build", src, "--collections", "-o", tmp_path / "o.duckdb"),
             "empty collection file")


def test_unknown_collection_column(run, tmp_path):
    src = tmp_path / "c.csv"
    src.write_text("basket,product\nb1,x\n")
    one_line(run("build", src, "--collections", "--collection", "basket", "-o",
                 tmp_path / "o.duckdb"), "no entity column 'entity'")


def test_export_onto_the_dataset_is_refused(run, dataset_copy):
    before = digest(dataset_copy)
    one_line(run("export", dataset_copy, "--table", "entities", "-o", dataset_copy),
             "refusing to export onto the dataset")
    assert digest(dataset_copy) == before


def test_usage_errors_are_one_line(run, vectors_dataset):
    one_line(run("clusters", vectors_dataset, "--threshold", "0.5", "--method", "slpa"),
             "not allowed with argument")
    one_line(run("neighbors"), "required")
    one_line(run("bogus", "x"), "unknown command")
    one_line(run("build", "x.csv", "-o", "y.duckdb", "--layout", "isomap"), "unknown layout")


def test_quiet_silences_progress_not_errors(run, tmp_path):
    src = tmp_path / "v.csv"
    src.write_text("id,a,b\n1,1,2\n2,2,1\n3,0,1\n")
    ok = run("build", src, "-o", tmp_path / "q.duckdb", "-k", "2", "--quiet")
    assert ok.returncode == 0 and ok.stderr == ""
    one_line(run("build", tmp_path / "nope.csv", "-o", tmp_path / "q2.duckdb", "--quiet"),
             "no such file")


@pytest.mark.parametrize("command", ["export", "build"])
def test_outputs_that_are_not_regular_files_are_refused(run, vectors_dataset, vectors_parquet,
                                                        tmp_path, command):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    args = (("export", vectors_dataset, "--table", "knn") if command == "export"
            else ("build", vectors_parquet, "--quiet"))
    one_line(run(*args, "-o", fifo), f"{fifo} is a FIFO, not a regular file")
    one_line(run(*args, "-o", "/dev/null"), "/dev/null is a character device")
    one_line(run(*args, "-o", tmp_path), "is a directory")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_outputs_write_through_a_symlink(run, vectors_dataset, vectors_parquet, tmp_path):
    real, link = tmp_path / "real.csv", tmp_path / "link.csv"
    real.write_text("old\n")
    link.symlink_to(real)
    assert run("export", vectors_dataset, "--table", "knn", "-o", link).returncode == 0
    assert link.is_symlink() and real.read_text().startswith("src,src_id,rank")
    data, data_link = tmp_path / "data.duckdb", tmp_path / "data-link.duckdb"
    data_link.symlink_to(data)  # dangling until the build: created where it points
    res = run("build", vectors_parquet, "-o", data_link, "-k", "4", "--quiet")
    assert res.returncode == 0, res.stderr
    assert data_link.is_symlink() and data.is_file()
    assert json.loads(run("info", data_link, "--json").stdout)["entities"] == 60
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data-link.duckdb", "data.duckdb",
                                                          "link.csv", "real.csv"]


def test_parquet_to_standard_output_is_refused(run, dataset_copy):
    for out in ((), ("-o", "-")):
        res = run("export", dataset_copy, "--table", "entities", "--format", "parquet", *out)
        assert res.stdout == ""
        one_line(res, "parquet needs a file")


def test_a_collection_over_max_collection_size_is_refused(run, tmp_path):
    src = tmp_path / "big.csv"
    rows = [f"u\x1b[2J17,item{i}" for i in range(30)] + [f"u2,item{i}" for i in range(3)]
    src.write_text("collection,entity\n" + "\n".join(rows) + "\n")
    out = tmp_path / "o.duckdb"
    assert run("build", src, "--collections", "-o", out, "--quiet").returncode == 0
    before = digest(out)
    res = run("build", src, "--collections", "-o", out, "--max-collection-size", "20", "-k",
              "4")
    one_line(res, "collection 'u␛[2J17' has 30 entities", "--max-collection-size 20",
             "--max-collection-size 0")
    assert "\x1b" not in res.stderr
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "o.duckdb"]
    res = run("build", src, "--collections", "-o", out, "--max-collection-size", "0", "-k",
              "4", "--quiet")
    assert res.returncode == 0, res.stderr
    one_line(run("build", src, "--collections", "-o", out, "--max-collection-size", "-1"),
             "--max-collection-size must be at least 0")


def test_threshold_outside_the_similarity_range(run, vectors_dataset, baskets_dataset):
    for args in (("clusters", vectors_dataset, "--threshold", "1.5"),
                 ("export", vectors_dataset, "--table", "clusters", "--threshold", "-2")):
        one_line(run(*args), "outside [-1, 1], the range of cosine similarities")
    one_line(run("clusters", baskets_dataset, "--threshold", "-1.5"),
             "outside [-1, 1], the range of npmi similarities")
    one_line(run("clusters", vectors_dataset, "--threshold", "nan"), "must be a number")
    assert run("clusters", vectors_dataset, "--threshold", "1").returncode in (0, 1)


def test_options_that_do_not_apply_are_refused(run, vectors_dataset, tmp_path):
    ds = vectors_dataset
    one_line(run("export", ds, "--table", "knn", "--threshold", "0.5"),
             "--threshold applies to --table clusters only")
    one_line(run("export", ds, "--table", "entities", "--method", "slpa"),
             "--method applies to --table clusters only")
    one_line(run("export", ds, "--table", "clusters", "--threshold", "0.5", "--method",
                 "label-propagation"), "give --threshold or --method, not both")
    one_line(run("export", ds, "--table", "knn", "--layout", "umap"),
             "--layout applies to --table layout only")
    src = tmp_path / "v.csv"
    src.write_text("id,a,b\n1,1,2\n2,2,1\n3,1,1\n")
    one_line(run("build", src, "-o", tmp_path / "o.duckdb", "--kmeans-k", "3"),
             "--kmeans-k applies to --communities kmeans only")
    for option in (("--slpa-r", "0.2"), ("--slpa-iterations", "10"), ("--slpa-r", "0.1")):
        one_line(run("build", src, "-o", tmp_path / "o.duckdb", *option),
                 "--slpa-r and --slpa-iterations apply to --communities slpa only")
    for option in (("--mde-neighbors", "15"), ("--mde-dim", "3"), ("--mde-iters", "50"),
                   ("--device", "cpu")):
        one_line(run("build", src, "-o", tmp_path / "o.duckdb", *option),
                 "--mde-neighbors, --mde-dim, --mde-iters and --device apply to --layout "
                 "mde-umap only")
    assert not (tmp_path / "o.duckdb").exists()


MDE, SLPA = ("--layout", "mde-umap"), ("--communities", "slpa")


@pytest.mark.parametrize("method, option, message", [
    (MDE, ("--mde-neighbors", "0"), "--mde-neighbors must be in 1..15 (-k, the neighbours the "
                                    "graph holds), got 0"),
    (MDE, ("--mde-neighbors", "16"), "--mde-neighbors must be in 1..15"),
    (MDE, ("--mde-iters", "0"), "--mde-iters must be at least 1, got 0"),
    (MDE, ("--mde-dim", "2"), "argument --mde-dim: invalid choice: 2"),
    (MDE, ("--device", "tpu"), "argument --device: invalid choice: 'tpu'"),
    (SLPA, ("--slpa-r", "0"), "--slpa-r is a share of the memory in (0, 1] (got 0.0)"),
    (SLPA, ("--slpa-r", "1.5"), "--slpa-r is a share of the memory in (0, 1] (got 1.5)"),
    (SLPA, ("--slpa-r", "nan"), "--slpa-r is a share of the memory in (0, 1] (got nan)"),
    (SLPA, ("--slpa-r", "x"), "argument --slpa-r: invalid float value: 'x'"),
    (SLPA, ("--slpa-iterations", "0"), "--slpa-iterations must be at least 1 (got 0)"),
])
def test_bad_mde_and_slpa_options(run, tmp_path, method, option, message):
    src = tmp_path / "v.csv"
    src.write_text("id,a,b\n1,1,2\n2,2,1\n3,1,1\n")
    one_line(run("build", src, "-o", tmp_path / "o.duckdb", *method, *option), message)
    assert not (tmp_path / "o.duckdb").exists()


@pytest.mark.parametrize("text", ["", "   ", "\t"])
def test_empty_search_text_or_query(run, vectors_dataset, text):
    one_line(run("search", vectors_dataset, text), "search text is empty")
    one_line(run("neighbors", vectors_dataset, text), "the query is empty")
