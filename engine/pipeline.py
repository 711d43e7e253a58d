"""The build: input → entities → neighbour graph → layouts → merge tree → communities.

Each step is declared once (`Step`): its name, the steps it reads, its params and cache key =
hash(params, the keys of the steps it reads), a compute function and a store write. The build
loops over the steps a request needs (planned in engine.steps). A step whose stored key matches
is skipped; otherwise it is recomputed and written in one transaction together with its
`steps` row. A build that changes anything writes into a copy of the file that replaces it
once every step is complete, so a build killed at any moment leaves the previous dataset as
it was.
"""

from __future__ import annotations

import glob
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from engine.errors import InputError, OutputError
from engine.ingest import Ingested, file_key, read_collections, read_vectors
from engine.knngraph import KnnGraph
from engine.methods import (
    COMMUNITIES,
    CONTEXT_MEASURES,
    EXACT_TREE_MAX_N,
    GRAPHS,
    LAYOUTS,
    MEASURES,
    MERGE_TREES,
)
from engine.paths import check_file, output_path, temp_beside
from engine.steps import (
    MDE_DIM,
    MDE_ITERS,
    SLPA_ITERATIONS,
    SLPA_R,
    BuildOptions,
    Planned,
    plan,
    plan_after_ingest,
    plan_ingest,
    step_key,
    valid_steps,
)
from engine.store import Store, check_embedding_name, discard

__all__ = ["BuildOptions", "BuildReport", "Progress", "build", "knn_graph_matrix", "plan",
           "step_key", "valid_steps"]

# Measures bounded above by 1 convert to UMAP distances like cosine; the others like dot.
_BOUNDED = ("npmi", "jaccard", "dice", "conditional")


class Progress:
    """Build progress; the command line draws it with rich, the engine only calls it."""

    def start(self, step: str, description: str) -> None: ...

    def update(self, done: float, total: float | None = None) -> None: ...

    def finish(self, step: str, seconds: float, cached: bool) -> None: ...

    def note(self, text: str) -> None: ...


@dataclass
class BuildReport:
    computed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # the command line prints them on stderr

    @property
    def up_to_date(self) -> bool:
        return not self.computed


class Graph(NamedTuple):
    """A computed neighbour graph with the sizes `embtui info` shows."""

    idx: np.ndarray
    sim: np.ndarray
    stats: dict


class Memberships(NamedTuple):
    coll: np.ndarray  # int32 dense collection codes
    ent: np.ndarray  # int32 entity index
    weight: np.ndarray  # float64
    n_collections: int
    name: Callable[[int], str]  # a collection code → the collection's id, for messages
    value: np.ndarray | None = None  # float64 --pair-attribute value of each membership


@dataclass
class Built:
    """What earlier steps produced, for the steps that read it: kept from this build, or read
    from the store on first use when the step was cached."""

    store: Store | None
    ingested: Ingested | None = None
    graph: tuple[np.ndarray, np.ndarray] | None = None
    _vectors: np.ndarray | None = field(default=None, repr=False)
    _graph_matrix: Any = field(default=None, repr=False)

    def keep(self, result: Any) -> None:
        """Hold a result later steps read, so they need not read it back from the store."""
        if isinstance(result, Ingested):
            self.ingested = result
        elif isinstance(result, Graph):
            self.graph = (result.idx, result.sim)
            self._graph_matrix = None

    @property
    def n(self) -> int:
        return self.ingested.n if self.ingested is not None else self.store.member_count()

    def vectors(self) -> np.ndarray | None:
        if self.ingested is not None:
            return self.ingested.vectors
        if self._vectors is None:
            self._vectors = self.store.vectors()
        return self._vectors

    def memberships(self) -> Memberships:
        if self.ingested is not None:
            m = self.ingested.memberships
            codes, names = _dense_codes(m.column("collection"))
            value = (m.column("value").to_numpy().astype(np.float64)
                     if "value" in m.column_names else None)
            return Memberships(codes, m.column("idx").to_numpy().astype(np.int32),
                               m.column("weight").to_numpy().astype(np.float64),
                               self.ingested.n_collections, lambda c: names[c].as_py(), value)
        cols = self.store.memberships()
        coll = cols["coll"].astype(np.int32)
        value = cols["value"].astype(np.float64) if "value" in cols else None
        return Memberships(coll, cols["idx"].astype(np.int32),
                           cols["weight"].astype(np.float64),
                           int(coll.max()) + 1 if len(coll) else 0, self.store.collection_name,
                           value)

    def knn(self) -> tuple[np.ndarray, np.ndarray]:
        if self.graph is None:
            self.graph = self.store.local_knn()
        return self.graph

    def graph_matrix(self):
        """The symmetric CSR every community method reads, built once per build."""
        if self._graph_matrix is None:
            self._graph_matrix = knn_graph_matrix(*self.knn())
        return self._graph_matrix


