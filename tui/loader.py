"""What the explorer's workers do: read the dataset and post what they found.

Plain functions that run in thread workers. Each takes everything it needs as arguments and
hands results to `post`, so no widget or app state is read from a thread; a failure is raised
and reported once by the app's worker handler. The first load posts the layout first, then
labels, the graph and clusters, so the first frame shows before the slow parts are done.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

from tui import messages as msg
from tui.edges import edges_among, in_view, members_mask
from tui.state import (
    cluster_centres,
    cluster_examples,
    colour_by_trust,
    colour_by_view,
    colouring,
    emphasis_modes,
    emphasis_weights,
    group_modes,
    map_label,
    mode_title,
    opening_threshold,
    sim_histogram,
    threshold_scale,
)

Post = Callable[[msg.Message], object]
NAMED_LIMIT = 300  # clusters labelled for the map and the clusters pane (as many as listed)
MAP_LABEL_WIDTH = 24  # cells: the scatter's LABEL_MAX


class OpenFailed(Exception):
    """The dataset could not be opened: the explorer shows why instead of its panes."""


class Failed(Exception):
    """Work after the open failed; the text says what, and why, in one line."""


@contextmanager
def failing_as(what: str):
    try:
        yield
    except Exception as err:
        raise Failed(f"{what}: {one_line(err)}") from err


def open_dataset(path: str, embedding: str | None = None):
    from engine.dataset import Dataset
    try:
        return Dataset.open(path, embedding)
    except Exception as err:  # every failure to open is one line, never a traceback
        raise OpenFailed(one_line(err)) from err


def load(ds, post: Post, align_to: np.ndarray | None = None) -> None:
    """Everything the explorer shows at the start, in the order it is drawn; `align_to`, the
    map shown before (another embedding's), turns the first layout onto it."""
    with failing_as("loading stopped"):
        _load(ds, post, align_to)


def _load(ds, post: Post, align_to: np.ndarray | None = None) -> None:
    others = ds.others_with_graph() if ds.has("knn") else []
    post(msg.DatasetOpened(ds, ds.n, ds.layouts,
                           group_modes(ds.community_methods, ds.metadata_columns,
                                       trust=bool(ds.layouts) and ds.has("knn"),
                                       agreement=others),
                           emphasis_modes(ds.numeric_columns)))
    if ds.layouts:
        post(msg.LayoutLoaded(*_first_layout(ds, align_to)))
    post(msg.LabelsLoaded(ds.ids, ds.labels))
    t0 = None
    if not ds.has("knn"):
        post(msg.GraphLoaded(None, "this file has no neighbour graph yet"))
    else:
        graph = _graph(ds)
        post(msg.GraphLoaded(graph))
        if not ds.has("merge_tree"):
            post(msg.ThresholdReady(None, None,
                                    "this file has no merge tree yet (run embtui build)"))
        else:
            tree_sims = ds.merge_tree[2]
            scale = threshold_scale(tree_sims)
            t0 = opening_threshold(ds, scale)
            post(msg.ThresholdReady(scale, t0))
            view = ds.clusters(threshold=t0)
            post(msg.ClustersComputed(view, cluster_examples(view, graph.degree),
                                      colour_by_view(view)))
    method = ds.opening_communities(t0)
    if method is not None:  # stored communities that separate the entities colour the map
        post(msg.OpeningGroups(f"community:{method}"))
    ds.search_index()
    post(msg.SearchReady())


def split(path: str, name: str, align_to: np.ndarray | None, post: Post) -> None:
    """Another embedding of the file for the split view: its first layout turned onto the
    map shown (Procrustes on the entities both hold) and its neighbour rows."""
    with failing_as(f"embedding {name}"):
        ds = open_dataset(path, name)
        layout, xy = _first_layout(ds, align_to) if ds.layouts else (None, None)
        idx = ds.knn.idx if ds.has("knn") else np.full((ds.n, 0), -1, np.int32)
    post(msg.SplitLoaded(name, layout, ds, xy, idx))


def diagnostics(ds, threshold: float, limit: int, post: Post) -> None:
    """Hubs, bridges at the threshold and isolates, for the diagnostics screen."""
    with failing_as("diagnostics"):
        doc = ds.diagnose(threshold, limit)
        idx = {name: ds.find_ids([e["id"] for e in entities]).tolist() if entities else []
               for name, entities in (("hubs", doc["hubs"]),
                                      ("bridges", doc["bridges"]["entities"]),
                                      ("isolates", doc["isolates"]["entities"]))}
    post(msg.DiagnosticsFound(threshold, doc, idx))


def path(ds, a: int, b: int, kind: str, post: Post) -> None:
    """The path between two entities (engine.graph_paths), or why there is none."""
    from engine.errors import EmbtuiError
    try:
        found = ds.path_between(a, b, kind)
    except EmbtuiError as err:
        post(msg.PathFound(a, b, kind, None, None, one_line(err)))
        return
    post(msg.PathFound(a, b, kind, found.idx, found.sim))


def _first_layout(ds, align_to: np.ndarray | None) -> tuple[str, np.ndarray]:
    """An embedding's first layout, turned onto `align_to` (the map shown before, another
    embedding's) by Procrustes on the entities both hold when given."""
    name = ds.layouts[0]
    xy = ds.layout(name)
    if align_to is not None and len(align_to) == len(xy):
        from engine.compare import procrustes_onto
        xy = procrustes_onto(xy, align_to)
    return name, xy


def _graph(ds) -> msg.Graph:
    idx, sim = ds.knn
    finite = sim[np.isfinite(sim)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    counts, edges = sim_histogram(sim)
    return msg.Graph(idx, sim, ds.in_degree, lo, hi, counts, edges)


def clusters(ds, t: float, degree: np.ndarray | None, group_mode: str, post: Post) -> None:
    """The components at t, and their colouring when the groups are the clusters."""
    with failing_as(f"clusters at {t}"):
        view = ds.clusters(threshold=t)
        examples = cluster_examples(view, degree)
        col = colour_by_view(view) if group_mode == "clusters" else None
    post(msg.ClustersComputed(view, examples, col))


def names(ds, view, xy: np.ndarray | None, layout: str | None, post: Post) -> None:
    """Labels of the first listed clusters of `view` (engine.keywords) and their centres on
    the layout shown (none without one)."""
    from engine.keywords import LABEL_KEYWORDS, distinct_texts
    with failing_as("cluster labels"):
        limit = min(len(view), NAMED_LIMIT)
        found = ds.cluster_names(view, limit)
        if xy is not None and len(xy) == ds.n:
            x, y = cluster_centres(view, xy, limit)
        else:
            x = y = np.zeros(0)
        short = [map_label(distinct_texts(kws)[:LABEL_KEYWORDS], label, MAP_LABEL_WIDTH)
                 for kws, label in zip(found.keywords, found.labels, strict=True)]
    post(msg.ClustersNamed(view, layout, found.labels, short, x, y))


def trust(ds, layout: str, post: Post) -> None:
    """How far the layout can be trusted (a k-d tree over it; seconds at 1M entities)."""
    with failing_as(f"trust of {layout}"):
        found = ds.trust(layout)
        col = colour_by_trust(found.share)
    post(msg.TrustComputed(layout, found, col))


def weights(ds, mode: str, post: Post) -> None:
    """The density shading's weight per point for emphasis `mode` (degree or a column)."""
    with failing_as(f"weight by {mode_title(mode)}"):
        values = ds.in_degree if mode == "degree" else ds.metadata(mode.partition(":")[2])
        found = emphasis_weights(values)
    post(msg.WeightsComputed(mode, found))


def groups(ds, group_mode: str, threshold_view, degree: np.ndarray | None, post: Post) -> None:
    """What the scatter's groups stand for in `group_mode` (a column, communities, …)."""
    with failing_as(f"colour by {mode_title(group_mode)}"):
        col = colouring(ds, group_mode, threshold_view, degree)
    post(msg.ColouringComputed(col))


def edges(idx: np.ndarray, sim: np.ndarray, xy: np.ndarray, view, threshold: float | None,
          members: np.ndarray | None, every: bool, limit: int, token: int,
          post: Post) -> None:
    """The edges ≥ threshold among the points in `view`: within `members` (the chosen
    cluster; None: none) and, with `every`, all of them; none past `limit` of each."""
    with failing_as("edges"):
        shown = in_view(xy[:, 0], xy[:, 1], view)
        cluster = None
        if members is not None:
            keep = shown & members_mask(len(xy), members)
            cluster = edges_among(idx, sim, keep, threshold, limit)
        everything = edges_among(idx, sim, shown, threshold, limit) if every else None
    post(msg.EdgesSelected(token, cluster, everything))


def entity(ds, i: int, ids: np.ndarray, labels: np.ndarray, post: Post) -> None:
    """One entity's row; if it cannot be read, its id and label with the reason."""
    try:
        row = ds.entity(i)
    except Exception as err:  # the details pane shows the reason in place of the row
        row = {"id": ids[i], "label": labels[i], "error": one_line(err)}
    post(msg.EntityLoaded(i, row))


def layout(ds, name: str, post: Post) -> None:
    with failing_as(f"layout {name}"):
        xy = ds.layout(name)
    post(msg.LayoutLoaded(name, xy))


def heatmap(ds, token: int, idx: np.ndarray, threshold: float | None, post: Post) -> None:
    """The group's pairwise similarities and dendrogram, and its groups at the threshold."""
    from tui.text import plain_label
    with failing_as("heatmap"):
        hm = ds.heatmap(idx)
        groups = hm.groups(threshold) if threshold is not None else None
        labels = [plain_label(ds.labels[i]) for i in hm.idx.tolist()]
    post(msg.HeatmapComputed(token, hm, labels, groups))


def pairs(ds, token: int, least: bool, limit: int, post: Post) -> None:
    """The dataset's most or least similar pairs, as the pairs screen lists them."""
    from engine.pairs import describe
    from tui.text import plain_label
    with failing_as("pairs"):
        found = ds.pairs(least=least, limit=limit)
        labels = ds.labels
        rows = [(a, b, f"{s:.4g}", plain_label(labels[a]), plain_label(labels[b]))
                for a, b, s in zip(found.a.tolist(), found.b.tolist(), found.values(),
                                   strict=True)]
        heading = describe(found, ds.n)
    post(msg.PairsComputed(token, least, heading, rows))


def one_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]
