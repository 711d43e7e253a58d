"""embtui engine: computes embeddings, neighbour graphs, layouts and clusters, cached in DuckDB."""

__version__ = "0.1.0"
