"""Messages that workers post to the app: each carries finished data, never a live query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from textual.message import Message

from tui.edges import EdgeChoice
from tui.state import Colouring, ThresholdScale

if TYPE_CHECKING:
    from engine.clusters import Clusters


@dataclass
class DatasetOpened(Message):
    ds: object
    n: int
    layouts: list[str]
    group_modes: list[str]
    emphasis_modes: list[str]


@dataclass
class WeightsComputed(Message):
    """Each point's weight in the density shading for emphasis `mode`."""

    mode: str
    weights: np.ndarray


@dataclass
class LayoutLoaded(Message):
    name: str
    xy: np.ndarray


@dataclass
class LabelsLoaded(Message):
    ids: np.ndarray
    labels: np.ndarray


@dataclass
class Graph:
    """The kNN graph as the panes use it."""

    idx: np.ndarray
    sim: np.ndarray
    degree: np.ndarray
    sim_lo: float
    sim_hi: float
    hist_counts: np.ndarray
    hist_edges: np.ndarray


@dataclass
class GraphLoaded(Message):
    graph: Graph | None
    note: str = ""


@dataclass
class OpeningGroups(Message):
    """What the scatter's groups stand for on opening, when not the threshold's clusters."""

    mode: str


@dataclass
class ThresholdReady(Message):
    """The threshold control's scale and starting value (from the merge tree)."""

    scale: ThresholdScale | None
    threshold: float | None
    note: str = ""


@dataclass
class ClustersComputed(Message):
    """Clusters at a threshold, a few best-connected members of each, and, when colouring by
    clusters, the colouring to match."""

    view: Clusters
    examples: list
    colouring: Colouring | None = None


@dataclass
class ClustersNamed(Message):
    """The labels of the first listed clusters of `view` and where each sits on the layout
    `layout` (the median of its members' coordinates): the scatter names its regions and
    the clusters pane its rows."""

    view: Clusters
    layout: str | None
    labels: list[str]
    short: list[str]  # as many keywords as fit on the map
    x: np.ndarray
    y: np.ndarray


@dataclass
class SplitLoaded(Message):
    """Embedding `name`'s first layout, turned onto the map shown, and its neighbour rows,
    for the right-hand view of the split (V)."""

    name: str
    layout: str | None
    ds: object
    xy: np.ndarray | None
    idx: np.ndarray  # int32 (n, k), -1 padding: its stored neighbours


@dataclass
class TrustComputed(Message):
    """How far the layout `layout` can be trusted (engine.trust.Trust), and its colouring."""

    layout: str
    trust: object
    colouring: Colouring


@dataclass
class ColouringComputed(Message):
    colouring: Colouring


@dataclass
class EdgesSelected(Message):
    """The chosen cluster's edges and every edge in view above the threshold (None: not
    asked for), for the request numbered `token`."""

    token: int
    cluster: EdgeChoice | None
    every: EdgeChoice | None


@dataclass
class EntityLoaded(Message):
    index: int
    row: dict


@dataclass
class SearchReady(Message):
    pass


@dataclass
class DiagnosticsFound(Message):
    """Dataset.diagnose's document at `threshold`, and the entities of its three lists."""

    threshold: float
    doc: dict
    idx: dict


@dataclass
class PathFound(Message):
    """The path from entity `a` to `b` (idx, each step's sim), or why there is none."""

    a: int
    b: int
    kind: str
    idx: np.ndarray | None
    sim: np.ndarray | None
    note: str | None = None


@dataclass
class PairsComputed(Message):
    """The most (least) similar pairs: a heading and rows (a, b, similarity text, label a,
    label b), for the request `token`."""

    token: int
    least: bool
    heading: str
    rows: list


@dataclass
class HeatmapComputed(Message):
    """The heatmap of a group (engine.heatmap.Heatmap), its dendrogram's groups at the
    threshold (None: no threshold, or none stands for it), for the request `token`."""

    token: int
    heatmap: object
    labels: list
    groups: np.ndarray | None
