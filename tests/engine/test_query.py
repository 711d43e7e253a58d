"""Nearest entities to a new vector: exact, against a direct computation, in small blocks."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import InputError
from engine.heatmap import similarity_matrix
from engine.query import check_query_vector, nearest, read_vector_file


def blocks_of(X, size):
    for lo in range(0, len(X), size):
        yield np.arange(lo, min(lo + size, len(X))), X[lo:lo + size]


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot"])
@pytest.mark.parametrize("size", [1, 7, 1000])
def test_nearest_is_the_direct_ranking(metric, size):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    X[50] = X[10]  # a tie: the lower index first
    q = X[10] + 0.0
    idx, sim = nearest(blocks_of(X, size), q, 9, metric)
    S = similarity_matrix(np.vstack([q[None], X]), metric)[0, 1:]
    want = np.lexsort((np.arange(len(X)), -S))[:9]
    assert idx.tolist() == want.tolist()
    np.testing.assert_allclose(sim, S[want].astype(np.float32), rtol=1e-6)
    if metric != "dot":  # the query is entity 10 (and its copy 50): them first, in order
        assert idx[:2].tolist() == [10, 50]


def test_more_asked_than_there_are():
    X = np.eye(3, dtype=np.float32)
    idx, _ = nearest(blocks_of(X, 2), np.array([1, 0, 0]), 10, "cosine")
    assert idx.tolist() == [0, 1, 2]


@pytest.mark.parametrize("v, needle", [
    (np.zeros((2, 4)), "one row of numbers"),
    (np.array(["a", "b", "c", "d"]), "one row of numbers"),
    (np.ones(3), "3 dimensions, the dataset's vectors 4"),
    (np.array([1.0, np.nan, 0, 0]), "NaN or infinity"),
    (np.zeros(4), "zero vector"),
])
def test_bad_query_vectors_are_one_line(v, needle):
    with pytest.raises(InputError, match=needle):
        check_query_vector(v, 4, "cosine", "q.npy")


def test_query_vector_forms():
    assert check_query_vector(np.ones((1, 4)), 4, "cosine", "q").shape == (4,)
    assert check_query_vector(np.zeros(4), 4, "dot", "q").dtype == np.float32


def test_vector_files(tmp_path):
    np.save(tmp_path / "q.npy", np.arange(4.0))
    assert read_vector_file(str(tmp_path / "q.npy")).tolist() == [0, 1, 2, 3]
    with pytest.raises(InputError, match="no such file"):
        read_vector_file(str(tmp_path / "none.npy"))
    (tmp_path / "bad.npy").write_text("not an array")
    with pytest.raises(InputError, match="not a .npy array"):
        read_vector_file(str(tmp_path / "bad.npy"))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError, match="not a .npy array"):
        read_vector_file(str(tmp_path / "obj.npy"))


def test_the_dataset_answers_exactly(vectors_dataset, baskets_dataset):
    from engine.dataset import Dataset
    with Dataset.open(vectors_dataset) as ds:
        X = ds.vectors_of(np.arange(ds.n))
        got = ds.nearest_to(X[7], k=5)
        S = similarity_matrix(X, "cosine")[7]
        assert got.query == -1 and got.idx.tolist() == np.lexsort(
            (np.arange(ds.n), -S))[:5].tolist()
        assert got.idx[0] == 7 and len(ds.nearest_to(X[7]).idx) == ds.k
    with Dataset.open(baskets_dataset) as ds, pytest.raises(InputError, match="holds no vectors"):
        ds.nearest_to(np.ones(3))
