"""Writing the explorer's current set (a cluster, or the selection and its neighbours) to a file.

Runs in a worker: it reads metadata columns through the Dataset and writes with pyarrow.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow as pa

from engine.errors import InputError

FORMATS = {"csv": "csv", "tsv": "tsv", "parquet": "parquet", "pq": "parquet",
           "jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl"}


def format_for(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    return FORMATS.get(suffix, "csv")


def export_rows(ds, rows: np.ndarray, extra: dict[str, np.ndarray], out: str) -> int:
    """Write entities `rows` (in order) with id, label, the `extra` columns and all metadata.

    Returns the number of rows written. Refuses to write onto the dataset itself or into a
    directory; writes to a temporary file first so a failure leaves no half file behind.
    """
    out = os.path.expanduser(out.strip())
    if not out:
        raise InputError("give a file name")
    if os.path.isdir(out):
        raise InputError(f"{out} is a directory")
    if os.path.exists(out) and os.path.samefile(out, ds.path):
        raise InputError("refusing to export onto the dataset itself")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise InputError(f"{parent}: no such directory")
    rows = np.asarray(rows, dtype=np.int64)
    columns: dict[str, object] = {"idx": rows.astype(np.int32), "id": ds.ids[rows],
                                  "label": ds.labels[rows]}
    columns.update(extra)
    for col in ds.metadata_columns:
        if col not in columns:
            columns[col] = ds.metadata(col)[rows]
    table = pa.table({k: _arrow(v) for k, v in columns.items()})
    tmp = f"{out}.part"
    try:
        _write(table, tmp, format_for(out))
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return len(rows)


def _arrow(values) -> pa.Array:
    values = np.asarray(values)
    if values.dtype.kind == "O":
        return pa.array([None if v is None else v for v in values.tolist()])
    return pa.array(values)


def _write(table: pa.Table, path: str, fmt: str) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq
        pq.write_table(table, path)
    elif fmt == "jsonl":
        with open(path, "w", encoding="utf-8") as f:
            for rec in table.to_pylist():
                f.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
    else:
        import pyarrow.csv as pacsv
        options = pacsv.WriteOptions(delimiter="\t" if fmt == "tsv" else ",")
        pacsv.write_csv(table, path, options)