@dataclass(frozen=True)
class Step:
    """One unit of the build, as the loop runs it."""

    name: str
    reads: tuple[str, ...]
    params: dict
    key: str
    describe: str  # what progress shows while it runs
    compute: Callable[[Built, Progress], Any]
    write: Callable[[Store, Any], None]  # called inside the step's transaction


def build(source, out: str | os.PathLike, opt: BuildOptions, *, source_key: str | None = None,
          source_name: str | None = None, progress: Progress | None = None) -> BuildReport:
    """Build or update the dataset `out` from `source` (a path, or a frame with source_key).

    The steps are written into a copy beside `out` (`OUT.building-PID`), which replaces it
    only once every step is complete: until then `out` stays the previous complete dataset,
    and a failed or interrupted build removes its copy. `out` is held open for writing
    meanwhile, so one build at a time writes it.
    """
    out = output_path(out)
    progress = progress or Progress()
    _check_options(opt)
    source_key = _source_key(source, out, source_key)
    _remove_stale_copies(out)
    report = BuildReport()
    previous = _open_output(out, opt.embedding)
    built = Built(previous)
    work: str | None = None  # the copy being written
    try:
        records = previous.steps() if previous else {}
        valid = valid_steps(records)
        for step in _steps(opt, source, source_name, source_key, built, report.warnings):
            if step.name in valid and records[step.name].key == step.key:
                report.cached.append(step.name)
                progress.finish(step.name, records[step.name].seconds, cached=True)
                continue
            progress.start(step.name, step.describe)
            t0 = time.perf_counter()
            result = step.compute(built, progress)
            seconds = time.perf_counter() - t0
            with _writing(out):
                if work is None:
                    work = temp_beside(out, f"building-{os.getpid()}")
                    if previous is not None:
                        previous.copy_to(work)
                    else:  # DuckDB creates a new file itself (it takes an empty one for corrupt)
                        os.remove(work)
                    built.store = Store.create(work, opt.embedding)
                with built.store.transaction():
                    step.write(built.store, result)
                    built.store.record_step(step.name, step.params, step.key, seconds)
            built.keep(result)
            report.computed.append(step.name)
            report.seconds[step.name] = seconds
            progress.finish(step.name, seconds, cached=False)
        if work is not None:
            with _writing(out):
                # DuckDB's close swallows a failed final checkpoint (a full disk) and leaves
                # the data in the WAL beside the copy: checkpoint first, where it raises
                built.store.checkpoint()
                built.store.close()
                built.store = None
                if os.path.lexists(f"{work}.wal"):
                    raise OutputError(work, "its write-ahead log could not be written back")
                os.replace(work, out)  # a reader still open on the old file keeps reading it
            work = None
    finally:
        if built.store is not None and built.store is not previous:
            built.store.close()
        if previous is not None:
            previous.close()
        if work is not None:
            discard(work)
    return report


