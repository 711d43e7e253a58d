"""The build: input → entities → neighbour graph → layouts → merge tree → communities.

Each step has params and a cache key = hash(params, the keys of the steps it reads). A step
whose stored key matches is skipped; otherwise it is recomputed and written in one transaction
together with its `steps` row, so a build killed at any moment leaves every step either as it
was or complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from engine.errors import InputError
from engine.ingest import Ingested, file_key, read_collections, read_vectors
from engine.store import Store

LAYOUTS = ("umap", "mde-umap")
MEASURES = ("npmi", "ppmi", "jaccard", "conditional", "inverse-log")
GRAPHS = ("association", "context")
COMMUNITIES = ("label-propagation", "slpa", "kmeans")
# Measures bounded above by 1 convert to UMAP distances like cosine; the others like dot.
_BOUNDED = ("npmi", "jaccard", "conditional")


@dataclass
class BuildOptions:
    kind: str = "vectors"  # "vectors" | "collections"
    # vectors
    id_col: str | None = None
    label_col: str | None = None
    vector_col: str | None = None
    weight_col: str | None = None
    metric: str = "cosine"
    table: str | None = None
    labels_file: str | None = None
    text_col: str | None = None  # embed this column with the packaged MiniLM model
    # collections
    collection_col: str | None = None
    entity_col: str | None = None
    meta_cols: tuple[str, ...] = ()
    measure: str = "npmi"
    min_count: int = 1
    # "association": neighbours by the measure; "context": the concepts method's similarity
    # of association neighbourhoods (engine.concepts), with these knobs
    graph: str = "association"
    min_weight: float | None = None
    corr_k: int = 50
    in_degree_cap: int | None = 1000
    context_threshold: float = 0.1
    # common
    k: int = 15
    layouts: tuple[str, ...] = ("umap",)
    seed: int = 0
    communities: tuple[str, ...] = ("label-propagation",)
    kmeans_k: int | None = None  # None: chosen by silhouette over 2..20


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

    @property
    def up_to_date(self) -> bool:
        return not self.computed


def step_key(params: dict, inputs: list[str]) -> str:
    text = json.dumps({"params": params, "inputs": inputs}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _ingest_params(opt: BuildOptions) -> dict:
    if opt.kind == "vectors":
        params = {"kind": "vectors", "id": opt.id_col, "label": opt.label_col,
                  "vector": opt.vector_col, "weight": opt.weight_col, "table": opt.table,
                  "labels_file": opt.labels_file, "metric_checks": opt.metric}
        if opt.text_col is not None:
            from engine.text import model_key
            params.update(text=opt.text_col, model=model_key())
        return params
    return {"kind": "collections", "collection": opt.collection_col, "entity": opt.entity_col,
            "weight": opt.weight_col, "label": opt.label_col, "meta": list(opt.meta_cols),
            "min_count": opt.min_count, "table": opt.table}


def _graph_params(opt: BuildOptions, n: int | None) -> dict:
    if opt.kind == "vectors":
        params = {"k": opt.k, "metric": opt.metric}
        from engine.knn import EXACT_MAX_N
        if n is None or n > EXACT_MAX_N:  # only NN-descent depends on the seed
            params["seed"] = opt.seed
        return params
    params = {"k": opt.k, "measure": opt.measure}
    if opt.min_weight is not None:
        params["min_weight"] = opt.min_weight
    if opt.graph == "context":
        params.update(graph="context", corr_k=opt.corr_k, in_degree_cap=opt.in_degree_cap,
                      threshold=opt.context_threshold)
    return params


def plan(opt: BuildOptions, source_key: str,
         n: int | None = None) -> dict[str, tuple[dict, str]]:
    """Every step of a build with its params and key, in build order.

    `n`, the number of entities once known, keeps the seed out of an exact graph's key, so a
    new seed recomputes only the layouts and communities of a small dataset.
    """
    steps: dict[str, tuple[dict, str]] = {}
    ingest = _ingest_params(opt)
    steps["ingest"] = (ingest, step_key(ingest, [source_key]))
    graph = _graph_params(opt, n)
    steps["knn"] = (graph, step_key(graph, [steps["ingest"][1]]))
    knn_key = steps["knn"][1]
    for name in opt.layouts:
        params = {"layout": name, "seed": opt.seed}
        steps[f"layout:{name}"] = (params, step_key(params, [knn_key]))
    steps["merge_tree"] = ({}, step_key({}, [knn_key]))
    for method in opt.communities:
        params = {"method": method, "seed": opt.seed}
        if method == "kmeans":
            params["k"] = opt.kmeans_k
        steps[f"communities:{method}"] = (params, step_key(params, [knn_key]))
    return steps


def upstream(name: str) -> str | None:
    if name == "ingest":
        return None
    return "ingest" if name == "knn" else "knn"


def valid_steps(records: dict) -> set[str]:
    """Names of stored steps whose key still matches their params and the step they read."""
    valid: set[str] = set()
    if "ingest" in records:
        valid.add("ingest")
    for name in ["knn"] + sorted(n for n in records if n not in ("ingest", "knn")):
        rec = records.get(name)
        up = upstream(name)
        if rec is None or up not in valid:
            continue
        if rec.key == step_key(rec.params, [records[up].key]):
            valid.add(name)
    return valid


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
    if opt.text_col is not None:
        if opt.kind != "vectors":
            raise InputError("--text-column embeds texts as vectors; it does not go with "
                             "--collections")
        if opt.vector_col is not None:
            raise InputError("give --text-column or --vector, not both")
        from engine.text import require_text
        require_text()
    for name in opt.layouts:
        if name not in LAYOUTS:
            raise InputError(f"unknown layout '{name}' (use {', '.join(LAYOUTS)})")
    if "mde-umap" in opt.layouts:
        from engine.layout import require_mde
        require_mde()


def _read_input(source, opt: BuildOptions, name: str | None, progress: Progress) -> Ingested:
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
                            min_count=opt.min_count, table=opt.table, name=name)


def _open_output(out: str) -> Store | None:
    """The existing output dataset for writing, or None when it does not exist yet."""
    if not os.path.exists(out) or os.path.getsize(out) == 0:
        return None
    return Store.open(out, read_only=False)


def build(source, out: str | os.PathLike, opt: BuildOptions, *, source_key: str | None = None,
          source_name: str | None = None, progress: Progress | None = None) -> BuildReport:
    """Build or update the dataset `out` from `source` (a path, or a frame with source_key)."""
    out = str(out)
    progress = progress or Progress()
    _check_options(opt)
    if isinstance(source, (str, os.PathLike)):
        if not os.path.exists(source):
            raise InputError(f"{source}: no such file")
        if os.path.isdir(source):
            raise InputError(f"{source} is a directory, not an input file")
        if os.path.exists(out) and os.path.samefile(source, out):
            raise InputError(f"{out}: the output would overwrite the input")
        source_key = source_key or file_key(source)
    elif source_key is None:
        raise InputError("an in-memory source needs a source_key")
    steps = plan(opt, source_key)
    report = BuildReport()
    store = _open_output(out)
    try:
        records = store.steps() if store else {}
        done = valid_steps(records)

        def fresh_steps() -> set[str]:
            return {s for s, (_, key) in steps.items() if s in done and records[s].key == key}

        state: dict = {}
        name = "ingest"
        if name in fresh_steps():
            _skip(report, progress, name, records)
        else:
            progress.start(name, "embedding texts" if opt.text_col else "reading input")
            t0 = time.perf_counter()
            ingested = _read_input(source, opt, source_name, progress)
            if store is None:
                store = Store.create(out)
            seconds = time.perf_counter() - t0
            with store.transaction():
                store.replace_entities(ingested.entities, ingested.vectors, ingested.memberships)
                store.set_meta({"kind": ingested.kind, "n_collections": ingested.n_collections,
                                "dim": ingested.vectors.shape[1]
                                if ingested.vectors is not None else ""})
                store.record_step(name, steps[name][0], steps[name][1], seconds)
            state["ingested"] = ingested
            _done(report, progress, name, seconds)
        n = store.entity_count()
        steps = plan(opt, source_key, n)
        fresh = fresh_steps()
        name = "knn"
        if name in fresh:
            _skip(report, progress, name, records)
        else:
            progress.start(name, "neighbour graph")
            t0 = time.perf_counter()
            idx, sim, stats = _graph(store, state, opt, progress)
            seconds = time.perf_counter() - t0
            with store.transaction():
                store.replace_knn(idx, sim)
                store.set_meta({"graph_stats": json.dumps(stats, sort_keys=True)})
                # Steps of another build read the old graph: drop them with it.
                store.drop_derived(keep=[s for s in steps if s not in ("ingest", "knn")])
                store.record_step(name, steps[name][0], steps[name][1], seconds)
            state["knn"] = (idx, sim)
            _done(report, progress, name, seconds)
        for name, (params, key) in list(steps.items())[2:]:
            if name in fresh:
                _skip(report, progress, name, records)
                continue
            if "knn" not in state:
                state["knn"] = store.knn(n)
            idx, sim = state["knn"]
            progress.start(name, name.replace(":", " "))
            t0 = time.perf_counter()
            write = _compute(name, idx, sim, store, state, opt, progress)
            seconds = time.perf_counter() - t0
            with store.transaction():
                write()
                store.record_step(name, params, key, seconds)
            _done(report, progress, name, seconds)
    finally:
        if store is not None:
            store.close()
    return report


def _skip(report: BuildReport, progress: Progress, name: str, records: dict) -> None:
    report.cached.append(name)
    progress.finish(name, records[name].seconds, cached=True)


def _done(report: BuildReport, progress: Progress, name: str, seconds: float) -> None:
    report.computed.append(name)
    report.seconds[name] = seconds
    progress.finish(name, seconds, cached=False)


def _layout_metric(opt: BuildOptions) -> str:
    if opt.kind == "vectors":
        return opt.metric
    if opt.graph == "context":  # similarities in [0, 1]
        return "cosine"
    return "cosine" if opt.measure in _BOUNDED else "dot"


def _graph(store: Store, state: dict, opt: BuildOptions, progress: Progress):
    ingested: Ingested | None = state.get("ingested")
    if opt.kind == "vectors":
        from engine.knn import knn_vectors
        X = ingested.vectors if ingested is not None else store.vectors()
        state["vectors"] = X
        idx, sim = knn_vectors(X, opt.k, opt.metric, seed=opt.seed, progress=progress.update)
        return idx, sim, _edge_stats(idx)
    from engine.cooccur import association, cooccurrence, top_k
    if ingested is not None:
        m = ingested.memberships
        coll = _dense_codes(m.column("collection"))
        ent = m.column("idx").to_numpy().astype(np.int32)
        weight = m.column("weight").to_numpy().astype(np.float64)
        n_coll = ingested.n_collections
    else:
        cols = store.memberships()
        coll = cols["coll"].astype(np.int32)
        ent = cols["idx"].astype(np.int32)
        weight = cols["weight"].astype(np.float64)
        n_coll = int(coll.max()) + 1 if len(coll) else 0
    n = store.entity_count()
    weighted = weight if opt.weight_col else None
    C = cooccurrence(coll, ent, n, n_coll, weight=weighted)
    S = association(C, n_coll, opt.measure)
    if opt.graph == "context":
        from engine.concepts import context_similarity, correlation_graph
        G = correlation_graph(S, opt.corr_k, opt.min_weight)
        S, stats = context_similarity(G, in_degree_cap=opt.in_degree_cap,
                                      threshold=opt.context_threshold, k=opt.k,
                                      return_stats=True)
        idx, sim = top_k(S, opt.k)
        stats.update(_edge_stats(idx), graph="context")
        return idx, sim, stats
    idx, sim = top_k(S, opt.k, min_weight=opt.min_weight)
    off_diagonal = int(S.nnz - np.count_nonzero(S.diagonal()))
    return idx, sim, {**_edge_stats(idx), "graph": "association",
                      "association_entries": off_diagonal}


def _edge_stats(idx: np.ndarray) -> dict:
    """Sizes of a stored neighbour graph, for `embtui info`."""
    kept = int((idx >= 0).sum())
    return {"knn_edges": kept, "isolated": int((idx[:, :1] < 0).sum()) if idx.shape[1]
            else len(idx)}


def _dense_codes(column) -> np.ndarray:
    import pyarrow.compute as pc
    encoded = pc.dictionary_encode(column.combine_chunks() if hasattr(column, "combine_chunks")
                                   else column)
    return encoded.indices.to_numpy().astype(np.int32)


def _compute(name: str, idx, sim, store: Store, state: dict, opt: BuildOptions,
             progress: Progress) -> Callable[[], None]:
    """Run one post-graph step; returns the function that writes its rows."""
    n = len(idx)
    if name.startswith("layout:"):
        layout = name.split(":", 1)[1]
        from engine import layout as layouts
        metric = _layout_metric(opt)
        if layout == "umap":
            xy = layouts.umap_layout(idx, sim, metric, seed=opt.seed, progress=progress.update)
        else:
            xy = layouts.mde_umap_layout(idx, sim, metric, seed=opt.seed)
        return lambda: store.replace_layout(layout, xy)
    if name == "merge_tree":
        from engine.clusters import merge_tree
        a, b, s = merge_tree(n, idx, sim)
        return lambda: store.replace_merge_tree(a, b, s)
    if name.startswith("communities:"):
        method = name.split(":", 1)[1]
        labels, strength = _communities(method, idx, sim, store, state, opt)
        return lambda: store.replace_communities(method, labels, strength)
    raise InputError(f"unknown build step '{name}'")


def knn_graph_matrix(idx: np.ndarray, sim: np.ndarray):
    """The kNN graph as a symmetric CSR of positive weights (max of the two directions)."""
    import scipy.sparse as sp
    n, k = idx.shape
    keep = (idx >= 0) & np.isfinite(sim) & (sim > 0)
    rows = np.broadcast_to(np.arange(n)[:, None], (n, k))[keep]
    G = sp.csr_matrix((sim[keep].astype(np.float64), (rows, idx[keep])), shape=(n, n))
    return G.maximum(G.T).tocsr()


def _communities(method: str, idx, sim, store: Store, state: dict, opt: BuildOptions):
    from engine import communities
    if method == "label-propagation":
        return communities.label_propagation(knn_graph_matrix(idx, sim), seed=opt.seed), None
    if method == "slpa":
        return communities.slpa(knn_graph_matrix(idx, sim), seed=opt.seed)
    if method == "kmeans":
        X = state.get("vectors")
        if X is None:
            X = store.vectors()
        if X is None:
            raise InputError("kmeans needs vectors; collections have none")
        # cosine compares directions: cluster the unit vectors
        return communities.kmeans(X, opt.kmeans_k, seed=opt.seed,
                                  normalize=opt.metric == "cosine"), None
    raise InputError(f"unknown community method '{method}' (use {', '.join(COMMUNITIES)})")
