"""The steps a build request needs, their cache keys, and which stored steps still hold.

A step's key hashes its params with the keys of the steps it reads (ingest reads the input,
whose file key stands in), so a change anywhere reaches every step after it. The writer
(engine.pipeline) plans its work with these; the reader (engine.dataset) checks a file's
stored steps with them, so both agree on what a key means without the reader loading the
build.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

# SLPA's defaults, left out of its key so files built before these were options stay valid
SLPA_R = 0.1
MDE_DIM, MDE_ITERS = 3, 300  # pymde's own max_iter; the co-occurrence write-up runs 2000
SLPA_ITERATIONS = 30


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
    image_col: str | None = None  # embed the images at these paths with ResNet-18
    image_weights: str | None = None  # a ResNet-18 state dict file, "random" (tests), or None
    # collections
    collection_col: str | None = None
    entity_col: str | None = None
    meta_cols: tuple[str, ...] = ()
    measure: str = "npmi"
    min_count: int = 1
    # refuse a collection of more entities (co-occurrence is quadratic in it); None: no cap.
    # Not in a cache key: a build it lets through computes what it would without it.
    max_collection_size: int | None = 20_000
    # "association": neighbours by the measure; "context": the concepts method's similarity
    # of association neighbourhoods (engine.concepts), with these knobs
    graph: str = "association"
    min_weight: float | None = None
    corr_k: int = 50
    in_degree_cap: int | None = 1000
    context_threshold: float = 0.0
    context_measure: str = "sigma"  # engine.methods.CONTEXT_MEASURES
    # a pair in one collection adds exp(−|x_a − x_b| / pair_scale) instead of 1, x this
    # column's value on each membership (engine.cooccur)
    pair_attribute: str | None = None
    pair_scale: float | None = None
    # text as collections: every window of `windows` consecutive words of text_col is one
    # collection (engine.words), after dropping the words listed in the stop_words file
    windows: int | None = None
    stop_words: str | None = None
    # common
    embedding: str | None = None  # the dataset's embedding this builds (None: the first)
    k: int = 15
    layouts: tuple[str, ...] = ("umap",)
    seed: int = 0
    communities: tuple[str, ...] = ("label-propagation",)
    merge_tree: str = "auto"  # engine.methods.MERGE_TREES
    kmeans_k: int | None = None  # None: chosen by silhouette over 2..20
    slpa_r: float = SLPA_R  # a label holding this share of an entity's memory is a membership
    slpa_iterations: int = SLPA_ITERATIONS
    # mde-umap (engine.layout); None or the default keeps the step's key as it was
    mde_neighbors: int | None = None  # None: 15, at most k
    mde_dim: int = MDE_DIM
    mde_iters: int = MDE_ITERS
    device: str = "cpu"


@dataclass(frozen=True)
class Planned:
    """One step of a build as planned: what it reads, its params and its key."""

    name: str
    reads: tuple[str, ...]  # the steps whose output it reads; () for ingest, which reads input
    params: dict
    key: str


def step_key(params: dict, inputs: list[str]) -> str:
    text = json.dumps({"params": params, "inputs": inputs}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _planned(name: str, params: dict, reads: tuple[Planned, ...] = (),
             source_key: str | None = None) -> Planned:
    inputs = [r.key for r in reads] if reads else [source_key]
    return Planned(name, tuple(r.name for r in reads), params, step_key(params, inputs))


def _ingest_params(opt: BuildOptions) -> dict:
    if opt.kind == "vectors":
        params = {"kind": "vectors", "id": opt.id_col, "label": opt.label_col,
                  "vector": opt.vector_col, "weight": opt.weight_col, "table": opt.table,
                  "labels_file": opt.labels_file, "metric_checks": opt.metric}
        if opt.text_col is not None:
            from engine.text import model_key
            params.update(text=opt.text_col, model=model_key())
        if opt.image_col is not None:
            from engine.images import weights_key
            params.update(image=opt.image_col, model=weights_key(opt.image_weights))
        return params
    if opt.windows is not None:
        from engine.words import TOKENIZER_VERSION, stop_words_key
        return {"kind": "collections", "text": opt.text_col, "windows": opt.windows,
                "stop_words": stop_words_key(opt.stop_words), "tokenizer": TOKENIZER_VERSION,
                "min_count": opt.min_count, "table": opt.table}
    params = {"kind": "collections", "collection": opt.collection_col,
              "entity": opt.entity_col, "weight": opt.weight_col, "label": opt.label_col,
              "meta": list(opt.meta_cols), "min_count": opt.min_count, "table": opt.table}
    if opt.pair_attribute is not None:  # only when given: older keys stay as they were
        params["pair_attribute"] = opt.pair_attribute
    return params


def _graph_params(opt: BuildOptions, n: int | None) -> dict:
    if opt.kind == "vectors":
        params = {"k": opt.k, "metric": opt.metric}
        from engine.knn import EXACT_MAX_N
        if n is None or n > EXACT_MAX_N:  # only NN-descent depends on the seed
            params["seed"] = opt.seed
        return params
    params = {"k": opt.k, "measure": opt.measure}
    if opt.measure == "inverse-log":  # 2: 1/d = log(c), a count of 1 no pair; 1: log(1 + c)
        params["inverse_log_version"] = 2
    if opt.min_weight is not None:
        params["min_weight"] = opt.min_weight
    if opt.pair_attribute is not None:
        params.update(pair_attribute=opt.pair_attribute, pair_scale=opt.pair_scale)
    if opt.graph == "context":
        # context_version 2: σ on raw weights, the cap removes in-links beyond it (version 1,
        # unmarked, normalised rows and a cap that only stopped hubs proposing pairs)
        params.update(graph="context", corr_k=opt.corr_k, in_degree_cap=opt.in_degree_cap,
                      threshold=opt.context_threshold, context_measure=opt.context_measure,
                      context_version=2)
    return params


def _layout_params(opt: BuildOptions, name: str) -> dict:
    params = {"layout": name, "seed": opt.seed}
    if name == "mde-umap":  # only what differs from the defaults, so released keys hold
        for key, value, default in (("neighbors", opt.mde_neighbors, None),
                                    ("dim", opt.mde_dim, MDE_DIM),
                                    ("iters", opt.mde_iters, MDE_ITERS),
                                    ("device", opt.device, "cpu")):
            if value != default:
                params[key] = value
    return params


def _communities_params(opt: BuildOptions, method: str) -> dict:
    params = {"method": method, "seed": opt.seed}
    if method == "kmeans":
        params["k"] = opt.kmeans_k
    if method == "slpa":  # only when not the default: the released keys stay as they were
        if opt.slpa_r != SLPA_R:
            params["r"] = opt.slpa_r
        if opt.slpa_iterations != SLPA_ITERATIONS:
            params["iterations"] = opt.slpa_iterations
    return params


def plan_ingest(opt: BuildOptions, source_key: str) -> Planned:
    return _planned("ingest", _ingest_params(opt), source_key=source_key)


def plan_after_ingest(opt: BuildOptions, ingest: Planned, n: int | None) -> list[Planned]:
    """The neighbour graph and the steps that read it, in build order.

    `n`, the number of entities once known, keeps the seed out of an exact graph's key, so a
    new seed recomputes only the layouts and communities of a small dataset.
    """
    graph = _planned("knn", _graph_params(opt, n), (ingest,))
    return [graph, *_graph_chain(opt, graph, n)]


def uses_exact_tree(opt: BuildOptions, n: int | None) -> bool:
    """Whether the merge tree comes from all pairs of vectors rather than the kNN graph."""
    if opt.kind != "vectors" or opt.merge_tree == "knn":
        return False
    from engine.methods import EXACT_TREE_MAX_N
    return opt.merge_tree == "exact" or (n is not None and n <= EXACT_TREE_MAX_N)


def _merge_tree_params(opt: BuildOptions, n: int | None) -> dict:
    # the kNN tree keeps its params empty, so files built before the exact tree stay valid
    return {"tree": "exact"} if uses_exact_tree(opt, n) else {}


def _graph_chain(opt: BuildOptions, graph: Planned, n: int | None) -> list[Planned]:
    """Layouts, merge tree and communities of one neighbour graph."""
    steps = [_planned(f"layout:{name}", _layout_params(opt, name), (graph,))
             for name in opt.layouts]
    steps.append(_planned("merge_tree", _merge_tree_params(opt, n), (graph,)))
    steps += [_planned(f"communities:{m}", _communities_params(opt, m), (graph,))
              for m in opt.communities]
    return steps


def plan(opt: BuildOptions, source_key: str, n: int | None = None) -> dict[str, Planned]:
    """Every step of a build by name, in build order."""
    ingest = plan_ingest(opt, source_key)
    return {p.name: p for p in [ingest, *plan_after_ingest(opt, ingest, n)]}


def upstream(name: str) -> str | None:
    """The step a stored step read, from its name alone (a reader has no build options)."""
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
