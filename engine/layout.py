"""2-D layouts from a precomputed kNN graph: UMAP, t-SNE (openTSNE), and PyMDE → UMAP with
the [mde] extra.

There may be no vectors at all (co-occurrence data), so both layouts work from the graph
(`idx` (N, k) int32, `sim` (N, k) float32, -1/NaN padding) and never from input vectors.
torch and pymde are imported only when the mde-umap layout runs.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from engine.errors import InputError
from engine.knn import similarity_to_distance

NO_GPU = "--device cuda needs a GPU that torch can see; none is visible (use --device cpu)"
MDE_MISSING = "the mde-umap layout needs the [mde] extra: pip install 'embtui[mde]'"

# umap-learn's defaults: spread 1, min_dist 0.1 → the curve a·d^(2b); computed once by
# umap.umap_.find_ab_params(1.0, 0.1).
_A, _B = 1.5769434602697652, 0.8950608778515733
# Disconnected graphs: at most this many components get their own spectral layout; the
# rest (small ones) start as random discs, which UMAP then refines.
_SPECTRAL_COMPONENTS = 256
_SPECTRAL_MIN_SIZE = 8

ProgressFn = Callable[[float, float], None] | None


def umap_layout(idx: np.ndarray, sim: np.ndarray, metric: str, *, seed: int = 0,
                n_epochs: int | None = None, progress: ProgressFn = None) -> np.ndarray:
    """UMAP of the kNN graph to (N, 2) float32; the same seed gives the same coordinates."""
    from umap.umap_ import simplicial_set_embedding

    idx = np.asarray(idx)
    n = len(idx)
    if n <= 1:
        return np.zeros((n, 2), np.float32)
    rs = np.random.RandomState(seed)
    graph = fuzzy_graph(idx, similarity_to_distance(sim, metric))
    init = _initial_layout(graph, rs)
    if graph.nnz == 0:
        return init.astype(np.float32)
    epochs = n_epochs if n_epochs is not None else (500 if n <= 10_000 else 200)
    xy, _ = simplicial_set_embedding(
        None, graph, 2, initial_alpha=1.0, a=_A, b=_B, gamma=1.0, negative_sample_rate=5,
        n_epochs=epochs, init=init, random_state=rs, metric="euclidean", metric_kwds={},
        densmap=False, densmap_kwds={}, output_dens=False, parallel=False,
        verbose=False, tqdm_kwds=_epoch_reporter(progress, epochs))
    return np.ascontiguousarray(xy, dtype=np.float32)


# openTSNE's own schedule (TSNE's defaults): early exaggeration 12 for 250 iterations, then
# 500 at exaggeration 1, learning rate n / 12, momentum 0.8, FFT-interpolated repulsion.
TSNE_CALLBACK_EVERY = 50


def tsne_layout(idx: np.ndarray, sim: np.ndarray, metric: str, *, seed: int = 0,
                progress: ProgressFn = None) -> np.ndarray:
    """t-SNE of the kNN graph to (N, 2) float32 with openTSNE, its affinities from the stored
    rows themselves (no second neighbour search).

    Distances as UMAP's (`similarity_to_distance`); perplexity k / 3, the largest that k
    neighbours support (openTSNE asks for 3 × perplexity of them); affinities symmetrised
    as openTSNE's PerplexityBasedNN does; spectral initialisation from them (openTSNE's
    choice without input vectors), then openTSNE's default schedule. A row with padding is
    filled with its farthest real neighbour at a distance beyond every real one, where the
    affinity vanishes; the same seed gives the same coordinates.
    """
    try:
        from openTSNE import TSNE, affinity
        from openTSNE.nearest_neighbors import PrecomputedNeighbors
    except ImportError as e:  # a core dependency: only a broken install lacks it
        raise InputError("the tsne layout needs openTSNE: pip install openTSNE") from e
    idx = np.asarray(idx)
    n, k = idx.shape
    if n <= 3 or k == 0:
        return umap_layout(idx, sim, metric, seed=seed)
    nb, dist = _full_rows(idx, similarity_to_distance(sim, metric))
    perplexity = max(nb.shape[1] / 3, 1.0)
    aff = affinity.PerplexityBasedNN(knn_index=PrecomputedNeighbors(nb, dist),
                                     perplexity=perplexity, random_state=seed)
    iters = 250 + 500

    def report(iteration, error, embedding):
        progress(float(iteration), float(iters))
    tsne = TSNE(n_components=2, negative_gradient_method="auto", random_state=seed, n_jobs=1,
                callbacks=[report] if progress is not None else None,
                callbacks_every_iters=TSNE_CALLBACK_EVERY)
    emb = tsne.fit(affinities=aff, initialization="spectral")
    return np.ascontiguousarray(np.asarray(emb), dtype=np.float32)


def _full_rows(idx: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows without padding: each -1 (or non-finite distance) becomes the row's farthest real
    neighbour at a distance beyond the graph's largest (its affinity ≈ 0); a row without any
    points at itself, which t-SNE's attraction ignores."""
    n = len(idx)
    valid = (idx >= 0) & np.isfinite(dist) & (idx != np.arange(n)[:, None])
    d = np.where(valid, dist, np.inf)
    order = np.argsort(d, axis=1, kind="stable")
    d = np.take_along_axis(d, order, 1)
    nb = np.take_along_axis(np.where(valid, idx, -1), order, 1).astype(np.int64)
    count = valid.sum(axis=1)
    last = np.where(count > 0, nb[np.arange(n), np.maximum(count - 1, 0)], np.arange(n))
    far = (float(d[np.isfinite(d)].max()) if np.isfinite(d).any() else 1.0) * 10 + 1
    pad = ~np.isfinite(d)
    nb = np.where(pad, last[:, None], nb)
    d = np.where(pad, far, d)
    return nb, d.astype(np.float64)