@contextmanager
def _writing(out: str):
    """A failed write of the build's copy (a full disk) as one error naming the output."""
    try:
        yield
    except OutputError as err:
        raise OutputError(out, err.cause) from None
    except OSError as err:
        raise OutputError(out, err) from None


def _remove_stale_copies(out: str) -> None:
    """Copies left by builds that were killed outright (SIGKILL, power loss)."""
    for path in glob.glob(glob.escape(out) + ".building-*"):
        pid = path[len(out) + len(".building-"):].split(".")[0]
        if pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
            discard(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _steps(opt: BuildOptions, source, source_name: str | None, source_key: str,
           built: Built, warnings: list[str]) -> Iterator[Step]:
    """The steps a request needs, in build order. The graph's key depends on the number of
    entities (an exact graph leaves the seed out), so the steps after ingest are planned once
    it has run or been found cached."""
    ingest = plan_ingest(opt, source_key)
    reading = ("embedding images" if opt.image_col is not None else "reading input"
               if opt.text_col is None
               else "cutting texts into windows" if opt.windows else "embedding texts")
    yield _step(ingest, reading,
                partial(_ingest, opt, source, source_name, warnings), _write_ingest)
    opt = _bounded_k(opt, built.n, warnings)
    if "mde-umap" in opt.layouts and opt.mde_neighbors is not None \
            and not 10 <= opt.mde_neighbors <= 40:
        warnings.append(f"--mde-neighbors {opt.mde_neighbors} is outside 10..40, the range "
                        "the co-occurrence write-up recommends")
    if opt.merge_tree == "exact" and built.n > EXACT_TREE_MAX_N:
        warnings.append(f"--merge-tree exact compares all {built.n:,} × {built.n:,} pairs; "
                        f"above {EXACT_TREE_MAX_N:,} entities that takes long (auto keeps "
                        "the kNN tree there)")
    later = plan_after_ingest(opt, ingest, built.n)
    derived = [p.name for p in later if p.name != "knn"]
    for p in later:
        kind, _, arg = p.name.partition(":")
        if kind == "knn":  # one compute function per input kind (and per engine, if another)
            compute = _knn_vectors if opt.kind == "vectors" else _knn_collections
            yield _step(p, "neighbour graph", partial(compute, opt),
                        partial(_write_knn, derived))
        elif kind == "layout":
            yield _step(p, f"layout {arg}", partial(_layout, opt, arg),
                        partial(_write_layout, arg))
        elif kind == "merge_tree":
            exact = p.params.get("tree") == "exact"
            yield _step(p, "merge tree of all pairs" if exact else "merge tree",
                        partial(_merge_tree, opt, exact), _write_merge_tree)
        elif kind == "communities":
            yield _step(p, f"communities {arg}", partial(_COMMUNITIES[arg], opt),
                        partial(_write_communities, arg))
        else:
            raise InputError(f"unknown build step '{p.name}'")


# A neighbour graph is kept as (N, k) arrays, written to the store and read by every later
# step; several copies are alive at once, ~50 bytes an edge in all. 200M edges is ~10 GB.
MAX_EDGES = 200_000_000


def _bounded_k(opt: BuildOptions, n: int, warnings: list[str]) -> BuildOptions:
    """k (and the context graph's corr_k) clipped to N − 1, each entity's most; refused when
    N · k edges are more than MAX_EDGES."""
    changes = {}
    for name, flag in (("k", "-k"), ("corr_k", "--corr-k")):
        k = getattr(opt, name)
        if name == "corr_k" and opt.graph != "context":
            continue
        if n >= 2 and k > n - 1:
            warnings.append(f"{flag} {k} is more than the {n - 1} other entities: each entity "
                            f"gets at most {n - 1} neighbours ({flag} {n - 1})")
            k = changes[name] = n - 1
        if n * k > MAX_EDGES:
            raise InputError(f"{flag} {k} on {n:,} entities is {n * k:,} edges, more than the "
                             f"{MAX_EDGES:,} a build holds in memory; use {flag} "
                             f"{MAX_EDGES // n} or less")
    return replace(opt, **changes) if changes else opt


def _step(p: Planned, describe: str, compute, write) -> Step:
    return Step(p.name, p.reads, p.params, p.key, describe, compute, write)


def _source_key(source, out: str, source_key: str | None) -> str:
    if isinstance(source, (str, os.PathLike)):
        if not os.path.exists(source):
            raise InputError(f"{source}: no such file")
        check_file(source, "an input file")
        if os.path.exists(out) and os.path.samefile(source, out):
            raise InputError(f"{out}: the output would overwrite the input")
        return source_key or file_key(source)
    if source_key is None:
        raise InputError("an in-memory source needs a source_key")
    return source_key


def _open_output(out: str, embedding: str | None) -> Store | None:
    """The existing output dataset for writing, or None when it does not exist yet."""
    check_file(out, "a dataset file")
    check_embedding_name(embedding)
    if not os.path.exists(out) or os.path.getsize(out) == 0:
        return None
    return Store.open(out, read_only=False, embedding=embedding)


def _check_options(opt: BuildOptions) -> None:
    if opt.kind not in ("vectors", "collections"):
        raise InputError(f"unknown input kind '{opt.kind}'")
    if opt.k < 1:
        raise InputError(f"-k must be at least 1 (got {opt.k})")
    for method in opt.communities:
        if method not in COMMUNITIES:
            raise InputError(f"unknown community method '{method}' "
                             f"(use {', '.join(COMMUNITIES)})")
    if "kmeans" in opt.communities and opt.kind != "vectors":
        raise InputError("kmeans clusters vectors; collections have none (use "
                         "label-propagation or slpa)")
    if opt.kmeans_k is not None and opt.kmeans_k < 1:
        raise InputError(f"--kmeans-k must be at least 1 (got {opt.kmeans_k})")
    if opt.kmeans_k is not None and "kmeans" not in opt.communities:
        raise InputError("--kmeans-k applies to --communities kmeans only")
    if not 0 < opt.slpa_r <= 1:
        raise InputError(f"--slpa-r is a share of the memory in (0, 1] (got {opt.slpa_r})")
    if opt.slpa_iterations < 1:
        raise InputError(f"--slpa-iterations must be at least 1 (got {opt.slpa_iterations})")
    if "slpa" not in opt.communities and (opt.slpa_r != SLPA_R
                                         or opt.slpa_iterations != SLPA_ITERATIONS):
        raise InputError("--slpa-r and --slpa-iterations apply to --communities slpa only")
    if opt.max_collection_size is not None and opt.max_collection_size < 0:
        raise InputError("--max-collection-size must be at least 0 (0: no cap; got "
                         f"{opt.max_collection_size})")
    if opt.kind == "collections" and opt.measure not in MEASURES:
        raise InputError(f"unknown measure '{opt.measure}' (use {', '.join(MEASURES)})")
    if opt.graph not in GRAPHS:
        raise InputError(f"unknown graph '{opt.graph}' (use {', '.join(GRAPHS)})")
    if opt.kind != "collections" and (opt.graph != "association" or opt.min_weight is not None):
        raise InputError("--graph and --min-weight apply to collections (add --collections)")
    if opt.graph == "context":
        if opt.corr_k < 1:
            raise InputError(f"--corr-k must be at least 1 (got {opt.corr_k})")
        if opt.in_degree_cap is not None and opt.in_degree_cap < 1:
            raise InputError(f"--in-degree-cap must be at least 1 (got {opt.in_degree_cap})")
        if not 0 <= opt.context_threshold <= 1:
            raise InputError("--context-threshold is a similarity in [0, 1] "
                             f"(got {opt.context_threshold})")
        if opt.context_measure not in CONTEXT_MEASURES:
            raise InputError(f"unknown context measure '{opt.context_measure}' (use "
                             f"{', '.join(CONTEXT_MEASURES)})")
    _check_pairs(opt)
    if opt.image_col is not None or opt.image_weights is not None:
        _check_images(opt)
    if opt.windows is not None:
        _check_windows(opt)
    elif opt.stop_words is not None:
        raise InputError("--stop-words applies to --windows (words as collections)")
    elif opt.text_col is not None:
        if opt.kind != "vectors":
            raise InputError("--text-column embeds texts as vectors; it does not go with "
                             "--collections (add --windows W to make its words collections)")
        if opt.vector_col is not None:
            raise InputError("give --text-column or --vector, not both")
        from engine.text import require_text
        require_text()
    if opt.merge_tree not in MERGE_TREES:
        raise InputError(f"unknown merge tree '{opt.merge_tree}' (use {', '.join(MERGE_TREES)})")
    if opt.merge_tree == "exact" and opt.kind != "vectors":
        raise InputError("--merge-tree exact compares all pairs of vectors; collections have "
                         "their neighbour graph only (use auto or knn)")
    for name in opt.layouts:
        if name not in LAYOUTS:
            raise InputError(f"unknown layout '{name}' (use {', '.join(LAYOUTS)})")
    _check_mde(opt)


def _check_mde(opt: BuildOptions) -> None:
    changed = (opt.mde_neighbors is not None or opt.mde_dim != MDE_DIM
               or opt.mde_iters != MDE_ITERS or opt.device != "cpu")
    if "mde-umap" not in opt.layouts:
        if changed:
            raise InputError("--mde-neighbors, --mde-dim, --mde-iters and --device apply to "
                             "--layout mde-umap only")
        return
    if opt.mde_neighbors is not None and not 1 <= opt.mde_neighbors <= opt.k:
        raise InputError(f"--mde-neighbors must be in 1..{opt.k} (-k, the neighbours the "
                         f"graph holds), got {opt.mde_neighbors}")
    if opt.mde_dim not in (3, 4):
        raise InputError(f"--mde-dim must be 3 or 4, got {opt.mde_dim}")
    if opt.mde_iters < 1:
        raise InputError(f"--mde-iters must be at least 1, got {opt.mde_iters}")
    if opt.device not in ("cpu", "cuda"):
        raise InputError(f"unknown device '{opt.device}' (use cpu, cuda)")
    from engine.layout import require_mde
    require_mde(opt.device)


def _check_pairs(opt: BuildOptions) -> None:
    if opt.pair_attribute is None:
        if opt.pair_scale is not None:
            raise InputError("--pair-scale goes with --pair-attribute COL")
        return
    if opt.kind != "collections" or opt.windows is not None:
        raise InputError("--pair-attribute weights pairs within a collection: it applies to "
                         "--collections inputs")
    scale = opt.pair_scale
    if scale is None:
        raise InputError("--pair-attribute needs --pair-scale S (a pair adds "
                         "exp(-|x_a - x_b| / S))")
    if not (isinstance(scale, (int, float)) and np.isfinite(scale) and scale > 0):
        raise InputError(f"--pair-scale must be a positive number (got {scale})")


def _check_images(opt: BuildOptions) -> None:
    if opt.image_col is None:
        raise InputError("--image-weights applies to --image-column only")
    if opt.kind != "vectors":
        raise InputError("--image-column embeds images as vectors; it does not go with "
                         "--collections")
    if opt.text_col is not None or opt.vector_col is not None:
        raise InputError("give one of --image-column, --text-column and --vector")
    from engine.images import require_image
    require_image()


def _check_windows(opt: BuildOptions) -> None:
    """Text as collections: only the options that mean something for it."""
    if opt.text_col is None:
        raise InputError("--windows makes collections of a text column's words: name it "
                         "with --text-column COL")
    if isinstance(opt.windows, bool) or not isinstance(opt.windows, int) or opt.windows < 2:
        raise InputError(f"--windows must be at least 2 (got {opt.windows}): a window of one "
                         "word has no pair")
    if opt.kind != "collections":
        raise InputError("--windows builds collections (kind 'collections')")
    given = [flag for flag, value in (
        ("--collection", opt.collection_col), ("--entity", opt.entity_col),
        ("--weight", opt.weight_col), ("--label", opt.label_col), ("--id", opt.id_col),
        ("--vector", opt.vector_col), ("--labels", opt.labels_file),
        ("--meta", opt.meta_cols or None)) if value is not None]
    if given:
        raise InputError(f"{', '.join(given)} do{'es' if len(given) == 1 else ''} not go with "
                         "--windows (words are the entities, windows the collections)")
    if opt.stop_words is not None:
        from engine.words import stop_words_key
        stop_words_key(opt.stop_words)  # a missing file, refused before anything is read


# ---- ingest -----------------------------------------------------------------------------

def _ingest(opt: BuildOptions, source, name: str | None, warnings: list[str], built: Built,
            progress: Progress) -> Ingested:
    ingested = _read_input(opt, source, name, progress)
    store = built.store
    if store is None or not store.has_entities():
        return ingested
    if store.schema != "main":
        return _matched(ingested, store.entity_ids(), store.embedding, warnings)
    others = store.embeddings()[1:]
    if others and not store.entity_ids().equals(ingested.entities.column("id")):
        warnings.append(f"the entities changed, so the embeddings built over them are removed: "
                        f"{', '.join(others)} (build them again)")
    return ingested


def _matched(ingested: Ingested, ids, embedding: str, warnings: list[str]) -> Ingested:
    """An input for an embedding beyond the first, matched to the dataset's entities by id:
    rows whose id the dataset lacks are left out, the rest put in dataset order, and both
    counts reported; never joined by position."""
    import pyarrow as pa
    import pyarrow.compute as pc
    own = ingested.entities.column("id").cast(pa.string())
    dataset_idx = pc.index_in(own, value_set=ids.combine_chunks().cast(pa.string())) \
        .fill_null(-1).to_numpy().astype(np.int64)
    found = dataset_idx >= 0
    rows = np.flatnonzero(found)
    rows = rows[np.argsort(dataset_idx[rows], kind="stable")]
    members = dataset_idx[rows].astype(np.int32)
    unknown = len(own) - len(rows)
    if len(rows) == 0:
        raise InputError(f"embedding {embedding}: none of its {len(own):,} ids is an entity of "
                         "the dataset (ids are matched to the first embedding's)")
    if unknown:
        sample = ", ".join(repr(v) for v in pc.filter(own, pa.array(~found)).to_pylist()[:3])
        warnings.append(f"embedding {embedding}: {unknown:,} of its {len(own):,} ids are not "
                        f"entities of the dataset and are left out (e.g. {sample})")
    missing = len(ids) - len(rows)
    if missing:
        warnings.append(f"embedding {embedding} holds {len(rows):,} of the dataset's "
                        f"{len(ids):,} entities; the other {missing:,} have no neighbours, "
                        "layout or communities in it")
    new_of_old = np.full(len(own), -1, dtype=np.int64)
    new_of_old[rows] = np.arange(len(rows))
    entities = ingested.entities.take(pa.array(rows))
    entities = entities.set_column(entities.column_names.index("idx"), "idx",
                                   pa.array(np.arange(len(rows), dtype=np.int32)))
    vectors = ingested.vectors[rows] if ingested.vectors is not None else None
    memberships = ingested.memberships
    if memberships is not None:
        local = new_of_old[memberships.column("idx").to_numpy()]
        memberships = memberships.filter(pa.array(local >= 0))
        memberships = memberships.set_column(
            memberships.column_names.index("idx"), "idx",
            pa.array(local[local >= 0].astype(np.int32)))
    return replace(ingested, entities=entities, vectors=vectors, memberships=memberships,
                   members=members)


def _read_input(opt: BuildOptions, source, name: str | None, progress: Progress) -> Ingested:
    if opt.windows is not None:
        from engine.ingest import read_windows
        return read_windows(source, text_col=opt.text_col, windows=opt.windows,
                            stop_words=opt.stop_words, min_count=opt.min_count,
                            table=opt.table, name=name)
    if opt.image_col is not None:
        from engine.ingest import read_images
        return read_images(source, image_col=opt.image_col, weights=opt.image_weights,
                           id_col=opt.id_col, label_col=opt.label_col,
                           weight_col=opt.weight_col, table=opt.table, name=name,
                           progress=progress.update)
    if opt.text_col is not None:
        from engine.ingest import read_texts
        return read_texts(source, text_col=opt.text_col, id_col=opt.id_col,
                          label_col=opt.label_col, weight_col=opt.weight_col, table=opt.table,
                          name=name, progress=progress.update)
    if opt.kind == "vectors":
        return read_vectors(source, id_col=opt.id_col, label_col=opt.label_col,
                            vector_col=opt.vector_col, weight_col=opt.weight_col,
                            metric=opt.metric, table=opt.table, labels_file=opt.labels_file,
                            name=name)
    return read_collections(source, collection_col=opt.collection_col,
                            entity_col=opt.entity_col, weight_col=opt.weight_col,
                            label_col=opt.label_col, meta_cols=opt.meta_cols,
                            min_count=opt.min_count, table=opt.table, name=name,
                            pair_attribute=opt.pair_attribute)


def _write_ingest(store: Store, ingested: Ingested) -> None:
    store.replace_entities(ingested.entities, ingested.vectors, ingested.memberships,
                           ingested.members)
    store.set_meta({"kind": ingested.kind, "n_collections": ingested.n_collections,
                    "dim": ingested.vectors.shape[1] if ingested.vectors is not None else ""})


# ---- neighbour graph --------------------------------------------------------------------

def _knn_vectors(opt: BuildOptions, built: Built, progress: Progress) -> Graph:
    from engine.knn import knn_vectors
    idx, sim = knn_vectors(built.vectors(), opt.k, opt.metric, seed=opt.seed,
                           progress=progress.update)
    return Graph(idx, sim, _edge_stats(idx))


def _knn_collections(opt: BuildOptions, built: Built, progress: Progress) -> Graph:
    from engine.cooccur import association, cooccurrence, top_k
    m = built.memberships()
    weighted = m.weight if opt.weight_col else None
    if opt.pair_attribute is not None and m.value is None:  # a store without the values
        raise InputError("the stored memberships have no --pair-attribute values: rebuild")
    C = cooccurrence(m.coll, m.ent, built.n, m.n_collections, weight=weighted,
                     max_collection_size=opt.max_collection_size, collection_name=m.name,
                     pair_value=m.value if opt.pair_attribute is not None else None,
                     pair_scale=opt.pair_scale)
    S = association(C, m.n_collections, opt.measure)
    if opt.graph == "context":
        from engine.concepts import context_similarity, correlation_graph
        G = correlation_graph(S, opt.min_weight)
        del S  # G holds the whole positive rows: one copy of them at a time
        S, stats = context_similarity(G, in_degree_cap=opt.in_degree_cap,
                                      threshold=opt.context_threshold, k=opt.k,
                                      corr_k=opt.corr_k, measure=opt.context_measure,
                                      return_stats=True)
        idx, sim = top_k(S, opt.k)
        stats.update(_edge_stats(idx), graph="context")
        return Graph(idx, sim, stats)
    idx, sim = top_k(S, opt.k, min_weight=opt.min_weight)
    off_diagonal = int(S.nnz - np.count_nonzero(S.diagonal()))
    return Graph(idx, sim, {**_edge_stats(idx), "graph": "association",
                            "association_entries": off_diagonal})


def _write_knn(derived: list[str], store: Store, graph: Graph) -> None:
    store.replace_knn(graph.idx, graph.sim)
    store.set_meta({"graph_stats": json.dumps(graph.stats, sort_keys=True)})
    # Steps of another build read the old graph: drop them with it.
    store.drop_derived(keep=derived)


def _edge_stats(idx: np.ndarray) -> dict:
    """Sizes of a stored neighbour graph, for `embtui info`."""
    kept = int((idx >= 0).sum())
    return {"knn_edges": kept, "isolated": int((idx[:, :1] < 0).sum()) if idx.shape[1]
            else len(idx)}


def _dense_codes(column):
    """A column's values as int32 codes, with the array of the values they stand for."""
    import pyarrow.compute as pc
    encoded = pc.dictionary_encode(column.combine_chunks() if hasattr(column, "combine_chunks")
                                   else column)
    return encoded.indices.to_numpy().astype(np.int32), encoded.dictionary


def knn_graph_matrix(idx: np.ndarray, sim: np.ndarray):
    """The kNN graph as a symmetric CSR of positive weights (max of the two directions)."""
    G = KnnGraph(idx, sim).to_csr(positive=True).astype(np.float64)
    return G.maximum(G.T).tocsr()


# ---- steps that read the graph ----------------------------------------------------------

def _layout_metric(opt: BuildOptions) -> str:
    if opt.kind == "vectors":
        return opt.metric
    if opt.graph == "context":  # similarities in [0, 1]
        return "cosine"
    return "cosine" if opt.measure in _BOUNDED else "dot"


def _layout(opt: BuildOptions, name: str, built: Built, progress: Progress) -> np.ndarray:
    from engine import layout as layouts
    idx, sim = built.knn()
    if name == "umap":
        return layouts.umap_layout(idx, sim, _layout_metric(opt), seed=opt.seed,
                                   progress=progress.update)
    if name == "tsne":
        return layouts.tsne_layout(idx, sim, _layout_metric(opt), seed=opt.seed,
                                   progress=progress.update)
    n_neighbors = 15 if opt.mde_neighbors is None else opt.mde_neighbors
    return layouts.mde_umap_layout(idx, sim, _layout_metric(opt), seed=opt.seed,
                                   dim=opt.mde_dim, n_neighbors=n_neighbors,
                                   max_iter=opt.mde_iters, device=opt.device)


def _write_layout(name: str, store: Store, xy: np.ndarray) -> None:
    store.replace_layout(name, xy)


def _merge_tree(opt: BuildOptions, exact: bool, built: Built, progress: Progress):
    if exact:
        from engine.exact_tree import exact_merge_tree
        return exact_merge_tree(built.vectors(), opt.metric, progress=progress.update)
    from engine.clusters import merge_tree
    idx, sim = built.knn()
    return merge_tree(len(idx), idx, sim)


def _write_merge_tree(store: Store, tree) -> None:
    store.replace_merge_tree(*tree)


def _label_propagation(opt: BuildOptions, built: Built, progress: Progress):
    from engine import communities
    return communities.label_propagation(built.graph_matrix(), seed=opt.seed), None


def _slpa(opt: BuildOptions, built: Built, progress: Progress):
    from engine import communities
    return communities.slpa(built.graph_matrix(), seed=opt.seed, r=opt.slpa_r,
                            iterations=opt.slpa_iterations)


def _kmeans(opt: BuildOptions, built: Built, progress: Progress):
    from engine import communities
    X = built.vectors()
    if X is None:
        raise InputError("kmeans needs vectors; collections have none")
    # cosine compares directions: cluster the unit vectors
    return communities.kmeans(X, opt.kmeans_k, seed=opt.seed,
                              normalize=opt.metric == "cosine"), None


_COMMUNITIES = {"label-propagation": _label_propagation, "slpa": _slpa, "kmeans": _kmeans}


def _write_communities(method: str, store: Store, result) -> None:
    labels, strength, *members = result  # SLPA adds its overlapping memberships
    store.replace_communities(method, labels, strength, *members)
