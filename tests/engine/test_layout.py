"""Layouts from a kNN graph: shape, determinism per seed, structure kept, awkward graphs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from engine.errors import InputError
from engine.knn import knn_vectors
from engine.layout import fuzzy_graph, umap_layout

pytestmark = pytest.mark.slow  # runs UMAP (numba compile on first use)


@pytest.fixture(scope="module")
def blobs():
    """Two well-separated blobs of 60 points; the graph has no edge between them at k=8."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (60, 6)), rng.normal(8, 1, (60, 6))]).astype(np.float32)
    return knn_vectors(X, 8, "euclidean")


def _neighbours_closer_than_random(xy, idx):
    n = len(xy)
    rows = np.repeat(np.arange(n), idx.shape[1])
    cols = idx.ravel()
    ok = cols >= 0
    near = np.linalg.norm(xy[rows[ok]] - xy[cols[ok]], axis=1).mean()
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, n, 2000), rng.integers(0, n, 2000)
    far = np.linalg.norm(xy[a] - xy[b], axis=1).mean()
    return near < 0.5 * far


def test_umap_shape_finite_and_structure(blobs):
    idx, sim = blobs
    xy = umap_layout(idx, sim, "euclidean", seed=0, n_epochs=100)
    assert xy.shape == (120, 2) and xy.dtype == np.float32
    assert np.isfinite(xy).all()
    assert _neighbours_closer_than_random(xy, idx)
    # the blobs do not mix: every point is nearer its own blob's centre
    centres = np.array([xy[:60].mean(0), xy[60:].mean(0)])
    own = np.linalg.norm(xy[:, None] - centres[None], axis=2).argmin(1)
    assert (own == np.repeat([0, 1], 60)).all()


def test_umap_same_seed_same_coordinates(blobs):
    idx, sim = blobs
    a = umap_layout(idx, sim, "euclidean", seed=7, n_epochs=50)
    b = umap_layout(idx, sim, "euclidean", seed=7, n_epochs=50)
    c = umap_layout(idx, sim, "euclidean", seed=8, n_epochs=50)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_umap_connected_graph_deterministic():
    X = np.random.default_rng(3).normal(size=(80, 5)).astype(np.float32)
    idx, sim = knn_vectors(X, 10, "cosine")
    a = umap_layout(idx, sim, "cosine", seed=1, n_epochs=30)
    np.testing.assert_array_equal(a, umap_layout(idx, sim, "cosine", seed=1, n_epochs=30))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6])
def test_umap_tiny_graphs(n):
    X = np.arange(n * 2, dtype=np.float32).reshape(n, 2) ** 1.5
    idx, sim = knn_vectors(X, 15, "euclidean")  # N ≤ k: N - 1 neighbours each
    xy = umap_layout(idx, sim, "euclidean", seed=0, n_epochs=20)
    assert xy.shape == (n, 2) and np.isfinite(xy).all()


def test_umap_padded_and_disconnected_graph(blobs):
    idx, sim = blobs
    idx, sim = idx[:, :4].copy(), sim[:, :4].copy()
    idx[::3, 2:], sim[::3, 2:] = -1, np.nan  # co-occurrence style short rows
    # five entities with no neighbours at all, which nobody lists either
    idx = np.vstack([idx, np.full((5, 4), -1, np.int32)])
    sim = np.vstack([sim, np.full((5, 4), np.nan, np.float32)])
    xy = umap_layout(idx, sim, "cosine", seed=2, n_epochs=50)
    assert xy.shape == (125, 2) and np.isfinite(xy).all()
    assert len(np.unique(xy, axis=0)) == 125
    np.testing.assert_array_equal(xy, umap_layout(idx, sim, "cosine", seed=2, n_epochs=50))


def test_umap_graph_without_edges():
    idx = np.full((4, 3), -1, np.int32)
    sim = np.full((4, 3), np.nan, np.float32)
    xy = umap_layout(idx, sim, "dot", seed=0)
    assert xy.shape == (4, 2) and np.isfinite(xy).all()


def test_umap_dot_similarities(blobs):
    idx, sim = blobs
    xy = umap_layout(idx, 5.0 * sim - 2.0, "dot", seed=0, n_epochs=50)  # unbounded, negative
    assert np.isfinite(xy).all() and _neighbours_closer_than_random(xy, idx)