def fuzzy_graph(idx: np.ndarray, dist: np.ndarray) -> sp.csr_matrix:
    """UMAP's fuzzy simplicial set (symmetric CSR of memberships) from kNN distances.

    As umap-learn's `fuzzy_simplicial_set` with precomputed neighbours, except that rows
    with fewer real neighbours (-1 padding) are calibrated to their own count instead of
    counting the padding: each row's bandwidth makes its memberships sum to log2(m + 1)
    for m real neighbours.
    """
    from umap.umap_ import smooth_knn_dist

    n, k = idx.shape
    valid = (idx >= 0) & (idx != np.arange(n)[:, None]) & np.isfinite(dist)
    d = np.where(valid, dist, np.inf).astype(np.float32)
    order = np.argsort(d, axis=1, kind="stable")  # real neighbours first, nearest first
    d = np.take_along_axis(d, order, 1)
    nb = np.take_along_axis(np.where(valid, idx, -1), order, 1)
    count = valid.sum(axis=1)
    sigma = np.ones(n, np.float32)
    rho = np.zeros(n, np.float32)
    for m in np.unique(count[count > 0]):
        rows = np.flatnonzero(count == m)
        # umap-learn expects each row to start with the point itself at distance 0
        with_self = np.hstack([np.zeros((len(rows), 1), np.float32), d[rows, :m]])
        sigma[rows], rho[rows] = smooth_knn_dist(with_self, float(m + 1))
    has = nb >= 0
    gap = np.maximum(np.where(has, d, 0.0) - rho[:, None], 0.0)
    w = np.where(sigma[:, None] > 0, np.exp(-gap / np.maximum(sigma[:, None], 1e-30)), 1.0)
    rows = np.broadcast_to(np.arange(n)[:, None], (n, k))[has]
    P = sp.csr_matrix((w[has].astype(np.float32), (rows, nb[has])), shape=(n, n))
    P.eliminate_zeros()
    Pt = P.T.tocsr()
    return (P + Pt - P.multiply(Pt)).tocsr()  # fuzzy union


def require_mde(device: str = "cpu") -> None:
    """Raise InputError unless the [mde] extra (pymde, torch) is installed and, for cuda,
    torch sees a GPU."""
    if importlib.util.find_spec("pymde") is None or importlib.util.find_spec("torch") is None:
        raise InputError(MDE_MISSING)
    if device == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise InputError(NO_GPU)


