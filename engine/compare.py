"""Two embeddings of the same entities, compared: how far their neighbourhoods and clusters
agree.

Entities are matched by id, never by position; those in only one of the two are counted and
left out. For each shared entity i with stored neighbours N_A(i) and N_B(i) (the first k of
each row, neighbours outside the shared entities dropped), the overlap is the Jaccard index
|N_A(i) ∩ N_B(i)| / |N_A(i) ∪ N_B(i)| (NaN when both are empty). Clusters agree by the
adjusted Rand index (Hubert and Arabie 1985, as sklearn.metrics.adjusted_rand_score) of the two
partitions of the shared entities, an entity that is in no cluster (−1) counted as a cluster
of its own, with the contingency of the largest clusters of each.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from engine.errors import InputError
from engine.knngraph import shared_per_row


class Alignment(NamedTuple):
    a: np.ndarray  # int64: the shared entities' indices in A, in A's order
    b: np.ndarray  # int64: the same entities' indices in B
    only_a: int
    only_b: int


def align(ids_a, ids_b) -> Alignment:
    """The entities both hold, matched by id."""
    ids_a = np.array([str(i) for i in ids_a], dtype=object)  # numpy StringDType or lists
    ids_b = np.array([str(i) for i in ids_b], dtype=object)
    where = _position(ids_b, ids_a)
    a = np.flatnonzero(where >= 0)
    b = where[a]
    if len(a) == 0:
        raise InputError("the two embeddings share no entity id")
    return Alignment(a.astype(np.int64), b.astype(np.int64), int(len(ids_a) - len(a)),
                     int(len(ids_b) - len(a)))


def _remap(idx: np.ndarray, rows: np.ndarray, n_old: int, k: int) -> np.ndarray:
    """Rows `rows` of a neighbour table, first k columns, in the shared numbering (−1 where
    a neighbour is not shared or is padding)."""
    new = np.full(n_old + 1, -1, np.int64)  # the last slot maps the −1 padding
    new[rows] = np.arange(len(rows))
    block = np.asarray(idx)[rows, :k].astype(np.int64)
    return new[np.where(block >= 0, block, n_old)]


def neighbour_overlap(idx_a: np.ndarray, idx_b: np.ndarray, al: Alignment,
                      k: int | None = None) -> np.ndarray:
    """Per shared entity, the Jaccard index of its first k stored neighbours under A and B
    (float64, NaN when neither lists a shared neighbour)."""
    k = min(idx_a.shape[1], idx_b.shape[1]) if k is None else int(k)
    if k < 1:
        raise InputError(f"-k must be at least 1 (got {k})")
    A = _remap(idx_a, al.a, len(idx_a), k)
    B = _remap(idx_b, al.b, len(idx_b), k)
    inter = shared_per_row(A, B)
    union = (A >= 0).sum(axis=1) + (B >= 0).sum(axis=1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, np.nan)


def _dense_labels(labels: np.ndarray) -> np.ndarray:
    """Cluster numbers 0.. with each unclustered entity (−1) a cluster of its own."""
    labels = np.asarray(labels, dtype=np.int64)
    out = labels.copy()
    alone = labels < 0
    top = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    out[alone] = top + np.arange(int(alone.sum()))
    return np.unique(out, return_inverse=True)[1].ravel()


def adjusted_rand(labels_a: np.ndarray, labels_b: np.ndarray) -> float:
    """ARI = (Σ_ij C(n_ij, 2) − E) / (½ (Σ_i C(a_i, 2) + Σ_j C(b_j, 2)) − E), with
    E = Σ_i C(a_i, 2) Σ_j C(b_j, 2) / C(n, 2); 1.0 where both partitions are trivial alike."""
    a, b = _dense_labels(labels_a), _dense_labels(labels_b)
    n = len(a)
    if n != len(b):
        raise ValueError("the partitions must cover the same entities")
    table = sp.coo_matrix((np.ones(n), (a, b))).tocsr()
    table.sum_duplicates()

    def pairs(x):
        x = np.asarray(x, dtype=np.float64)
        return float((x * (x - 1) / 2).sum())
    index = pairs(table.data)
    row, col = pairs(np.asarray(table.sum(axis=1)).ravel()), pairs(
        np.asarray(table.sum(axis=0)).ravel())
    total = n * (n - 1) / 2
    expected = row * col / total if total else 0.0
    top = (row + col) / 2
    if top == expected:  # both all singletons, or both one cluster: identical partitions
        return 1.0
    return (index - expected) / (top - expected)


def contingency(labels_a: np.ndarray, labels_b: np.ndarray, top: int = 10
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the `top` largest clusters of A, those of B, the count of entities in both of each
    pair): clusters by their label values, −1 (no cluster) left out."""
    a, b = np.asarray(labels_a), np.asarray(labels_b)

    def largest(x):
        vals, counts = np.unique(x[x >= 0], return_counts=True)
        return vals[np.lexsort((vals, -counts))][:top]
    ta, tb = largest(a), largest(b)
    row, col = _position(ta, a), _position(tb, b)
    both = (row >= 0) & (col >= 0)
    table = np.bincount(row[both] * len(tb) + col[both], minlength=len(ta) * len(tb))
    return ta, tb, table.reshape(len(ta), len(tb)).astype(np.int64)


