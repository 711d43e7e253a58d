"""The selection, the trail of earlier selections and the chosen cluster: plain state, no Textual.

A cluster is chosen through an entity, the anchor, so it follows that entity as the threshold
moves; `view` is whatever the clusters pane lists (components at a threshold, or communities).
In overlapping communities (slpa) an entity is in several, so the chosen one is kept by number
for the listing it was chosen in; they do not move with the threshold.
"""

from __future__ import annotations

import numpy as np

from tui.state import best_connected

MEMBER_LIMIT = 500  # members listed in the clusters pane
HIGHLIGHT_LIMIT = 2000  # members of a chosen cluster drawn highlighted


class Selection:
    def __init__(self) -> None:
        self.current: int | None = None
        self.partner: int | None = None  # the other entity of a pair chosen with it
        self.trail: list[int] = []
        self._anchor: int | None = None  # entity whose cluster is chosen
        self._in: tuple | None = None  # (overlapping view, community) chosen in it
        self._members_cache: tuple | None = None

    @property
    def anchor(self) -> int | None:
        return self._anchor

    @anchor.setter
    def anchor(self, i: int | None) -> None:
        """Choose the cluster of i (None: none); of overlapping ones, i's top community."""
        self._anchor = i
        self._in = None

    def select(self, i: int, remember: bool = True, partner: int | None = None) -> None:
        """Make i the selection; the previous one goes on the trail if `remember`. A
        `partner` (the other entity of a pair, as the heatmap chooses) is highlighted
        with it until the next selection."""
        if remember and self.current is not None and self.current != i:
            self.trail.append(self.current)
        self.current = i
        self.partner = partner if partner != i else None

    def cluster(self, view) -> int | None:
        """The listed cluster of the selection."""
        if view is None or self.current is None:
            return None
        return view.cluster_of(self.current)

    def choose(self, view, c: int, degree: np.ndarray | None) -> None:
        """Choose cluster c: through the selection if it is a member, else its best-connected
        member."""
        if self.current is not None and (view.contains(c, self.current) if _overlapping(view)
                                         else view.cluster_of(self.current) == c):
            self.anchor = self.current
        else:
            self.anchor = int(best_connected(view.members(c), degree, 1)[0])
        if _overlapping(view):
            self._in = (view, c)

    def chosen(self, view) -> int | None:
        """The listed cluster of the anchor (None: no anchor, or it is on its own)."""
        if self.anchor is None or view is None:
            return None
        if self._in is not None and self._in[0] is view:
            return self._in[1]
        return view.cluster_of(self.anchor)

    def chosen_members(self, view, degree: np.ndarray | None,
                       limit: int | None = MEMBER_LIMIT) -> np.ndarray | None:
        """The chosen cluster's best-connected members (the anchor alone if a singleton)."""
        if self.anchor is None or view is None:
            return None
        c = self.chosen(view)
        key = (id(view), id(degree), self.anchor, c, limit)
        if self._members_cache is not None and self._members_cache[0] == key:
            return self._members_cache[1]
        if c is None:
            members = np.array([self.anchor])
        else:
            members = best_connected(view.members(c), degree, limit)
        self._members_cache = (key, members)
        return members

    def neighbours(self, graph) -> np.ndarray:
        """The selection's stored neighbours, nearest first."""
        if self.current is None or graph is None:
            return np.zeros(0, np.int64)
        row = graph.idx[self.current]
        return row[row >= 0]

    def highlight(self, view, graph, limit: int = HIGHLIGHT_LIMIT) -> np.ndarray:
        """Selection first (and its partner), then its neighbours, then up to `limit` of
        the chosen cluster's members, each once."""
        parts = []
        if self.current is not None:
            parts.append(np.array([self.current]))
            if self.partner is not None:
                parts.append(np.array([self.partner]))
            parts.append(self.neighbours(graph))
        members = self.chosen_members(view, graph.degree if graph else None, limit)
        if members is not None:
            parts.append(members)
        if not parts:
            return np.zeros(0, np.int64)
        idx = np.concatenate(parts).astype(np.int64)
        _, first = np.unique(idx, return_index=True)
        return idx[np.sort(first)]


def _overlapping(view) -> bool:
    """Communities in which an entity may be in several (engine.clusters.Clusters)."""
    return bool(getattr(view, "overlapping", False))
