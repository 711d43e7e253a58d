"""What `e` exports (a cluster, or the selection and its neighbours) and writing it to a file.

`export_job` works on what the explorer shows; `export_rows` runs in a worker, reads the
metadata columns through the Dataset and writes with the engine's one writer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.export import check_target, write_table
from tui.state import slug
from tui.text import plain_label


@dataclass
class ExportJob:
    """What `e` exports: the rows in order, extra columns, and how to describe it."""

    what: str  # one line for the dialog
    rows: np.ndarray
    extra: dict
    default_name: str


def export_job(labels: np.ndarray | None, *, view=None, anchor: int | None = None,
               chosen: int | None = None,
               selection: int | None = None, graph=None, threshold: float | None = None,
               scale=None, what: str | None = None) -> ExportJob | None:
    """The cluster chosen through `anchor`, else `selection` and its neighbours in `graph`.

    `what` ("cluster" or "neighbours") asks for one of them only; `chosen`, the chosen
    cluster's number (the anchor's own by default; of overlapping communities, the one
    chosen).
    """
    if labels is None:
        return None
    if anchor is not None and view is not None and what in (None, "cluster"):
        return _cluster_job(labels, view, anchor, threshold, scale, chosen)
    if selection is None or what == "cluster":
        return None
    i = selection
    if graph is None:
        nb, sims = np.zeros(0, np.int64), np.zeros(0)
    else:
        row = graph.idx[i]
        nb = row[row >= 0]
        sims = graph.sim[i][:len(nb)]
    rows = np.concatenate([[i], nb]).astype(np.int64)
    extra = {"rank": np.arange(len(rows), dtype=np.int32),
             "similarity": np.concatenate([[np.nan], sims]).astype(np.float64)}
    name = plain_label(labels[i], 40)
    return ExportJob(f"{name} and its {len(nb)} neighbours", rows, extra,
                     f"{slug(labels[i])}-neighbours.csv")


def _cluster_job(labels, view, anchor: int, threshold, scale, chosen=None) -> ExportJob:
    c = view.cluster_of(anchor) if chosen is None else chosen
    rows = (np.array([anchor]) if c is None else np.sort(view.members(c))).astype(np.int64)
    size = len(rows)
    name = plain_label(labels[anchor], 40)
    extra = {"cluster": np.full(size, -1 if c is None else c, np.int32),
             "cluster_size": np.full(size, size, np.int32)}
    if view.method is not None:
        extra["method"] = np.full(size, view.method, object)
        what_text = f"the {view.method} community of {name}"
    else:
        extra["threshold"] = np.full(size, float(threshold), np.float64)
        what_text = f"the cluster of {name} at threshold {scale.format(threshold)}"
    return ExportJob(f"{what_text}: {size} members", rows, extra,
                     f"{slug(labels[anchor])}-cluster.csv")


def export_rows(ds, rows: np.ndarray, extra: dict[str, np.ndarray], out: str) -> int:
    """Write entities `rows` (in order) with id, label, the `extra` columns and all metadata.

    Returns the number of rows written. Refuses to write onto the dataset itself or into a
    directory; the format follows the file name's suffix.
    """
    import pyarrow as pa  # here, not at the top: the first frame need not wait for it
    out = check_target(out, protect=ds.path)
    rows = np.asarray(rows, dtype=np.int64)
    columns: dict[str, object] = {"idx": rows.astype(np.int32), "id": ds.ids[rows],
                                  "label": ds.labels[rows]}
    columns.update(extra)
    for col in ds.metadata_columns:
        if col not in columns:
            columns[col] = ds.metadata(col)[rows]
    return write_table(pa.table({k: pa.array(_for_arrow(v)) for k, v in columns.items()}), out)


def _for_arrow(values):
    """Object arrays as lists, so arrow infers their type from the values."""
    values = np.asarray(values)
    return values.tolist() if values.dtype.kind == "O" else values
