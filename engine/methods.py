"""The names of the build's choices, defined once for the engine's checks and the CLI's options.

Plain tuples with no heavy imports, so the command line can read them without loading numba
or DuckDB.
"""

METRICS = ("cosine", "euclidean", "dot")
MEASURES = ("npmi", "ppmi", "jaccard", "conditional", "inverse-log")
GRAPHS = ("association", "context")
LAYOUTS = ("umap", "mde-umap")
COMMUNITIES = ("label-propagation", "slpa", "kmeans")