def _position(chosen: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Where each value of x sits in `chosen` (−1: not there)."""
    if len(chosen) == 0:
        return np.full(len(x), -1, np.int64)
    order = np.argsort(chosen)
    at = np.minimum(np.searchsorted(chosen[order], x), len(chosen) - 1)
    return np.where(chosen[order][at] == x, order[at], -1).astype(np.int64)


def _aligned(ds_a, ds_b) -> Alignment:
    """The entities both embeddings hold, matched by id, as indices into each dataset."""
    held_a, held_b = ds_a.held, ds_b.held
    al = align(ds_a.ids[held_a], ds_b.ids[held_b])
    return al._replace(a=held_a[al.a], b=held_b[al.b])


def entity_overlap(ds_a, ds_b, k: int | None = None) -> np.ndarray:
    """Per entity of A (float64, by A's idx), the Jaccard overlap of its neighbours under A
    and B, as `compare` counts it; NaN where B lacks the entity or neither lists a shared
    neighbour."""
    al = _aligned(ds_a, ds_b)
    out = np.full(ds_a.n, np.nan)
    out[al.a] = neighbour_overlap(ds_a.knn.idx, ds_b.knn.idx, al, k)
    return out


def compare_datasets(ds_a, ds_b, clusters_a, clusters_b, *, k: int | None = None,
                     limit: int = 10, top: int = 8, bins: int = 10) -> dict:
    """The comparison `embtui compare` prints: the two files, the shared entities, the
    neighbour overlap (mean, median, histogram), the entities whose neighbourhoods changed
    most and least, and how the clusters agree (ARI, contingency of the largest)."""
    al = _aligned(ds_a, ds_b)
    held_a, held_b = ds_a.held, ds_b.held
    j = neighbour_overlap(ds_a.knn.idx, ds_b.knn.idx, al, k)
    used_k = min(ds_a.knn.idx.shape[1], ds_b.knn.idx.shape[1]) if k is None else int(k)
    have = np.flatnonzero(np.isfinite(j))
    counts, edges = np.histogram(j[have], bins=bins, range=(0.0, 1.0))
    ids = np.array([str(i) for i in np.asarray(ds_a.ids)[al.a]], dtype=object)

    def entities(order):
        return [{"id": ds_a.ids[al.a[p]], "label": ds_a.labels[al.a[p]],
                 "overlap": round(float(j[p]), 6)} for p in order[:limit].tolist()]
    by_change = have[np.lexsort((ids[have], j[have]))]
    by_keep = have[np.lexsort((ids[have], -j[have]))]
    # clusters by their listing positions, as `embtui clusters` numbers them (−1: none)
    la = clusters_a.positions()[al.a]
    lb = clusters_b.positions()[al.b]
    ta, tb, table = contingency(la, lb, top)
    names_a = ds_a.cluster_names(clusters_a, int(ta.max()) + 1 if len(ta) else 0).labels
    names_b = ds_b.cluster_names(clusters_b, int(tb.max()) + 1 if len(tb) else 0).labels

    def made(c):
        return {"threshold": c.threshold, "method": c.method}
    return {
        "a": {"path": str(ds_a.path), "embedding": ds_a.embedding, "entities": len(held_a),
              "only_here": al.only_a},
        "b": {"path": str(ds_b.path), "embedding": ds_b.embedding, "entities": len(held_b),
              "only_here": al.only_b},
        "shared": len(al.a), "k": used_k,
        "overlap": {"mean": round(float(j[have].mean()), 6) if len(have) else None,
                    "median": round(float(np.median(j[have])), 6) if len(have) else None,
                    "histogram": {"edges": [round(float(e), 6) for e in edges],
                                  "counts": counts.astype(int).tolist()},
                    "without_neighbours": int(len(j) - len(have))},
        "most_changed": entities(by_change), "least_changed": entities(by_keep),
        "clusters": {
            "a": made(clusters_a), "b": made(clusters_b),
            "adjusted_rand": round(adjusted_rand(la, lb), 6),
            "contingency": {
                "a": [{"cluster": int(c), "size": int((la == c).sum()), "label": names_a[c]}
                      for c in ta.tolist()],
                "b": [{"cluster": int(c), "size": int((lb == c).sum()), "label": names_b[c]}
                      for c in tb.tolist()],
                "counts": table.tolist()}},
    }


def procrustes_onto(xy: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`xy` moved onto `reference` (both (n, 2), the same entities by row; NaN rows are an
    entity one of them lacks): both centred on the rows they share, `xy` scaled to the
    reference's spread (root mean square distance from the centre), then turned by the
    orthogonal R minimising ‖X R − Y‖_F (Schönemann 1966: R = U Vᵀ for Xᵀ Y = U Σ Vᵀ, a
    rotation or a reflection), and shifted to the reference's centre. With fewer than three
    shared rows, or a spread of zero, `xy` is returned as it was."""
    xy = np.asarray(xy, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    both = np.isfinite(xy).all(axis=1) & np.isfinite(ref).all(axis=1)
    if both.sum() < 3:
        return xy.astype(np.float32)
    mx, my = xy[both].mean(axis=0), ref[both].mean(axis=0)
    X, Y = xy[both] - mx, ref[both] - my
    sx, sy = np.sqrt((X ** 2).sum(axis=1).mean()), np.sqrt((Y ** 2).sum(axis=1).mean())
    if not (sx > 0 and sy > 0):
        return xy.astype(np.float32)
    u, _, vt = np.linalg.svd((X / sx).T @ (Y / sy))
    R = u @ vt
    return (((xy - mx) / sx) @ R * sy + my).astype(np.float32)
