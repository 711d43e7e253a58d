"""The merge tree of all pairs against the kNN graph's, as `embtui build` runs each step; prints
one JSON document.

Data: `--n` vectors of `--dim` dimensions around 200 random centres (spread 0.8), seeded.
Each size runs in a fresh process, as a build pays numba's loading there: the exact kNN graph
(k = 15, engine.knn.knn_exact, the build's step below 60,000 vectors), the kNN merge tree
(engine.clusters.merge_tree) and the tree of all pairs (engine.exact_tree.exact_merge_tree).
Also reported: at the 5th percentile of the exact tree's similarities, how many clusters
each tree gives, which shows how far the kNN tree's clusters are from those of all pairs.

    .venv/bin/python benchmarks/bench_exact_tree.py --n 5000 --n 20000 --n 40000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time


def one(n: int, dim: int) -> dict:
    import numpy as np

    from engine.clusters import components_at, merge_tree
    from engine.exact_tree import exact_merge_tree
    from engine.knn import knn_exact
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(200, dim))
    X = (centres[rng.integers(0, 200, n)] + 0.8 * rng.normal(size=(n, dim))).astype(np.float32)
    t0 = time.perf_counter()
    idx, sim = knn_exact(X, 15, "cosine")
    t1 = time.perf_counter()
    knn_tree = merge_tree(n, idx, sim)
    t2 = time.perf_counter()
    exact = exact_merge_tree(X, "cosine")
    t3 = time.perf_counter()
    t = float(np.quantile(exact[2], 0.05))  # a low threshold: few, large clusters
    return {"n": n, "dim": dim, "knn_graph_s": round(t1 - t0, 2),
            "knn_merge_tree_s": round(t2 - t1, 3), "exact_merge_tree_s": round(t3 - t2, 2),
            "exact_over_knn_graph": round((t3 - t2) / (t1 - t0), 2), "threshold": round(t, 4),
            "clusters_exact_tree": int(components_at(n, *exact, t).max()) + 1,
            "clusters_knn_tree": int(components_at(n, *knn_tree, t).max()) + 1}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, action="append")
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(args.n[0], args.dim)))
        return
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    runs = []
    for n in args.n or [5000, 20000]:
        out = subprocess.run([sys.executable, __file__, "--one", "--n", str(n),
                              "--dim", str(args.dim)], capture_output=True, text=True,
                             env=env, check=True)
        runs.append(json.loads(out.stdout))
    print(json.dumps({"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                      "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
