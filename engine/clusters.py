"""Clusters of the kNN graph at any similarity threshold, through its merge tree.

The merge tree is the maximum spanning forest of the (undirected) kNN graph, edges sorted by
similarity descending. For every threshold t, the components of the graph restricted to edges
with similarity ≥ t are exactly the components of the tree edges with similarity ≥ t — a
prefix of the sorted edges — so moving a threshold never touches the graph again.

A threshold is rounded to float32, the precision of the similarities, so t = 0.9 keeps an
edge whose similarity is stored as 0.9 (float32 0.899999976). Component ids
are numbered by size descending, ties by smallest member index: 0 is the largest cluster, and
the same partition always gets the same numbers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numba import njit

from engine.errors import InputError
from engine.kernels import find


def merge_tree(n: int, idx: np.ndarray, sim: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximum spanning forest of the kNN graph: (a int32, b int32, s float32), s descending.

    idx/sim (n, k): row i lists i's neighbours, padded with idx -1 / sim NaN. An edge i–j
    exists when j is in row i or i in row j; its weight is the larger of the two
    similarities. Entries with idx -1, a non-finite similarity or j == i are ignored.
    Each edge is written with a < b.
    """
    n = int(n)
    idx = np.asarray(idx)
    sim = np.asarray(sim)
    if idx.ndim != 2 or idx.shape[0] != n or sim.shape != idx.shape:
        raise InputError(f"kNN graph must be idx and sim of shape ({n}, k); got "
                         f"{idx.shape} and {sim.shape}")
    k = idx.shape[1]
    if idx.size and (idx.min() < -1 or idx.max() >= n):
        raise InputError(f"kNN graph has neighbour indices outside -1..{n - 1}")
    idx = np.ascontiguousarray(idx, dtype=np.int32)
    w = np.ascontiguousarray(sim, dtype=np.float32).ravel()
    keep = ((idx >= 0) & (idx != np.arange(n, dtype=np.int32)[:, None])).ravel()
    keep &= np.isfinite(w)
    idx = idx.ravel()
    # Invalid entries sort last and are cut off; stable keeps ties in row order.
    key = np.where(keep, -w, np.float32(np.inf))
    order = np.argsort(key, kind="stable")[:int(keep.sum())]
    return _kruskal(n, k, idx, w, order)


@njit(cache=True)
def _kruskal(n, k, idx, w, order):
    parent = np.arange(n, dtype=np.int32)
    size = np.ones(n, dtype=np.int32)
    a = np.empty(max(n - 1, 0), np.int32)
    b = np.empty(max(n - 1, 0), np.int32)
    s = np.empty(max(n - 1, 0), np.float32)
    m = 0
    for e in order:
        i = e // k
        j = idx[e]
        ri = find(parent, i)
        rj = find(parent, j)
        if ri == rj:
            continue
        if size[ri] < size[rj]:
            ri, rj = rj, ri
        parent[rj] = ri
        size[ri] += size[rj]
        a[m] = min(i, j)
        b[m] = max(i, j)
        s[m] = w[e]
        m += 1
        if m == n - 1:
            break
    return a[:m], b[:m], s[:m]


def components_at(n: int, a: np.ndarray, b: np.ndarray, s: np.ndarray, t: float) -> np.ndarray:
    """Component id per entity (int32) using the tree edges with similarity ≥ t.

    Ids are numbered by size descending, ties by smallest member index.
    """
    n, a, b, s = _check_tree(n, a, b, s)
    m = _count_at_least(s, _check_t(t))
    labels, _ = _union_components(n, a, b, m)
    return labels


