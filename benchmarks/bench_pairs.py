"""The least similar pairs of all pairs of vectors, the cost behind engine.pairs.EXACT_MAX_N;
prints one JSON document.

Data: N random 384-d float32 vectors (Gaussian, seeded) under cosine, as a text model's
embeddings are stored. Timed: `engine.pairs.lowest_vector_pairs` (blocked float64 products,
each block's lowest 20 kept) at each N. Peer, same run, where it fits in memory: the whole
N × N matrix from `engine.heatmap.similarity_matrix` and one argpartition of its upper
triangle; the two answers are checked equal.

    .venv/bin/python benchmarks/bench_pairs.py                     # N = 5k, 10k, 20k, 30k
    .venv/bin/python benchmarks/bench_pairs.py --n 20000 --dim 64
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from engine.heatmap import similarity_matrix  # noqa: E402
from engine.pairs import EXACT_MAX_N, lowest_vector_pairs  # noqa: E402

PEER_MAX_N = 12_000  # the peer's N × N float64 matrix: 1.2 GB here


def peer(X: np.ndarray, limit: int) -> np.ndarray:
    S = similarity_matrix(X, "cosine")
    S[np.tril_indices(len(X))] = np.inf
    flat = S.ravel()
    hit = np.argpartition(flat, limit)[:limit]
    return np.sort(flat[hit])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, action="append")
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--limit", type=int, default=20)
    args = p.parse_args()
    sizes = args.n or [5_000, 10_000, 20_000, 30_000]
    rng = np.random.default_rng(0)
    lowest_vector_pairs(rng.normal(size=(100, args.dim)).astype(np.float32), "cosine", 5)
    rows = []
    for n in sizes:
        X = rng.normal(size=(n, args.dim)).astype(np.float32)
        t0 = time.perf_counter()
        _, _, s = lowest_vector_pairs(X, "cosine", args.limit)
        ours = time.perf_counter() - t0
        row = {"n": n, "pairs": n * (n - 1) // 2, "seconds": round(ours, 2)}
        if n <= PEER_MAX_N:
            t0 = time.perf_counter()
            want = peer(X, args.limit)
            row["peer_full_matrix_seconds"] = round(time.perf_counter() - t0, 2)
            row["same_answer"] = bool(np.allclose(np.sort(s), want, atol=1e-12))
        rows.append(row)
    print(json.dumps({"what": "least similar pairs of all pairs, cosine", "dim": args.dim,
                      "limit": args.limit, "exact_max_n": EXACT_MAX_N,
                      "cpus": os.cpu_count(), "python": platform.python_version(),
                      "numpy": np.__version__, "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
