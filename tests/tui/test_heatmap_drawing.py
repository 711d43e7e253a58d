"""tui.heatmap: the dendrogram's box characters and the grid's levels, worked by hand."""

from __future__ import annotations

import numpy as np

from tui.heatmap import (
    NO_VALUE_COLOUR,
    SCALE,
    coloured_groups,
    dendrogram,
    levels,
    scale_colour,
    shade_legend,
    text_grid,
    value_range,
)

# (0, 1) at 0.1, (2, 3) at 0.2, the two pairs at 0.8. In 10 columns a height h sits at
# column 1 + round(√(h / 0.8) · 8): 0.1 → 4, 0.2 → 5, 0.8 → 9, 0.5 → 7.
Z = np.array([[0, 1, 0.1, 2], [2, 3, 0.2, 2], [4, 5, 0.8, 4]], dtype=float)


def test_a_row_a_line():
    lines, owner, cut = dendrogram(Z, 4, 10, rows_per_line=1)
    assert lines == ["────┐     ",
                     "────┴────┐",
                     "─────┐   │",
                     "─────┴───┘"]
    assert cut is None and (owner == -1).all()


def test_two_rows_a_line_share_a_stub():
    lines, _, _ = dendrogram(Z, 4, 10, rows_per_line=2)
    assert lines == ["─────────┐",
                     "─────────┘"]


def test_the_cut_and_the_groups_under_it():
    groups = coloured_groups(np.array([0, 0, 1, 1]))
    lines, owner, cut = dendrogram(Z, 4, 10, 1, cut_height=0.5, groups=groups)
    assert cut == 7
    # the cut crosses empty cells and straight stubs, never a joint
    assert lines == ["────┐  ┊  ",
                     "────┴──┊─┐",
                     "─────┐ ┊ │",
                     "─────┴─┊─┘"]
    assert owner[0].tolist() == [0, 0, 0, 0, 0, -1, -1, -2, -1, -1]
    assert owner[1].tolist() == [0] * 7 + [-2, -1, -1]  # past the cut: no group's
    assert owner[3].tolist() == [1] * 7 + [-2, -1, -1]
    # a cut above the root: nothing to draw, every entity in one group
    assert dendrogram(Z, 4, 10, 1, cut_height=2.0)[2] is None


def test_only_groups_of_two_or_more_get_a_colour():
    assert coloured_groups(np.array([0, 1, 1, 2, 2, 2, 3])).tolist() == [-1, 0, 0, 1, 1, 1, -1]
    assert coloured_groups(np.array([2, 2, 0, 1, 1])).tolist() == [0, 0, -1, 1, 1]
    assert coloured_groups(None) is None


def test_levels_scale_and_shades():
    M = np.array([[np.nan, 0.0, 1.0], [0.0, 9.0, 0.5], [1.0, 0.5, 9.0]])
    assert value_range(M) == (0.0, 1.0)  # the diagonal (9) stays out of the scale
    assert levels(M, 0.0, 1.0, 4).tolist() == [[-1, 0, 3], [0, 3, 2], [3, 2, 3]]
    assert scale_colour(0) == SCALE[0] and scale_colour(31) == SCALE[-1]
    assert scale_colour(-1) == NO_VALUE_COLOUR
    assert text_grid(M) == ["· █", " █▒", "█▒█"]  # 0.5 · 5 levels = level 2
    assert shade_legend(0.0, 1.0) == ("' '≥0.00 '░'≥0.20 '▒'≥0.40 '▓'≥0.60 '█'≥0.80 "
                                      "'·' no value")
    # all values equal: one level, the top
    assert levels(np.ones((2, 2)), 1.0, 1.0, 5).tolist() == [[4, 4], [4, 4]]
