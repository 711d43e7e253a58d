"""Writing rows to CSV, TSV, parquet or JSONL: one writer for the command line and the explorer.

Rows arrive as a pyarrow table or batch reader (the store turns queries into those), so no
DuckDB here. A file is written under a temporary name and moved into place, so a failure
leaves no half file behind (a symlink is written through to its file; a device, FIFO or
directory is refused: engine.paths). Standard output gets the rows as they come, through the
descriptor the shell gave us, so `>>` appends. pyarrow is imported only when writing, so the
command line starts without it.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from typing import TYPE_CHECKING

from engine.errors import InputError, OutputError
from engine.paths import output_path, temp_beside

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


# Names that mean "standard output" to a Unix tool; written through descriptor 1, never reopened
# (reopening /dev/stdout truncates what `>>` or `(echo header; …) >` put there).
STDOUT_NAMES = ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")


def check_target(out: str, protect: str | None = None) -> str:
    """The file to write for `out` (~ expanded, a symlink followed), if a file may be written
    there; `protect` is never overwritten."""
    given = os.path.expanduser(out.strip())
    if not given:
        raise InputError("give a file name")
    out = output_path(given)
    if protect and os.path.exists(out) and os.path.exists(protect) and os.path.samefile(
            out, protect):
        raise InputError(f"refusing to export onto the dataset itself ({given})")
    return out


def write_table(data: pa.Table | pa.RecordBatchReader, out: str | None,
                fmt: str | None = None, stream=None) -> int:
    """Write `data` to the file `out` (None: standard output, or the binary `stream` given in
    its place); returns the rows written. A failed write raises OutputError naming the file.

    `fmt` defaults to the one `out`'s suffix names, else csv.
    """
    fmt = fmt or format_for(out)
    if fmt not in FORMAT_NAMES:
        raise InputError(f"unknown format '{fmt}' (use {', '.join(FORMAT_NAMES)})")
    if out is None:
        if fmt == "parquet":
            raise InputError("parquet needs a file: add -o FILE.parquet")
        try:
            sys.stdout.flush()
            n = _write(data, stream or sys.stdout.buffer, fmt)
            (stream or sys.stdout.buffer).flush()
        except BrokenPipeError:  # the reader went away: the command line ends quietly
            raise
        except OSError as err:  # a full disk, /dev/full: one line naming where
            raise OutputError(stdout_name(), err) from None
        return n
    out = output_path(out)
    try:
        tmp = temp_beside(out, "part")
    except OSError as err:  # no permission to create a file there
        raise OutputError(out, err) from None
    try:
        if os.path.exists(out):  # the replacement keeps the file's permissions
            os.chmod(tmp, stat.S_IMODE(os.stat(out).st_mode))
        with open(tmp, "wb") as f:
            n = _write(data, f, fmt)
        os.replace(tmp, out)
    except OSError as err:
        raise OutputError(out, err) from None
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)
    return n


def only_entities(data: pa.Table | pa.RecordBatchReader, key: str, mask
                  ) -> pa.Table | pa.RecordBatchReader:
    """The rows whose entity (column `key`, an idx) is set in the boolean mask; all with None.
    A stream stays a stream, filtered a batch at a time."""
    if mask is None:
        return data
    import pyarrow as pa
    if isinstance(data, pa.Table):
        return data.filter(pa.array(mask[data.column(key).to_numpy()]))

    def kept():
        for batch in data:
            yield batch.filter(pa.array(mask[batch.column(key).to_numpy(zero_copy_only=False)]))
    return pa.RecordBatchReader.from_batches(data.schema, kept())


def stdout_name() -> str:
    """What standard output is, for a message: its file (/dev/full), else "standard output"."""
    try:
        name = os.readlink("/proc/self/fd/1")
    except OSError:
        return "standard output"
    return name if name.startswith("/") else "standard output"


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
    names = [json.dumps(name, ensure_ascii=False) + ":" for name in schema.names]
    for batch in batches:
        if not batch.num_rows:
            continue
        if fmt == "jsonl":
            fields = [pc.binary_join_element_wise(name, _json_column(col), "")
                      for name, col in zip(names, batch.columns, strict=True)]
            rows = pc.binary_join_element_wise("{", _join(fields, ","), "}", "")
        else:
            rows = _join([_csv_column(col, delim) for col in batch.columns], delim)
        f.write(("\n".join(rows.to_pylist()) + "\n").encode("utf-8"))
        n += batch.num_rows
    return n


def _join(columns: list, sep: str):
    import pyarrow.compute as pc
    return columns[0] if len(columns) == 1 else pc.binary_join_element_wise(*columns, sep)


def _quote_text(text: str, delim: str) -> str:
    if not text or any(ch in text for ch in (delim, '"', "\r", "\n")):
        return '"' + text.replace('"', '""') + '"'
    return text


# Both formats are built a column at a time with pyarrow's string kernels, written as DuckDB
# writes them (what the command line wrote before): CSV quoted only where needed, an empty
# string as "" and a null as nothing; JSON compact, floats as Python writes them.

def _csv_column(col: pa.Array, delim: str) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc
    kind = col.type
    if pa.types.is_float64(kind):
        return pc.fill_null(_python_floats(col), "")
    if pa.types.is_floating(kind):  # float32: its own shortest form, as 0.49232084
        return pc.fill_null(_float_form(pc.cast(col, pa.string())), "")
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):  # never quoted
        return pc.fill_null(pc.cast(col, pa.string()), "")
    text = _as_text(col)
    needs = pc.fill_null(pc.match_substring_regex(text, f'^$|[{delim}"\r\n]'), False)
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.fill_null(pc.if_else(needs, quoted, text), "")


def _json_column(col: pa.Array) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc
    kind = col.type
    if pa.types.is_dictionary(kind):
        return _json_column(col.dictionary_decode())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        if pc.any(pc.match_substring_regex(col, r"[\x00-\x1f]")).as_py():
            text = _per_value(col)  # control characters: json's own escapes
        else:
            escaped = pc.replace_substring(pc.replace_substring(col, "\\", "\\\\"), '"', '\\"')
            text = pc.binary_join_element_wise('"', escaped, '"', "")
    elif pa.types.is_floating(kind):
        text = _python_floats(col, for_json=True)
    elif pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        text = pc.cast(col, pa.string())
    else:
        text = _per_value(col)
    return pc.fill_null(text, "null")


def _python_floats(col: pa.Array, for_json: bool = False) -> pa.Array:
    """Each float as repr() writes it (1.0, 1e-07; NaN and Infinity in JSON)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    col = col.cast(pa.float64())
    text = _float_form(pc.cast(col, pa.string()))
    # arrow's shortest digits are repr's, but it switches to and from exponents elsewhere
    values = col.fill_null(0.0).to_numpy(zero_copy_only=False)
    size = np.abs(values)
    odd = ((size >= 1e-6) & (size < 1e-4)) | ((size >= 1e10) & (size < 1e16))
    if odd.any():
        text = pc.replace_with_mask(text, pa.array(odd),
                                    pa.array([repr(v) for v in values[odd].tolist()]))
    if for_json and not np.isfinite(values).all():
        for arrow_form, json_form in _JSON_SPECIAL.items():
            text = pc.replace_substring_regex(text, f"^{arrow_form}$", json_form)
    return text


_JSON_SPECIAL = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _float_form(text: pa.Array) -> pa.Array:
    import pyarrow.compute as pc
    text = pc.if_else(pc.match_substring_regex(text, r"^-?\d+$"),
                      pc.binary_join_element_wise(text, ".0", ""), text)
    return pc.replace_substring_regex(text, r"e([+-])(\d)$", r"e\10\2")


def _per_value(col: pa.Array, compact: bool = True) -> pa.Array:
    """Each value as JSON, in Python (lists, structs, dates: rare in big columns)."""
    import pyarrow as pa
    separators = (",", ":") if compact else (", ", ": ")
    return pa.array([None if v is None else json.dumps(v, ensure_ascii=False, default=str,
                                                       separators=separators)
                     for v in col.to_pylist()], pa.string())


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
        return _per_value(col, compact=False)
