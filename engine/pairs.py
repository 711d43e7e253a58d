"""The most and the least similar pairs of a dataset.

A pair is two entities a < b, counted once. Its similarity is the one engine/heatmap.py
gives a group, so a pair's value here is the value its heatmap cell shows:

- most similar: the stored neighbour graph, every undirected edge once with the larger of
  its two stored similarities (the merge tree's weight). An exact graph (vectors up to
  engine.knn.EXACT_MAX_N, every association graph) lists each entity's k best, so the k
  most similar pairs of all are in it (a pair left out of i's row has k pairs at least as
  similar through i): `exact` holds for a limit ≤ the stored k, or when the graph lists
  every pair; a context graph is its own definition (a pair it does not list has no value).
- least similar, vectors: every pair under the metric (heatmap.similarity_block), walked in
  blocks of rows in bounded memory, exact up to EXACT_MAX_N entities; above, the exact least
  similar pairs among a seeded random sample of SAMPLE_SIZE entities.
- least similar, collections (association graph): the build's measure of the pairs that
  share at least one collection. A pair that never co-occurs has no association of its own
  (npmi's −1, jaccard's 0 say "never together", and pmi has none), so listing them would
  only enumerate strangers; these are the least associated pairs that did meet. Exact up to
  EXACT_MAX_N entities, above it among a seeded sample of SAMPLE_SIZE, as for vectors.
- least similar, context graph: the weakest pairs the stored graph lists, the only pairs σ
  is defined for once the build is done.

Ties: by the smaller pair (a, then b).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import InputError

DEFAULT_LIMIT = 20
MAX_LIMIT = 10_000  # a listing, not an export: more is `embtui export --table knn`
# All pairs are walked exactly up to this many entities, else a sample of as many. Measured
# on 2 cores (`benchmarks/bench_pairs.py --n 5000 --n 10000 --n 20000`, 384-d cosine): 5,000
# entities 0.9 s, 10,000 2.4 s, 20,000 9.0 s (30,000: 19 s), quadratic as expected; 10,000
# keeps a query within a few seconds. Collections cost less at the same N (sparse counts).
EXACT_MAX_N = 10_000
SAMPLE_SIZE = EXACT_MAX_N
SAMPLE_SEED = 0
# Memory for one block of similarities (rows × N float64), as engine.knn bounds its blocks.
BLOCK_BYTES = 64 << 20


@dataclass
class Pairs:
    a: np.ndarray  # int64 entity indices, a < b, in order (most or least similar first)
    b: np.ndarray
    similarity: np.ndarray  # float64
    least: bool
    measure: str  # the metric, the association measure, or "context"
    exact: bool
    among: str  # what was searched: "knn graph", "all pairs", "co-occurring pairs"
    sampled: int | None = None  # entities in the sample (None: not sampled)
    single: bool = False  # float32 values (graphs, associations): shown in their shortest form
    k: int | None = None  # the graph's k (its rows' length asked for), for a graph's pairs

    def __len__(self) -> int:
        return len(self.a)

    def values(self) -> list[float]:
        if self.single:  # str() of a float32 is its shortest round-trip form
            return [float(str(v)) for v in self.similarity.astype(np.float32)]
        return [float(v) for v in self.similarity]

    def records(self, ds) -> list[dict]:
        """[{"a": {"id", "label"}, "b": {…}, "similarity": s}], in order."""
        ids, labels = ds.ids, ds.labels
        return [{"a": {"id": str(ids[a]), "label": str(labels[a])},
                 "b": {"id": str(ids[b]), "label": str(labels[b])}, "similarity": s}
                for a, b, s in zip(self.a.tolist(), self.b.tolist(), self.values(),
                                   strict=True)]

    def document(self, ds) -> dict:
        """The command line's JSON document."""
        doc = {"pairs": self.records(ds), "least": self.least, "measure": self.measure,
               "exact": self.exact, "among": self.among}
        if self.sampled is not None:
            doc["sampled"] = self.sampled
        return doc


def describe(result: Pairs, n: int) -> str:
    """What a listing of pairs holds and how it was found, in one line (the command line's
    heading and the explorer's pairs pane)."""
    which = "least" if result.least else "most"
    text = f"{len(result)} {which} similar pairs · {result.measure} · "
    if result.sampled is not None:
        among = {"all pairs": "all pairs", "co-occurring pairs": "pairs sharing a collection"}
        return text + (f"{among[result.among]} among a seeded random sample of "
                       f"{result.sampled:,} of the {n:,} entities (not exact)")
    text += {"knn graph": "from the stored neighbour graph",
             "all pairs": "of all pairs",
             "co-occurring pairs": "of the pairs sharing at least one collection"}[result.among]
    if result.among == "knn graph" and not result.exact:
        return text + (f" (not exact: it holds each entity's {result.k} nearest, so pairs "
                       f"past rank {result.k} may be missing)")
    return text + " (exact)"


