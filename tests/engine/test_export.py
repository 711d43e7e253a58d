"""The one export writer: formats by suffix, CSV/JSONL text, no half files, standard output."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.errors import InputError, OutputError
from engine.export import FORMAT_NAMES, check_target, format_for, write_table


def awkward() -> pa.Table:
    return pa.table({
        "s": ["plain", "a,b", 'say "hi"', "two\nlines", "", None, "ü\\", "tab\there"],
        "f": [1.0, 0.1, float("nan"), 1e-7, 2.5e-5, None, 1e20, -3.0],
        "g": pa.array([0.5, 0.1, None, 1e-7, 3.0, 2.0, -0.0, 0.25], pa.float32()),
        "i": pa.array([1, 2, None, 4, 5, 6, 7, 8], pa.int64()),
        "b": [True, False, None, True, True, False, True, False],
        "l": [[1, 2], None, [], [3], [4], [5], [6], [7]],
    })


def test_format_follows_the_suffix():
    assert [format_for(p) for p in ("a.csv", "a.TSV", "a.pq", "a.parquet", "a.json",
                                    "a.ndjson", "a.jsonl", "a.txt", "a", None)] == [
        "csv", "tsv", "parquet", "parquet", "jsonl", "jsonl", "jsonl", "csv", "csv", "csv"]
    assert set(FORMAT_NAMES) == {"csv", "tsv", "parquet", "jsonl"}


def test_csv_quotes_only_what_needs_it_and_reads_back(tmp_path):
    out = tmp_path / "x.csv"
    assert write_table(awkward(), str(out)) == 8
    text = out.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "s,f,g,i,b,l"
    assert lines[1] == 'plain,1.0,0.5,1,true,"[1, 2]"'
    assert lines[2].startswith('"a,b",0.1,0.1,2,false,')
    assert '"say ""hi""",nan,,,,[]' in text
    assert '\n"",2.5e-05,3.0,5,true,[4]\n' in text  # an empty string is ""
    assert "\n,,2.0,6,false,[5]\n" in text  # nulls are nothing
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in rows[1:]] == ["plain", "a,b", 'say "hi"', "two\nlines", "", "",
                                        "ü\\", "tab\there"]
    assert [float(r[1]) if r[1] else None for r in rows[1:]][4:] == [2.5e-5, None, 1e20, -3.0]


def test_tsv_uses_tabs(tmp_path):
    out = tmp_path / "x.tsv"
    write_table(awkward(), str(out))
    rows = list(csv.reader(out.open(encoding="utf-8"), delimiter="\t"))
    assert rows[0] == ["s", "f", "g", "i", "b", "l"]
    assert rows[2][0] == "a,b" and rows[8][0] == "tab\there"


def test_float64_text_is_repr(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.standard_normal(5000) * 10.0 ** rng.integers(-20, 20, 5000)
    out = tmp_path / "f.csv"
    write_table(pa.table({"v": values}), str(out))
    assert out.read_text().splitlines()[1:] == [repr(v) for v in values.tolist()]


def test_jsonl_lines_parse_to_the_values(tmp_path):
    out = tmp_path / "x.jsonl"
    write_table(awkward(), str(out))
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(recs) == 8
    assert recs[0] == {"s": "plain", "f": 1.0, "g": 0.5, "i": 1, "b": True, "l": [1, 2]}
    assert [r["s"] for r in recs] == ["plain", "a,b", 'say "hi"', "two\nlines", "", None,
                                      "ü\\", "tab\there"]
    assert math.isnan(recs[2]["f"]) and recs[2]["i"] is None and recs[2]["b"] is None
    assert recs[3]["g"] == pytest.approx(1e-7) and recs[6]["f"] == 1e20
    assert out.read_text(encoding="utf-8").startswith('{"s":"plain","f":1.0,')


def test_parquet_round_trips_batches_from_a_reader(tmp_path):
    table = awkward()
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=3))
    out = tmp_path / "x.parquet"
    assert write_table(reader, str(out)) == 8
    read, rows = pq.read_table(out).cast(table.schema).to_pylist(), table.to_pylist()
    assert read[:2] + read[3:] == rows[:2] + rows[3:]  # row 2 holds a NaN
    assert math.isnan(read[2]["f"]) and read[2]["s"] == rows[2]["s"]


def test_a_failed_write_leaves_the_old_file_and_no_part_file(tmp_path):
    out = tmp_path / "x.csv"
    out.write_text("old\n")
    table = awkward()

    def batches():
        yield table.to_batches()[0]
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match=f"cannot write {out}: no space left on device"):
        write_table(pa.RecordBatchReader.from_batches(table.schema, batches()), str(out))
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


def test_standard_output(capsysbinary):
    assert write_table(pa.table({"a": [1, 2], "b": ["x", "y,z"]}), None, "csv") == 2
    assert capsysbinary.readouterr().out == b'a,b\n1,x\n2,"y,z"\n'
    with pytest.raises(InputError, match="parquet needs a file"):
        write_table(pa.table({"a": [1]}), None, "parquet")


def test_check_target(tmp_path):
    ds = tmp_path / "d.duckdb"
    ds.write_bytes(b"x")
    assert check_target(f" {tmp_path}/out.csv ") == f"{tmp_path}/out.csv"
    with pytest.raises(InputError, match="give a file name"):
        check_target("  ")
    with pytest.raises(InputError, match="is a directory"):
        check_target(str(tmp_path))
    with pytest.raises(InputError, match="dataset itself"):
        check_target(str(ds), protect=str(ds))
    with pytest.raises(InputError, match="no such directory"):
        check_target(str(tmp_path / "nope" / "out.csv"))