class ThresholdClusters:
    """Components of one merge tree at any threshold, for a slider that moves back and forth.

    Built once in O(N): the tree's leaf order, in which every cluster at every threshold is a
    contiguous run, and the similarity at each junction between neighbouring leaves. A new
    threshold is then one sequential pass (runs where junctions ≥ t) plus the relabel by size.
    Recent results are kept by the number of edges they use, so thresholds that select the
    same edges cost nothing. Returned arrays are shared and read-only. Thread-safe.
    """

    CACHE = 8

    def __init__(self, n: int, a: np.ndarray, b: np.ndarray, s: np.ndarray):
        self.n, self.a, self.b, self.s = _check_tree(n, a, b, s)
        self._order, self._gaps = _leaf_order(self.n, self.a, self.b, self.s)
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def edges_at(self, t: float) -> int:
        """How many tree edges have similarity ≥ t."""
        return _count_at_least(self.s, _check_t(t))

    def n_components(self, t: float) -> int:
        """Number of clusters (singletons included) at t: each forest edge joins two."""
        return self.n - self.edges_at(t)

    def labels(self, t: float) -> np.ndarray:
        """Cluster id per entity at t (int32, 0 = largest)."""
        return self._result(t)[0]

    def sizes(self, t: float) -> np.ndarray:
        """Size of each cluster at t, indexed by cluster id (so descending)."""
        return self._result(t)[1]

    def _result(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        t = _check_t(t)
        m = _count_at_least(self.s, t)
        with self._lock:
            hit = self._cache.get(m)
            if hit is not None:
                self._cache.move_to_end(m)
                return hit
        # t selects exactly the first m edges, so the result depends on m alone.
        labels, sizes = _cut(self._order, self._gaps, t)
        labels.flags.writeable = False
        sizes.flags.writeable = False
        with self._lock:
            self._cache[m] = (labels, sizes)
            while len(self._cache) > self.CACHE:
                self._cache.popitem(last=False)
        return labels, sizes


@dataclass(frozen=True, eq=False)
class Clusters:
    """Clusters of at least min_size, largest first (ties: smallest label), from a label per
    entity: one partition at a threshold or by a stored community method."""

    threshold: float | None
    method: str | None
    labels: np.ndarray  # int per entity; negative where a method left an entity out
    order: np.ndarray  # int32 entity indices grouped by cluster, in listing order
    offsets: np.ndarray  # int64 (C + 1,): cluster c's members are order[offsets[c]:offsets[c+1]]
    ids: np.ndarray  # int32 (C,): the label value of each listed cluster
    rank: np.ndarray  # int64 per label value: its listing position, -1 when not listed
    singletons: int  # clusters of exactly one entity (listed or not)
    # overlapping communities (group_memberships): an entity may be in several clusters'
    # runs of `order`; `labels` is then its top community, which cluster_of follows
    strength: np.ndarray | None = None  # float32 per entry of `order`: its membership strength
    count: np.ndarray | None = None  # int32 per entity: how many communities it is in

    @property
    def overlapping(self) -> bool:
        return self.strength is not None

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.ids)

    def members(self, c: int) -> np.ndarray:
        return self.order[self.offsets[c]:self.offsets[c + 1]]

    def strengths(self, c: int) -> np.ndarray:
        """Membership strength of each of cluster c's members (1 where there is no overlap)."""
        if self.strength is None:
            return np.ones(self.offsets[c + 1] - self.offsets[c], np.float32)
        return self.strength[self.offsets[c]:self.offsets[c + 1]]

    def contains(self, c: int, i: int) -> bool:
        """Whether entity i is a member of cluster c (members are in ascending order)."""
        members = self.members(c)
        p = int(np.searchsorted(members, i))
        return p < len(members) and int(members[p]) == int(i)

    def clusters_of(self, i: int) -> list[tuple[int, float]]:
        """Every listed cluster entity i is a member of, with its strength, strongest first
        (ties: the earlier listed); one at most without overlap."""
        if self.strength is None:
            c = self.cluster_of(i)
            return [] if c is None else [(c, 1.0)]
        by_entity, position = self._by_entity
        lo, hi = np.searchsorted(self.order[by_entity], [int(i), int(i) + 1])
        entries = by_entity[lo:hi]
        found = sorted(zip((-self.strength[entries]).tolist(), position[entries].tolist(),
                           strict=True))
        return [(c, -s) for s, c in found]

    @cached_property
    def _by_entity(self) -> tuple[np.ndarray, np.ndarray]:
        """Entries of `order` sorted by entity, and each entry's listing position."""
        position = np.repeat(np.arange(len(self.ids)), np.diff(self.offsets))
        return np.argsort(self.order, kind="stable"), position

    def positions_of_members(self) -> dict[int, list[int]]:
        """Entity → the listing positions of every listed cluster it is a member of."""
        out: dict[int, list[int]] = {}
        for c in range(len(self)):
            for m in self.members(c).tolist():
                out.setdefault(m, []).append(c)
        return out

    def cluster_of(self, i: int) -> int | None:
        """Listing position of entity i's cluster, None when it is not listed."""
        lab = int(self.labels[i])
        if lab < 0 or lab >= len(self.rank):
            return None
        c = int(self.rank[lab])
        return c if c >= 0 else None

    def positions(self) -> np.ndarray:
        """Listing position of each entity's cluster (int64), -1 when not listed."""
        valid = self.labels >= 0
        out = np.full(len(self.labels), -1, dtype=np.int64)
        out[valid] = self.rank[self.labels[valid]]
        return out