def check_limit(limit, option: str = "limit") -> int:
    """A limit the listing can hold, else one line naming the problem."""
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)):
        raise InputError(f"{option} must be a whole number (got {limit!r})")
    if limit < 1:
        raise InputError(f"{option} must be at least 1 (got {limit})")
    if limit > MAX_LIMIT:
        raise InputError(f"{option} must be at most {MAX_LIMIT:,} (got {limit:,})")
    return int(limit)


def pairs(ds, least: bool = False, limit: int = DEFAULT_LIMIT, *,
          exact_max_n: int = EXACT_MAX_N, sample_size: int = SAMPLE_SIZE) -> Pairs:
    """The `limit` most (or least) similar pairs of a Dataset."""
    limit = check_limit(limit)
    if ds.kind == "vectors" and least:
        metric = ds.similarity or ds.steps["ingest"].params.get("metric_checks") or "cosine"
        idx, sample = _entities(ds, exact_max_n, sample_size)
        a, b, s = lowest_vector_pairs(ds.vectors_of(idx), metric, limit)
        return Pairs(idx[a], idx[b], s, True, metric, sample is None, "all pairs",
                     None if sample is None else len(sample))
    if not ds.has("knn"):  # the measure and the graph are the knn step's
        raise InputError(f"{ds.path} has no neighbour graph yet, which the "
                         f"{'least' if least else 'most'} similar pairs need (run embtui build)")
    params = ds.steps["knn"].params
    measure = ds.similarity
    if params.get("graph") == "context" or not least:
        a, b, s = graph_pairs(ds.knn, limit, least)
        return Pairs(a, b, s, least, measure, _graph_exact(ds, params, limit), "knn graph",
                     single=True, k=int(params.get("k", ds.knn.k)))
    idx, sample = _entities(ds, exact_max_n, sample_size)
    a, b, s = lowest_associations(ds, idx, measure, params, limit)
    return Pairs(idx[a], idx[b], s, True, measure, sample is None, "co-occurring pairs",
                 None if sample is None else len(sample), single=True)


def _entities(ds, exact_max_n: int, sample_size: int):
    """The entities whose pairs are walked (those the embedding holds, or a sample of them)
    and the sample (None: all of them)."""
    held = ds.held
    sample = _sample(len(held), exact_max_n, sample_size)
    return (held if sample is None else held[sample]).astype(np.int64), sample


def _sample(n: int, exact_max_n: int, sample_size: int) -> np.ndarray | None:
    """None when every entity is taken; else `sample_size` of them, seeded, ascending."""
    if n <= exact_max_n:
        return None
    rng = np.random.default_rng(SAMPLE_SEED)
    return np.sort(rng.choice(n, size=min(sample_size, n), replace=False)).astype(np.int64)


def _graph_exact(ds, params: dict, limit: int) -> bool:
    """Whether the graph's strongest `limit` pairs are those of all pairs (see the module
    docstring); a context graph's pairs are the only ones with a value."""
    if params.get("graph") == "context":
        return True
    if ds.kind == "vectors" and "seed" in params:  # NN-descent: an approximate graph
        return False
    # a row shorter than the k asked for holds every candidate its entity has (the rest
    # fall under the graph's floor, below every stored pair)
    return limit <= int(params.get("k", 0)) or ds.knn.k >= ds.n - 1


# ---- the stored graph --------------------------------------------------------------------