def mde_umap_layout(idx: np.ndarray, sim: np.ndarray, metric: str, *, seed: int = 0,
                    dim: int = 3, n_neighbors: int = 15, max_iter: int = 300,
                    device: str = "cpu") -> np.ndarray:
    """PyMDE's preserve-neighbours embedding of the kNN graph into `dim` (3–4) dimensions,
    random init, `max_iter` iterations on `device`, then UMAP of that embedding to (N, 2)
    float32.

    The MDE problem is the one `pymde.preserve_neighbors` builds once it has its neighbour
    graph, built here from the kNN rows themselves: `preserve_neighbors(pymde.Graph)`
    would first recompute neighbours as shortest paths with one multiprocessing task per
    node (17 s at 20k nodes, linear in N), only to find mostly the same ones. `sim` and
    `metric` serve the small-N fallback (plain UMAP of the graph); the MDE problem, as
    pymde's, weighs only whether an edge is listed one way (1) or both ways (2).
    """
    try:
        import pymde
        import torch
    except ImportError as e:
        raise InputError(MDE_MISSING) from e
    idx = np.asarray(idx)
    n = len(idx)
    edges, weights = _neighbour_edges(idx, n_neighbors)
    if n <= dim + 2 or len(edges) == 0:  # too small for an MDE problem: the graph's UMAP
        return umap_layout(idx, sim, metric, seed=seed)
    np_state = np.random.get_state()  # pymde.seed also seeds numpy's global RNG
    try:
        with torch.random.fork_rng(devices=[]):
            pymde.seed(seed)
            Y = _preserve_neighbors(pymde, torch, n, dim, edges, weights, max_iter, device)
    finally:
        np.random.set_state(np_state)
    nb, s = _euclidean_knn(Y, min(n_neighbors, n - 1))
    return umap_layout(nb, s, "euclidean", seed=seed)


