"""t-SNE beside UMAP on the same kNN graph: time and trustworthiness, each in a fresh process.

    python benchmarks/bench_tsne.py [--k 15 --k 90]

On sklearn's digits (1,797 × 64, offline). For each k the exact euclidean kNN graph is built
once (engine.knn), then each layout runs in its own process from that graph, the way the
build's layout step runs: `engine.layout.tsne_layout` (openTSNE from the stored rows,
perplexity k / 3) and `engine.layout.umap_layout`. Peers, same run, fresh processes, from the
vectors: openTSNE's `TSNE().fit(X)` (its own neighbours, perplexity 30) and umap-learn's
`UMAP().fit(X)`. Trustworthiness is sklearn's at 15 neighbours against the vectors. Prints
JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def child(method: str, graph: str | None) -> dict:
    from sklearn.datasets import load_digits
    from sklearn.manifold import trustworthiness
    X = load_digits().data.astype(np.float32)
    t = time.perf_counter()
    if method in ("tsne", "umap"):
        from engine import layout
        g = np.load(graph)
        fn = layout.tsne_layout if method == "tsne" else layout.umap_layout
        Y = fn(g["idx"], g["sim"], "euclidean", seed=0)
    elif method == "openTSNE":
        from openTSNE import TSNE
        Y = np.asarray(TSNE(random_state=0, n_jobs=1).fit(X))
    else:
        from umap import UMAP
        Y = UMAP(random_state=0).fit_transform(X)
    seconds = time.perf_counter() - t
    return {"seconds": round(seconds, 2),
            "trustworthiness": round(float(trustworthiness(X, Y, n_neighbors=15)), 4)}


def run(method: str, graph: str | None = None) -> dict:
    args = [sys.executable, __file__, "--child", method] + ([graph] if graph else [])
    res = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, action="append")
    ap.add_argument("--child", nargs="+")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1] if len(args.child) > 1 else None)))
        return
    from sklearn.datasets import load_digits

    from engine.knn import knn_vectors
    X = load_digits().data.astype(np.float32)
    doc = {"data": "sklearn digits", "n": len(X), "graphs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for k in args.k or [15, 90]:
            idx, sim = knn_vectors(X, k, "euclidean")
            path = os.path.join(tmp, f"knn{k}.npz")
            np.savez(path, idx=idx, sim=sim)
            doc["graphs"][f"k={k}"] = {"tsne (ours, perplexity k/3)": run("tsne", path),
                                       "umap (ours)": run("umap", path)}
    doc["peers"] = {"openTSNE TSNE().fit(X), perplexity 30": run("openTSNE"),
                    "umap-learn UMAP().fit(X)": run("umap-learn")}
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
