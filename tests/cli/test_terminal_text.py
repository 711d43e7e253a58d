"""Data strings on the command line's text paths: plain on a terminal, exact in a file or pipe."""

import json
import os
import pty
import shlex
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.pipeline import BuildOptions, build

COLUMN = "\x1b]52;c;aGk=\x07col"
LABEL = "evil \x1b[2J label"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Collections whose metadata column name and one label hold escape sequences."""
    d = tmp_path_factory.mktemp("hostile")
    rows = [(f"c{c}", f"e{e}") for c in range(6) for e in range(c, c + 4)]
    labels = {e: (LABEL if e == "e0" else f"item {e}") for _, e in rows}
    pq.write_table(pa.table({"collection": [c for c, _ in rows], "entity": [e for _, e in rows],
                             "label": [labels[e] for _, e in rows],
                             COLUMN: ["x\x1b[31my"] * len(rows)}), d / "in.parquet")
    out = d / "hostile.duckdb"
    build(d / "in.parquet", out, BuildOptions(kind="collections", label_col="label",
                                              meta_cols=(COLUMN,), k=3))
    return out


def test_info_text_holds_no_escape(run, hostile):
    res = run("info", hostile)
    assert res.returncode == 0, res.stderr
    assert "\x1b" not in res.stdout and "\x07" not in res.stdout
    metadata = [line for line in res.stdout.splitlines() if "metadata:" in line]
    assert metadata and "␛]52;c;aGk=␇col" in metadata[0]
    assert "meta=" in res.stdout  # the ingest step's params, a list (so its repr)


def test_info_json_escapes_controls(run, hostile):
    res = run("info", hostile, "--json")
    assert res.returncode == 0 and "\x1b" not in res.stdout
    assert json.loads(res.stdout)["entities"] == 9


def test_export_to_a_pipe_keeps_the_bytes(run, hostile):
    res = run("export", hostile, "--table", "entities")
    assert res.returncode == 0, res.stderr
    assert LABEL in res.stdout and COLUMN in res.stdout.splitlines()[0]


def _on_terminal(shell_exe, *args, env=None):
    """Run `embtui ARGS` with stdout and stderr on a terminal: (status, what it showed)."""
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen([*shlex.split(shell_exe), *map(str, args)],
                                stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary,
                                env={**os.environ, **(env or {})})
        os.close(secondary)
        seen = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        proc.wait(timeout=120)
    finally:
        os.close(primary)
    return proc.returncode, seen.decode()


def test_export_to_a_terminal_is_plain_text(shell_exe, hostile):
    status, text = _on_terminal(shell_exe, "export", hostile, "--table", "entities",
                                "--format", "tsv", env={"NO_COLOR": "1"})
    assert status == 0, text
    assert "\x1b" not in text and "\x07" not in text
    assert "evil ␛[2J label" in text and "␛]52;c;aGk=␇col" in text
    assert "\t" in text  # the fields stay apart


@pytest.mark.parametrize("env", [{"TERM": "dumb"}, {"NO_COLOR": "1"}])
def test_text_commands_on_a_terminal_print_no_colour(shell_exe, hostile, env):
    for args in (("info", hostile), ("neighbors", hostile, "e1"), ("search", hostile, "item"),
                 ("clusters", hostile, "--threshold", "0"), ("search", hostile, " "),
                 ("export", hostile, "--table", "knn")):
        status, text = _on_terminal(shell_exe, *args, env=env)
        assert status in (0, 1, 2) and "Traceback" not in text, text
        assert "\x1b" not in text, (args, text)


def test_cluster_keywords_from_hostile_metadata_are_plain(run, hostile):
    """A metadata value and column name with escape sequences, as keywords: plain in text,
    exact (JSON-escaped) in JSON."""
    doc = json.loads(run("clusters", hostile, "--threshold", "-1", "--json").stdout)
    keywords = [k for c in doc["clusters"] for k in c["keywords"]]
    assert {"text": "x\x1b[31my", "from": COLUMN} in [
        {"text": k["text"], "from": k["from"]} for k in keywords]
    res = run("clusters", hostile, "--threshold", "-1")
    assert res.returncode == 0, res.stderr
    assert "\x1b" not in res.stdout and "x␛[31my" in res.stdout
