"""Messages that workers post to the app: each carries finished data, never a live query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from textual.message import Message

from tui.state import Colouring, ThresholdScale

if TYPE_CHECKING:
    from engine.clusters import Clusters


class LoadFailed(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class DatasetOpened(Message):
    def __init__(self, ds, n: int, layouts: list[str], colour_modes: list[str]) -> None:
        super().__init__()
        self.ds = ds
        self.n = n
        self.layouts = layouts
        self.colour_modes = colour_modes


class LayoutLoaded(Message):
    def __init__(self, name: str, xy: np.ndarray) -> None:
        super().__init__()
        self.name = name
        self.xy = xy


class LabelsLoaded(Message):
    def __init__(self, ids: np.ndarray, labels: np.ndarray) -> None:
        super().__init__()
        self.ids = ids
        self.labels = labels


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


class GraphLoaded(Message):
    def __init__(self, graph: Graph | None, note: str = "") -> None:
        super().__init__()
        self.graph = graph
        self.note = note


class ThresholdReady(Message):
    """The threshold control's scale and starting value (from the merge tree)."""

    def __init__(self, scale: ThresholdScale | None, threshold: float | None,
                 note: str = "") -> None:
        super().__init__()
        self.scale = scale
        self.threshold = threshold
        self.note = note


class ClustersComputed(Message):
    """Clusters at a threshold, a few best-connected members of each, and, when colouring by
    clusters, the colouring to match."""

    def __init__(self, view: Clusters, examples: list,
                 colouring: Colouring | None = None) -> None:
        super().__init__()
        self.view = view
        self.examples = examples
        self.colouring = colouring


class ColouringComputed(Message):
    def __init__(self, colouring: Colouring) -> None:
        super().__init__()
        self.colouring = colouring


class EntityLoaded(Message):
    def __init__(self, index: int, row: dict) -> None:
        super().__init__()
        self.index = index
        self.row = row


class SearchReady(Message):
    pass


class WorkFailed(Message):
    """Something other than the first load failed: shown as a notification."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