def group(labels: np.ndarray, min_size: int = 2, *, threshold: float | None = None,
          method: str | None = None) -> Clusters:
    """Group entities by label (negative = left out), in O(N) without sorting."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise InputError("cluster labels must be a 1-D integer array")
    wide = np.ascontiguousarray(labels, dtype=np.int64)
    nlab = int(wide.max()) + 1 if wide.size else 0
    order, offsets, ids, rank, singletons = _group(wide, max(nlab, 0), max(int(min_size), 1))
    return Clusters(threshold, method, labels, order, offsets, ids, rank, int(singletons))


def group_memberships(labels: np.ndarray, entity: np.ndarray, community: np.ndarray,
                      strength: np.ndarray, min_size: int = 2, *,
                      method: str | None = None) -> Clusters:
    """Overlapping communities (one row per membership) listed like `group`: communities of
    at least min_size members, largest first (ties: smallest community number), members in
    ascending order, an entity in every community it belongs to. `labels` (top community per
    entity) is what cluster_of answers."""
    labels = np.asarray(labels)
    entity = np.asarray(entity, dtype=np.int64)
    community = np.asarray(community, dtype=np.int64)
    strength = np.asarray(strength, dtype=np.float32)
    if not (entity.shape == community.shape == strength.shape) or entity.ndim != 1:
        raise InputError("memberships must be three 1-D arrays of equal length")
    n = len(labels)
    nlab = max(int(community.max()) + 1 if len(community) else 0,
               int(labels.max()) + 1 if n else 0, 0)
    sizes = np.bincount(community, minlength=nlab)
    present = np.flatnonzero(sizes)
    listed = present[sizes[present] >= max(int(min_size), 1)]
    listed = listed[np.lexsort((listed, -sizes[listed]))]
    rank = np.full(nlab, -1, np.int64)
    rank[listed] = np.arange(len(listed))
    pos = rank[community]
    keep = np.flatnonzero(pos >= 0)
    keep = keep[np.lexsort((entity[keep], pos[keep]))]
    offsets = np.zeros(len(listed) + 1, np.int64)
    np.cumsum(sizes[listed], out=offsets[1:])
    count = np.bincount(entity, minlength=n).astype(np.int32)
    return Clusters(None, method, labels, entity[keep].astype(np.int32), offsets,
                    listed.astype(np.int32), rank, int((sizes == 1).sum()),
                    strength[keep], count)


def renumber_by_size(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..C-1 by group size descending, ties by smallest member; negative
    labels (left out) become -1."""
    labels = np.ascontiguousarray(labels).astype(np.int64, copy=False)
    nlab = int(labels.max()) + 1 if labels.size else 0
    out, _ = _renumber(labels, max(nlab, 0))
    return out


# ---- the opening threshold -------------------------------------------------------------------

OPENING_MIN_SIZE = 3  # a cluster counts towards structure from this size
OPENING_MAX_SHARE = 1 / 3  # and no cluster may hold more than this share of the entities


def opening_threshold(n: int, a: np.ndarray, b: np.ndarray, s: np.ndarray,
                      candidates: np.ndarray | None = None, *,
                      min_size: int = OPENING_MIN_SIZE,
                      max_share: float = OPENING_MAX_SHARE) -> float:
    """The threshold that shows most structure: among the candidates (default: the tree's
    similarities) whose largest cluster holds at most max_share of the entities, the one with
    the most clusters of at least min_size; ties go to the lowest threshold, which puts more
    entities in clusters. When no candidate keeps the largest cluster that small, the one
    whose largest cluster is smallest (ties: lowest)."""
    n, a, b, s = _check_tree(n, a, b, s)
    if candidates is None:
        candidates = s if len(s) else [1.0]
    cand = np.asarray(candidates, np.float64).ravel()
    if len(cand) == 0 or np.isnan(cand).any():
        raise InputError("opening_threshold needs candidate thresholds that are numbers")
    with np.errstate(over="ignore"):
        cand = np.unique(cand.astype(np.float32)).astype(np.float64)  # as labels() rounds
    counted, largest = _prefix_profile(n, a, b, max(int(min_size), 1))
    # edges with s >= t (s descending, compared in float32 as labels() compares them)
    m = len(s) - np.searchsorted(s[::-1], cand.astype(np.float32), side="left")
    big, count = largest[m], counted[m]
    fits = big <= max_share * n
    if fits.any():
        score = np.where(fits, count, -1)
        return float(cand[int(np.argmax(score))])  # argmax takes the first: the lowest t
    return float(cand[int(np.argmin(big))])


