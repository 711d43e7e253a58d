"""Clusters at a moving similarity threshold, end to end through Dataset; prints one JSON
document.

Data: a dataset file with `--n` entities (benchmarks/synthetic.py: 3-D Gaussian blobs of
varied spread plus a uniform background, exact k nearest neighbours, similarity
1 / (1 + d / scale)), its merge tree, written with the engine's store as a build leaves it.

Timed, in one process after the kernels are compiled (or loaded from numba's cache) on a tiny
file: `Dataset.open`; the first `ds.clusters(threshold=t)` (reads the merge tree, sets up the
threshold structure, groups the clusters); then ~20 new thresholds (quantiles of the tree
similarities, shuffled) through `ds.clusters(threshold=t)`, each asked twice (the second time
its components come from the cache; the grouping runs again). Inner functions, timed alone on
the same thresholds and labelled as such: `ThresholdClusters.labels`, `components_at` and the
grouping (`engine.clusters.group`). Peers, same run, same thresholds: scipy
connected_components on the thresholded kNN graph (the stored graph, symmetric CSR built
once; per threshold: drop the edges below it, then components), and on the tree prefix (the
same forest edges ours use). Each threshold's partition is checked against the kNN-graph peer.

    .venv/bin/python benchmarks/bench_threshold.py             # 1M entities, k = 15
    .venv/bin/python benchmarks/bench_threshold.py --n 100000
    .venv/bin/python benchmarks/bench_threshold.py --file /tmp/t.duckdb   # keep the file
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

import numba
import numpy as np
import scipy
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synthetic import write_dataset  # noqa: E402

from engine.clusters import ThresholdClusters, components_at, group, renumber_by_size  # noqa: E402
from engine.dataset import Dataset  # noqa: E402


def summary(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1e3
    return {"median_ms": round(float(np.median(ms)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "max_ms": round(float(ms.max()), 2)}


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def warm_up(tmp: str) -> None:
    """Compile or load every kernel the timed calls use, on a tiny file."""
    path = os.path.join(tmp, "warm.duckdb")
    write_dataset(path, 200, 1, k=5, layout=False, communities=False)
    with Dataset.open(path) as ds:
        a, b, s = ds.merge_tree
        ds.clusters(threshold=float(np.median(s)))
        components_at(ds.n, a, b, s, 0.5)


def run(path: str, args) -> dict:
    ds, t_open = timed(Dataset.open, path)
    with ds:
        n = ds.n
        # The starting threshold: the median tree similarity (the explorer picks its own).
        start = time.perf_counter()
        a, b, s = ds.merge_tree
        t_first = float(np.median(s))
        first = ds.clusters(threshold=t_first)
        t_first_clusters = time.perf_counter() - start

        graph = ds.knn
        G = graph.to_csr()
        G = G.maximum(G.T).tocsr()
        tc = ThresholdClusters(n, a, b, s)  # the same structure, for the inner timings

        rng = np.random.default_rng(args.seed)
        thresholds = np.quantile(s, np.linspace(0.02, 0.98, args.thresholds)).astype(np.float64)
        rng.shuffle(thresholds)

        new, again, labels_only, comp_only, group_only = [], [], [], [], []
        peer_graph, peer_tree, clusters, listed = [], [], [], []
        agree = True
        for t in thresholds:
            t = float(t)
            cl, sec = timed(ds.clusters, threshold=t)
            new.append(sec)
            _, sec = timed(ds.clusters, threshold=t)
            again.append(sec)
            labels, sec = timed(tc.labels, t)
            labels_only.append(sec)
            direct, sec = timed(components_at, n, a, b, s, t)
            comp_only.append(sec)
            _, sec = timed(group, labels, 2)
            group_only.append(sec)

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

            agree &= bool(np.array_equal(cl.labels, renumber_by_size(ref))
                          and np.array_equal(cl.labels, direct))
            clusters.append(int(nc))
            listed.append(len(cl))

    med = lambda xs: float(np.median(xs))  # noqa: E731
    return {
        "benchmark": "threshold",
        "n": n, "k": graph.k, "thresholds": len(thresholds), "seed": args.seed,
        "tree_edges": int(len(a)),
        "graph_edges_undirected": int(G.nnz // 2),
        "components_range": [min(clusters), max(clusters)],
        "listed_clusters_range": [min(listed), max(listed)],
        "dataset_open_seconds": round(t_open, 3),
        "first_clusters_seconds": round(t_first_clusters, 3),
        "first_clusters_listed": len(first),
        "per_new_threshold": {
            "Dataset.clusters": summary(new),
            "Dataset.clusters_same_threshold_again": summary(again),
            "peer_scipy_thresholded_knn_graph": summary(peer_graph),
            "peer_scipy_tree_prefix": summary(peer_tree),
        },
        "inner_functions_per_new_threshold": {
            "ThresholdClusters.labels": summary(labels_only),
            "components_at": summary(comp_only),
            "group_min_size_2": summary(group_only),
        },
        "ratio_median": {
            "peer_knn_graph_over_dataset_clusters": round(med(peer_graph) / med(new), 1),
            "peer_tree_prefix_over_dataset_clusters": round(med(peer_tree) / med(new), 1),
        },
        "partitions_agree_with_peer": agree,
        "target_ms_per_threshold_at_1M": 50,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("-k", type=int, default=15)
    ap.add_argument("--thresholds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--file", help="dataset file to use; written first if it does not exist")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        warm_up(tmp)
        path = args.file or os.path.join(tmp, "threshold.duckdb")
        write_seconds = None
        if not os.path.exists(path):
            write_seconds = write_dataset(path, args.n, args.seed, k=args.k, layout=False,
                                          communities=False)
        doc = run(path, args)
        doc["write_file_seconds"] = None if write_seconds is None else round(write_seconds, 1)
        doc["file_mb"] = round(os.path.getsize(path) / 2**20, 1)
    doc["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                      "numpy": np.__version__, "scipy": scipy.__version__,
                      "numba": numba.__version__}
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