def _neighbour_edges(idx: np.ndarray, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
    """Undirected edges (a < b) among each row's first `n_neighbors` real neighbours,
    weighted as pymde weighs kNN graphs: 2 when both list each other, else 1."""
    n = len(idx)
    nb = idx[:, :n_neighbors]
    keep = (nb >= 0) & (nb != np.arange(n)[:, None])
    rows = np.broadcast_to(np.arange(n)[:, None], nb.shape)[keep].astype(np.int64)
    cols = nb[keep].astype(np.int64)
    pair = np.minimum(rows, cols) * n + np.maximum(rows, cols)
    pair, count = np.unique(pair, return_counts=True)
    return np.column_stack([pair // n, pair % n]), count.astype(np.float32)


def _preserve_neighbors(pymde, torch, n: int, dim: int, edges: np.ndarray,
                        weights: np.ndarray, max_iter: int = 300,
                        device: str = "cpu") -> np.ndarray:
    """As `pymde.preserve_neighbors` after its kNN step, with init="random": log1p
    attraction on the edges, log repulsion on as many sampled non-edges, centred."""
    constraint = pymde.Centered()
    X_init = constraint.initialization(n, dim, "cpu")
    e = torch.as_tensor(edges, dtype=torch.int64)
    w = torch.as_tensor(weights, dtype=X_init.dtype)
    n_repulsive = min(len(edges), n * (n - 1) // 2 - len(edges))
    if n_repulsive > 0:
        neg = pymde.preprocess.sample_edges(n, n_repulsive, exclude=e)
        e = torch.cat([e, neg])
        w = torch.cat([w, -torch.ones(len(neg), dtype=X_init.dtype)])
    # the start and the sampled edges are drawn on the CPU, so a seed gives one start anywhere
    e, X_init = e.to(device), X_init.to(device)
    f = pymde.penalties.PushAndPull(w.to(device), attractive_penalty=pymde.penalties.Log1p,
                                    repulsive_penalty=pymde.penalties.Log)
    mde = pymde.MDE(n_items=n, embedding_dim=dim, edges=e, distortion_function=f,
                    constraint=constraint, device=device)
    Y = mde.embed(X=X_init, max_iter=max_iter, verbose=False)
    return Y.detach().cpu().numpy().astype(np.float32)


def _euclidean_knn(Y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact kNN in a low-dimensional embedding (k-d tree), self excluded by index."""
    from scipy.spatial import cKDTree

    n = len(Y)
    d, nb = cKDTree(Y).query(Y, k=k + 1)
    d, nb = np.atleast_2d(d), np.atleast_2d(nb)
    not_self = nb != np.arange(n)[:, None]
    # keep the first k entries that are not the point itself
    order = np.argsort(~not_self, axis=1, kind="stable")[:, :k]
    nb = np.take_along_axis(nb, order, 1).astype(np.int32)
    sim = (1.0 / (1.0 + np.take_along_axis(d, order, 1))).astype(np.float32)
    return nb, sim


def _initial_layout(graph: sp.csr_matrix, rs: np.random.RandomState) -> np.ndarray:
    """Spectral layout of a connected graph; for disconnected ones, components placed on a
    sunflower spiral by size (largest in the middle), each laid out spectrally when large
    enough, else as a random disc (umap-learn's own multi-component path, without
    vectors, places the components with numpy's unseeded global RNG)."""
    from scipy.sparse.csgraph import connected_components

    n = graph.shape[0]
    n_comp, labels = connected_components(graph, directed=False)
    if n_comp == 1:
        return _spectral(graph, rs)
    sizes = np.bincount(labels)
    by_size = np.lexsort((np.arange(n_comp), -sizes))  # largest first, ties by label
    rank = np.empty(n_comp, np.int64)
    rank[by_size] = np.arange(n_comp)
    # sunflower: the c-th component sits where the area of those before it ends
    area = np.cumsum(sizes[by_size]) - sizes[by_size] / 2.0
    angle = rank * np.pi * (3.0 - np.sqrt(5.0))
    centre = np.sqrt(area[rank])[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    radius = 0.5 * np.sqrt(sizes)
    # random discs for all, then spectral layouts for the largest components
    u = rs.uniform(size=n)
    t = rs.uniform(0.0, 2.0 * np.pi, size=n)
    xy = centre[labels] + (radius[labels] * np.sqrt(u))[:, None] * np.column_stack(
        [np.cos(t), np.sin(t)])
    big = [c for c in by_size[:_SPECTRAL_COMPONENTS] if sizes[c] >= _SPECTRAL_MIN_SIZE]
    for c in big:
        members = np.flatnonzero(labels == c)
        sub = graph[members][:, members]
        emb = _spectral(sub, rs)
        emb = emb - emb.mean(axis=0)
        scale = np.abs(emb).max()
        xy[members] = centre[c] + emb * (radius[c] / scale if scale > 0 else 0.0)
    return xy.astype(np.float32)


def _spectral(graph: sp.csr_matrix, rs: np.random.RandomState) -> np.ndarray:
    """Spectral layout of a connected graph: the 2nd and 3rd eigenvectors of the normalised
    adjacency D^-1/2 A D^-1/2, as umap-learn's, but asked for as the largest eigenvalues
    ("LA"), which Lanczos finds in about a second at 100k nodes where umap-learn's
    smallest-magnitude request on the Laplacian takes tens of seconds. Random when the
    eigensolver fails or the graph is too small to have them."""
    from scipy.sparse.linalg import ArpackError, eigsh

    n = graph.shape[0]
    if n > 3:
        scale = sp.diags(1.0 / np.sqrt(np.asarray(graph.sum(axis=0)).ravel()))
        M = (scale @ graph @ scale).astype(np.float64)
        try:
            if n < 256:
                vals, vecs = np.linalg.eigh(M.toarray())
            else:
                vals, vecs = eigsh(M, 3, which="LA", tol=1e-4, v0=np.ones(n),
                                   ncv=min(n, 32), maxiter=5 * n)
            emb = vecs[:, np.argsort(-vals)[1:3]]
            if np.all(np.isfinite(emb)) and np.ptp(emb, axis=0).min() > 0:
                return emb
        except (ArpackError, np.linalg.LinAlgError):
            pass
    return rs.uniform(-10.0, 10.0, size=(n, 2))


def _epoch_reporter(progress: ProgressFn, epochs: int) -> dict:
    """tqdm arguments that turn umap-learn's epoch bar into progress(done, total) calls."""
    if progress is None:
        return {"disable": True}
    return {"disable": False, "file": _ProgressStream(progress, epochs),
            "bar_format": "{n}/{total}\n", "mininterval": 0.25, "ascii": True}


class _ProgressStream:
    """A write-only stream that reads "done/total" lines written by tqdm."""

    _count = re.compile(r"(\d+)/(\d+)")

    def __init__(self, progress: Callable[[float, float], None], epochs: int):
        self.progress = progress
        self.epochs = epochs

    def write(self, text: str) -> int:
        found = self._count.findall(text)
        if found:
            done, total = found[-1]
            self.progress(float(done), float(total) or float(self.epochs))
        return len(text)

    def flush(self) -> None:
        pass