def structure(labels: np.ndarray, *, min_size: int = OPENING_MIN_SIZE,
              max_share: float = OPENING_MAX_SHARE) -> int:
    """How many groups of at least min_size a labelling has, 0 when one group holds more
    than max_share of the entities (negative labels: left out, still counted in the share)."""
    labels = np.asarray(labels)
    kept = labels[labels >= 0]
    if len(labels) == 0 or len(kept) == 0:
        return 0
    sizes = np.bincount(kept)
    if sizes.max() > max_share * len(labels):
        return 0
    return int((sizes >= min_size).sum())


# ---- helpers and kernels --------------------------------------------------------------------

def _check_t(t) -> float:
    t = float(t)
    if np.isnan(t):
        raise InputError("threshold must be a number, not NaN")
    with np.errstate(over="ignore"):
        return float(np.float32(t))


def _check_tree(n, a, b, s):
    n = int(n)
    a = np.ascontiguousarray(a, dtype=np.int32)
    b = np.ascontiguousarray(b, dtype=np.int32)
    s = np.ascontiguousarray(s, dtype=np.float32)
    if n < 0 or a.ndim != 1 or a.shape != b.shape or a.shape != s.shape:
        raise InputError("merge tree must be three 1-D arrays a, b, s of equal length")
    if len(a) >= max(n, 1):
        raise InputError(f"merge tree has {len(a)} edges; a forest on {n} entities has < {n}")
    if len(a) and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n):
        raise InputError(f"merge tree has entity indices outside 0..{n - 1}")
    if not np.isfinite(s).all():
        raise InputError("merge tree similarities must be finite")
    if len(s) > 1 and not (s[:-1] >= s[1:]).all():
        order = np.argsort(-s, kind="stable")  # a reordered copy, e.g. read without ORDER BY
        a, b, s = a[order], b[order], s[order]
    return n, a, b, s


@njit(cache=True)
def _count_at_least(s, t):
    """Length of the prefix of s (descending) with s ≥ t."""
    lo, hi = 0, len(s)
    while lo < hi:
        mid = (lo + hi) // 2
        if np.float64(s[mid]) >= t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _union_components(n, a, b, m):
    # Each root is linked under the smaller one, so a root is its component's smallest
    # member and parent[v] < v elsewhere (path halving keeps that): one ascending pass then
    # numbers components by smallest member. Faster here than union by size: one array less
    # to miss in cache.
    parent = np.arange(n, dtype=np.int32)
    for e in range(m):
        ra = find(parent, a[e])
        rb = find(parent, b[e])
        if ra < rb:
            parent[rb] = ra
        elif rb < ra:
            parent[ra] = rb
    comp = np.empty(n, np.int32)
    sizes = np.zeros(n, np.int64)
    count = 0
    for v in range(n):
        p = parent[v]
        if p == v:
            comp[v] = count
            count += 1
        else:
            comp[v] = comp[p]
        sizes[comp[v]] += 1
    sizes = sizes[:count]
    rank = _rank_by_size(sizes)
    for v in range(n):
        comp[v] = rank[comp[v]]
    ranked = np.empty(count, np.int64)
    for g in range(count):
        ranked[rank[g]] = sizes[g]
    return comp, ranked


@njit(cache=True)
def _rank_by_size(sizes):
    """Rank of each group when sorted by size descending, stable (counting sort)."""
    c = len(sizes)
    rank = np.empty(c, np.int64)
    if c == 0:
        return rank
    top = sizes.max()
    start = np.zeros(top + 2, np.int64)
    for x in sizes:
        start[x] += 1
    acc = 0
    for x in range(top, -1, -1):
        cnt = start[x]
        start[x] = acc
        acc += cnt
    for g in range(c):
        rank[g] = start[sizes[g]]
        start[sizes[g]] += 1
    return rank


@njit(cache=True)
def _renumber(labels, nlab):
    """labels in [-1, nlab) → ids by size descending, ties by smallest member; and sizes."""
    n = len(labels)
    seq = np.full(nlab, -1, np.int64)  # label → order of first appearance = smallest member
    sizes = np.zeros(min(n, nlab), np.int64)
    count = 0
    for v in range(n):
        c = labels[v]
        if c < 0:
            continue
        if seq[c] < 0:
            seq[c] = count
            count += 1
        sizes[seq[c]] += 1
    sizes = sizes[:count]
    rank = _rank_by_size(sizes)
    out = np.empty(n, np.int32)
    for v in range(n):
        c = labels[v]
        out[v] = -1 if c < 0 else rank[seq[c]]
    ranked = np.empty(count, np.int64)
    for g in range(count):
        ranked[rank[g]] = sizes[g]
    return out, ranked


