"""Read inputs into dense entity tables: vectors (id, label, vector) or collections of entities.

Files are read through DuckDB by engine.store (open_source and the Source it returns builds
every query); `.npy` through numpy. Every check
that fails raises InputError with one line naming the problem, before anything is written.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.errors import InputError
from engine.methods import METRICS
from engine.paths import check_file
from engine.store import is_list_type, is_numeric_type, is_text_type, open_source

RESERVED = ("idx", "id", "label", "weight")


@dataclass
class Ingested:
    kind: str  # "vectors" | "collections"
    entities: pa.Table  # idx, id, label, weight, metadata…
    vectors: np.ndarray | None = None  # (N, d) float32
    memberships: pa.Table | None = None  # collection, idx, weight
    n_collections: int = 0
    # an embedding beyond the dataset's first: the dataset idx of each row (engine.pipeline)
    members: np.ndarray | None = None

    @property
    def n(self) -> int:
        return self.entities.num_rows


def file_key(path: str | os.PathLike) -> str:
    """Content hash of an input file: the root of every cache key."""
    check_file(path, "an input file")
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_npy(source) -> bool:
    return isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() == ".npy"


def _require(columns: list[str], name: str | None, what: str, source: str) -> None:
    if name is not None and name not in columns:
        raise InputError(f"{source}: no {what} column '{name}' (columns: {', '.join(columns)})")


def _examples(ids, limit: int = 5) -> str:
    ids = [str(i) for i in ids]
    text = ", ".join(repr(i) for i in ids[:limit])
    return text + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _check_ids(ids: pa.Array, source: str) -> None:
    if ids.null_count:
        raise InputError(f"{source}: {ids.null_count} rows have no id")
    counts = pc.value_counts(ids)
    dupes = counts.filter(pc.greater(counts.field("counts"), 1))
    if len(dupes):
        values = dupes.field("values").to_pylist()
        raise InputError(f"{source}: duplicate ids: {_examples(values)}")


def _labels(ids: pa.Array, labels: pa.Array | None) -> pa.Array:
    """A missing or empty label falls back to the id."""
    if labels is None:
        return ids
    labels = pc.cast(labels, pa.string())
    empty = pc.or_kleene(pc.is_null(labels), pc.equal(pc.utf8_trim_whitespace(labels), ""))
    return pc.if_else(pc.fill_null(empty, True), ids, labels)


# ---- vectors -----------------------------------------------------------------------------

def read_vectors(source, *, id_col: str | None = None, label_col: str | None = None,
                 vector_col: str | None = None, weight_col: str | None = None,
                 metric: str = "cosine", table: str | None = None,
                 labels_file: str | None = None, name: str | None = None) -> Ingested:
    """Vectors from a file (parquet/CSV/JSONL/.npy/DuckDB table) or an in-memory frame."""
    if metric not in METRICS:
        raise InputError(f"unknown metric '{metric}' (use {', '.join(METRICS)})")
    if _is_npy(source):
        return _read_npy(str(source), labels_file, metric)
    with open_source(source, table=table, name=name) as src:
        display = src.name
        types = dict(src.columns())
        cols = list(types)
        if not src.row_count():
            raise InputError(f"{display} has no rows")
        for col, what in ((id_col, "id"), (label_col, "label"), (vector_col, "vector"),
                          (weight_col, "weight")):
            _require(cols, col, what, display)
        id_col, label_col, weight_col = _default_columns(types, id_col, label_col, weight_col)
        src.read_as_text([id_col, label_col])  # ids as written: 1 and 1.0 stay two ids
        taken = {c for c in (id_col, label_col, weight_col) if c}
        if vector_col is None:
            lists = [c for c in cols if c not in taken and is_list_type(types[c])]
            if len(lists) == 1:
                vector_col = lists[0]
            elif len(lists) > 1:
                raise InputError(f"{display}: several list columns ({', '.join(lists)}); "
                                 "choose one with --vector")
        if vector_col is not None:
            vec_cols = [vector_col]
            vtype = types[vector_col]
            # a list column, or text like "[0.1, 0.2]" in a CSV
            if not (is_list_type(vtype) or is_text_type(vtype)):
                raise InputError(f"{display}: column '{vector_col}' is {vtype}, not a list of "
                                 "numbers")
        else:
            vec_cols = [c for c in cols if c not in taken and
                        (is_numeric_type(types[c]) or
                         (is_text_type(types[c]) and src.numeric_text(c)))]
            if not vec_cols:
                raise InputError(f"{display}: no vector column (a list column, or numeric "
                                 "columns); name one with --vector")
        meta = [c for c in cols if c not in taken and c not in vec_cols]
        try:
            rows = src.entity_rows(id_col=id_col, label_col=label_col, weight_col=weight_col,
                                   meta=meta, vector_col=vector_col,
                                   vector_cols=None if vector_col else vec_cols)
        except InputError as err:
            if "convert" not in str(err).lower():
                raise
            where = f"column '{vector_col}'" if vector_col else "the numeric columns"
            raise InputError(f"{display}: non-numeric vectors in {where} "
                             f"({str(err).split(': ', 1)[-1]})") from None
    if rows.num_rows == 0:
        raise InputError(f"{display} has no rows")
    ids = rows.column("_id").combine_chunks()
    _check_ids(ids, display)
    X = _list_to_matrix(rows.column("_vec").combine_chunks(), ids, display)
    _check_vectors(X, ids, metric, display)
    return Ingested("vectors", _entities_of(rows, ids, meta), vectors=X)


def _default_columns(types: dict[str, str], id_col: str | None, label_col: str | None,
                     weight_col: str | None) -> tuple[str | None, str | None, str | None]:
    """id → 'id'; label → label, name or title; weight → a numeric 'weight' (else none)."""
    id_col = id_col or ("id" if "id" in types else None)
    if label_col is None:
        label_col = next((c for c in ("label", "name", "title") if c in types), None)
    if weight_col is None and "weight" in types and is_numeric_type(types["weight"]):
        weight_col = "weight"
    return id_col, label_col, weight_col


def _entities_of(rows: pa.Table, ids: pa.Array, meta: list[str]) -> pa.Table:
    weight = pc.fill_null(rows.column("_weight").combine_chunks(), 1.0)
    return _entity_table(ids, _labels(ids, rows.column("_label").combine_chunks()), weight,
                         {c: rows.column(c) for c in meta})


# ---- texts -------------------------------------------------------------------------------

def read_texts(source, *, text_col: str, id_col: str | None = None,
               label_col: str | None = None, weight_col: str | None = None,
               table: str | None = None, name: str | None = None,
               progress=None) -> Ingested:
    """Rows with a text column, embedded with the packaged MiniLM model (the [text] extra).

    The text is also the label unless label_col names another column; a missing text embeds
    as the empty string and its label falls back to the id.
    """
    from engine import text as text_model
    text_model.require_text()
    display, rows, ids, meta = _rows_with(source, text_col, "text", id_col, label_col,
                                          weight_col, table, name)
    X = text_model.embed_texts(rows.column("_text").to_pylist(), progress=progress)
    return Ingested("vectors", _entities_of(rows, ids, meta), vectors=X)


def read_images(source, *, image_col: str, weights: str | None = None,
                id_col: str | None = None, label_col: str | None = None,
                weight_col: str | None = None, table: str | None = None,
                name: str | None = None, progress=None) -> Ingested:
    """Rows with a column of image file paths (relative ones from the input file's folder),
    embedded with ResNet-18 (engine.images, the [image] extra). The path is the label
    unless label_col names another column; a row without a path is refused."""
    from engine import images
    images.require_image()
    if weights != "random":
        images.weights_file(weights)  # missing weights: refused before anything is read
    display, rows, ids, meta = _rows_with(source, image_col, "image", id_col, label_col,
                                          weight_col, table, name)
    paths, id_list = rows.column("_text").to_pylist(), ids.to_pylist()
    missing = [i for i, p in zip(id_list, paths, strict=True) if not p]
    if missing:
        raise InputError(f"{display}: the row of id '{missing[0]}' has no image path in "
                         f"'{image_col}'" + (f" (and {len(missing) - 1} more)"
                                             if len(missing) > 1 else ""))
    base = os.path.dirname(os.path.abspath(source)) if isinstance(source, (str, os.PathLike)) \
        else os.getcwd()
    paths = [p if os.path.isabs(p) else os.path.join(base, p) for p in paths]
    X = images.embed_images(paths, id_list, weights=weights, progress=progress)
    return Ingested("vectors", _entities_of(rows, ids, meta), vectors=X)


def _rows_with(source, col: str, what: str, id_col, label_col, weight_col, table, name):
    """(display name, rows, ids, metadata columns) of a table whose column `col` holds what
    is embedded (a text, an image path), read as text; it is the label unless label_col."""
    if _is_npy(source):
        raise InputError(f"{source}: a .npy file holds vectors, not {what}s")
    with open_source(source, table=table, name=name) as src:
        display = src.name
        types = dict(src.columns())
        cols = list(types)
        for c, role in ((col, what), (id_col, "id"), (label_col, "label"),
                        (weight_col, "weight")):
            _require(cols, c, role, display)
        if not src.row_count():
            raise InputError(f"{display} has no rows")
        id_col, label_col, weight_col = _default_columns(types, id_col, label_col or col,
                                                         weight_col)
        src.read_as_text([id_col, label_col, col])
        taken = {c for c in (id_col, label_col, weight_col) if c}
        meta = [c for c in cols if c not in taken]
        rows = src.entity_rows(id_col=id_col, label_col=label_col, weight_col=weight_col,
                               meta=meta, text_col=col)
    ids = rows.column("_id").combine_chunks()
    _check_ids(ids, display)
    return display, rows, ids, meta


def _read_npy(path: str, labels_file: str | None, metric: str) -> Ingested:
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    check_file(path, "an input file")
    try:
        X = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise InputError(f"{path}: not a readable .npy array ({err})") from None
    if X.ndim != 2:
        raise InputError(f"{path}: expected a 2-D array of vectors, got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
        raise InputError(f"{path}: vectors are {X.dtype}, not real numbers")
    if len(X) == 0:
        raise InputError(f"{path} has no rows")
    ids = pa.array([str(i) for i in range(len(X))], pa.string())
    labels = None
    if labels_file is not None:
        if not os.path.exists(labels_file):
            raise InputError(f"{labels_file}: no such file")
        check_file(labels_file, "a labels file")
        with open(labels_file, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
        if len(lines) != len(X):
            raise InputError(f"{labels_file} has {len(lines)} lines for {len(X)} vectors")
        labels = pa.array(lines, pa.string())
    X = X.astype(np.float32)
    _check_vectors(X, ids, metric, path)
    entities = _entity_table(ids, _labels(ids, labels), pa.array(np.ones(len(X))), {})
    return Ingested("vectors", entities, vectors=X)


def _list_to_matrix(vec: pa.Array, ids: pa.Array, source: str) -> np.ndarray:
    if vec.null_count:
        bad = pc.filter(ids, pc.is_null(vec)).to_pylist()
        raise InputError(f"{source}: missing vectors for ids {_examples(bad)}")
    lengths = pc.list_value_length(vec).to_numpy(zero_copy_only=False)
    dim = int(lengths[0])
    ragged = np.flatnonzero(lengths != dim)
    if len(ragged):
        i = int(ragged[0])
        raise InputError(f"{source}: ragged vectors: id {ids[0].as_py()!r} has {dim} values, "
                         f"id {ids[i].as_py()!r} has {int(lengths[i])}")
    if dim == 0:
        raise InputError(f"{source}: vectors are empty")
    values = pc.list_flatten(vec)
    if values.null_count:
        row_of = np.repeat(np.arange(len(vec)), lengths)
        bad = np.unique(row_of[values.is_null().to_numpy(zero_copy_only=False)])
        raise InputError(f"{source}: vectors with missing values for ids "
                         f"{_examples(ids.take(pa.array(bad)).to_pylist())}")
    return values.to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(vec), dim)


def _check_vectors(X: np.ndarray, ids: pa.Array, metric: str, source: str) -> None:
    finite = np.isfinite(X).all(axis=1)
    if not finite.all():
        bad = ids.take(pa.array(np.flatnonzero(~finite))).to_pylist()
        raise InputError(f"{source}: NaN or infinite values in the vectors of ids {_examples(bad)}")
    if metric == "cosine":
        zero = ~X.any(axis=1)
        if zero.any():
            bad = ids.take(pa.array(np.flatnonzero(zero))).to_pylist()
            raise InputError(f"{source}: zero vectors have no cosine similarity: ids "
                             f"{_examples(bad)} (drop them or use --metric euclidean)")


def _entity_table(ids: pa.Array, labels: pa.Array, weight: pa.Array,
                  meta: dict[str, pa.ChunkedArray]) -> pa.Table:
    n = len(ids)
    columns = {"idx": pa.array(np.arange(n, dtype=np.int32)), "id": ids, "label": labels,
               "weight": pc.cast(weight, pa.float64())}
    for name, col in meta.items():
        key = name
        while key.lower() in columns or key.lower() in RESERVED:
            key = key + "_"
        columns[key] = col
    return pa.table(columns)


# ---- collections -------------------------------------------------------------------------

def read_collections(source, *, collection_col: str | None = None, entity_col: str | None = None,
                     weight_col: str | None = None, label_col: str | None = None,
                     meta_cols: tuple[str, ...] = (), min_count: int = 1,
                     table: str | None = None, name: str | None = None,
                     pair_attribute: str | None = None) -> Ingested:
    """Rows of (collection, entity[, weight]) → entities seen in ≥ min_count collections.

    pair_attribute names a numeric column whose value each membership keeps (`value` in the
    memberships; a duplicate membership its smallest) for pair-weighted co-occurrence; a
    missing or NaN value on a kept membership is refused."""
    if min_count < 1:
        raise InputError(f"--min-count must be at least 1 (got {min_count})")
    if _is_npy(source):
        raise InputError(f"{source}: a .npy file holds vectors, not collections")
    with open_source(source, table=table, name=name) as src:
        display = src.name
        types = dict(src.columns())
        cols = list(types)
        collection_col = collection_col or "collection"
        entity_col = entity_col or "entity"
        _require(cols, collection_col, "collection", display)
        _require(cols, entity_col, "entity", display)
        _require(cols, weight_col, "weight", display)
        _require(cols, label_col, "label", display)
        for col in meta_cols:
            _require(cols, col, "metadata", display)
        _require(cols, pair_attribute, "pair attribute", display)
        if pair_attribute and not is_numeric_type(types[pair_attribute]):
            raise InputError(f"{display}: --pair-attribute column '{pair_attribute}' is "
                             f"{types[pair_attribute]}, not numeric")
        if weight_col and not is_numeric_type(types[weight_col]):
            raise InputError(f"{display}: weight column '{weight_col}' is {types[weight_col]}, "
                             "not numeric")
        if not src.row_count():
            raise InputError(f"{display}: an empty collection file (no rows)")
        src.read_as_text([collection_col, entity_col, label_col])
        extra = [c for c in ((label_col,) if label_col else ()) + tuple(meta_cols)]
        rows = src.collections(collection_col=collection_col, entity_col=entity_col,
                               weight_col=weight_col, extra=extra, min_count=min_count,
                               value_col=pair_attribute)
    if not rows.pairs:
        raise InputError(f"{display}: an empty collection file (no rows with both a "
                         "collection and an entity)")
    if not rows.kept:
        raise InputError(f"{display}: no entity is in at least {min_count} collections "
                         "(lower --min-count)")
    if pair_attribute:
        values = rows.memberships.column("value").to_numpy()
        missing = int((~np.isfinite(values)).sum())
        if missing:
            raise InputError(f"{display}: --pair-attribute column '{pair_attribute}' has no "
                             f"number (missing, NaN or infinite) on {missing:,} memberships")
    ents = rows.entities
    ids = ents.column("id").combine_chunks()
    labels = ents.column(label_col).combine_chunks() if label_col else None
    meta = {c: ents.column(c) for c in meta_cols}
    entities = _entity_table(ids, _labels(ids, labels), ents.column("n").combine_chunks(), meta)
    return Ingested("collections", entities, memberships=rows.memberships,
                    n_collections=rows.n_collections)


# ---- text windows ------------------------------------------------------------------------

def read_windows(source, *, text_col: str, windows: int, stop_words: str | None = None,
                 min_count: int = 1, table: str | None = None,
                 name: str | None = None) -> Ingested:
    """A text column → words as entities, every window of `windows` consecutive words of a
    text as a collection (engine.words), named `ROW:START` (the text's row from 0, the
    window's first word). Entities: the words in ≥ min_count windows; id and label the word,
    weight the number of windows holding it."""
    from engine import words
    if min_count < 1:
        raise InputError(f"--min-count must be at least 1 (got {min_count})")
    if _is_npy(source):
        raise InputError(f"{source}: a .npy file holds vectors, not texts")
    stop = words.read_stop_words(stop_words)
    with open_source(source, table=table, name=name) as src:
        display = src.name
        cols = [c for c, _ in src.columns()]
        _require(cols, text_col, "text", display)
        if not src.row_count():
            raise InputError(f"{display} has no rows")
        src.read_as_text([text_col])
        rows = src.entity_rows(id_col=None, label_col=None, weight_col=None, meta=[],
                               text_col=text_col)
    w = words.windows(rows.column("_text").to_pylist(), windows, stop)
    counts = np.bincount(w.ent, minlength=len(w.vocabulary))
    kept = counts >= min_count
    if not kept.any():
        what = "word" if not len(w.ent) else f"word is in at least {min_count} windows"
        raise InputError(f"{display}: no {what} in column '{text_col}'"
                         + (" (lower --min-count)" if len(w.ent) else ""))
    # entities numbered by word, as collections inputs are by id
    vocab = w.vocabulary.filter(pa.array(kept))
    order = pc.array_sort_indices(vocab).to_numpy()
    new_code = np.full(len(w.vocabulary), -1, dtype=np.int64)
    new_code[np.flatnonzero(kept)[order]] = np.arange(len(order))
    ids = vocab.take(pa.array(order))
    keep = new_code[w.ent] >= 0
    coll, ent = w.coll[keep], new_code[w.ent[keep]]
    used = np.unique(coll)
    names = pc.binary_join_element_wise(pc.cast(pa.array(w.text[used]), pa.string()),
                                        pc.cast(pa.array(w.start[used]), pa.string()), ":")
    memberships = pa.table({
        "collection": names.take(pa.array(np.searchsorted(used, coll))),
        "idx": pa.array(ent.astype(np.int32)),
        "weight": pa.array(np.ones(len(ent)))})
    entities = _entity_table(ids, ids, pa.array(counts[kept][order].astype(np.float64)), {})
    return Ingested("collections", entities, memberships=memberships,
                    n_collections=len(used))
