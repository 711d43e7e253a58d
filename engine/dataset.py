"""The Python API: a built dataset file, opened read-only.

    ds = Dataset.open("movielens.duckdb")
    ds.neighbors("Toy Story", k=10)      # records best first
    ds.clusters(threshold=0.3)           # components of the kNN graph at that similarity
    ds.search("lord rings")              # fuzzy matches over labels
    ds.layout()                          # (N, 2) float32
    ds.pairs(least=True).records(ds)     # the least similar pairs, least first

Arrays load lazily and are cached; the file stays open read-only so any number of viewers and
queries can run beside each other. Safe to call from worker threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from engine.errors import InputError, NoMatch
from engine.knngraph import KnnGraph
from engine.steps import valid_steps
from engine.store import Store

if TYPE_CHECKING:  # engine.clusters loads numba: imported when clusters are first asked for
    from engine.clusters import Clusters


@dataclass
class Neighbors:
    query: int
    idx: np.ndarray  # int32, best first
    sim: np.ndarray  # float32
    stored_k: int

    def records(self, ds: Dataset) -> list[dict]:
        # str() of a float32 is its shortest round-trip form: 0.6100913, not 0.6100913286…
        return [{"rank": r + 1, "id": ds.ids[i], "label": ds.labels[i],
                 "similarity": float(str(s))}
                for r, (i, s) in enumerate(zip(self.idx, self.sim.astype(np.float32), strict=True))]


def _strings(column, chunk: int = 1 << 16) -> np.ndarray:
    """A text column as a numpy StringDType array: UTF-8 kept compactly, ~40 bytes a label
    instead of ~100 for an array of Python str objects (300 MB against 90 at 1M ids and
    labels). Converted a chunk at a time so the Python strings in between stay few."""
    out = np.empty(len(column), dtype=np.dtypes.StringDType())
    for start in range(0, len(column), chunk):
        piece = column.slice(start, chunk).to_pylist()
        out[start:start + len(piece)] = ["" if v is None else v for v in piece]
    return out


class CommunityMemberships(NamedTuple):
    entity: np.ndarray  # int32, ascending
    community: np.ndarray  # int32
    strength: np.ndarray  # float32


class Dataset:
    def __init__(self, store: Store):
        self._store = store
        self._lock = threading.RLock()
        self.path = store.path
        self.steps = store.steps()
        self.valid = valid_steps(self.steps)
        if "ingest" not in self.valid or "entities" not in store.table_names():
            raise InputError(f"{self.path} holds no built dataset yet (was its build "
                             "interrupted? run embtui build again)")
        meta = store.meta()
        self.meta = meta
        self.kind = meta.get("kind", "vectors")
        dim = meta.get("dim", "")
        self.dim = int(dim) if dim and dim.isdigit() else None
        self.n = store.entity_count()
        self.embedding = store.embedding
        self.embeddings = store.embeddings()
        self._threshold_cache = None

    @classmethod
    def open(cls, path, embedding: str | None = None) -> Dataset:
        """Open a dataset file read-only on one of its embeddings (default: the first)."""
        store = Store.open(path, read_only=True, embedding=embedding)
        try:
            return cls(store)
        except BaseException:
            store.close()
            raise

    def with_embedding(self, embedding: str | None) -> Dataset:
        """The same file on another of its embeddings (its own connection: close it)."""
        with self._lock:
            store = self._store.view(embedding)
        try:
            return Dataset(store)
        except BaseException:
            store.close()
            raise

    @cached_property
    def members(self) -> np.ndarray | None:
        """The entities this embedding holds (ascending idx), None when it holds them all:
        the others have no vectors, neighbours, layout point or community in it."""
        with self._lock:
            members = self._store.members()
        if members is not None and len(members) == self.n:
            return None
        return members

    @property
    def held(self) -> np.ndarray:
        """The entities this embedding holds, ascending (all of them for the first)."""
        members = self.members
        return np.arange(self.n, dtype=np.int64) if members is None else members.astype(
            np.int64)

    def holds(self, i: int) -> bool:
        members = self.members
        if members is None:
            return True
        at = np.searchsorted(members, i)
        return bool(at < len(members) and members[at] == i)

    def close(self) -> None:
        with self._lock:
            self._store.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- entities --------------------------------------------------------------------------

    @cached_property
    def _id_label(self):
        with self._lock:
            table = self._store.entities(["id", "label"])
        return _strings(table.column("id")), _strings(table.column("label"))

    @property
    def ids(self) -> np.ndarray:
        return self._id_label[0]

    @property
    def labels(self) -> np.ndarray:
        return self._id_label[1]

    @cached_property
    def metadata_columns(self) -> list[str]:
        with self._lock:
            return [c for c in self._store.entity_columns() if c not in ("idx", "id", "label")]

    @cached_property
    def numeric_columns(self) -> list[str]:
        """The metadata columns of numbers (what the explorer can weight points by)."""
        from engine.store import is_numeric_type
        with self._lock:
            types = dict(self._store.columns("entities"))
        return [c for c in self.metadata_columns if is_numeric_type(types.get(c, ""))]

    def filter_columns(self) -> dict[str, str]:
        """What a filter can test: id, label and each metadata column, as "number" or "text"."""
        numeric = set(self.numeric_columns)
        return {"id": "text", "label": "text",
                **{c: "number" if c in numeric else "text" for c in self.metadata_columns}}

    def where(self, expression: str) -> np.ndarray:
        """Which entities pass a filter expression (engine.filters), as a boolean mask."""
        from engine.filters import parse_filter
        f = parse_filter(expression, self.filter_columns())
        with self._lock:
            idx = self._store.entities_where(f.sql, f.params)
        mask = np.zeros(self.n, np.bool_)
        mask[idx] = True
        return mask

    def metadata(self, column: str) -> np.ndarray:
        if column not in self.metadata_columns:
            raise InputError(f"no metadata column '{column}' (columns: "
                             f"{', '.join(self.metadata_columns)})")
        with self._lock:
            table = self._store.entities([column])
        return table.column(0).to_numpy(zero_copy_only=False)

    def entity(self, i: int) -> dict:
        """Everything stored about one entity, plus its degree in the neighbour graph."""
        with self._lock:
            row = self._store.entity_row(int(i))
        if self.has("knn"):
            row["degree"] = int(self.in_degree[int(i)])
        return row

    # ---- steps -----------------------------------------------------------------------------

    def has(self, step: str) -> bool:
        return step in self.valid

    def _require(self, step: str, what: str) -> None:
        if not self.has(step):
            raise InputError(f"{self.path} has no {what} yet (run embtui build)")

    # ---- neighbour graph -------------------------------------------------------------------

    @cached_property
    def _knn(self) -> KnnGraph:
        self._require("knn", "neighbour graph")
        with self._lock:
            return self._store.knn(self.n)

    @property
    def knn(self) -> KnnGraph:
        return self._knn

    @property
    def similarity(self) -> str | None:
        """What the graph's similarities are (a key of engine.methods.SIMILARITY_RANGES):
        the metric, the association measure, or "context"."""
        if not self.has("knn"):
            return None
        params = self.steps["knn"].params
        if params.get("graph") == "context":
            return "context"
        return params.get("measure") or params.get("metric")

    @property
    def k(self) -> int:
        return int(self.steps["knn"].params.get("k", 0)) if self.has("knn") else 0

    @cached_property
    def in_degree(self) -> np.ndarray:
        idx, _ = self.knn
        # in blocks of rows: bincount copies its input to int64, 120 MB at 1M × 15 at once
        counts = np.zeros(self.n + 1, dtype=np.int64)  # the last slot counts the -1 padding
        for start in range(0, len(idx), 1 << 16):
            block = idx[start:start + (1 << 16)].ravel()
            counts += np.bincount(np.where(block >= 0, block, self.n), minlength=self.n + 1)
        return counts[:self.n].astype(np.int32)

    def resolve(self, query: str) -> int:
        """An id, else an exact label (any case), else the best fuzzy label match."""
        q = str(query)
        with self._lock:
            hit = self._store.find_entity(q)
        if hit is not None:
            return hit
        idx, _ = self.search_index().search(q, limit=1)
        if len(idx) == 0:
            raise NoMatch(f"no entity matches '{q}'")
        return int(idx[0])

    def neighbors(self, query: str | int, k: int | None = None) -> Neighbors:
        """The query's nearest neighbours, best first (at most the stored k)."""
        i = int(query) if isinstance(query, (int, np.integer)) else self.resolve(query)
        if not self.holds(i):
            raise NoMatch(f"'{self.ids[i]}' is not in embedding {self.embedding}")
        idx, sim = self.knn
        row_idx, row_sim = idx[i], sim[i]
        keep = row_idx >= 0
        row_idx, row_sim = row_idx[keep], row_sim[keep]
        if k is not None:
            row_idx, row_sim = row_idx[:k], row_sim[:k]
        return Neighbors(i, row_idx, row_sim, idx.shape[1])

    def nearest_to(self, vector, k: int | None = None) -> Neighbors:
        """The entities nearest a vector that is not in the file, best first: exact over
        every stored vector under the build's metric (engine.query). `query` is -1."""
        from engine.query import check_query_vector, nearest
        if self.kind != "vectors":
            raise InputError(f"{self.path} holds no vectors ({self.kind} input): a query "
                             "vector needs a dataset built from vectors")
        metric = self.similarity or "cosine"
        v = check_query_vector(vector, self.dim, metric, "the query")
        k = int(k) if k is not None else (self.k or 15)
        with self._lock:  # the blocks stream from DuckDB as they are scored
            idx, sim = nearest(self._store.vector_blocks(), v, k, metric)
        return Neighbors(-1, idx.astype(np.int32), sim, self.k)

    @property
    def text_model(self) -> str | None:
        """The model the vectors were embedded with (`build --text-column`), else None."""
        params = self.steps["ingest"].params
        return params.get("model") if params.get("text") and self.kind == "vectors" else None

    def nearest_to_text(self, text: str, k: int | None = None) -> Neighbors:
        """The entities nearest a new text, embedded with the model the file's vectors came
        from (the [text] extra), exact on the stored vectors."""
        if self.text_model is None:
            raise InputError(f"{self.path} was not built from text (build --text-column): "
                             "there is no model to embed the query with")
        if not str(text).strip():
            raise InputError("the query text is empty")
        from engine.text import embed_texts, require_text
        require_text()
        return self.nearest_to(embed_texts([str(text)])[0], k)

    def find_ids(self, ids) -> np.ndarray:
        """The entities with these exact ids, in the order given; an unknown id is refused."""
        ids = [str(i) for i in ids]
        with self._lock:
            found = self._store.find_ids(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise NoMatch(f"no entity has the id '{missing[0]}'{more}")
        return np.array([found[i] for i in ids], dtype=np.int64)

    # ---- a group's vectors and memberships (heatmaps) --------------------------------------

    def vectors_of(self, idx) -> np.ndarray:
        """The stored vectors of entities `idx` (m, d) float32, in that order."""
        with self._lock:
            X = self._store.vector_rows(np.asarray(idx, dtype=np.int64))
        if X is None:
            raise InputError(f"{self.path} holds no vectors ({self.kind} input)")
        return X

    def memberships_of(self, idx) -> dict[str, np.ndarray]:
        """The memberships of entities `idx` (coll codes dense among them, idx, weight[,
        value]) and n_collections, the number of collections in the whole file."""
        with self._lock:
            return self._store.memberships_of(np.asarray(idx, dtype=np.int64))

    def heatmap(self, idx):
        """Pairwise similarities of entities `idx`, rows in dendrogram order
        (engine.heatmap.Heatmap)."""
        from engine.heatmap import heatmap
        idx = np.asarray(idx, dtype=np.int64)
        if self.members is not None:
            out = idx[~np.isin(idx, self.members)]
            if len(out):
                raise NoMatch(f"'{self.ids[out[0]]}'"
                              + (f" and {len(out) - 1} more" if len(out) > 1 else "")
                              + f" not in embedding {self.embedding}")
        return heatmap(self, idx)

    def pairs(self, least: bool = False, limit: int = 20):
        """The `limit` most similar pairs (least similar with `least`), each undirected pair
        once, ties by the smaller pair (engine.pairs.Pairs: arrays, `records(ds)` and the
        command line's `document(ds)`; `exact`, `sampled` say what was searched)."""
        from engine.pairs import pairs
        return pairs(self, least, limit)

    def path_between(self, a: str | int, b: str | int, kind: str = "widest"):
        """The path between two entities through the graph (engine.graph_paths.Path):
        "widest", the maximin path of the merge tree, or "hops", the fewest neighbour steps."""
        from engine.graph_paths import path_between
        ends = [int(q) if isinstance(q, (int, np.integer)) else self.resolve(q) for q in (a, b)]
        if kind == "hops":
            self._require("knn", "neighbour graph")
        return path_between(self, *ends, kind)

    def diagnose(self, threshold: float | None = None, limit: int = 20) -> dict:
        """Hubs, isolates and the bridges at `threshold` (default: the opening threshold),
        as `embtui diagnose --json` prints them (engine.diagnostics)."""
        from engine.diagnostics import diagnose
        self._require("knn", "neighbour graph")
        if threshold is None:
            threshold = self.opening_threshold()
        return diagnose(self, float(threshold), limit)

    # ---- layouts ---------------------------------------------------------------------------

    @property
    def layouts(self) -> list[str]:
        names = [s.split(":", 1)[1] for s in self.steps if s.startswith("layout:")
                 and s in self.valid]
        return sorted(names, key=lambda n: (n != "umap", n))

    def layout(self, name: str | None = None) -> np.ndarray:
        names = self.layouts
        if not names:
            raise InputError(f"{self.path} has no layout yet (run embtui build)")
        name = name or names[0]
        if name not in names:
            raise InputError(f"no layout '{name}' (stored: {', '.join(names)})")
        with self._lock:
            return self._store.layout(name, self.n)

    def trust(self, layout: str | None = None):
        """How far a layout can be trusted (engine.trust.Trust): the share of each entity's
        stored neighbours among its nearest on the map, their mean, and trustworthiness on a
        seeded sample. Computed on first use (a k-d tree over the layout), then kept."""
        from engine.trust import layout_trust
        name = layout or (self.layouts[0] if self.layouts else None)
        cache = self.__dict__.setdefault("_trust", {})
        if name in cache:
            return cache[name]
        xy = self.layout(name)
        self._require("knn", "neighbour graph")
        # not under the lock: the arrays it reads are cached properties, whose own lock
        # (Python 3.11) taken inside ours would deadlock with a thread taking them the
        # other way round; two threads at once compute it twice, the same
        members = self.members
        if members is None:
            found = layout_trust(self.knn.idx, xy, self._sample_similarity)
        else:  # over the entities the embedding holds, the others NaN
            part = layout_trust(self.knn.among(members).idx, xy[members],
                                lambda idx: self._sample_similarity(members[idx]))
            share = np.full(self.n, np.nan, np.float32)
            radius = np.full(self.n, np.nan, np.float32)
            share[members], radius[members] = part.share, part.radius
            found = part._replace(share=share, radius=radius)
        return cache.setdefault(name, found)

    def trust_summary(self) -> dict:
        """Per stored layout: the mean kept share of its k neighbours, and trustworthiness
        on the sample (None, with `why_not`, where it cannot be computed)."""
        if not self.has("knn"):
            return {}
        out = {}
        for name in self.layouts:
            t = self.trust(name)
            out[name] = {"kept": None if t.mean != t.mean else round(t.mean, 6), "k": t.k,
                         "trustworthiness": None if t.trustworthiness is None
                         else round(t.trustworthiness, 6),
                         "sample": t.sample, "why_not": t.why_not}
        return out

    def _sample_similarity(self, idx: np.ndarray):
        from engine.heatmap import group_similarity
        try:
            S, _, source = group_similarity(self, idx)
        except InputError as err:  # a file without its vectors: no similarity for pairs
            return None, str(err)
        if source == "knn":
            return None, "a context graph's similarity is not recomputed for every pair"
        return S, None

    # ---- clusters --------------------------------------------------------------------------

    @cached_property
    def merge_tree(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self._require("merge_tree", "merge tree")
        with self._lock:
            return self._store.merge_tree()

    @property
    def merge_tree_kind(self) -> str | None:
        """"exact": the tree of all pairs of vectors, so the clusters at t are the components
        of every pair with similarity ≥ t; "knn": the neighbour graph's; None: no tree."""
        if not self.has("merge_tree"):
            return None
        return "exact" if self.steps["merge_tree"].params.get("tree") == "exact" else "knn"

    @property
    def community_methods(self) -> list[str]:
        return sorted(s.split(":", 1)[1] for s in self.steps
                      if s.startswith("communities:") and s in self.valid)

    def threshold_labels(self, threshold: float) -> np.ndarray:
        """Components of the pairs with similarity ≥ threshold: all pairs of vectors with an
        exact merge tree, the kNN graph's pairs otherwise (merge_tree_kind)."""
        from engine.clusters import ThresholdClusters
        a, b, s = self.merge_tree  # outside the lock: see trust()
        with self._lock:
            if self._threshold_cache is None:
                self._threshold_cache = ThresholdClusters(self.n, a, b, s)
            tc = self._threshold_cache
        return tc.labels(float(threshold))

    def opening_threshold(self, candidates=None) -> float:
        """The threshold that shows most structure: the most clusters of at least 3 with none
        holding more than a third of the entities (engine.clusters.opening_threshold), from
        `candidates` (default: the merge tree's similarities)."""
        from engine.clusters import opening_threshold
        a, b, s = self.merge_tree
        return opening_threshold(self.n, a, b, s, candidates)

    def opening_communities(self, threshold: float | None = None) -> str | None:
        """The stored community method that separates the entities best by the same rule
        (most communities of at least 3, none over a third), when it separates them better
        than the clusters at `threshold` do (ties keep the clusters, which a slider refines);
        None when no method does."""
        from engine.clusters import structure
        bar = structure(self.threshold_labels(threshold)) if threshold is not None else 0
        scored = [(structure(self.community_labels(m)[0]), m) for m in self.community_methods]
        best = max(scored, key=lambda x: x[0], default=(0, None))
        return best[1] if best[0] > bar else None

    def community_labels(self, method: str) -> tuple[np.ndarray, np.ndarray]:
        if method not in self.community_methods:
            stored = ", ".join(self.community_methods) or "none"
            raise InputError(f"no communities '{method}' in {self.path} (stored: {stored})")
        with self._lock:
            return self._store.communities(method, self.n)

    def community_memberships(self, method: str) -> CommunityMemberships:
        """Every membership of a stored community method: (entity, community, strength)
        arrays, by entity, then strength descending. SLPA gives an entity each community
        holding ≥ r of its memory; the other methods one (strength 1), none for -1."""
        self.community_labels(method)  # the same refusal for a method not stored
        with self._lock:
            cache = self.__dict__.setdefault("_memberships", {})
            if method not in cache:
                cols = self._store.community_members(method)
                cache[method] = CommunityMemberships(
                    cols["idx"].astype(np.int32), cols["community"].astype(np.int32),
                    cols["strength"].astype(np.float32))
            return cache[method]

    def communities_of(self, i: int, method: str) -> list[tuple[int, float]]:
        """Entity i's communities under a method as (community, strength), strongest first."""
        m = self.community_memberships(method)
        lo, hi = np.searchsorted(m.entity, [int(i), int(i) + 1])
        return [(int(c), float(s)) for c, s in zip(m.community[lo:hi], m.strength[lo:hi],
                                                   strict=True)]

    def clusters(self, threshold: float | None = None, method: str | None = None,
                 min_size: int = 2) -> Clusters:
        """Clusters of at least min_size members, largest first, at a threshold (components
        of the kNN graph with similarity ≥ threshold) or by a stored community method.
        A method whose entities may hold several communities (slpa) lists every member of
        each, overlapping ones included (Clusters.overlapping)."""
        from engine.clusters import group, group_memberships
        if (threshold is None) == (method is None):
            raise InputError("give either a threshold or a method")
        if threshold is not None:
            return group(self.threshold_labels(threshold), min_size, threshold=threshold)
        labels, _ = self.community_labels(method)
        m = self.community_memberships(method)
        if len(m.entity) > int((labels >= 0).sum()) or method == "slpa":
            return group_memberships(labels, m.entity, m.community, m.strength, min_size,
                                     method=method)
        return group(labels, min_size, method=method)

    # ---- cluster keywords -------------------------------------------------------------------

    @cached_property
    def term_bags(self):
        """Every entity's label words and text metadata values (engine.keywords.terms)."""
        from engine.keywords import stop_words_path, terms
        from engine.words import read_stop_words
        names = self.metadata_columns  # before the lock: see trust()
        with self._lock:
            table = self._store.entities(["label", *names])
        columns = {name: table.column(name).combine_chunks() for name in names}
        return terms(table.column("label").combine_chunks(), columns,
                     read_stop_words(stop_words_path()))

    def cluster_names(self, clusters: Clusters, limit: int | None = None):
        """Keywords (c-TF-IDF of label words and metadata values), a label and the most
        central member of the first `limit` listed clusters (engine.keywords.ClusterNames)."""
        from engine.keywords import cluster_names
        idx, sim = self.knn if self.has("knn") else (np.full((self.n, 0), -1, np.int32),
                                                     np.zeros((self.n, 0), np.float32))
        return cluster_names(self.term_bags, clusters.order, clusters.offsets, self.labels,
                             idx, sim, limit)

    # ---- search ----------------------------------------------------------------------------

    def search_index(self):
        labels = self.labels  # before the lock: see trust()
        with self._lock:
            index = getattr(self, "_search_index", None)
            if index is None:
                from engine.search import FuzzyIndex
                index = self._search_index = FuzzyIndex(labels)
            return index

    def search(self, text: str, limit: int = 20, typos: bool = True) -> list[dict]:
        """Fuzzy matches, best first (engine.search.FuzzyIndex.search_typos); "typo" marks a
        label found by the words of a query that does not match as typed."""
        index = self.search_index()
        if typos:
            idx, score, typo = index.search_typos(text, limit=limit)
        else:
            idx, score = index.search(text, limit=limit, typos=False)
            typo = np.zeros(len(idx), np.bool_)
        return [{"idx": int(i), "id": self.ids[i], "label": self.labels[i], "score": float(s),
                 "typo": bool(t)} for i, s, t in zip(idx, score, typo, strict=True)]

    # ---- info ------------------------------------------------------------------------------

    @property
    def graph_stats(self) -> dict:
        """Sizes of the neighbour graph's build (edges, and for the context graph the
        correlation and similarity edges, candidate pairs and the in-degree cap applied)."""
        if not self.has("knn"):
            return {}
        import json
        try:
            return json.loads(self.meta.get("graph_stats") or "{}")
        except ValueError:
            return {}

    def info(self) -> dict:
        """What `embtui info` shows: this embedding in full, and a line on each of the
        file's embeddings."""
        return {
            "entities": self.n,
            "embedding": self.embedding,
            "embeddings": self.info_embeddings(),
            "dim": self.dim,
            "kind": self.kind,
            "graph": self.graph_stats,
            "merge_tree": self.merge_tree_kind,
            "trust": self.trust_summary(),
            "steps": {name: {"params": rec.params, "seconds": round(rec.seconds, 3)}
                      for name, rec in self.steps.items() if name in self.valid},
        }

    def others_with_graph(self) -> list[str]:
        """The file's other embeddings that have a neighbour graph (their steps only)."""
        names = []
        for name in self.embeddings:
            if name != self.embedding:
                with self.with_embedding(name) as other:
                    if other.has("knn"):
                        names.append(name)
        return names

    def info_embeddings(self) -> dict:
        """A line on each of the file's embeddings: kind, dim, entities held, graph, layouts
        and communities."""
        return {name: self._embedding_summary(name) for name in self.embeddings}

    def _embedding_summary(self, name: str) -> dict:
        other = self if name == self.embedding else self.with_embedding(name)
        try:
            members = other.members
            return {"kind": other.kind, "dim": other.dim,
                    "entities": self.n if members is None else len(members),
                    "similarity": other.similarity, "k": other.k, "layouts": other.layouts,
                    "communities": other.community_methods,
                    "built": other.has("merge_tree") or bool(other.layouts)}
        finally:
            if other is not self:
                other.close()

    # ---- export ----------------------------------------------------------------------------

    def export(self, table: str, out: str | None, fmt: str | None = None, *,
               threshold: float | None = None, method: str | None = None,
               layout: str | None = None, stream=None, only: np.ndarray | None = None) -> int:
        """Write a table to `out` (None: standard output, or the binary `stream` given in its
        place) in `fmt` (default: by out's suffix); returns the rows written. `only`, a
        boolean mask over entities (a filter's, a selection's), keeps the rows of those
        entities (for knn: the rows from them)."""
        from engine.export import only_entities, write_table
        if only is not None:
            only = np.asarray(only, np.bool_)
            if only.shape != (self.n,):
                raise InputError(f"a row mask must have {self.n} entries, got {only.shape}")
        if table == "clusters":
            return write_table(only_entities(self._cluster_table(threshold, method), "idx",
                                             only), out, fmt, stream)
        if table == "knn":
            self._require("knn", "neighbour graph")
        elif table == "layout":
            layout = layout or (self.layouts[0] if self.layouts else None)
            if layout is None or layout not in self.layouts:
                raise InputError(f"{self.path} has no layout '{layout}'")
        elif table != "entities":
            raise InputError(f"unknown table '{table}' (use entities, knn, layout, clusters)")
        with self._lock:  # the rows stream from DuckDB as they are written
            rows = self._store.table_rows(table, layout)
            key = "src" if table == "knn" else "idx"
            return write_table(only_entities(rows, key, only), out, fmt, stream)

    def _cluster_table(self, threshold: float | None, method: str | None):
        import pyarrow as pa
        if threshold is None and method is None:
            raise InputError("export --table clusters needs --threshold T or --method NAME")
        result = self.clusters(threshold, method, min_size=1)
        cluster = result.positions()
        sizes = np.where(cluster >= 0, result.sizes[np.clip(cluster, 0, None)], 0)
        return pa.table({"idx": np.arange(self.n, dtype=np.int32), "id": self.ids,
                         "label": self.labels, "cluster": cluster, "cluster_size": sizes})