@njit(cache=True)
def _leaf_order(n, a, b, s):
    """Kruskal keeping each tree's leaves as a linked list; concatenating two lists at a merge
    makes every cluster at every threshold a contiguous run. gaps[p] is the similarity of the
    merge joining order[p] and order[p+1], NaN between trees (never ≥ any t)."""
    parent = np.arange(n, dtype=np.int32)
    size = np.ones(n, np.int32)
    head = np.arange(n, dtype=np.int32)
    tail = np.arange(n, dtype=np.int32)
    nxt = np.full(n, -1, np.int32)
    join = np.full(n, np.nan, np.float32)  # similarity of the junction after each leaf
    for e in range(len(a)):
        ra = find(parent, a[e])
        rb = find(parent, b[e])
        if ra == rb:
            continue
        if size[ra] < size[rb]:
            ra, rb = rb, ra
        nxt[tail[ra]] = head[rb]
        join[tail[ra]] = s[e]
        tail[ra] = tail[rb]
        parent[rb] = ra
        size[ra] += size[rb]
    order = np.empty(n, np.int32)
    gaps = np.empty(n, np.float32)
    p = 0
    for v in range(n):
        if parent[v] != v:
            continue
        u = head[v]
        while u != -1:
            order[p] = u
            gaps[p] = join[u]
            p += 1
            u = nxt[u]
    return order, gaps


@njit(cache=True)
def _cut(order, gaps, t):
    n = len(order)
    run = np.empty(n, np.int64)
    r = 0
    for p in range(n):
        run[order[p]] = r
        if not np.float64(gaps[p]) >= t:
            r += 1
    return _renumber(run, r)


@njit(cache=True)
def _group(labels, nlab, min_size):
    n = len(labels)
    sizes = np.zeros(nlab, np.int64)
    for v in range(n):
        if labels[v] >= 0:
            sizes[labels[v]] += 1
    present = 0
    singletons = 0
    for c in range(nlab):
        if sizes[c] > 0:
            present += 1
        if sizes[c] == 1:
            singletons += 1
    ids_all = np.empty(present, np.int64)
    sz = np.empty(present, np.int64)
    q = 0
    for c in range(nlab):
        if sizes[c] > 0:
            ids_all[q] = c
            sz[q] = sizes[c]
            q += 1
    rank = _rank_by_size(sz)  # ties keep label order
    listed = 0
    for g in range(present):
        if sz[g] >= min_size:
            listed += 1
    ids = np.empty(listed, np.int32)
    offsets = np.zeros(listed + 1, np.int64)
    slot = np.full(nlab, -1, np.int64)  # label → listing position
    for g in range(present):
        if rank[g] < listed:
            ids[rank[g]] = ids_all[g]
            offsets[rank[g] + 1] = sz[g]
            slot[ids_all[g]] = rank[g]
    for c in range(listed):
        offsets[c + 1] += offsets[c]
    fill = offsets[:-1].copy()
    order = np.empty(offsets[listed], np.int32)
    for v in range(n):
        c = labels[v]
        if c >= 0 and slot[c] >= 0:
            order[fill[slot[c]]] = v
            fill[slot[c]] += 1
    return order, offsets, ids, slot, singletons


@njit(cache=True)
def _prefix_profile(n, a, b, min_size):
    """For every prefix of m tree edges (m = 0..len(a)): how many components have at least
    min_size members, and the size of the largest."""
    parent = np.arange(n, dtype=np.int32)
    size = np.ones(n, dtype=np.int64)
    counted = np.zeros(len(a) + 1, np.int64)
    largest = np.zeros(len(a) + 1, np.int64)
    c = n if min_size <= 1 else 0
    big = 1 if n else 0
    counted[0], largest[0] = c, big
    for e in range(len(a)):
        ri = find(parent, a[e])
        rj = find(parent, b[e])
        if ri != rj:
            si, sj = size[ri], size[rj]
            c -= (si >= min_size) + (sj >= min_size)
            if si < sj:
                ri, rj = rj, ri
            parent[rj] = ri
            size[ri] = si + sj
            c += si + sj >= min_size
            if si + sj > big:
                big = si + sj
        counted[e + 1], largest[e + 1] = c, big
    return counted, largest
