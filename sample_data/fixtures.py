"""Small synthetic inputs with known structure, for tests and examples."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

# Labels that must show as text, never as markup or terminal control.
ODD_LABELS = ["[bold red]x[/]", "\x1b]52;c;aGk=\x07evil", "\u202eabc", "a\u200bb", "", None]


def blobs(n_per: int = 20, dim: int = 8, centers: int = 3, seed: int = 0):
    """Points in `centers` well-separated clusters on the unit sphere; returns (X, cluster)."""
    rng = np.random.default_rng(seed)
    mu = np.eye(dim, dtype=np.float32)[:centers] * 4.0
    cluster = np.repeat(np.arange(centers), n_per)
    X = mu[cluster] + rng.normal(scale=0.3, size=(len(cluster), dim)).astype(np.float32)
    return X.astype(np.float32), cluster


def vectors_table(n_per: int = 20, dim: int = 8, centers: int = 3, seed: int = 0) -> pa.Table:
    """id, label, group, embedding: `centers` named clusters plus a few odd labels."""
    X, cluster = blobs(n_per, dim, centers, seed)
    names = ["alpha", "beta", "gamma", "delta", "epsilon"]
    labels = [f"{names[c]} item {i}" for i, c in enumerate(cluster)]
    for j, odd in enumerate(ODD_LABELS):
        labels[j * 3 + 1] = odd
    return pa.table({
        "id": [f"e{i:03d}" for i in range(len(X))],
        "label": labels,
        "group": [names[c] for c in cluster],
        "embedding": pa.array(list(X), type=pa.list_(pa.float32())),
    })


def baskets(seed: int = 0, n_baskets: int = 300) -> pa.Table:
    """Shopping baskets from three themes; colas are substitutes (never bought together)."""
    rng = np.random.default_rng(seed)
    themes = [
        ["chips", "salsa", "pizza", "cola-a", "cola-b"],
        ["pasta", "tomato sauce", "parmesan", "basil", "olive oil"],
        ["coffee", "milk", "croissant", "butter", "jam"],
    ]
    rows = []
    for b in range(n_baskets):
        theme = themes[b % 3]
        chosen = [x for x in theme if rng.random() < 0.6]
        if "cola-a" in chosen and "cola-b" in chosen:
            chosen.remove("cola-b" if rng.random() < 0.5 else "cola-a")
        if rng.random() < 0.2:
            chosen.append(themes[rng.integers(3)][rng.integers(5)])
        for item in dict.fromkeys(chosen):
            rows.append((f"b{b:04d}", item))
    return pa.table({"basket": [r[0] for r in rows], "product": [r[1] for r in rows]})


def bridge_table(n_per: int = 10, seed: int = 0) -> pa.Table:
    """Two tight groups (left, right) and one entity, "bridge", halfway between them: with
    k = n_per every group member lists its n_per − 1 group mates and the bridge, so in the
    kNN graph the bridge is tied equally to both groups."""
    rng = np.random.default_rng(seed)
    left = np.array([1.0, 0.0, 0.0]) + rng.normal(scale=0.01, size=(n_per, 3))
    right = np.array([0.0, 1.0, 0.0]) + rng.normal(scale=0.01, size=(n_per, 3))
    X = np.vstack([left, [[0.5, 0.5, 0.0]], right]).astype(np.float32)
    labels = ([f"left {i}" for i in range(n_per)] + ["bridge"]
              + [f"right {i}" for i in range(n_per)])
    ids = [f"l{i}" for i in range(n_per)] + ["bridge"] + [f"r{i}" for i in range(n_per)]
    return pa.table({"id": ids, "label": labels,
                     "embedding": pa.array(list(X), type=pa.list_(pa.float32()))})
