"""The dataset file: DuckDB schema, per-step transactions, read-only opening, input sources.

This is the only module that imports duckdb. Everything crosses its boundary as numpy arrays or
pyarrow tables, never as Python lists per row.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import duckdb
import numpy as np
import pyarrow as pa

from engine import __version__
from engine.errors import InputError, OutputError
from engine.knngraph import KnnGraph
from engine.paths import check_file

# 2: community_members, every community of an entity (SLPA's overlapping ones) with its
# strength. A version-1 file is read as one membership per entity (its communities rows) and
# upgraded in place when opened for writing (_upgrade_from_1).
# 3: named embeddings. The first lives in schema main as before; each further one in a schema
# of its own (embedding_schema) with the per-embedding tables, over main's entities. A
# version-2 file is one embedding and is read as it is; adding a second makes it version 3.
SCHEMA_VERSION = 3
DEFAULT_EMBEDDING = "default"
EMBEDDING_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

_FIXED_TABLES = {
    "meta": "key TEXT PRIMARY KEY, value TEXT",
    "memberships": "collection TEXT, idx INTEGER, weight DOUBLE",
    "knn": "src INTEGER, rank SMALLINT, dst INTEGER, sim FLOAT",
    "layout": "name TEXT, idx INTEGER, x FLOAT, y FLOAT",
    "merge_tree": "a INTEGER, b INTEGER, sim FLOAT",
    "communities": "method TEXT, idx INTEGER, community INTEGER, strength FLOAT",
    "community_members": "method TEXT, idx INTEGER, community INTEGER, strength FLOAT",
    "steps": "name TEXT PRIMARY KEY, params JSON, key TEXT, created TIMESTAMP, seconds DOUBLE",
}
# entities and vectors depend on the input (metadata columns, vector width): created by ingest.
# An embedding beyond the first has the fixed tables in its schema, an empty vectors table
# until its ingest (so no read falls through to main's), and `members`: the entities it holds.
_FILE_META = ("schema_version", "embtui_version", "created", "embeddings")
_EMBEDDING_EXTRA = {"members": "idx INTEGER", "vectors": "idx INTEGER, vec FLOAT[]"}
_TABLES = ("meta", "entities", "vectors", "memberships", "knn", "layout", "merge_tree",
           "communities", "community_members", "steps")


def _arrow(rel) -> pa.Table:
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
    return fetch()


# ---- Ctrl+C ------------------------------------------------------------------------------
# DuckDB turns SIGINT during a query into its own error (InterruptException, or in duckdb 2 a
# RuntimeError "Query interrupted") and Python never sees the KeyboardInterrupt: every call into
# the store turns it back into one, so the caller cleans up as for any interrupt.

def _interrupted(err: BaseException) -> bool:
    return isinstance(err, duckdb.InterruptException) or (
        type(err) is RuntimeError and str(err).strip() == "Query interrupted")


def _stop_if_interrupted(err: BaseException) -> None:
    if _interrupted(err):
        raise KeyboardInterrupt from None


def _interruptible(fn):
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except (duckdb.Error, RuntimeError) as err:
                _stop_if_interrupted(err)
                raise
        return gen

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (duckdb.Error, RuntimeError) as err:
            _stop_if_interrupted(err)
            raise
    return call


def _interruptible_methods(cls):
    """Every method of `cls` (a class holding a connection) with Ctrl+C translated."""
    for name, attr in list(vars(cls).items()):
        if name.startswith("__"):
            continue
        if isinstance(attr, classmethod):
            setattr(cls, name, classmethod(_interruptible(attr.__func__)))
        elif inspect.isfunction(attr):
            setattr(cls, name, _interruptible(_failed_writes(attr)))
    return cls


def _failed_writes(fn):
    """A store method whose failed file write (a full disk) raises OutputError naming the file,
    not DuckDB's IOException."""
    if inspect.isgeneratorfunction(fn):
        return fn  # reads only

    @functools.wraps(fn)
    def call(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except duckdb.Error as err:
            cause = _write_failure(err)
            if cause is None or getattr(self, "read_only", True):
                raise
            raise OutputError(self.path, cause) from None
    return call


def _write_failure(err: Exception) -> str | None:
    """The reason of a failed file write ('No space left on device'), which DuckDB reports as
    an IOException, or as a failed commit or checkpoint naming the write; else None."""
    text = str(err)
    if "Could not write file" not in text and not isinstance(err, duckdb.IOException):
        return None
    text = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return text.rsplit('": ', 1)[-1] if '": ' in text else _first_line(err)


def _input_error(name: str, err: Exception) -> InputError:
    _stop_if_interrupted(err)
    return InputError(f"{name}: {_first_line(err)}")


def _friendly(path: str, err: Exception) -> InputError:
    _stop_if_interrupted(err)
    text = str(err)
    if "lock" in text.lower():
        return InputError(f"{path} is locked by another process (a build or a viewer); "
                          "try again when it has finished")
    if "not a valid DuckDB database" in text:
        return InputError(f"{path} is not a DuckDB file")
    if "newer version" in text or "version number" in text or "storage version" in text:
        return InputError(f"{path} was written by a newer DuckDB; upgrade duckdb to read it")
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return InputError(f"{path}: {first}")


@dataclass(frozen=True)
class StepRecord:
    name: str
    params: dict
    key: str
    created: datetime | None
    seconds: float


@_interruptible_methods
class Store:
    """An open dataset file. Read-only unless opened for a build."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str, read_only: bool):
        self.con = con
        self.path = path
        self.read_only = read_only
        self.embedding = DEFAULT_EMBEDDING
        self.schema = "main"  # where the bound embedding's tables are
        self.bound = True  # False: an embedding a build is about to add (no tables yet)
        self._members: np.ndarray | None = None

    # ---- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike, *, read_only: bool = True,
             embedding: str | None = None) -> Store:
        """Open an existing embtui dataset, checking that it is one and of a schema we read,
        bound to `embedding` (default: the first). Opened for writing, an embedding the file
        lacks is bound unbuilt: reads see nothing of it until `create` adds it."""
        path = str(path)
        if not os.path.exists(path):
            raise InputError(f"{path}: no such file")
        check_file(path, "a dataset file")
        try:
            con = duckdb.connect(path, read_only=read_only)
        except duckdb.Error as err:
            raise _friendly(path, err) from None
        store = cls(con, path, read_only)
        try:
            store._check_schema()
            if not read_only and store.schema_version() == 1:
                store._upgrade_from_1()
            store._bind(embedding)
        except BaseException:
            con.close()
            raise
        return store

    @classmethod
    def create(cls, path: str | os.PathLike, embedding: str | None = None) -> Store:
        """Open for writing, creating the schema if the file is new or empty, and the
        embedding's tables if the file lacks them."""
        path = str(path)
        check_file(path, "a dataset file")
        existed = os.path.exists(path) and os.path.getsize(path) > 0
        if existed:
            store = cls.open(path, read_only=False, embedding=embedding)
            if not store.bound:
                store._add_embedding()
            return store
        check_embedding_name(embedding)
        try:
            con = duckdb.connect(path)
        except duckdb.Error as err:
            if _write_failure(err) is not None:
                raise OutputError(path, _write_failure(err)) from None
            raise _friendly(path, err) from None
        store = cls(con, path, False)
        try:
            with store.transaction():
                for name, columns in _FIXED_TABLES.items():
                    con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
                now = datetime.now(UTC).isoformat(timespec="seconds")
                store._set_meta({"schema_version": str(SCHEMA_VERSION),
                                 "embtui_version": __version__, "created": now,
                                 "embeddings": json.dumps([embedding or DEFAULT_EMBEDDING])})
            store._bind(embedding)
        except BaseException as err:
            con.close()
            if isinstance(err, duckdb.Error) and _write_failure(err) is not None:
                raise OutputError(path, _write_failure(err)) from None
            raise
        return store

    def view(self, embedding: str | None) -> Store:
        """The same open file bound to another embedding (a cursor of its own: close it)."""
        store = Store(self.con.cursor(), self.path, self.read_only)
        try:
            store._bind(embedding)
        except BaseException:
            store.con.close()
            raise
        return store

    def _check_schema(self) -> None:
        names = set(self.table_names())
        if "meta" not in names or "steps" not in names:
            raise InputError(f"{self.path} is a DuckDB file but not an embtui dataset")
        version = self.meta().get("schema_version")
        if version is None or not version.isdigit():
            raise InputError(f"{self.path} is a DuckDB file but not an embtui dataset")
        if int(version) > SCHEMA_VERSION:
            raise InputError(f"{self.path} has dataset schema version {version}, newer than "
                             f"this embtui reads ({SCHEMA_VERSION}); upgrade embtui")

    def schema_version(self) -> int:
        return int(self._main_meta()["schema_version"])

    def _main_meta(self) -> dict[str, str]:
        return dict(self.con.execute("SELECT key, value FROM main.meta").fetchall())

    def embeddings(self) -> list[str]:
        """The file's embeddings, the first (the default) first, then in the order added."""
        names = self._main_meta().get("embeddings")
        return json.loads(names) if names else [DEFAULT_EMBEDDING]

    def _bind(self, embedding: str | None) -> None:
        names = self.embeddings()
        name = names[0] if embedding is None else check_embedding_name(embedding)
        self.embedding = name
        self.schema = "main" if name == names[0] else embedding_schema(name)
        self.bound = name in names
        if not self.bound and self.read_only:
            raise InputError(f"{self.path} has no embedding '{name}' (it has: "
                             f"{', '.join(names)})")
        if self.bound and self.schema != "main":
            # unqualified names resolve to the embedding's tables, then to main's entities
            self.con.execute(f"SET search_path = '{_quote(self.schema)},main'")

    def _add_embedding(self) -> None:
        """Create the bound (new) embedding's schema and tables and list it in main.meta."""
        q = _quote(self.schema)
        with self.transaction():
            self.con.execute(f"CREATE SCHEMA {q}")
            for name, columns in {**_FIXED_TABLES, **_EMBEDDING_EXTRA}.items():
                self.con.execute(f"CREATE TABLE {q}.{name} ({columns})")
            self.con.execute("INSERT OR REPLACE INTO main.meta VALUES ('embeddings', ?), "
                             "('schema_version', ?)",
                             [json.dumps([*self.embeddings(), self.embedding]),
                              str(SCHEMA_VERSION)])
        self.bound = True
        self.con.execute(f"SET search_path = '{q},main'")

    def drop_other_embeddings(self) -> None:
        """Remove every embedding but the first (their entity numbers no longer hold)."""
        names = self.embeddings()
        for name in names[1:]:
            self.con.execute(f"DROP SCHEMA IF EXISTS {_quote(embedding_schema(name))} CASCADE")
        self.con.execute("INSERT OR REPLACE INTO main.meta VALUES ('embeddings', ?)",
                         [json.dumps(names[:1])])

    def _upgrade_from_1(self) -> None:
        """Version 1 → 2 in one transaction: community_members from the communities rows
        (one membership per entity; SLPA's -1 rows, which held none, stay without), nothing
        removed. A stored slpa step is marked as holding top labels only, so the next build
        that asks for slpa recomputes its overlapping memberships; until then it reads as it
        did."""
        from engine.steps import step_key
        with self.transaction():
            self.con.execute("CREATE TABLE IF NOT EXISTS community_members "
                             f"({_FIXED_TABLES['community_members']})")
            self.con.execute("INSERT INTO community_members SELECT method, idx, community, "
                             "strength FROM communities WHERE community >= 0")
            steps = self.steps()
            slpa, knn = steps.get("communities:slpa"), steps.get("knn")
            if slpa is not None and knn is not None:
                params = {**slpa.params, "memberships": "top only (schema 1)"}
                self.con.execute(
                    "UPDATE steps SET params = ?, key = ? WHERE name = ?",
                    [json.dumps(params, sort_keys=True), step_key(params, [knn.key]),
                     slpa.name])
            self._set_meta({"schema_version": "2"})

    def close(self) -> None:
        self.con.close()

    def checkpoint(self) -> None:
        """Write the write-ahead log into the file (a full disk raises OutputError here)."""
        self.con.execute("CHECKPOINT")

    def copy_to(self, dest: str) -> None:
        """Write the file's whole content to `dest` (an existing empty file): checkpointed
        first, so the copy needs no write-ahead log."""
        self.con.execute("CHECKPOINT")
        shutil.copyfile(self.path, dest)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- generic reads -------------------------------------------------------------------

    def table_names(self) -> list[str]:
        """The bound embedding's tables, and the entities table (which is main's)."""
        if not self.bound:
            return []
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
            "OR (table_schema = 'main' AND table_name = 'entities')", [self.schema]
        ).fetchall()
        return sorted({r[0] for r in rows})

    def columns(self, table: str) -> list[tuple[str, str]]:
        schema = "main" if table == "entities" else self.schema
        rows = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table]
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def arrow(self, sql: str, params: list | None = None) -> pa.Table:
        return _arrow(self.con.sql(sql, params=params) if params else self.con.sql(sql))

    def numpy(self, sql: str, params: list | None = None) -> dict[str, np.ndarray]:
        return self.con.execute(sql, params or []).fetchnumpy()

    def scalar(self, sql: str, params: list | None = None):
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def meta(self) -> dict[str, str]:
        """The file's meta with the bound embedding's own (kind, dim, graph_stats…) over it."""
        meta = self._main_meta()
        if self.schema != "main":
            meta = {k: v for k, v in meta.items() if k in _FILE_META}
            if self.bound:
                meta.update(self.con.execute(
                    f"SELECT key, value FROM {_quote(self.schema)}.meta").fetchall())
        return meta

    def steps(self) -> dict[str, StepRecord]:
        if not self.bound:
            return {}
        rows = self.con.execute(
            "SELECT name, params, key, created, seconds FROM steps ORDER BY created"
        ).fetchall()
        return {r[0]: StepRecord(r[0], json.loads(r[1]) if r[1] else {}, r[2], r[3], r[4] or 0.0)
                for r in rows}

    # ---- typed reads used by the Dataset -------------------------------------------------

    def entity_count(self) -> int:
        return int(self.scalar("SELECT count(*) FROM entities") or 0)

    def entity_columns(self) -> list[str]:
        return [c for c, _ in self.columns("entities")]

    def entities(self, columns: list[str] | None = None) -> pa.Table:
        cols = ", ".join(_quote(c) for c in (columns or self.entity_columns()))
        return self.arrow(f"SELECT {cols} FROM entities ORDER BY idx")

    def entities_where(self, sql: str, params: tuple) -> np.ndarray:
        """The idx of every entity passing a predicate that engine.filters built (its SQL
        is made there from column names and placeholders only; values come as parameters)."""
        return self.numpy(f"SELECT idx FROM entities WHERE {sql} ORDER BY idx",
                          list(params))["idx"].astype(np.int64)

    def entity_row(self, idx: int) -> dict:
        cur = self.con.execute("SELECT * FROM entities WHERE idx = ?", [int(idx)])
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
        return dict(zip(names, rows[0], strict=True)) if rows else {}

    def vectors(self) -> np.ndarray | None:
        if "vectors" not in self.table_names():
            return None
        table = self.arrow("SELECT vec FROM vectors ORDER BY idx")
        if table.num_rows == 0:
            return None
        col = table.column(0).combine_chunks()
        dim = col.type.list_size
        values = col.values.to_numpy(zero_copy_only=False)
        return values.astype(np.float32, copy=False).reshape(-1, dim)

    def memberships(self) -> dict[str, np.ndarray]:
        """coll (dense codes), idx (in the embedding's own numbering, as a build reads
        them), weight, and value where the file has that column (the --pair-attribute
        values; NaN where none was stored)."""
        valued = "value" in dict(self.columns("memberships"))
        cols = self.numpy(
            "SELECT dense_rank() OVER (ORDER BY collection) - 1 AS coll, idx, weight"
            + (", coalesce(value, 'NaN'::DOUBLE) AS value" if valued else "")
            + " FROM memberships"
        )
        cols["idx"] = self._local(cols["idx"])
        return cols

    def _local(self, idx: np.ndarray) -> np.ndarray:
        """The dataset's numbering → the embedding's own (every idx given is a member)."""
        members = self.members()
        return idx if members is None else np.searchsorted(members, idx).astype(np.int32)

    def member_count(self) -> int:
        """How many entities the bound embedding holds (its own numbering's size)."""
        members = self.members()
        return self.entity_count() if members is None else len(members)

    def local_knn(self) -> KnnGraph:
        """The stored graph in the embedding's own numbering, as a build reads it."""
        members = self.members()
        graph = self.knn(self.entity_count())
        return graph if members is None else graph.among(members)

    def vector_blocks(self, rows: int = 1 << 16):
        """(idx, vectors) blocks of at most `rows` entities, in index order, streamed so a
        query over all vectors never holds them all."""
        if "vectors" not in self.table_names():
            return
        reader = self.con.sql("SELECT idx, vec FROM vectors ORDER BY idx")
        reader = (getattr(reader, "to_arrow_reader", None) or reader.record_batch)(rows)
        for batch in reader:
            col = batch.column(1)
            values = col.values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
            yield (batch.column(0).to_numpy(zero_copy_only=False).astype(np.int64),
                   values.reshape(-1, col.type.list_size))

    def vector_rows(self, idx: np.ndarray) -> np.ndarray | None:
        """The vectors of entities `idx`, in that order (None: the file has none)."""
        if "vectors" not in self.table_names():
            return None
        idx = np.asarray(idx, dtype=np.int64)
        table = self.arrow("SELECT idx, vec FROM vectors WHERE idx IN (SELECT unnest(?))",
                           [idx.tolist()])
        if table.num_rows == 0:
            return None
        col = table.column("vec").combine_chunks()
        found = table.column("idx").to_numpy().astype(np.int64)
        values = col.values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        rows = values.reshape(-1, col.type.list_size)
        order = np.argsort(found)
        at = np.clip(np.searchsorted(found[order], idx), 0, len(found) - 1)
        if not (found[order][at] == idx).all():
            raise InputError("the vectors table lacks some entities (rebuild the file)")
        return rows[order[at]]

    def memberships_of(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """The memberships of entities `idx`, as `memberships()` gives them (coll codes
        dense among these rows only), and `n_collections`, the distinct collections of all."""
        valued = "value" in dict(self.columns("memberships"))
        idx = np.asarray(idx, dtype=np.int64)
        cols = self.numpy(
            "SELECT dense_rank() OVER (ORDER BY collection) - 1 AS coll, idx, weight"
            + (", coalesce(value, 'NaN'::DOUBLE) AS value" if valued else "")
            + " FROM memberships WHERE idx IN (SELECT unnest(?))", [idx.tolist()])
        cols["n_collections"] = int(self.scalar(
            "SELECT count(DISTINCT collection) FROM memberships"))
        return cols

    def find_ids(self, ids: list[str]) -> dict[str, int]:
        """Which of `ids` are entity ids, and their idx."""
        cols = self.numpy("SELECT id, idx FROM entities WHERE id IN (SELECT unnest(?))",
                          [list(ids)])
        return dict(zip(cols["id"].tolist(), cols["idx"].tolist(), strict=True))

    def collection_name(self, code: int) -> str:
        """The collection `memberships()` numbers `code` (they count distinct collections in
        order)."""
        return self.scalar("SELECT collection FROM (SELECT DISTINCT collection FROM "
                           "memberships) ORDER BY collection LIMIT 1 OFFSET ?", [int(code)])

    def batches(self, sql: str, params: list | None = None, rows: int = 1 << 20):
        """A query's result as numpy column dicts of at most `rows` rows each, so a big
        result never sits in memory twice (DuckDB's copy and ours)."""
        rel = self.con.sql(sql, params=params) if params else self.con.sql(sql)
        # a relation streams (a DB-API result would copy every row first); DuckDB 2 names
        # the call to_arrow_reader, 1.x record_batch
        reader = (getattr(rel, "to_arrow_reader", None) or rel.record_batch)(rows)
        for batch in reader:
            yield {name: batch.column(i).to_numpy(zero_copy_only=False)
                   for i, name in enumerate(batch.schema.names)}

    def knn(self, n: int) -> KnnGraph:
        """The stored graph as padded (n, k) arrays (idx -1 / sim NaN where a row is short)."""
        k = int(self.scalar("SELECT coalesce(max(rank), 0) FROM knn"))
        idx = np.full((n, k), -1, dtype=np.int32)
        sim = np.full((n, k), np.nan, dtype=np.float32)
        for cols in self.batches("SELECT src, rank, dst, sim FROM knn"):
            row = cols["src"].astype(np.int64)
            col = cols["rank"].astype(np.int64) - 1
            idx[row, col] = cols["dst"]
            sim[row, col] = cols["sim"]
        return KnnGraph(idx, sim)

    def layout_names(self) -> list[str]:
        return [r[0] for r in self.con.execute(
            "SELECT DISTINCT name FROM layout ORDER BY name").fetchall()]

    def layout(self, name: str, n: int) -> np.ndarray:
        cols = self.numpy("SELECT idx, x, y FROM layout WHERE name = ?", [name])
        xy = np.full((n, 2), np.nan, dtype=np.float32)
        xy[cols["idx"], 0] = cols["x"]
        xy[cols["idx"], 1] = cols["y"]
        return xy

    def merge_tree(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cols = self.numpy("SELECT a, b, sim FROM merge_tree ORDER BY sim DESC, a, b")
        return (cols["a"].astype(np.int32), cols["b"].astype(np.int32),
                cols["sim"].astype(np.float32))

    def community_methods(self) -> list[str]:
        return [r[0] for r in self.con.execute(
            "SELECT DISTINCT method FROM communities ORDER BY method").fetchall()]

    def communities(self, method: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        cols = self.numpy("SELECT idx, community, strength FROM communities WHERE method = ?",
                          [method])
        labels = np.full(n, -1, dtype=np.int32)
        strength = np.full(n, np.nan, dtype=np.float32)
        labels[cols["idx"]] = cols["community"]
        strength[cols["idx"]] = cols["strength"]
        return labels, strength

    def community_members(self, method: str) -> dict[str, np.ndarray]:
        """Every membership of a method (idx, community, strength), by entity, then strength
        descending; a version-1 file read-only: its communities rows, one per entity."""
        table = ("community_members" if "community_members" in self.table_names()
                 else "communities")
        return self.numpy(f"SELECT idx, community, strength FROM {table} WHERE method = ? "
                          "AND community >= 0 ORDER BY idx, strength DESC, community", [method])

    # ---- writes (build only) -------------------------------------------------------------

    @contextmanager
    def transaction(self):
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self
        except BaseException:
            try:
                self.con.execute("ROLLBACK")
            except (duckdb.Error, RuntimeError):  # the error that brought us here says more
                pass
            raise
        try:
            self.con.execute("COMMIT")
        except (duckdb.Error, RuntimeError) as err:
            _stop_if_interrupted(err)
            if _write_failure(err) is not None:
                raise OutputError(self.path, _write_failure(err)) from None
            raise

    def _set_meta(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, str(value)])

    def set_meta(self, values: dict[str, str]) -> None:
        self._set_meta(values)

    def record_step(self, name: str, params: dict, key: str, seconds: float) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?, ?)",
            [name, json.dumps(params, sort_keys=True), key,
             datetime.now(UTC).replace(tzinfo=None), float(seconds)],
        )

    def forget_steps(self, names) -> None:
        for name in names:
            self.con.execute("DELETE FROM steps WHERE name = ?", [name])

    def drop_derived(self, keep: list[str]) -> None:
        """Forget every layout/communities/merge-tree step not in `keep`, with its rows."""
        for name in self.steps():
            if name in ("ingest", "knn") or name in keep:
                continue
            kind, _, arg = name.partition(":")
            if kind == "layout":
                self.con.execute("DELETE FROM layout WHERE name = ?", [arg])
            elif kind == "communities":
                self.con.execute("DELETE FROM communities WHERE method = ?", [arg])
                self.con.execute("DELETE FROM community_members WHERE method = ?", [arg])
            elif kind == "merge_tree":
                self.con.execute("DELETE FROM merge_tree")
            self.con.execute("DELETE FROM steps WHERE name = ?", [name])

    def replace_entities(self, entities: pa.Table, vectors: np.ndarray | None,
                         memberships: pa.Table | None, members: np.ndarray | None = None
                         ) -> None:
        """Replace the input tables (call inside a transaction). For the first embedding the
        entities too (and, when their ids change, the other embeddings go); for another its
        `members` (the dataset idx of each of its rows, ascending) and its own vectors or
        memberships, numbered by dataset idx."""
        con = self.con
        q = _quote(self.schema)
        if self.schema == "main":
            if len(self.embeddings()) > 1 and not (
                    self.has_entities() and self.entity_ids().equals(entities.column("id"))):
                self.drop_other_embeddings()
            con.register("_entities_in", entities)
            con.execute("DROP TABLE IF EXISTS main.entities")
            con.execute("CREATE TABLE main.entities AS SELECT * FROM _entities_in ORDER BY idx")
            con.unregister("_entities_in")
            con.execute("ALTER TABLE main.entities ADD PRIMARY KEY (idx)")
            members = None
        else:
            members = np.asarray(members, dtype=np.int32)
            self._replace("members", None, pa.table({"idx": members}))
        self._members = members
        con.execute(f"DROP TABLE IF EXISTS {q}.vectors")
        if vectors is not None:
            n, dim = vectors.shape
            vec = pa.FixedSizeListArray.from_arrays(
                pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel()), dim)
            table = pa.table({"idx": pa.array(self._global(np.arange(n, dtype=np.int32))),
                              "vec": vec})
            con.register("_vectors_in", table)
            con.execute(f"CREATE TABLE {q}.vectors AS SELECT idx, vec::FLOAT[{dim}] AS vec "
                        "FROM _vectors_in")
            con.unregister("_vectors_in")
        elif self.schema != "main":
            con.execute(f"CREATE TABLE {q}.vectors ({_EMBEDDING_EXTRA['vectors']})")
        con.execute(f"DELETE FROM {q}.memberships")
        # a --pair-attribute build keeps each membership's value in a column of its own,
        # added then (files without one read as before); another build leaves it NULL
        valued = memberships is not None and "value" in memberships.column_names
        if valued:
            con.execute(f"ALTER TABLE {q}.memberships ADD COLUMN IF NOT EXISTS value DOUBLE")
        if memberships is not None:
            if members is not None:
                memberships = memberships.set_column(
                    memberships.column_names.index("idx"), "idx",
                    pa.array(self._global(memberships.column("idx").to_numpy())))
            con.register("_memberships_in", memberships)
            columns = "collection, idx, weight" + (", value" if valued else "")
            con.execute(f"INSERT INTO {q}.memberships ({columns}) SELECT {columns} "
                        "FROM _memberships_in")
            con.unregister("_memberships_in")

    def members(self) -> np.ndarray | None:
        """The dataset idx of the bound embedding's entities, ascending: its own numbering
        (row i of its vectors and graph while it is built); None for the first embedding,
        which holds every entity in the dataset's numbering."""
        if self.schema == "main" or not self.bound:
            return None
        if self._members is None:
            self._members = self.numpy("SELECT idx FROM members ORDER BY idx")["idx"].astype(
                np.int32)
        return self._members

    def _global(self, local: np.ndarray) -> np.ndarray:
        """The embedding's own numbering → the dataset's."""
        members = self.members()
        local = np.asarray(local, dtype=np.int32)
        return local if members is None else members[local]

    def has_entities(self) -> bool:
        return bool(self.scalar("SELECT count(*) FROM information_schema.tables WHERE "
                                "table_schema = 'main' AND table_name = 'entities'"))

    def entity_ids(self) -> pa.ChunkedArray:
        return self.arrow("SELECT id FROM main.entities ORDER BY idx").column(0)

    def replace_knn(self, idx: np.ndarray, sim: np.ndarray) -> None:
        n, k = idx.shape
        keep = idx >= 0
        src = np.broadcast_to(np.arange(n, dtype=np.int32)[:, None], (n, k))[keep]
        rank = np.broadcast_to(np.arange(1, k + 1, dtype=np.int16)[None, :], (n, k))[keep]
        self._replace("knn", None, pa.table({
            "src": self._global(src), "rank": rank, "dst": self._global(idx[keep]),
            "sim": sim[keep].astype(np.float32)}))

    def replace_layout(self, name: str, xy: np.ndarray) -> None:
        n = len(xy)
        self._replace("layout", ("name", name), pa.table({
            "name": pa.array([name] * n, pa.string()) if n else pa.array([], pa.string()),
            "idx": self._global(np.arange(n, dtype=np.int32)),
            "x": xy[:, 0].astype(np.float32), "y": xy[:, 1].astype(np.float32)}))

    def replace_merge_tree(self, a: np.ndarray, b: np.ndarray, s: np.ndarray) -> None:
        self._replace("merge_tree", None, pa.table({
            "a": self._global(a), "b": self._global(b), "sim": s.astype(np.float32)}))

    def replace_communities(self, method: str, labels: np.ndarray,
                            strength: np.ndarray | None = None, members=None) -> None:
        """A method's top community per entity and its memberships: `members` (entity,
        community, strength arrays) for an overlapping method, else one per labelled entity."""
        n = len(labels)
        if strength is None:
            strength = np.ones(n, dtype=np.float32)
        self._replace("communities", ("method", method), pa.table({
            "method": pa.array([method] * n, pa.string()),
            "idx": self._global(np.arange(n, dtype=np.int32)),
            "community": labels.astype(np.int32), "strength": strength.astype(np.float32)}))
        if members is None:
            keep = labels >= 0
            members = (np.flatnonzero(keep), labels[keep], strength[keep])
        ent, community, held = members
        self._replace("community_members", ("method", method), pa.table({
            "method": pa.array([method] * len(ent), pa.string()),
            "idx": self._global(ent),
            "community": np.asarray(community, dtype=np.int32),
            "strength": np.asarray(held, dtype=np.float32)}))

    def _replace(self, table: str, where: tuple[str, str] | None, rows: pa.Table) -> None:
        if where is None:
            self.con.execute(f"DELETE FROM {table}")
        else:
            self.con.execute(f"DELETE FROM {table} WHERE {where[0]} = ?", [where[1]])
        self.con.register("_rows_in", rows)
        cols = ", ".join(rows.column_names)
        self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rows_in")
        self.con.unregister("_rows_in")

    def find_entity(self, query: str) -> int | None:
        """The entity whose id is query, else the first whose label is query in any case."""
        hit = self.scalar("SELECT idx FROM entities WHERE id = ?", [query])
        if hit is None:
            hit = self.scalar("SELECT idx FROM entities WHERE lower(label) = lower(?) "
                              "ORDER BY idx LIMIT 1", [query])
        return None if hit is None else int(hit)

    def table_rows(self, table: str, layout: str | None = None,
                   rows: int = 1 << 16) -> pa.RecordBatchReader:
        """A stored table's rows as a stream of arrow batches (for engine.export to write):
        entities, knn (with both ids), or one layout (with ids and labels)."""
        params: list = []
        if table == "entities":
            sql = "SELECT * FROM entities ORDER BY idx"
        elif table == "knn":
            sql = ("SELECT k.src, s.id AS src_id, k.rank, k.dst, d.id AS dst_id, k.sim "
                   "FROM knn k JOIN entities s ON s.idx = k.src "
                   "JOIN entities d ON d.idx = k.dst ORDER BY k.src, k.rank")
        elif table == "layout":
            sql = ("SELECT l.idx, e.id, e.label, l.x, l.y FROM layout l "
                   "JOIN entities e ON e.idx = l.idx WHERE l.name = ? ORDER BY l.idx")
            params = [layout]
        else:
            raise InputError(f"unknown table '{table}'")
        rel = self.con.sql(sql, params=params) if params else self.con.sql(sql)
        reader = (getattr(rel, "to_arrow_reader", None) or rel.record_batch)(rows)
        # the batches are read by the writer: Ctrl+C there is translated too
        return pa.RecordBatchReader.from_batches(reader.schema, _each(reader))


