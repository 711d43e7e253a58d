"""Clusters at a moving similarity threshold; prints one JSON document.

Data: `--n` points in 3-D drawn from many Gaussian blobs of varied spread plus a uniform
background, their exact k nearest neighbours (scipy cKDTree), similarity 1 / (1 + d / scale):
a kNN graph with clusters at every scale. Timed: merge tree build, ThresholdClusters set-up,
then ~20 new thresholds (quantiles of the tree similarities, shuffled) through components_at,
ThresholdClusters.labels (a new threshold, then the same one again from its cache) and
cluster_table. Peers, same run, same thresholds: scipy connected_components on the
thresholded kNN graph (symmetric CSR built once; per threshold: drop the edges below it,
then components), and on the tree prefix (the same forest edges ours use). Each threshold's
partition is checked against the kNN-graph peer.

    .venv/bin/python benchmarks/bench_threshold.py             # 1M entities, k = 15
    .venv/bin/python benchmarks/bench_threshold.py --n 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numba
import numpy as np
import scipy
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from engine.clusters import (ThresholdClusters, cluster_table, components_at, merge_tree,
                             renumber_by_size)


def synthetic_knn(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    blobs = max(n // 2000, 4)
    centres = rng.uniform(-100, 100, (blobs, 3))
    spread = rng.lognormal(0.0, 0.7, blobs)
    which = rng.integers(blobs, size=n)
    X = centres[which] + rng.normal(size=(n, 3)) * spread[which, None]
    noise = rng.random(n) < 0.1
    X[noise] = rng.uniform(-100, 100, (noise.sum(), 3))
    d, i = cKDTree(X).query(X, k + 1, workers=os.cpu_count() or 1)
    # Exact duplicates are impossible here, so column 0 is the point itself.
    d, i = d[:, 1:], i[:, 1:]
    return i.astype(np.int32), (1.0 / (1.0 + d / np.median(d[:, 0]))).astype(np.float32)


def knn_csr(idx: np.ndarray, sim: np.ndarray) -> sp.csr_matrix:
    n, k = idx.shape
    rows = np.repeat(np.arange(n, dtype=np.int32), k)
    G = sp.csr_matrix((sim.ravel().astype(np.float64), (rows, idx.ravel())), shape=(n, n))
    return G.maximum(G.T).tocsr()


def summary(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1e3
    return {"median_ms": round(float(np.median(ms)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "max_ms": round(float(ms.max()), 2)}


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("-k", type=int, default=15)
    ap.add_argument("--thresholds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    # Compile (or load from the numba cache) outside the timings.
    wi, ws = synthetic_knn(50, 5, 1)
    wa, wb, wsim = merge_tree(50, wi, ws)
    components_at(50, wa, wb, wsim, 0.5)
    ThresholdClusters(50, wa, wb, wsim).labels(0.5)
    cluster_table(np.zeros(3, np.int32))

    (idx, sim), t_data = timed(synthetic_knn, args.n, args.k, args.seed)
    n = args.n
    (a, b, s), t_tree = timed(merge_tree, n, idx, sim)
    tc, t_setup = timed(ThresholdClusters, n, a, b, s)
    G = knn_csr(idx, sim)

    rng = np.random.default_rng(args.seed)
    thresholds = np.quantile(s, np.linspace(0.02, 0.98, args.thresholds)).astype(np.float64)
    rng.shuffle(thresholds)

    ours, view, view_hit, table, peer_graph, peer_tree = [], [], [], [], [], []
    clusters, agree = [], True
    for t in thresholds:
        labels, sec = timed(components_at, n, a, b, s, t)
        ours.append(sec)
        labels2, sec = timed(tc.labels, t)
        view.append(sec)
        _, sec = timed(tc.labels, t)
        view_hit.append(sec)
        _, sec = timed(cluster_table, labels2, 2)
        table.append(sec)

        t0 = time.perf_counter()
        H = G.copy()
        H.data[H.data < np.float32(t)] = 0  # the same float32 rounding of t as ours
        H.eliminate_zeros()
        nc, ref = connected_components(H, directed=False)
        peer_graph.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        m = tc.edges_at(t)
        F = sp.csr_matrix((np.ones(m, np.int8), (a[:m], b[:m])), shape=(n, n))
        connected_components(F, directed=False)
        peer_tree.append(time.perf_counter() - t0)

        agree &= bool(np.array_equal(labels, renumber_by_size(ref))
                      and np.array_equal(labels, labels2))
        clusters.append(int(nc))

    med = lambda xs: float(np.median(xs))  # noqa: E731
    doc = {
        "benchmark": "threshold",
        "n": n, "k": args.k, "thresholds": len(thresholds), "seed": args.seed,
        "tree_edges": int(len(a)),
        "graph_edges_undirected": int(G.nnz // 2),
        "components_range": [min(clusters), max(clusters)],
        "data_seconds": round(t_data, 2),
        "merge_tree_seconds": round(t_tree, 3),
        "threshold_clusters_setup_seconds": round(t_setup, 3),
        "per_new_threshold": {
            "components_at": summary(ours),
            "ThresholdClusters.labels": summary(view),
            "ThresholdClusters.labels_cached": summary(view_hit),
            "cluster_table_min_size_2": summary(table),
            "peer_scipy_thresholded_knn_graph": summary(peer_graph),
            "peer_scipy_tree_prefix": summary(peer_tree),
        },
        "ratio_median": {
            "peer_knn_graph_over_components_at": round(med(peer_graph) / med(ours), 1),
            "peer_knn_graph_over_threshold_clusters": round(med(peer_graph) / med(view), 1),
            "peer_tree_prefix_over_components_at": round(med(peer_tree) / med(ours), 1),
            "peer_tree_prefix_over_threshold_clusters": round(med(peer_tree) / med(view), 1),
        },
        "partitions_agree_with_peer": agree,
        "target_ms_per_threshold_at_1M": 50,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "numpy": np.__version__, "scipy": scipy.__version__,
                    "numba": numba.__version__},
    }
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
