"""The selection, the trail of earlier selections and the chosen cluster: plain state, no Textual.

A cluster is chosen through an entity, the anchor, so it follows that entity as the threshold
moves; `view` is whatever the clusters pane lists (components at a threshold, or communities).
"""

from __future__ import annotations

import numpy as np

from tui.state import best_connected

MEMBER_LIMIT = 500  # members listed in the clusters pane
HIGHLIGHT_LIMIT = 2000  # members of a chosen cluster drawn highlighted


class Selection:
    def __init__(self) -> None:
        self.current: int | None = None
        self.trail: list[int] = []
        self.anchor: int | None = None  # entity whose cluster is chosen
        self._members_cache: tuple | None = None

    def select(self, i: int, remember: bool = True) -> None:
        """Make i the selection; the previous one goes on the trail if `remember`."""
        if remember and self.current is not None and self.current != i:
            self.trail.append(self.current)
        self.current = i

    def cluster(self, view) -> int | None:
        """The listed cluster of the selection."""
        if view is None or self.current is None:
            return None
        return view.cluster_of(self.current)

    def choose(self, view, c: int, degree: np.ndarray | None) -> None:
        """Choose cluster c: through the selection if it is a member, else its best-connected
        member."""
        if self.current is not None and view.cluster_of(self.current) == c:
            self.anchor = self.current
        else:
            self.anchor = int(best_connected(view.members(c), degree, 1)[0])

    def chosen(self, view) -> int | None:
        """The listed cluster of the anchor (None: no anchor, or it is on its own)."""
        if self.anchor is None or view is None:
            return None
        return view.cluster_of(self.anchor)

    def chosen_members(self, view, degree: np.ndarray | None,
                       limit: int | None = MEMBER_LIMIT) -> np.ndarray | None:
        """The chosen cluster's best-connected members (the anchor alone if a singleton)."""
        if self.anchor is None or view is None:
            return None
        key = (id(view), id(degree), self.anchor, limit)
        if self._members_cache is not None and self._members_cache[0] == key:
            return self._members_cache[1]
        c = view.cluster_of(self.anchor)
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
        """Selection first, then its neighbours, then up to `limit` of the chosen cluster's
        members, each once."""
        parts = []
        if self.current is not None:
            parts.append(np.array([self.current]))
            parts.append(self.neighbours(graph))
        members = self.chosen_members(view, graph.degree if graph else None, limit)
        if members is not None:
            parts.append(members)
        if not parts:
            return np.zeros(0, np.int64)
        idx = np.concatenate(parts).astype(np.int64)
        _, first = np.unique(idx, return_index=True)
        return idx[np.sort(first)]
