"""The selection, its trail and the chosen cluster, without Textual."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from tui.selection import Selection


class Listing:
    """Clusters {0, 1, 2}, {3, 4} and 5 on its own, as the clusters pane lists them."""

    labels = np.array([0, 0, 0, 1, 1, -1])
    order = np.array([0, 1, 2, 3, 4])
    offsets = np.array([0, 3, 5])

    @property
    def sizes(self):
        return np.diff(self.offsets)

    def members(self, c):
        return self.order[self.offsets[c]:self.offsets[c + 1]]

    def cluster_of(self, i):
        return None if self.labels[i] < 0 else int(self.labels[i])


DEGREE = np.array([1, 5, 3, 0, 2, 9])
GRAPH = SimpleNamespace(idx=np.array([[1, 2, -1]] * 6), degree=DEGREE)


def test_trail_remembers_earlier_selections_once():
    s = Selection()
    for i in (3, 3, 1, 4):
        s.select(i)
    assert s.current == 4 and s.trail == [3, 1]
    s.select(s.trail.pop(), remember=False)  # Backspace
    assert s.current == 1 and s.trail == [3]


def test_choosing_through_the_selection_or_the_best_connected_member():
    view, s = Listing(), Selection()
    s.select(2)
    s.choose(view, 0, DEGREE)
    assert s.anchor == 2 and s.chosen(view) == 0  # the selection is a member
    s.choose(view, 1, DEGREE)
    assert s.anchor == 4  # not a member: the member with the highest in-degree
    assert s.chosen_members(view, DEGREE).tolist() == [4, 3]
    s.anchor = 5
    assert s.chosen(view) is None and s.chosen_members(view, DEGREE).tolist() == [5]


def test_members_best_connected_first_and_limited():
    view, s = Listing(), Selection()
    s.choose(view, 0, DEGREE)
    assert s.anchor == 1
    assert s.chosen_members(view, DEGREE, None).tolist() == [1, 2, 0]
    assert s.chosen_members(view, DEGREE, 2).tolist() == [1, 2]


def test_highlight_is_selection_neighbours_then_members_each_once():
    view, s = Listing(), Selection()
    assert s.highlight(view, GRAPH).tolist() == []
    s.select(3)
    assert s.neighbours(GRAPH).tolist() == [1, 2]
    s.choose(view, 0, DEGREE)
    assert s.highlight(view, GRAPH).tolist() == [3, 1, 2, 0]
    assert s.highlight(view, GRAPH, limit=1).tolist() == [3, 1, 2]
    assert s.highlight(view, None).tolist() == [3, 0, 1, 2]  # no graph: no neighbours


def test_a_pairs_partner_is_highlighted_after_the_selection_until_the_next():
    s = Selection()
    s.select(3, partner=5)  # a heatmap cell: row 3, column 5
    assert s.highlight(None, GRAPH).tolist() == [3, 5, 1, 2]
    s.select(4, partner=4)  # the diagonal: no partner but itself
    assert s.partner is None and s.highlight(None, GRAPH).tolist() == [4, 1, 2]
    s.select(3, partner=1)  # a partner among the neighbours is listed once
    assert s.highlight(None, GRAPH).tolist() == [3, 1, 2]
    s.select(0)
    assert s.partner is None and s.trail == [3, 4, 3]