def test_umap_reports_progress(blobs):
    idx, sim = blobs
    calls = []
    umap_layout(idx, sim, "euclidean", seed=0, n_epochs=40,
                progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (40, 40)


def test_fuzzy_graph_ignores_padding_and_is_symmetric():
    idx = np.array([[1, 2], [0, -1], [0, -1], [-1, -1]], np.int32)
    dist = np.array([[0.1, 0.3], [0.1, np.nan], [0.3, np.nan], [np.nan, np.nan]], np.float32)
    G = fuzzy_graph(idx, dist).toarray()
    np.testing.assert_allclose(G, G.T)
    assert G[3].sum() == 0 and G[1, 2] == 0
    assert G[0, 1] == pytest.approx(1.0) and 0 < G[0, 2] <= 1


def test_mde_missing_is_a_clear_input_error(monkeypatch):
    import engine.layout
    monkeypatch.setitem(sys.modules, "pymde", None)  # import pymde → ImportError
    with pytest.raises(InputError, match=r"\[mde\] extra"):
        engine.layout.mde_umap_layout(np.zeros((3, 1), np.int32), np.ones((3, 1)), "cosine")


def test_importing_layout_does_not_import_torch():
    code = "import sys, engine.layout, engine.knn; sys.exit('torch' in sys.modules " \
           "or 'pymde' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_mde_umap_layout(blobs):
    pytest.importorskip("pymde")
    from engine.layout import mde_umap_layout
    idx, sim = blobs
    a = mde_umap_layout(idx, sim, "euclidean", seed=0)
    assert a.shape == (120, 2) and a.dtype == np.float32 and np.isfinite(a).all()
    assert _neighbours_closer_than_random(a, idx)
    np.testing.assert_array_equal(a, mde_umap_layout(idx, sim, "euclidean", seed=0))
    tri = np.array([[1, 2], [0, 2], [0, 1]], np.int32)
    tiny = mde_umap_layout(tri, np.full((3, 2), 0.5, np.float32), "euclidean", seed=0)
    assert tiny.shape == (3, 2) and np.isfinite(tiny).all()


def test_mde_edges_weigh_mutual_neighbours_double():
    from engine.layout import _neighbour_edges
    idx = np.array([[1, 2], [0, -1], [1, 0]], np.int32)  # 0↔1 both ways; 0→2, 2→0; 2→1
    edges, weights = _neighbour_edges(idx, 15)
    assert edges.tolist() == [[0, 1], [0, 2], [1, 2]]
    assert weights.tolist() == [2, 2, 1]
    edges, weights = _neighbour_edges(idx, 1)  # first neighbour only: 0→1, 1→0, 2→1
    assert edges.tolist() == [[0, 1], [1, 2]] and weights.tolist() == [2, 1]


def test_mde_embeds_in_the_dimensions_and_iterations_asked(blobs):
    pymde = pytest.importorskip("pymde")
    import torch

    from engine.layout import _neighbour_edges, _preserve_neighbors
    idx, _ = blobs
    edges, weights = _neighbour_edges(idx, 10)
    Y = _preserve_neighbors(pymde, torch, len(idx), 4, edges, weights, max_iter=5)
    assert Y.shape == (len(idx), 4) and np.isfinite(Y).all()
    more = _preserve_neighbors(pymde, torch, len(idx), 4, edges, weights, max_iter=50)
    assert not np.allclose(Y, more)  # the iterations reach the solver


# ---- t-SNE (openTSNE) ------------------------------------------------------------------------

def test_tsne_keeps_the_blobs_apart_and_neighbours_close(blobs):
    from engine.layout import tsne_layout
    idx, sim = blobs
    xy = tsne_layout(idx, sim, "euclidean", seed=0)
    assert xy.shape == (120, 2) and xy.dtype == np.float32 and np.isfinite(xy).all()
    assert _neighbours_closer_than_random(xy, idx)
    centres = np.array([xy[:60].mean(0), xy[60:].mean(0)])
    own = np.linalg.norm(xy[:, None] - centres[None], axis=2).argmin(1)
    assert (own == np.repeat([0, 1], 60)).all()


def test_tsne_same_seed_same_coordinates_and_progress(blobs):
    from engine.layout import tsne_layout
    idx, sim = blobs
    seen = []
    a = tsne_layout(idx, sim, "euclidean", seed=3, progress=lambda d, t: seen.append((d, t)))
    b = tsne_layout(idx, sim, "euclidean", seed=3)
    np.testing.assert_array_equal(a, b)
    assert seen and seen[-1][1] == 750 and all(d <= t for d, t in seen)


def test_tsne_rows_with_padding_are_filled_beyond_every_real_distance():
    from engine.layout import _full_rows
    idx = np.array([[1, 2], [0, -1], [-1, -1], [0, 1]])
    dist = np.array([[0.5, 0.2], [0.1, np.nan], [np.nan, np.nan], [0.3, 0.4]])
    nb, d = _full_rows(idx, dist)
    assert nb.tolist() == [[2, 1], [0, 0], [2, 2], [0, 1]]  # nearest first; itself if none
    far = 0.5 * 10 + 1
    assert d.tolist() == [[0.2, 0.5], [0.1, far], [far, far], [0.3, 0.4]]
