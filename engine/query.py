"""Nearest entities to something new: a vector given, or a text embedded with the model the
file's vectors came from. Exact: every stored vector is scored under the build's metric (as
engine.knn defines it), a block of rows at a time, so memory stays bounded at any N."""

from __future__ import annotations

import numpy as np

from engine.errors import InputError
from engine.heatmap import similarity_block


def nearest(blocks, query: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The k entities most similar to `query` over `blocks` of (idx, vectors), best first
    (ties: the lower index), as (idx int64, similarity float32)."""
    best_i = np.zeros(0, np.int64)
    best_s = np.zeros(0, np.float64)
    q = np.asarray(query, dtype=np.float64)[None, :]
    for idx, X in blocks:
        s = similarity_block(q, X, metric)[0]
        cand_i = np.concatenate([best_i, idx])
        cand_s = np.concatenate([best_s, s])
        keep = np.lexsort((cand_i, -cand_s))[:k]
        best_i, best_s = cand_i[keep], cand_s[keep]
    return best_i, best_s.astype(np.float32)


def check_query_vector(v, dim: int | None, metric: str, where: str) -> np.ndarray:
    """A query vector as (d,) float32, or a one-line refusal naming what is wrong."""
    v = np.asarray(v)
    if v.ndim == 2 and v.shape[0] == 1:
        v = v[0]
    if v.ndim != 1 or v.dtype.kind not in "fiu":
        raise InputError(f"{where}: a query vector must be one row of numbers, got an array "
                         f"of shape {v.shape} and type {v.dtype}")
    if dim is not None and len(v) != dim:
        raise InputError(f"{where}: the query has {len(v)} dimensions, the dataset's vectors "
                         f"{dim}")
    v = v.astype(np.float32)
    if not np.isfinite(v).all():
        raise InputError(f"{where}: the query vector holds NaN or infinity")
    if metric == "cosine" and not np.any(v):
        raise InputError(f"{where}: a zero vector has no cosine similarity")
    return v


def read_vector_file(path: str) -> np.ndarray:
    """The array in a .npy file (no pickles), refused in one line if it cannot be read."""
    import os

    from engine.paths import check_file
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file (--vector)")
    check_file(path, "a vector file")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise InputError(f"{path}: not a .npy array ({str(err).splitlines()[0]})") from None