@_interruptible
def _each(batches):
    yield from batches


def discard(path: str) -> None:
    """Remove a dataset file and the write-ahead log DuckDB may have left beside it."""
    for name in (path, f"{path}.wal"):
        if os.path.lexists(name):
            os.remove(name)


def check_embedding_name(name: str | None) -> str | None:
    """An embedding's name is a schema's name too: letters, digits, _ and -."""
    if name is not None and not EMBEDDING_NAME.fullmatch(name):
        raise InputError(f"--embedding {name!r}: a name is 1 to 64 letters, digits, "
                         "_ or - (starting with a letter or digit)")
    return name


def embedding_schema(name: str) -> str:
    return f"e_{name}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return text.replace("'", "''")


# ---- input sources (read through DuckDB, in memory) ----------------------------------------

_READERS = {
    ".parquet": "read_parquet", ".pq": "read_parquet",
    ".csv": "read_csv_auto", ".tsv": "read_csv_auto", ".txt": "read_csv_auto",
    ".json": "read_json_auto", ".jsonl": "read_json_auto", ".ndjson": "read_json_auto",
}
DUCKDB_SUFFIXES = (".duckdb", ".ddb", ".db")


_LIST_TYPE = re.compile(r"\[\d*\]$")
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "REAL")


def is_numeric_type(dtype: str) -> bool:
    """A DuckDB column type of numbers."""
    return dtype.upper().split("(")[0] in _NUMERIC or dtype.upper().startswith("DECIMAL")


