"""Writing rows to CSV, TSV, parquet or JSONL: one writer for the command line and the explorer.

Rows arrive as a pyarrow table or batch reader (the store turns queries into those), so no
DuckDB here. A file is written under a temporary name and moved into place, so a failure
leaves no half file behind; standard output gets the rows as they come. pyarrow is imported
only when writing, so the command line starts without it.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING

from engine.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = {"csv": "csv", "tsv": "tsv", "parquet": "parquet", "pq": "parquet",
           "jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl"}
FORMAT_NAMES = tuple(dict.fromkeys(FORMATS.values()))
_DELIMITERS = {"csv": ",", "tsv": "\t"}


def format_for(path: str | None, default: str = "csv") -> str:
    """The format a file name asks for by its suffix (unknown or none: `default`)."""
    suffix = os.path.splitext(path or "")[1].lower().lstrip(".")
    return FORMATS.get(suffix, default)


def check_target(out: str, protect: str | None = None) -> str:
    """`out` with ~ expanded, if a file may be written there; `protect` is never overwritten."""
    out = os.path.expanduser(out.strip())
    if not out:
        raise InputError("give a file name")
    if os.path.isdir(out):
        raise InputError(f"{out} is a directory")
    if protect and os.path.exists(out) and os.path.exists(protect) and os.path.samefile(
            out, protect):
        raise InputError(f"refusing to export onto the dataset itself ({out})")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise InputError(f"{parent}: no such directory")
    return out


def write_table(data: pa.Table | pa.RecordBatchReader, out: str | None,
                fmt: str | None = None) -> int:
    """Write `data` to the file `out` (None: standard output); returns the rows written.

    `fmt` defaults to the one `out`'s suffix names, else csv.
    """
    fmt = fmt or format_for(out)
    if fmt not in FORMAT_NAMES:
        raise InputError(f"unknown format '{fmt}' (use {', '.join(FORMAT_NAMES)})")
    if out is None:
        if fmt == "parquet":
            raise InputError("parquet needs a file: add -o FILE.parquet")
        sys.stdout.flush()
        n = _write(data, sys.stdout.buffer, fmt)
        sys.stdout.buffer.flush()
        return n
    tmp = f"{out}.part"
    try:
        with open(tmp, "wb") as f:
            n = _write(data, f, fmt)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return n


def _write(data, f, fmt: str) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc
    schema = data.schema
    batches = data.to_batches(max_chunksize=1 << 16) if isinstance(data, pa.Table) else data
    n = 0
    if fmt == "parquet":
        import pyarrow.parquet as pq
        with pq.ParquetWriter(f, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
                n += batch.num_rows
        return n
    if fmt in _DELIMITERS:
        delim = _DELIMITERS[fmt]
        f.write((delim.join(_quote_text(name, delim) for name in schema.names) + "\n")
                .encode("utf-8"))
    for batch in batches:
        if not batch.num_rows:
            continue
        if fmt == "jsonl":
            lines = [json.dumps(rec, ensure_ascii=False, default=str)
                     for rec in batch.to_pylist()]
        else:
            cols = [_csv_column(col, delim) for col in batch.columns]
            rows = cols[0] if len(cols) == 1 else pc.binary_join_element_wise(*cols, delim)
            lines = rows.to_pylist()
        f.write(("\n".join(lines) + "\n").encode("utf-8"))
        n += batch.num_rows
    return n


def _quote_pattern(delim: str) -> str:
    return f'[{delim}"\r\n]'


def _quote_text(text: str, delim: str) -> str:
    if any(ch in text for ch in (delim, '"', "\r", "\n")):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_column(col: pa.Array, delim: str) -> pa.Array:
    """One column as CSV fields: quoted only where it must be (as DuckDB writes), null empty."""
    import pyarrow.compute as pc
    text = _as_text(col)
    needs = pc.fill_null(pc.match_substring_regex(text, _quote_pattern(delim)), False)
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.fill_null(pc.if_else(needs, quoted, text), "")


def _as_text(col: pa.Array) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return col
    if pa.types.is_dictionary(col.type):
        return _as_text(col.dictionary_decode())
    try:
        return pc.cast(col, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # lists, structs: as JSON
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                         for v in col.to_pylist()], pa.string())
