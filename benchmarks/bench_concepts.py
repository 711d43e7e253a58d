"""Concepts pipeline on synthetic power-law collections; prints one JSON document.

Data: `--n` entities with Zipf popularity, each belonging to one latent topic; collections
pick a topic and draw most members from it (popular ones more often), the rest from the whole
catalogue, so there is structure to find and hubs to cap. Steps timed: co-occurrence,
association (npmi, then conditional, whose top partners are popular entities, so hubs
appear), correlation graph, context similarity under each context measure (the method's σ and
the normalised-l1 variant, side by side with their topic purity). Peer, same data, same run:
the naive candidate generation G·Gᵀ over each row's corr_k strongest edges (scipy sparse
product, no in-degree cap), run in a child process with a memory and time bound and reported
as stopped when it exceeds either.

    .venv/bin/python benchmarks/bench_concepts.py            # 50k entities, ~3M memberships
    .venv/bin/python benchmarks/bench_concepts.py --n 5000 --memberships 300000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import time

import numba
import numpy as np
import scipy.sparse as sp

from engine.concepts import cap_in_degree, context_similarity, correlation_graph, in_degrees
from engine.cooccur import association, cooccurrence, top_k


def synthetic(n: int, memberships: int, *, topics: int, in_topic: float, zipf: float,
              seed: int):
    """(coll, ent, n_collections, topic_of): power-law memberships drawn from latent topics."""
    rng = np.random.default_rng(seed)
    topic_of = rng.integers(topics, size=n)
    popularity = 1.0 / np.arange(1, n + 1) ** zipf
    popularity = popularity[rng.permutation(n)]
    # Entities grouped by topic; a draw inside topic t is a uniform number in t's slice of the
    # cumulative popularity, found by binary search.
    order = np.argsort(topic_of, kind="stable")
    cum = np.cumsum(popularity[order])
    starts = np.searchsorted(topic_of[order], np.arange(topics + 1))
    lo = np.r_[0.0, cum][starts[:-1]]
    hi = np.r_[0.0, cum][starts[1:]]
    # Basket sizes: lognormal, mean ≈ 12, a heavy tail of big baskets up to 1000.
    sizes = np.clip(np.rint(np.exp(rng.normal(np.log(8), 0.9, size=memberships // 10))),
                    1, 1000).astype(np.int64)
    sizes = sizes[np.cumsum(sizes) <= memberships]
    n_coll = len(sizes)
    coll = np.repeat(np.arange(n_coll, dtype=np.int32), sizes)
    t = rng.integers(topics, size=n_coll)[coll]
    local = rng.random(len(coll)) < in_topic
    u = np.where(local, lo[t] + rng.random(len(coll)) * (hi[t] - lo[t]),
                 rng.random(len(coll)) * cum[-1])
    ent = order[np.minimum(np.searchsorted(cum, u, side="right"), n - 1)].astype(np.int32)
    return coll, ent, n_coll, topic_of


def _naive_child(indptr, indices, data, n, queue, mem_bytes):
    resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
    try:
        G = sp.csr_matrix((data, indices, indptr), shape=(n, n))
        t0 = time.perf_counter()
        X = G @ G.T
        seconds = time.perf_counter() - t0
        queue.put({"seconds": seconds, "candidate_pairs": int(X.nnz - np.count_nonzero(
            X.diagonal()))})
    except MemoryError:
        queue.put({"stopped": f"exceeded the {mem_bytes / 2**30:.0f} GiB memory bound"})


def naive_peer(G: sp.csr_matrix, timeout: float, mem_gib: float) -> dict:
    queue: mp.Queue = mp.get_context("fork").Queue()
    proc = mp.get_context("fork").Process(
        target=_naive_child, args=(G.indptr, G.indices, G.data, G.shape[0], queue,
                                   int(mem_gib * 2**30)))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return {"stopped": f"exceeded the {timeout:.0f} s time bound"}
    return queue.get() if not queue.empty() else {"stopped": f"exit code {proc.exitcode}"}


def topic_purity(idx: np.ndarray, topic_of: np.ndarray) -> float:
    """Share of similarity-graph neighbours in the entity's own latent topic."""
    ok = idx >= 0
    same = topic_of[np.where(ok, idx, 0)] == topic_of[:, None]
    return float(same[ok].mean()) if ok.any() else float("nan")