def is_list_type(dtype: str) -> bool:
    """A DuckDB list or array column type (DOUBLE[], FLOAT[384])."""
    return bool(_LIST_TYPE.search(dtype))


def is_text_type(dtype: str) -> bool:
    return dtype.upper() == "VARCHAR"


class CollectionRows(NamedTuple):
    pairs: int  # distinct (collection, entity) pairs
    kept: int  # entities in at least min_count collections
    entities: pa.Table | None  # idx, id, n (collections), extra columns
    memberships: pa.Table | None  # collection, idx, weight
    n_collections: int  # collections holding a kept entity


@_interruptible_methods
class Source:
    """An input file (or in-memory frame) exposed as the view `src` of an in-memory DuckDB."""

    def __init__(self, con: duckdb.DuckDBPyConnection, name: str,
                 file: tuple[str, str] | None = None):
        self.con = con
        self.name = name
        self._file = file  # (reader, path) of a CSV or JSON file, whose types are guessed

    def columns(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.con.execute("DESCRIBE src").fetchall()]

    def read_as_text(self, columns=()) -> None:
        """Read these columns of a CSV or JSON file as the text written there (1.0 stays
        1.0, 007 stays 007), and every JSON column of mixed types as text too, a string
        unquoted ("Movie 3", not '"Movie 3"'); a parquet or DuckDB input keeps its types."""
        if self._file is None:
            return
        reader, path = self._file
        types = dict(self.columns())
        text = {c for c in columns if c in types}
        if reader == "read_json_auto":
            mixed = {c: t for c, t in types.items() if t.startswith("JSON")}  # JSON, JSON[]
            if not text and not mixed:
                return
            spec = {c: "VARCHAR" if c in text else t.replace("JSON", "VARCHAR", 1)
                    if c in mixed else t for c, t in types.items()}
            option = "columns"
        else:
            if not text:
                return
            spec = {c: "VARCHAR" for c in text}
            option = "types"
        entries = ", ".join(f"'{_literal(c)}': '{_literal(t)}'" for c, t in spec.items())
        self._run(f"CREATE OR REPLACE VIEW src AS SELECT * FROM "
                  f"{reader.removesuffix('_auto')}('{_literal(path)}', {option}={{{entries}}}"
                  f"{', auto_detect=true' if option == 'types' else ''})")

    def arrow(self, sql: str, params: list | None = None) -> pa.Table:
        try:
            return _arrow(self.con.sql(sql, params=params) if params else self.con.sql(sql))
        except duckdb.Error as err:
            raise _input_error(self.name, err) from None

    def numpy(self, sql: str, params: list | None = None) -> dict[str, np.ndarray]:
        try:
            return self.con.execute(sql, params or []).fetchnumpy()
        except duckdb.Error as err:
            raise _input_error(self.name, err) from None

    def scalar(self, sql: str, params: list | None = None):
        try:
            rows = self.con.execute(sql, params or []).fetchall()
        except duckdb.Error as err:
            raise _input_error(self.name, err) from None
        return rows[0][0] if rows else None

    def _run(self, sql: str) -> None:
        try:
            self.con.execute(sql)
        except duckdb.Error as err:
            raise _input_error(self.name, err) from None

    def row_count(self) -> int:
        return int(self.scalar("SELECT count(*) FROM src"))

    def numeric_text(self, col: str) -> bool:
        """A text column whose every value reads as a number ('inf', 'nan' make CSV sniffers
        call a numeric column text)."""
        q = _quote(col)
        bad = self.scalar(f"SELECT count(*) FILTER (WHERE {q} IS NOT NULL AND "
                          f"TRY_CAST({q} AS DOUBLE) IS NULL) FROM src")
        return bad == 0 and bool(self.scalar(f"SELECT count({q}) FROM src"))

    def entity_rows(self, *, id_col: str | None, label_col: str | None,
                    weight_col: str | None, meta: list[str], vector_col: str | None = None,
                    vector_cols: list[str] | None = None,
                    text_col: str | None = None) -> pa.Table:
        """Every row as _id (text; else the row number), _label (text or null), _weight
        (double; else 1), the meta columns as they are, and then one of: _vec, vector_col
        (a list, or text like "[0.1, 0.2]") or the vector_cols as a DOUBLE[]; _text, text_col
        as text."""
        select = [f"CAST({_quote(id_col)} AS VARCHAR) AS _id" if id_col
                  else "CAST(row_number() OVER () - 1 AS VARCHAR) AS _id",
                  f"CAST({_quote(label_col)} AS VARCHAR) AS _label" if label_col
                  else "NULL::VARCHAR AS _label",
                  f"CAST({_quote(weight_col)} AS DOUBLE) AS _weight" if weight_col
                  else "1.0::DOUBLE AS _weight"]
        select += [_quote(c) for c in meta]
        if vector_col is not None:
            select.append(f"CAST({_quote(vector_col)} AS DOUBLE[]) AS _vec")
        elif vector_cols is not None:
            select.append("[" + ", ".join(f"CAST({_quote(c)} AS DOUBLE)" for c in vector_cols)
                          + "] AS _vec")
        if text_col is not None:
            select.append(f"CAST({_quote(text_col)} AS VARCHAR) AS _text")
        return self.arrow(f"SELECT {', '.join(select)} FROM src")

    def collections(self, *, collection_col: str, entity_col: str, weight_col: str | None,
                    extra: list[str], min_count: int,
                    value_col: str | None = None) -> CollectionRows:
        """(collection, entity[, weight]) rows → the distinct pairs with a non-null collection
        and entity (weight: the pair's largest, null as 1), the entities in ≥ min_count of
        them numbered by id, and their memberships. An entity's extra columns take their
        smallest value. The tables are None when no pair or no entity is left. With
        value_col, each membership also carries `value`, the pair's smallest (a missing or
        NaN one stays NaN, for the caller to refuse)."""
        col, ent = _quote(collection_col), _quote(entity_col)
        weight = f"CAST({_quote(weight_col)} AS DOUBLE)" if weight_col else "1.0::DOUBLE"
        # DuckDB's min() would skip a NULL and order NaN last: any missing value makes NaN
        value = (f", CASE WHEN bool_or({_quote(value_col)} IS NULL OR isnan(CAST("
                 f"{_quote(value_col)} AS DOUBLE))) THEN 'NaN'::DOUBLE ELSE min(CAST("
                 f"{_quote(value_col)} AS DOUBLE)) END AS value" if value_col else "")
        self._run(f"""
            CREATE TEMP TABLE pairs AS
            SELECT CAST({col} AS VARCHAR) AS collection, CAST({ent} AS VARCHAR) AS id,
                   max(coalesce({weight}, 1.0)) AS weight {value}
            FROM src WHERE {col} IS NOT NULL AND {ent} IS NOT NULL
            GROUP BY 1, 2""")
        self._run(f"""
            CREATE TEMP TABLE kept AS
            SELECT id, count(*)::DOUBLE AS n FROM pairs GROUP BY id
            HAVING count(*) >= {int(min_count)}""")
        pairs = int(self.scalar("SELECT count(*) FROM pairs"))
        kept = int(self.scalar("SELECT count(*) FROM kept"))
        if not pairs or not kept:
            return CollectionRows(pairs, kept, None, None, 0)
        columns = "".join(", a." + _quote(c) for c in extra)
        join = ""
        if extra:
            agg = ", ".join(f"min({_quote(c)}) AS {_quote(c)}" for c in extra)
            join = (f"LEFT JOIN (SELECT CAST({ent} AS VARCHAR) AS id, {agg} FROM src "
                    "GROUP BY 1) a ON a.id = kept.id")
        self._run(f"""
            CREATE TEMP TABLE ents AS
            SELECT (row_number() OVER (ORDER BY kept.id) - 1)::INTEGER AS idx, kept.id, kept.n
                   {columns}
            FROM kept {join}""")
        entities = self.arrow("SELECT * FROM ents ORDER BY idx")
        memberships = self.arrow(f"""
            SELECT p.collection, e.idx, p.weight{', p.value' if value_col else ''}
            FROM pairs p JOIN ents e ON e.id = p.id
            ORDER BY p.collection, e.idx""")
        n_collections = int(self.scalar(
            "SELECT count(DISTINCT collection) FROM pairs WHERE id IN (SELECT id FROM kept)"))
        return CollectionRows(pairs, kept, entities, memberships, n_collections)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    for prefix in ("IO Error: ", "Invalid Input Error: ", "Conversion Error: ",
                   "Binder Error: ", "Parser Error: "):
        text = text.replace(prefix, "")
    return text.splitlines()[0] if text else type(err).__name__


