"""The neighbour graph as padded rows: row i lists i's neighbours, best first.

Only numpy at import (scipy when converted), so the store and the command line can hand it
around without loading the kernels.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class KnnGraph(NamedTuple):
    """idx int32 (n, k), -1 where a row is short; sim float32 (n, k), NaN there.

    A tuple, so `idx, sim = graph` works wherever the two arrays are wanted."""

    idx: np.ndarray
    sim: np.ndarray

    @property
    def n(self) -> int:
        return self.idx.shape[0]

    @property
    def k(self) -> int:
        return self.idx.shape[1]

    def among(self, members: np.ndarray) -> KnnGraph:
        """The rows of `members` (ascending dataset idx, every neighbour one of them),
        renumbered 0..len(members)-1 as an embedding that holds only them numbers them."""
        idx = self.idx[members]
        local = np.searchsorted(members, np.clip(idx, 0, None)).astype(np.int32)
        return KnnGraph(np.where(idx >= 0, local, -1).astype(np.int32), self.sim[members])

    def to_csr(self, *, positive: bool = False):
        """Directed scipy CSR (n, n) of the listed neighbours, padding dropped; with
        positive=True also every similarity ≤ 0 (weights that must act as mass)."""
        import scipy.sparse as sp
        idx, sim = self.idx, self.sim
        keep = (idx >= 0) & np.isfinite(sim)
        if positive:
            keep &= sim > 0
        n = self.n
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(keep.sum(axis=1), out=indptr[1:])
        G = sp.csr_matrix((sim[keep], idx[keep], indptr), shape=(n, n))
        G.sort_indices()
        return G


def shared_per_row(a: np.ndarray, b: np.ndarray, b_len: np.ndarray | None = None,
                   block: int = 1 << 16) -> np.ndarray:
    """How many entries row i of `a` and row i of `b` share (int64 per row), negative entries
    (padding) never counted; the rows of each list distinct neighbours. With `b_len`, only
    the first b_len[i] entries of b's row i count. A block of rows at a time, so the
    (rows, ka, kb) comparison stays small."""
    a, b = np.asarray(a), np.asarray(b)
    out = np.zeros(len(a), np.int64)
    rank = np.arange(b.shape[1])
    for lo in range(0, len(a), block):
        x, y = a[lo:lo + block], b[lo:lo + block]
        if b_len is not None:
            y = np.where(rank[None, :] < b_len[lo:lo + block, None], y, -1)
        same = (x[:, :, None] == y[:, None, :]) & (x[:, :, None] >= 0)
        out[lo:lo + block] = same.any(axis=2).sum(axis=1)
    return out
