"""Synthetic data for the benchmarks: a kNN graph with clusters at every scale, and a dataset
file holding it as a build would leave it (written with the engine's store)."""

from __future__ import annotations

import os
import time

import numpy as np
import pyarrow as pa
from scipy.spatial import cKDTree

from engine.knngraph import KnnGraph


def synthetic_knn(n: int, k: int, seed: int) -> KnnGraph:
    """`n` points in 3-D from many Gaussian blobs of varied spread plus a uniform background,
    their exact k nearest neighbours (scipy cKDTree), similarity 1 / (1 + d / scale)."""
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
    return KnnGraph(i.astype(np.int32),
                    (1.0 / (1.0 + d / np.median(d[:, 0]))).astype(np.float32))


def write_dataset(path: str, n: int, seed: int, *, k: int = 15, layout: bool = True,
                  communities: bool = True) -> float:
    """Write an n-entity dataset with every step valid: entities (labels like "entity 123456
    tal" and a metadata column), the kNN graph, the merge tree, and optionally a layout (each
    point's noise averaged with its neighbours', so neighbourhoods stay together) and label
    propagation communities. Returns the seconds it took."""
    from engine.clusters import merge_tree
    from engine.pipeline import BuildOptions, plan
    from engine.store import Store

    t0 = time.perf_counter()
    graph = synthetic_knn(n, k, seed)
    idx, sim = graph
    rng = np.random.default_rng(seed)
    a, b, s = merge_tree(n, idx, sim)
    syllables = np.array(["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo"])
    words = np.char.add(np.char.add(syllables[rng.integers(8, size=n)],
                                    syllables[rng.integers(8, size=n)]),
                        syllables[rng.integers(8, size=n)])
    ids = np.char.mod("%d", np.arange(n))
    labels = np.char.add(np.char.add("entity ", ids), np.char.add(" ", words))
    entities = pa.table({"idx": np.arange(n, dtype=np.int32), "id": ids.astype(object),
                         "label": labels.astype(object), "weight": np.ones(n),
                         "shelf": syllables[rng.integers(8, size=n)].astype(object)})
    opt = BuildOptions(kind="vectors", k=k, layouts=("umap",) if layout else (),
                       communities=("label-propagation",) if communities else ())
    store = Store.create(path)
    with store.transaction():
        store.replace_entities(entities, None, None)
        store.set_meta({"kind": "vectors", "dim": "", "n_collections": 0})
        store.replace_knn(idx, sim)
        store.replace_merge_tree(a, b, s)
        if layout:
            xy = rng.normal(size=(n, 2)).astype(np.float32)
            store.replace_layout("umap", (xy + xy[idx].mean(axis=1)) / 2)
        if communities:
            from engine.communities import label_propagation
            G = graph.to_csr(positive=True)
            store.replace_communities("label-propagation",
                                      label_propagation(G.maximum(G.T).tocsr(), seed=seed))
        for step in plan(opt, "synthetic", n).values():
            store.record_step(step.name, step.params, step.key, 0.0)
    store.close()
    return time.perf_counter() - t0