def undirected(idx: np.ndarray, sim: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every undirected edge of padded kNN rows once: (a, b, w), a < b, w the larger of the
    two directions (as engine.clusters.merge_tree weighs it), ordered by (a, b)."""
    n, k = idx.shape
    src = np.repeat(np.arange(n, dtype=np.int64), k)
    dst = idx.astype(np.int64).ravel()
    w = sim.astype(np.float32).ravel()
    keep = (dst >= 0) & (dst != src) & np.isfinite(w)
    return _dedupe(np.minimum(src, dst)[keep], np.maximum(src, dst)[keep], w[keep], n)


def _dedupe(a, b, w, n):
    key = a * n + b
    order = np.lexsort((-w, key))  # by pair, its larger weight first
    key, w = key[order], w[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    key, w = key[first], w[first]
    return key // n, key % n, w


def graph_pairs(knn, limit: int, least: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The `limit` strongest (or weakest) undirected edges of the graph."""
    idx, sim = knn
    n, k = idx.shape
    if not least and idx.size > 4 * limit:
        # An undirected edge is stored at most twice (once in each row), so the 2·limit
        # strongest entries hold at least `limit` edges, and every edge of the top `limit`
        # has its larger entry among them: the sort is over those, not over N·k.
        w = np.where((idx >= 0) & np.isfinite(sim), sim, -np.inf).astype(np.float32).ravel()
        cut = np.partition(w, len(w) - 2 * limit)[len(w) - 2 * limit]
        rows, cols = np.nonzero((w >= cut).reshape(n, k) & np.isfinite(cut))
        if len(rows):
            src, dst = rows.astype(np.int64), idx[rows, cols].astype(np.int64)
            ws = sim[rows, cols].astype(np.float32)
            keep = dst != src
            a, b, s = _dedupe(np.minimum(src, dst)[keep], np.maximum(src, dst)[keep],
                              ws[keep], n)
            if len(a) >= limit or np.isneginf(cut):
                return _first(a, b, s, limit, least)
    return _first(*undirected(idx, sim), limit, least)


def _first(a, b, s, limit: int, least: bool):
    """The `limit` first pairs by similarity (descending, or ascending when `least`), ties
    by the smaller (a, b)."""
    order = np.lexsort((b, a, s if least else -s))[:limit]
    return a[order], b[order], s[order].astype(np.float64)


# ---- all pairs of vectors ----------------------------------------------------------------

def lowest_vector_pairs(X: np.ndarray, metric: str, limit: int,
                        block_bytes: int = BLOCK_BYTES
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The `limit` least similar pairs of rows of X (positions a < b, similarity), by
    heatmap.similarity_block over blocks of rows, each against the rows after it; a block
    keeps its own lowest `limit` (ties by position), merged with the best so far."""
    from engine.heatmap import similarity_block
    X = np.asarray(X, dtype=np.float64)
    m = len(X)
    rows = max(1, int(block_bytes) // (8 * max(m, 1)))
    best = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    for start in range(0, max(m - 1, 0), rows):
        stop = min(m, start + rows)
        S = similarity_block(X[start:stop], X[start:], metric)
        S[np.tril_indices(stop - start)] = np.inf  # each pair once: only b > a
        flat = S.ravel()
        if flat.size > limit:
            cut = np.partition(flat, limit - 1)[limit - 1]
            hit = np.flatnonzero((flat <= cut) & np.isfinite(flat))
        else:
            hit = np.flatnonzero(np.isfinite(flat))
        r, c = np.divmod(hit, S.shape[1])
        a = np.concatenate([best[0], start + r])
        b = np.concatenate([best[1], start + c])
        s = np.concatenate([best[2], flat[hit]])
        best = _first(a, b, s, limit, least=True)
    return best


# ---- co-occurring pairs of collections ---------------------------------------------------

def lowest_associations(ds, idx: np.ndarray, measure: str, params: dict, limit: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The `limit` least associated pairs among entities `idx` that share a collection:
    positions in idx (a < b) and the measure (the larger direction of an asymmetric one),
    from the co-occurrence heatmap.group_counts counts of their memberships."""
    from engine.heatmap import _positions, group_counts, unstored
    weighted = ds.steps["ingest"].params.get("weight") is not None
    counted = group_counts(_positions(ds.memberships_of(idx), idx), len(idx), measure,
                           weighted=weighted, pair_scale=params.get("pair_scale")
                           if params.get("pair_attribute") else None)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if counted is None:
        return empty
    C, A = counted[0].tocoo(), counted[1].tocoo()
    met = (C.row < C.col) & (C.data > 0)
    a, b = C.row[met].astype(np.int64), C.col[met].astype(np.int64)
    size = len(idx)
    # the measure of each co-occurring pair in both directions; a direction the measure
    # leaves out (ppmi's pmi ≤ 0) takes its value there, NaN where it has none
    keys = A.row.astype(np.int64) * size + A.col
    order = np.argsort(keys)
    keys, vals = keys[order], A.data[order].astype(np.float64)

    def value(r, c):
        want = r * size + c
        at = np.clip(np.searchsorted(keys, want), 0, max(len(keys) - 1, 0))
        found = (keys[at] == want) if len(keys) else np.zeros(len(want), bool)
        return np.where(found, vals[at] if len(keys) else 0.0, unstored(measure))

    s = np.fmax(value(a, b), value(b, a))
    defined = np.isfinite(s)
    if not defined.any():
        return empty
    return _first(a[defined], b[defined], s[defined], limit, least=True)
