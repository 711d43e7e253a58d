"""The MovieLens demo, end to end on the real ratings: what a film fan would check first."""

import importlib.util

import numpy as np
import pytest

from engine.dataset import Dataset
from engine.ingest import read_collections
from sample_data.movielens import MIN_COUNT, ratings_frame

pytestmark = pytest.mark.slow

TRILOGY = {"260", "1196", "1210"}  # Star Wars IV, V, VI


def test_demo_holds_what_it_says(demo_dataset):
    with Dataset.open(demo_dataset) as ds:
        assert ds.kind == "collections" and 1000 < ds.n < 2000
        assert {"genres", "year"} <= set(ds.metadata_columns)
        assert (ds.in_degree >= 0).all() and ds.k == 15
        expected = {"umap", "mde-umap"} if importlib.util.find_spec("pymde") else {"umap"}
        assert set(ds.layouts) == expected
        for name in ds.layouts:
            assert np.isfinite(ds.layout(name)).all()
        assert {"label-propagation", "slpa"} <= set(ds.community_methods)
        # every kept movie was liked (rating ≥ 4) by at least MIN_COUNT users
        weights = ds.metadata("weight")
        assert weights.min() >= MIN_COUNT


def test_star_wars_neighbours_are_its_sequels(demo_dataset):
    with Dataset.open(demo_dataset) as ds:
        nb = ds.neighbors("Star Wars: Episode IV - A New Hope", k=3)
        assert set(ds.ids[nb.idx[:2]]) == {"1196", "1210"}
        lotr = [r["label"] for r in ds.search("lord rings", limit=3)]
        assert all("Lord of the Rings" in label for label in lotr)


def test_raising_the_threshold_gives_the_trilogy_its_own_cluster(demo_dataset):
    with Dataset.open(demo_dataset) as ds:
        i = ds.resolve("260")
        alone_at = []
        for t in np.arange(0.40, 0.80, 0.01):
            labels = ds.threshold_labels(float(t))
            members = set(ds.ids[labels == labels[i]])
            if members == TRILOGY:
                alone_at.append(round(float(t), 2))
        assert alone_at, "no threshold separates the trilogy"


def test_a_movie_without_a_title_keeps_its_id_as_label():
    frame = ratings_frame()
    untitled = frame.loc[frame["title"].isna(), "movie"].astype(str).unique()
    assert len(untitled)  # the real data has these holes
    got = read_collections(frame, collection_col="user", entity_col="movie",
                           label_col="title", min_count=1)
    ids = got.entities.column("id").to_numpy(zero_copy_only=False)
    labels = got.entities.column("label").to_numpy(zero_copy_only=False)
    for movie in untitled:
        assert labels[ids == movie][0] == movie


def test_the_opening_threshold_shows_structure(demo_dataset):
    # Opening on one colour was the complaint: at the opening threshold no cluster may hold
    # more than a third of the films, and many mid-sized clusters show instead.
    from engine.clusters import structure
    from tui.state import opening_threshold
    with Dataset.open(demo_dataset) as ds:
        t = opening_threshold(ds)
        sizes = np.bincount(ds.threshold_labels(t))
        assert sizes.max() <= ds.n / 3
        assert structure(ds.threshold_labels(t)) == (sizes >= 3).sum() >= 10
        # the stored communities each put most films in one community: the clusters win
        assert ds.opening_communities(t) is None