@_interruptible
def open_source(source, *, table: str | None = None, name: str | None = None) -> Source:
    """Expose a file (parquet/CSV/JSONL/DuckDB table) or an in-memory frame as view `src`.

    `.npy` files are read with numpy by the caller, not here.
    """
    if not isinstance(source, (str, os.PathLike)):
        con = duckdb.connect()
        con.register("src", source)
        return Source(con, name or "input")
    path = str(source)
    name = name or path
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    check_file(path, "an input file")
    con = duckdb.connect()  # after the checks, so a refusal has no connection to close
    suffix = Path(path).suffix.lower()
    try:
        if suffix in DUCKDB_SUFFIXES:
            con.execute(f"ATTACH '{_literal(path)}' AS input (READ_ONLY)")
            tables = [r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'input'"
            ).fetchall()]
            if table is None:
                if len(tables) != 1:
                    raise InputError(f"{path} has {len(tables)} tables ({', '.join(tables)}); "
                                     "name one with --table")
                table = tables[0]
            elif table not in tables:
                raise InputError(f"{path} has no table '{table}' (tables: {', '.join(tables)})")
            con.execute(f"CREATE VIEW src AS SELECT * FROM input.{_quote(table)}")
        else:
            reader = _READERS.get(suffix)
            if reader is None:
                raise InputError(f"{path}: unknown input format '{suffix or path}' "
                                 "(use .parquet, .csv, .tsv, .jsonl, .json, .npy or .duckdb)")
            if os.path.getsize(path) == 0:
                raise InputError(f"{path} is empty")
            con.execute(f"CREATE VIEW src AS SELECT * FROM {reader}('{_literal(path)}')")
            con.execute("DESCRIBE src").fetchall()
            guessed = reader != "read_parquet"  # CSV and JSON types are guesses
            source = Source(con, name, (reader, path) if guessed else None)
            source.read_as_text()  # JSON columns of mixed types: text, not JSON quoting
            return source
    except InputError:
        con.close()
        raise
    except duckdb.Error as err:
        con.close()
        raise (_friendly(path, err) if suffix in DUCKDB_SUFFIXES
               else _input_error(path, err)) from None
    except BaseException:
        con.close()
        raise
    return Source(con, name)
