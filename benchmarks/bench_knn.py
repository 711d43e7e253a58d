"""kNN graph + UMAP layout + merge tree at 100k × 384, against pynndescent and umap-learn.

    python benchmarks/bench_knn.py [--n 100000] [--dim 384] [--k 15] [--seed 0] [--queries 1000]

Prints one JSON document. Every system runs in its own fresh Python process, as a build
would, so each pays its own numba compilation (pynndescent's is ~30 s and cannot be cached)
and none warms another's; `ours.knn_warm_seconds` is our kNN run a second time in the same
process, without compilation.

Measured:
- exact: exact neighbours of `--queries` random rows (blocked BLAS), the reference for recall@k;
- ours: engine.knn.knn_vectors, engine.layout.umap_layout, engine.clusters.merge_tree;
- pynndescent: NNDescent(X, metric="cosine", n_neighbors=k + 1, random_state=seed), everything
  else at its defaults (k + 1 because it lists each point itself);
- umap-learn: umap.UMAP(n_neighbors=15, random_state=seed).fit(X), its whole pipeline.

Data (`synthetic_embeddings`): sentence-embedding-like vectors. 40 topics × 8 subtopics of a
24-dimensional latent space (topic centres N(0, 1), subtopic offsets N(0, 0.5²), points
N(0, 0.35²) around their subtopic, subtopic sizes Zipf-like with exponent 0.7), mapped into
`dim` dimensions through a random two-layer tanh map (a curved low-dimensional manifold),
shifted by a shared random direction (real embeddings are anisotropic), plus isotropic noise
at half the signal's norm, then L2-normalised. Cosine similarity of a point to its nearest
neighbour is then ≈ 0.78, to its 15th ≈ 0.75, and ≈ 0.11 between random pairs.
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


def synthetic_embeddings(n: int, dim: int = 384, *, seed: int = 0, latent: int = 24,
                         topics: int = 40, subtopics: int = 8,
                         noise: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((topics, latent))
    sub = centres[:, None, :] + 0.5 * rng.standard_normal((topics, subtopics, latent))
    sub = sub.reshape(-1, latent)
    weight = 1.0 / np.arange(1, len(sub) + 1) ** 0.7
    weight = rng.permutation(weight / weight.sum())
    z = sub[rng.choice(len(sub), size=n, p=weight)] + 0.35 * rng.standard_normal((n, latent))
    W1 = rng.standard_normal((latent, 128)) / np.sqrt(latent)
    W2 = rng.standard_normal((128, dim)) / np.sqrt(128)
    X = np.tanh(z @ W1) @ W2
    X += 0.25 * rng.standard_normal(dim)
    scale = np.linalg.norm(X, axis=1).mean()
    X += noise * scale / np.sqrt(dim) * rng.standard_normal((n, dim))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32)


# ---- workers: each runs in a fresh process and prints a JSON line ---------------------------

def work_exact(X, args, out):
    from engine.knn import knn_exact
    rows = np.load(os.path.join(out, "rows.npy"))
    t = time.perf_counter()
    idx, _ = knn_exact(X, args.k, "cosine", rows=rows)
    seconds = time.perf_counter() - t
    np.save(os.path.join(out, "exact.npy"), idx)
    return {"seconds": seconds, "rows": len(rows)}


def work_ours(X, args, out):
    from engine.knn import knn_vectors
    from engine.layout import umap_layout
    res = {}
    t = time.perf_counter()
    idx, sim = knn_vectors(X, args.k, "cosine", seed=args.seed)
    res["knn_seconds"] = time.perf_counter() - t
    np.save(os.path.join(out, "ours.npy"), idx)
    t = time.perf_counter()
    umap_layout(idx, sim, "cosine", seed=args.seed)
    res["umap_seconds"] = time.perf_counter() - t
    try:
        from engine.clusters import merge_tree
    except ImportError as e:
        res["merge_tree_seconds"] = None
        res["merge_tree_missing"] = str(e)
    else:
        t = time.perf_counter()
        merge_tree(len(X), idx, sim)
        res["merge_tree_seconds"] = time.perf_counter() - t
    res["total_seconds"] = sum(res[key] or 0.0 for key in
                               ("knn_seconds", "umap_seconds", "merge_tree_seconds"))
    t = time.perf_counter()
    knn_vectors(X, args.k, "cosine", seed=args.seed)
    res["knn_warm_seconds"] = time.perf_counter() - t
    return res


def work_pynndescent(X, args, out):
    from pynndescent import NNDescent
    t = time.perf_counter()
    nb = NNDescent(X, metric="cosine", n_neighbors=args.k + 1,
                   random_state=args.seed).neighbor_graph[0]
    seconds = time.perf_counter() - t
    keep = nb != np.arange(len(nb))[:, None]  # drop the point itself, keep k
    order = np.argsort(~keep, axis=1, kind="stable")[:, :args.k]
    np.save(os.path.join(out, "pynndescent.npy"), np.take_along_axis(nb, order, 1))
    return {"seconds": seconds}


def work_umap_learn(X, args, out):
    import umap
    t = time.perf_counter()
    umap.UMAP(n_neighbors=15, random_state=args.seed).fit(X)
    return {"seconds": time.perf_counter() - t}


WORKERS = {"exact": work_exact, "ours": work_ours, "pynndescent": work_pynndescent,
           "umap-learn": work_umap_learn}


def recall(found: np.ndarray, rows: np.ndarray, exact: np.ndarray) -> float:
    hits = [len(set(found[r]) & set(e)) for r, e in zip(rows, exact, strict=True)]
    return float(np.sum(hits) / exact.size)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--k", type=int, default=15)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    p.add_argument("--dir", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.worker:
        X = np.load(os.path.join(args.dir, "X.npy"))
        print(json.dumps(WORKERS[args.worker](X, args, args.dir)))
        return

    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        X = synthetic_embeddings(args.n, args.dim, seed=args.seed)
        gen_seconds = time.perf_counter() - t
        np.save(os.path.join(out, "X.npy"), X)
        rows = np.sort(np.random.default_rng(args.seed + 1).choice(
            args.n, min(args.queries, args.n), replace=False))
        np.save(os.path.join(out, "rows.npy"), rows)
        del X
        runs = {}
        for name in ("exact", "ours", "pynndescent", "umap-learn"):
            cmd = [sys.executable, __file__, "--worker", name, "--dir", out]
            cmd += [f"--{a}={getattr(args, a)}" for a in ("n", "dim", "k", "seed", "queries")]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"{name} failed:\n{done.stderr}")
            runs[name] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{name}: {runs[name]}", file=sys.stderr)
        exact = np.load(os.path.join(out, "exact.npy"))
        ours = runs["ours"]
        ours["recall"] = recall(np.load(os.path.join(out, "ours.npy")), rows, exact)
        runs["pynndescent"]["recall"] = recall(np.load(os.path.join(out, "pynndescent.npy")),
                                               rows, exact)

    from engine.knn import EXACT_MAX_N
    umap_s = runs["umap-learn"]["seconds"]
    report = {
        "n": args.n, "dim": args.dim, "k": args.k, "seed": args.seed, "cores": os.cpu_count(),
        "data": "synthetic_embeddings (see module docstring)",
        "data_seconds": gen_seconds,
        "knn_path": "exact" if args.n <= EXACT_MAX_N else "nndescent",
        "exact_sample": {"rows": runs["exact"]["rows"], "seconds": runs["exact"]["seconds"],
                         "full_estimate_seconds": runs["exact"]["seconds"] * args.n
                         / runs["exact"]["rows"]},
        "ours": ours,
        "pynndescent_defaults": runs["pynndescent"],
        "umap_learn": runs["umap-learn"],
        "ratios": {
            "ours_total_over_umap_learn": ours["total_seconds"] / umap_s,
            "ours_knn_over_pynndescent": ours["knn_seconds"] / runs["pynndescent"]["seconds"],
            "ours_recall_minus_pynndescent": ours["recall"] - runs["pynndescent"]["recall"],
        },
        "targets": {
            "recall_at_least_0.95": ours["recall"] >= 0.95,
            "total_at_most_120s": ours["total_seconds"] <= 120.0,
            "total_not_slower_than_umap_learn": ours["total_seconds"] <= umap_s,
            "merge_tree_measured": ours["merge_tree_seconds"] is not None,
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
