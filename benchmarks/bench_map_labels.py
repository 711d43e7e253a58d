"""Cluster labels and trust at scale: what the explorer's `names` and `trust` workers run, in a
fresh process on a synthetic dataset file (benchmarks/synthetic.py), with peers in the same
run: scikit-learn's CountVectorizer building the same bags of label words, and
sklearn.manifold.trustworthiness on the same sample.

    python benchmarks/bench_map_labels.py [--n 1000000] [--path /tmp/bench-1m.duckdb]

Prints JSON. Each figure is a step of the worker's path (Dataset.term_bags once per open file,
then per threshold change Dataset.cluster_names + tui.state.cluster_centres for the first 300
listed clusters; Dataset.trust once per layout), timed in the process that opened the file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def child(path: str) -> dict:
    import numpy as np

    from engine.dataset import Dataset
    from engine.trust import sample_k, sample_of, trustworthiness
    from tui.state import cluster_centres, opening_threshold
    out = {}
    t = time.perf_counter()
    ds = Dataset.open(path)
    labels, xy = ds.labels, ds.layout()
    ds.knn  # noqa: B018 - loaded before the timings, as the explorer has it by then
    out["open_and_load_s"] = time.perf_counter() - t
    view = ds.clusters(threshold=opening_threshold(ds))
    out["clusters"] = len(view)
    t = time.perf_counter()
    bags = ds.term_bags
    out["term_bags_s"] = time.perf_counter() - t
    out["terms"] = int(bags.counts.shape[1])
    out["term_entries"] = int(bags.counts.nnz)
    t = time.perf_counter()
    names = ds.cluster_names(view, 300)
    x, y = cluster_centres(view, xy, 300)
    out["names_300_s"] = time.perf_counter() - t
    t = time.perf_counter()
    ds.cluster_names(view)
    out["names_all_s (clusters --json)"] = time.perf_counter() - t
    out["first_labels"] = names.labels[:3]
    t = time.perf_counter()
    trust = ds.trust()
    out["trust_s"] = time.perf_counter() - t
    out["kept_mean"] = trust.mean
    out["trustworthiness"] = trust.trustworthiness
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # peers, same data
    from sklearn.feature_extraction.text import CountVectorizer
    t = time.perf_counter()
    CountVectorizer(token_pattern=r"(?u)\b\w\w+\b").fit_transform(labels.astype(object))
    out["peer_countvectorizer_labels_s"] = time.perf_counter() - t
    idx = sample_of(ds.n)
    S, _ = ds._sample_similarity(idx)
    if S is None:  # the synthetic file stores no vectors: similarities from its 3-D layout
        rng = np.random.default_rng(0)
        P = xy[idx] + rng.normal(scale=0.5, size=(len(idx), 2))
        S = -np.sqrt(((P[:, None] - P[None]) ** 2).sum(axis=2))
        out["trustworthiness_sample_similarity"] = "synthetic (no vectors stored)"
    k = sample_k(ds.k, len(idx))
    t = time.perf_counter()
    ours = trustworthiness(S, xy[idx], k)
    out["trustworthiness_inner_s (1000 sampled)"] = time.perf_counter() - t
    from sklearn.manifold import trustworthiness as sk
    D = np.nanmax(S) - np.where(np.isnan(S), np.nanmin(S), S)
    np.fill_diagonal(D, 0)
    t = time.perf_counter()
    theirs = sk(D, xy[idx], n_neighbors=k, metric="precomputed")
    out["peer_sklearn_trustworthiness_s (1000 sampled)"] = time.perf_counter() - t
    out["trustworthiness_agrees"] = bool(abs(ours - theirs) < 1e-9)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--path", default=None)
    ap.add_argument("--child", default=None)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    from synthetic import write_dataset
    path = args.path or f"/tmp/bench-labels-{args.n}.duckdb"
    if not os.path.exists(path):
        write_dataset(path, args.n, seed=0)
    res = subprocess.run([sys.executable, __file__, "--child", path], capture_output=True,
                         text=True, check=True)
    doc = {"n": args.n, **json.loads(res.stdout.strip().splitlines()[-1])}
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
