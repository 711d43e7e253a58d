"""tui.state's helpers (plain numpy, no Textual): threshold steps, colourings, bars and names."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui.state import (
    BLOCKS,
    ThresholdScale,
    bar,
    best_connected,
    colour_by_values,
    group_modes,
    made_where,
    mode_title,
    nice_step,
    sim_histogram,
    slider,
    slug,
    threshold_candidates,
    threshold_scale,
)

# ---- threshold steps -------------------------------------------------------------------------


@pytest.mark.parametrize("x, step", [
    (1.0, 1.0), (7.0, 5.0), (0.37, 0.2), (0.02, 0.02), (0.0196, 0.01), (999.0, 500.0),
    (0.5, 0.5), (0.0099, 0.005),
])
def test_nice_step_is_the_largest_1_2_5_not_above(x, step):
    assert nice_step(x) == pytest.approx(step)


@pytest.mark.parametrize("x", [0.0, -1.0, math.nan, math.inf])
def test_nice_step_of_nothing_usable_is_a_hundredth(x):
    assert nice_step(x) == 0.01


SCALE = ThresholdScale(lo=0.13, hi=0.87, fine=0.01, coarse=0.05)


def test_scale_snaps_to_the_fine_grid_within_one_step_of_the_data():
    assert SCALE.snap(0.234) == 0.23 and SCALE.snap(0.236) == 0.24
    assert SCALE.snap(-5.0) == 0.12 and SCALE.snap(5.0) == 0.88  # one step past lo and hi
    assert SCALE.snap(0.5) == 0.5


def test_scale_steps_fine_and_coarse():
    assert SCALE.step(0.5, 2) == 0.52
    assert SCALE.step(0.5, -1, coarse=True) == 0.45
    assert SCALE.step(0.87, 5) == 0.88  # clamped
    assert SCALE.step(0.5, 0) == 0.5


@pytest.mark.parametrize("fine, decimals, text", [
    (0.01, 2, "0.50"), (0.05, 2, "0.50"), (0.001, 3, "0.500"), (0.1, 1, "0.5"), (1.0, 0, "0"),
    (5.0, 0, "0"),
])
def test_scale_formats_with_as_many_decimals_as_the_fine_step(fine, decimals, text):
    scale = ThresholdScale(0.0, 1.0, fine, fine * 5)
    assert scale.decimals == decimals
    assert scale.format(0.5 if fine < 1 else 0.4) == text


def test_scale_fraction_is_clamped_and_safe_on_an_empty_range():
    assert SCALE.fraction(0.13) == 0.0 and SCALE.fraction(0.87) == 1.0
    assert SCALE.fraction(0.5) == pytest.approx(0.5)
    assert SCALE.fraction(-1.0) == 0.0 and SCALE.fraction(2.0) == 1.0
    assert ThresholdScale(0.4, 0.4, 0.01, 0.05).fraction(0.4) == 0.5


def test_threshold_scale_steps_follow_the_spread():
    scale = threshold_scale(np.linspace(0.0, 1.0, 101))
    assert (scale.lo, scale.hi) == (0.0, 1.0)
    # span 0.98 between the 1st and 99th percentiles: /50 → 0.0196 → 0.01; /10 → 0.098 → 0.05
    assert scale.fine == pytest.approx(0.01) and scale.coarse == pytest.approx(0.05)


def test_threshold_scale_ignores_outliers_for_the_steps_but_not_the_range():
    sims = np.concatenate([[-1.0], np.linspace(0.5, 0.6, 998), [1.0], [np.nan]])
    scale = threshold_scale(sims)
    assert (scale.lo, scale.hi) == (-1.0, 1.0)
    assert scale.fine == pytest.approx(0.001) and scale.coarse == pytest.approx(0.005)


def test_threshold_scale_of_one_or_no_similarity():
    assert threshold_scale(np.array([])) == ThresholdScale(0.0, 1.0, 0.01, 0.05)
    assert threshold_scale(np.array([np.nan, np.inf])) == ThresholdScale(0.0, 1.0, 0.01, 0.05)
    one = threshold_scale(np.array([0.4]))
    assert (one.lo, one.hi) == (0.4, 0.4)
    assert one.fine == pytest.approx(0.02) and one.coarse == pytest.approx(0.1)


# A merge tree on six entities: 0-1-2 tight, 3-4 and 4-5 looser, joined by a weak 2-3 edge.
TREE = np.array([(0, 1, 0.9), (1, 2, 0.8), (3, 4, 0.7), (4, 5, 0.5), (2, 3, 0.3)])


def test_threshold_candidates_round_tree_similarities_up_onto_the_grid():
    scale = ThresholdScale(0.3, 0.9, 0.2, 0.4)
    assert threshold_candidates(scale, TREE[:, 2]).tolist() == pytest.approx(
        [0.2, 0.4, 0.6, 0.8, 1.0, 1.2])
    fine = ThresholdScale(0.3, 0.9, 0.01, 0.05)
    assert threshold_candidates(fine, TREE[:, 2]).tolist() == pytest.approx(
        [0.3, 0.5, 0.7, 0.8, 0.9, 0.91])


def test_threshold_candidates_without_a_tree_is_the_bottom():
    assert threshold_candidates(SCALE, np.array([])).tolist() == [0.13]


# ---- members ---------------------------------------------------------------------------------

def test_best_connected_by_degree_then_index():
    degree = np.array([5, 2, 9, 2, 0])
    members = np.array([3, 1, 4, 0])
    assert best_connected(members, degree).tolist() == [0, 1, 3, 4]
    assert best_connected(members, degree, limit=2).tolist() == [0, 1]
    assert best_connected(members, None, limit=2).tolist() == [3, 1]  # as given
    assert best_connected(np.array([], dtype=np.int64), degree).tolist() == []


def test_best_connected_breaks_ties_by_index_when_it_partitions():
    # 100 members, more than four times the limit: the partitioned path. Fourteen share the
    # highest degree (6); the three lowest indices among them come first.
    members = np.arange(100)[::-1].copy()
    degree = np.arange(100) % 7
    assert best_connected(members, degree, limit=3).tolist() == [6, 13, 20]


# ---- colouring -------------------------------------------------------------------------------

def test_colour_modes_in_cycle_order_without_weight():
    assert group_modes(["slpa", "label-propagation"], ["genres", "weight", "year"]) == [
        "clusters", "community:slpa", "community:label-propagation", "column:genres",
        "column:year", "degree"]
    assert group_modes([], []) == ["clusters", "degree"]
    assert group_modes([], [], trust=True) == ["clusters", "degree", "trust"]


@pytest.mark.parametrize("mode, title", [
    ("clusters", "clusters"), ("community:slpa", "communities (slpa)"), ("column:year", "year"),
    ("degree", "degree"), ("other:x", "other:x"),
])
def test_mode_title(mode, title):
    assert mode_title(mode) == title


def test_colour_by_numbers_in_six_quantile_bins():
    col = colour_by_values(np.arange(12), "column:year")
    # Edges at the sextiles of 0..11: 0, 1.833, 3.667, 5.5, 7.333, 9.167, 11.
    assert col.groups.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert col.title == "year" and col.mode == "column:year"
    assert [g for _, g in col.legend] == list(range(6))
    assert col.legend[0][0] == "0–1.833" and col.legend[-1][0] == "9.167–11"


def test_colour_by_numbers_leaves_missing_values_out():
    col = colour_by_values(np.array([1.0, np.nan, 2.0, np.inf, 3.0]), "degree")
    assert col.groups[1] == -1 and col.groups[3] == -1
    assert (col.groups[[0, 2, 4]] >= 0).all()
    assert col.groups[0] <= col.groups[2] <= col.groups[4]


def test_colour_by_one_number_and_by_no_number():
    col = colour_by_values(np.array([3, 3, 3]), "degree")
    assert col.groups.tolist() == [0, 0, 0] and col.legend == [("3", 0)]
    empty = colour_by_values(np.array([np.nan, np.nan]), "degree")
    assert empty.groups.tolist() == [-1, -1] and empty.legend == []


def test_colour_by_numbers_held_as_objects():
    col = colour_by_values(np.array([1, 2, 3, 4, 5, 6, 7], dtype=object), "column:n")
    assert col.groups.tolist() == sorted(col.groups.tolist()) and col.groups[0] == 0
    assert "–" in col.legend[0][0]


def test_colour_by_categories_most_common_first():
    values = np.array(["b", "a", "b", "c", "b", "a", "", None], dtype=object)
    col = colour_by_values(values, "column:shop")
    assert col.groups.tolist() == [0, 1, 0, 2, 0, 1, -1, -1]  # empty and missing: no group
    assert col.legend == [("b", 0), ("a", 1), ("c", 2)]


def test_colour_by_the_first_of_multiple_values():
    values = np.array(["Action|Adventure", "Comedy", "Action|Sci-Fi", "Drama|Comedy"])
    col = colour_by_values(values, "column:genres")
    assert col.groups.tolist() == [0, 1, 0, 2]
    assert col.legend == [("Action", 0), ("Comedy", 1), ("Drama", 2)]


def test_a_rare_bar_is_part_of_the_value():
    values = np.array(["a|b", "c", "c", "d"])  # a quarter with '|': not multi-valued
    col = colour_by_values(values, "column:x")
    assert [t for t, _ in col.legend] == ["c", "a|b", "d"]


def test_every_category_gets_a_group_and_the_legend_stops_at_36():
    values = np.array([f"v{i:02d}" for i in range(50)])
    col = colour_by_values(values, "column:x")
    assert sorted(col.groups.tolist()) == list(range(50))
    assert len(col.legend) == 36


# ---- text helpers ----------------------------------------------------------------------------

@pytest.mark.parametrize("fraction, width, text", [
    (0.0, 3, "   "), (0.5, 4, "██  "), (1.0, 4, "████"), (0.3, 2, BLOCKS[5] + " "),
    (0.97, 4, "███" + BLOCKS[7]), (0.99, 4, "████"), (2.0, 3, "███"), (-1.0, 2, "  "),
    (math.nan, 3, "   "),
])
def test_bar_in_eighths_padded_to_width(fraction, width, text):
    assert bar(fraction, width) == text


@pytest.mark.parametrize("fraction, width, text", [
    (0.0, 5, "●────"), (1.0, 5, "━━━━●"), (0.5, 5, "━━●──"), (0.5, 1, "━●─"), (-1.0, 4, "●───"),
    (3.0, 4, "━━━●"),
])
def test_slider_knob_at_the_fraction(fraction, width, text):
    assert slider(fraction, width) == text


@pytest.mark.parametrize("text, max_len, name", [
    ("The Empire Strikes Back (1980)", 40, "the-empire-strikes-back-1980"),
    ("", 40, "entity"), ("!!!", 40, "entity"), ("a" * 50, 40, "a" * 40),
    ("abc def", 4, "abc"), ("../etc/passwd", 40, "etc-passwd"), (42, 40, "42"),
])
def test_slug_is_safe_for_a_file_name(text, max_len, name):
    assert slug(text, max_len) == name


def test_sim_histogram_counts_finite_similarities():
    sims = np.array([[0.0, 0.25, np.nan], [0.5, 0.75, 1.0]], dtype=np.float32)
    counts, edges = sim_histogram(sims, bins=4)
    assert counts.tolist() == [1, 1, 1, 2]  # the last bin holds its right edge
    assert edges.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_sim_histogram_of_one_value_and_of_none():
    counts, edges = sim_histogram(np.array([0.5, 0.5]), bins=5)
    assert counts.sum() == 2 and edges[0] == pytest.approx(0.5) and edges[-1] > edges[0]
    counts, edges = sim_histogram(np.array([np.nan]), bins=5)
    assert counts.tolist() == [0] * 5 and edges.tolist() == pytest.approx([0, .2, .4, .6, .8, 1])


def test_made_where_names_the_threshold_or_the_method():
    from engine.clusters import group
    labels = np.array([0, 0, 1, 1, 2], np.int32)
    scale = ThresholdScale(0.0, 1.0, 0.01, 0.05)
    assert made_where(group(labels, threshold=0.57), scale, 0.57) == "at 0.57"
    assert made_where(group(labels, method="slpa"), scale, 0.57) == "in slpa"
    assert made_where(None, None, None) == ""


def test_cluster_centres_are_the_members_lower_medians():
    from engine.clusters import group
    from tui.state import cluster_centres
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 12, 200)
    xy = rng.normal(size=(200, 2)).astype(np.float32)
    view = group(labels, 2)
    x, y = cluster_centres(view, xy, 5)
    for c in range(5):
        m = view.members(c)
        for got, col in ((x[c], 0), (y[c], 1)):
            assert got == np.sort(xy[m, col])[(len(m) - 1) // 2]
    assert len(cluster_centres(view, xy, 100)[0]) == len(view)


def test_map_labels_keep_whole_keywords_that_fit():
    from tui.state import map_label
    assert map_label(["Adventure", "Action", "Thriller"], "x", 24) == "Adventure, Action"
    assert map_label(["rings", "lord", "Fantasy"], "x", 24) == "rings, lord, Fantasy"
    assert map_label(["a-very-long-keyword-indeed"], "x", 10) == "a-very-long-keyword-indeed"
    assert map_label([], "Central Member", 24) == "Central Member"


def test_trust_colouring_and_note():
    from tui.state import TRUST_PALETTE, colour_by_trust, trust_note
    col = colour_by_trust(np.array([0.0, 0.19, 0.2, 0.5, 0.99, 1.0, np.nan]))
    assert col.groups.tolist() == [0, 0, 1, 2, 4, 4, -1]
    assert col.legend[0] == ("0–20% kept", 0) and col.palette == TRUST_PALETTE
    assert "#ffe14d" not in TRUST_PALETTE  # the highlight's yellow stays the highlight's
    assert trust_note(0.2628, 0.8617) == "trust 26% · T 0.86"
    assert trust_note(0.5, None) == "trust 50%"
    assert trust_note(float("nan"), None) == "trust —"


def test_emphasis_weights_and_modes():
    from tui.state import emphasis_modes, emphasis_weights
    w = emphasis_weights(np.array([0, 1, 99, np.nan]))
    assert w[0] == 1.0 and w[1] == pytest.approx(1 + math.log(2))
    assert w[2] == pytest.approx(1 + math.log(100)) and w[3] == 1.0
    assert emphasis_weights(np.array([1990, 2000]))[0] == 1.0  # from the least value
    assert emphasis_modes(["weight", "year"]) == ["off", "degree", "column:weight",
                                                  "column:year"]
