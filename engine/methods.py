"""The names of the build's choices, defined once for the engine's checks and the CLI's options.

Plain tuples (and the similarity ranges) with no heavy imports, so the command line can read
them without loading numba or DuckDB.
"""

METRICS = ("cosine", "euclidean", "dot")
MEASURES = ("npmi", "ppmi", "pmi", "jaccard", "dice", "conditional", "inverse-log")
GRAPHS = ("association", "context")
# The context graph's similarity (engine.concepts): the method's σ on raw weights (default),
# or σ of the rows scaled to unit mass, 1 − ½‖p − q‖₁ (scale-free).
CONTEXT_MEASURES = ("sigma", "normalised-l1")
LAYOUTS = ("umap", "tsne", "mde-umap")
COMMUNITIES = ("label-propagation", "slpa", "kmeans")
# The merge tree behind the thresholds: the kNN graph's, the complete graph's (vectors, all
# pairs: engine.exact_tree), or auto, the complete graph's up to EXACT_TREE_MAX_N vectors.
MERGE_TREES = ("auto", "exact", "knn")
# Measured on 2 cores at d = 384 (benchmarks/bench_exact_tree.py): 20k vectors 3.6 s, 40k
# 25 s when clusters outgrow the candidate lists (a second pass over all pairs), about the
# time of the exact kNN graph itself at that size; the cost grows as N².
EXACT_TREE_MAX_N = 40_000

# The range of each neighbour graph's similarities (None: unbounded), by the metric, measure
# or graph that made them: cosine similarity, 1 / (1 + distance), the dot product; the
# association measures (engine.cooccur); the context graph's overlap (engine.concepts).
SIMILARITY_RANGES: dict[str, tuple[float | None, float | None]] = {
    "cosine": (-1.0, 1.0), "euclidean": (0.0, 1.0), "dot": (None, None),
    "npmi": (-1.0, 1.0), "ppmi": (0.0, None), "pmi": (None, None), "jaccard": (0.0, 1.0),
    "dice": (0.0, 1.0), "conditional": (0.0, 1.0), "inverse-log": (0.0, None),
    "context": (0.0, 1.0),
}


def check_threshold(threshold: float, similarity: str | None) -> None:
    """Refuse a threshold no similarity of this kind can reach (and NaN or infinity)."""
    import math

    from engine.errors import InputError
    lo, hi = SIMILARITY_RANGES.get(similarity or "", (None, None))
    if not math.isfinite(threshold):
        raise InputError(f"--threshold must be a number (got {threshold})")
    if (lo is not None and threshold < lo) or (hi is not None and threshold > hi):
        span = (("(-∞" if lo is None else f"[{lo:g}") + ", "
                + ("∞)" if hi is None else f"{hi:g}]"))
        raise InputError(f"--threshold {threshold:g} is outside {span}, the range of "
                         f"{similarity} similarities")