def run_measure(measure: str, C, n_coll: int, topic_of, args) -> dict:
    times = {}
    t = time.perf_counter()
    S = association(C, n_coll, measure)
    times["association"] = time.perf_counter() - t
    t = time.perf_counter()
    G = correlation_graph(S)
    times["correlation_graph"] = time.perf_counter() - t
    contexts = {}
    for cm in args.context_measures.split(","):
        t = time.perf_counter()
        X, stats = context_similarity(G, in_degree_cap=args.in_degree_cap,
                                      threshold=args.threshold, k=args.k, corr_k=args.corr_k,
                                      measure=cm, return_stats=True)
        seconds = time.perf_counter() - t
        ctx_idx, _ = top_k(X, args.k)
        contexts[cm] = {"seconds": round(seconds, 3),
                        "topic_purity": topic_purity(ctx_idx, topic_of), "sizes": stats}
    direct_idx, _ = top_k(S, args.k)
    # Σ in-degree² over the edges Λ runs over (each row's corr_k strongest): the work bound.
    scored = top_k(G, args.corr_k).to_csr()
    capped = top_k(cap_in_degree(G, args.in_degree_cap), args.corr_k).to_csr()
    peer = naive_peer(scored, args.peer_timeout, args.peer_mem_gib)
    first = contexts[next(iter(contexts))]
    run = {
        "measure": measure,
        "seconds": {k: round(v, 3) for k, v in times.items()},
        "association_nnz": int(S.nnz),
        "two_hop_paths": {"uncapped": int((in_degrees(scored).astype(np.int64) ** 2).sum()),
                          "capped": int((in_degrees(capped).astype(np.int64) ** 2).sum())},
        "context": contexts,
        "topic_purity": {**{f"context_{cm}": c["topic_purity"] for cm, c in contexts.items()},
                         "direct_association": topic_purity(direct_idx, topic_of)},
        "peer_naive_GGt": peer,
    }
    if "seconds" in peer:
        run["ratios"] = {
            "naive_GGt_seconds_over_context_similarity": round(
                peer["seconds"] / max(first["seconds"], 1e-9), 2),
            "naive_candidates_over_capped": round(
                peer["candidate_pairs"] / max(first["sizes"]["candidate_pairs"], 1), 2)}
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000, help="entities")
    ap.add_argument("--memberships", type=int, default=3_000_000)
    ap.add_argument("--topics", type=int, default=None, help="default n // 250")
    ap.add_argument("--in-topic", type=float, default=0.85)
    ap.add_argument("--zipf", type=float, default=1.0)
    ap.add_argument("--measures", default="npmi,conditional",
                    help="comma-separated; conditional makes popular entities hubs")
    ap.add_argument("--corr-k", type=int, default=50)
    ap.add_argument("--in-degree-cap", type=int, default=1000)
    ap.add_argument("--threshold", type=float, default=0.0)
    ap.add_argument("--context-measures", default="sigma,normalised-l1",
                    help="comma-separated engine.methods.CONTEXT_MEASURES")
    ap.add_argument("-k", type=int, default=15)
    ap.add_argument("--peer-timeout", type=float, default=120.0)
    ap.add_argument("--peer-mem-gib", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    topics = args.topics or max(4, args.n // 250)
    measures = args.measures.split(",")

    t0 = time.perf_counter()
    coll, ent, n_coll, topic_of = synthetic(args.n, args.memberships, topics=topics,
                                            in_topic=args.in_topic, zipf=args.zipf,
                                            seed=args.seed)
    gen_s = time.perf_counter() - t0

    # Compile every kernel on a tiny input first, so the timings are of the work alone.
    tiny = synthetic(200, 3000, topics=4, in_topic=0.8, zipf=1.0, seed=1)
    Ct = cooccurrence(tiny[0], tiny[1], 200, tiny[2])
    for measure in measures:
        for cm in args.context_measures.split(","):
            context_similarity(correlation_graph(association(Ct, tiny[2], measure)), k=5,
                               corr_k=10, measure=cm)

    t = time.perf_counter()
    C = cooccurrence(coll, ent, args.n, n_coll)
    cooc_s = time.perf_counter() - t
    runs = [run_measure(m, C, n_coll, topic_of, args) for m in measures]
    for run in runs:
        run["seconds"]["pipeline_total"] = round(
            cooc_s + sum(run["seconds"].values()) + max(
                c["seconds"] for c in run["context"].values()), 3)
    sizes = np.bincount(coll, minlength=n_coll).astype(np.int64)
    result = {
        "benchmark": "concepts",
        "machine": {"cpus": os.cpu_count(), "numba_threads": numba.get_num_threads(),
                    "python": platform.python_version()},
        "data": {"entities": args.n, "memberships": int(len(coll)), "collections": n_coll,
                 "topics": topics, "zipf": args.zipf, "in_topic": args.in_topic,
                 "largest_collection": int(sizes.max()),
                 "pair_contributions": int((sizes ** 2).sum()),
                 "generate_seconds": round(gen_s, 3)},
        "params": {"corr_k": args.corr_k, "in_degree_cap": args.in_degree_cap,
                   "threshold": args.threshold, "k": args.k,
                   "context_measures": args.context_measures.split(",")},
        "cooccurrence": {"seconds": round(cooc_s, 3), "nnz": int(C.nnz)},
        "runs": runs,
        "target": "whole pipeline (co-occurrence → context similarity) < 60 s on 2 cores",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
