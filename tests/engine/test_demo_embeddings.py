"""The demo's other embeddings of its films: each as its write-up defines it, and compared."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from engine.dataset import Dataset
from sample_data.movielens import MIN_COUNT, demo_options, ratings_frame
from sample_data.movielens_embeddings import (
    SVD_FACTORS,
    build_demo_embeddings,
    genre_vectors,
    kept_likes,
    svd_vectors,
)


def test_genre_tf_idf_worked_by_hand():
    rows = []
    for film, genres in (("1", "A|B"), ("2", "A"), ("3", "(no genres listed)")):
        rows += [{"user": u, "movie": film, "title": film, "genres": genres, "year": 2000}
                 for u in range(MIN_COUNT)]
    ids, X = genre_vectors(pd.DataFrame(rows))
    assert ids.tolist() == ["1", "2"]  # the film without a genre has no vector
    # N = 2 films; df(A) = 2, df(B) = 1: idf(A) = ln(3/3) + 1 = 1, idf(B) = ln(3/2) + 1
    b = np.log(1.5) + 1
    assert X[0] == pytest.approx(np.array([1, b]) / np.hypot(1, b))
    assert X[1] == pytest.approx([1, 0])


@pytest.mark.slow
def test_svd_is_the_dense_decompositions_top_factors():
    frame = ratings_frame()
    ids, V = svd_vectors(frame)
    likes = kept_likes(frame).drop_duplicates(["user", "movie"])
    films = np.unique(likes["movie"].to_numpy())
    users = np.unique(likes["user"].to_numpy())
    M = np.zeros((len(users), len(films)))
    M[np.searchsorted(users, likes["user"]), np.searchsorted(films, likes["movie"])] = 1
    _, s, vt = np.linalg.svd(M, full_matrices=False)
    assert ids.tolist() == films.astype(str).tolist() and V.shape == (len(films), SVD_FACTORS)
    assert np.linalg.norm(V, axis=0) == pytest.approx(s[:SVD_FACTORS], rel=1e-4)
    # each factor is the dense one up to its sign (the top ones, whose gaps are clear)
    for j in range(8):
        col = vt[j] * s[j]
        assert min(np.abs(V[:, j] - col).max(), np.abs(V[:, j] + col).max()) < 1e-3 * s[j]


@pytest.mark.slow
def test_the_demo_takes_its_other_embeddings(demo_embeddings_dataset, tmp_path):
    out = tmp_path / "movielens.duckdb"
    shutil.copyfile(demo_embeddings_dataset, out)
    base = replace(demo_options(), layouts=("umap",))
    reports = build_demo_embeddings(str(out), base, which=["svd", "genres"])
    assert [r.up_to_date for _, r in reports] == [True, True]  # built once, then cached
    with Dataset.open(out) as first:
        assert first.embeddings == ["cooccurrence", "svd", "genres"]
        with first.with_embedding("svd") as svd:
            # the latent factors put The Empire Strikes Back beside its trilogy too
            near = {svd.ids[j] for j in svd.neighbors("1196").idx[:3]}
            assert {"260", "1210"} & near
        with first.with_embedding("genres") as genres:
            assert genres.dim == 19 and genres.kind == "vectors"
