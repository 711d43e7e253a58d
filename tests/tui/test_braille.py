"""Braille raster kernel, cell lookup, density levels, and the label sanitiser."""

from __future__ import annotations

import math
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.braille import (
    DOT_BITS,
    braille_codepoints,
    cell_of,
    density_level,
    locate,
    rasterize,
    rasterize_lines,
)
from tui.text import plain_label


@pytest.fixture(autouse=True, params=["numba", "numpy"])
def kernel(request, monkeypatch):
    """Every test runs on both kernels: "auto" picks numba once warm, numpy before."""
    import tui.braille
    if request.param == "numba":
        tui.braille.warm_up()
    monkeypatch.setattr(tui.braille, "_numba_ready", request.param == "numba")
    return request.param


# view (0, 4, 0, 8) on a 2×2-cell raster: 4 × 8 dots of exactly one data unit each,
# dot column = floor(x), dot row = floor(8 - y) (row 0 at the top, y = 8)
VIEW = (0.0, 4.0, 0.0, 8.0)


def test_hand_computed_grid():
    pts = np.array([
        (0.5, 7.5),   # dot (c0, r0) → cell (0, 0) 0x01
        (1.5, 7.5),   # dot (c1, r0) → cell (0, 0) 0x08
        (0.5, 6.5),   # dot (c0, r1) → cell (0, 0) 0x02
        (1.5, 4.5),   # dot (c1, r3) → cell (0, 0) 0x80
        (0.5, 4.5),   # dot (c0, r3) → cell (0, 0) 0x40
        (3.5, 5.5),   # dot (c3, r2) → cell (row 0, col 1) 0x20
        (2.5, 1.5),   # dot (c2, r6) → cell (1, 1) 0x04
        (0.5, 2.5),   # dot (c0, r5) → cell (1, 0) 0x02
        (0.6, 2.4),   # same dot again: bits unchanged, count 2
    ])
    r = rasterize(pts[:, 0], pts[:, 1], VIEW, 2, 2)
    assert r.bits.dtype == np.uint8 and r.counts.dtype == np.int32
    assert r.bits.tolist() == [[0x01 | 0x08 | 0x02 | 0x80 | 0x40, 0x20],
                               [0x02, 0x04]]
    assert r.counts.tolist() == [[5, 1], [2, 1]]
    assert (r.group == -1).all()


def test_borders_belong_right_and_below_and_the_far_edges_are_inside():
    pts = np.array([
        (2.0, 4.0),   # corner of all four cells → dot (c2, r4): cell (1, 1), 0x01
        (1.0, 7.5),   # between dot columns 0 and 1 → dot column 1: cell (0, 0) 0x08
        (0.5, 7.0),   # between dot rows 0 and 1 → dot row 1: cell (0, 0) 0x02
        (0.0, 8.0),   # x0, y1 (top-left corner) → dot (c0, r0)
        (4.0, 0.0),   # x1, y0 (bottom-right corner) → last dot (c3, r7): cell (1, 1) 0x80
    ])
    r = rasterize(pts[:, 0], pts[:, 1], VIEW, 2, 2)
    assert r.bits.tolist() == [[0x08 | 0x02 | 0x01, 0], [0, 0x01 | 0x80]]
    assert r.counts.tolist() == [[3, 0], [0, 2]]


def test_points_outside_the_view_and_nan_are_ignored():
    x = np.array([-0.01, 4.01, 1.0, 1.0, np.nan, 1.0, np.inf, 1.5])
    y = np.array([1.0, 1.0, 8.01, -0.01, 1.0, np.nan, 1.0, 1.5])
    r = rasterize(x, y, VIEW, 2, 2)
    # only (1.5, 1.5): dot column 1, dot row floor(8 - 1.5) = 6 → cell (1, 0), its dot row 2
    assert r.counts.tolist() == [[0, 0], [1, 0]]
    assert r.bits.tolist() == [[0, 0], [0x20, 0]]


def test_single_point_bits_match_dot_table():
    # every dot of one cell, one point at a time
    for drow in range(4):
        for dcol in range(2):
            x = np.array([dcol + 0.5])
            y = np.array([8.0 - (drow + 0.5)])
            r = rasterize(x, y, VIEW, 2, 2)
            assert r.bits[0, 0] == DOT_BITS[drow, dcol]
    assert DOT_BITS.tolist() == [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]]


def test_y_grows_up_in_data_and_down_on_screen():
    r = rasterize(np.array([1.0, 1.0]), np.array([7.9, 0.1]), VIEW, 2, 2)
    assert r.counts[0, 0] == 1 and r.counts[1, 0] == 1
    assert r.bits[0, 0] == 0x08      # high y: top dot row
    assert r.bits[1, 0] == 0x80      # low y: bottom dot row


@pytest.mark.parametrize("ngroups", [None, 1 << 20])   # dense histogram / bucketed path
def test_dominant_group(ngroups):
    x = np.array([0.5, 0.5, 0.5,   2.5, 2.5,   0.5, 0.5,   2.5])
    y = np.array([7.5, 7.5, 7.5,   7.5, 7.5,   1.5, 1.5,   1.5])
    g = np.array([2, 2, 1,          3, 1,       -1, -1,     0])
    r = rasterize(x, y, VIEW, 2, 2, groups=g, ngroups=ngroups)
    assert r.group.tolist() == [[2, 1],       # majority 2; tie 3/1 → smallest
                                [-1, 0]]      # only ungrouped points → -1
    assert r.counts.tolist() == [[3, 2], [2, 1]]
    empty = rasterize(np.array([0.5]), np.array([7.5]), VIEW, 2, 2, groups=np.array([4]),
                      ngroups=ngroups)
    assert empty.group.tolist() == [[4, -1], [-1, -1]]


def _reference(x, y, view, width, height, groups):
    col, row, bit = locate(x, y, view, width, height)
    bits = np.zeros((height, width), np.uint8)
    counts = np.zeros((height, width), np.int64)
    inside = col >= 0
    np.bitwise_or.at(bits, (row[inside], col[inside]), bit[inside])
    np.add.at(counts, (row[inside], col[inside]), 1)
    dom = np.full((height, width), -1)
    for r in range(height):
        for c in range(width):
            gs = groups[inside & (row == r) & (col == c)]
            gs = gs[gs >= 0]
            if len(gs):
                vals, cnt = np.unique(gs, return_counts=True)
                dom[r, c] = vals[np.argmax(cnt)]  # unique is sorted: argmax picks the smallest
    return bits, counts, dom


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # `kernel` is per run
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 300), width=st.integers(1, 7),
       height=st.integers(1, 5), ngroups=st.sampled_from([1, 3, 1 << 20]))
def test_kernel_matches_numpy_reference(seed, n, width, height, ngroups):
    rng = np.random.default_rng(seed)
    # a coarse lattice puts many points exactly on dot and cell borders
    x = (rng.integers(-4, 4 * width + 4, n) / 2).astype(np.float32)
    y = (rng.integers(-4, 8 * height + 4, n) / 2).astype(np.float32)
    groups = rng.integers(-1, min(ngroups, 4), n).astype(np.int32)
    view = (0.0, 2.0 * width, 0.0, 4.0 * height)
    r = rasterize(x, y, view, width, height, groups=groups, ngroups=ngroups)
    bits, counts, dom = _reference(x, y, view, width, height, groups)
    np.testing.assert_array_equal(r.bits, bits)
    np.testing.assert_array_equal(r.counts, counts)
    np.testing.assert_array_equal(r.group, dom)


def test_float64_input_and_bad_view():
    r = rasterize(np.array([0.5], dtype=np.float64), np.array([7.5]), VIEW, 2, 2)
    assert r.bits[0, 0] == 0x01
    with pytest.raises(ValueError):
        rasterize(np.zeros(1), np.zeros(1), (1, 1, 0, 1), 2, 2)
    with pytest.raises(ValueError):
        rasterize(np.zeros(1), np.zeros(1), VIEW, 0, 2)
    with pytest.raises(ValueError, match="kernel"):
        rasterize(np.zeros(1), np.zeros(1), VIEW, 2, 2, kernel="gpu")


def test_numpy_and_numba_draw_the_same_frame():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(2, 200_000)).astype(np.float32)
    groups = rng.integers(-1, 12, len(x))
    for ngroups in (None, 1 << 20):
        a = rasterize(x, y, (-2, 2, -2, 2), 200, 60, groups, ngroups, kernel="numpy")
        b = rasterize(x, y, (-2, 2, -2, 2), 200, 60, groups, ngroups, kernel="numba")
        for p, q in zip(a[:3], b[:3], strict=True):
            np.testing.assert_array_equal(p, q)


def test_cell_of_agrees_with_the_kernel():
    assert cell_of(0.5, 7.5, VIEW, 2, 2) == (0, 0)
    assert cell_of(2.0, 4.0, VIEW, 2, 2) == (1, 1)
    assert cell_of(4.0, 0.0, VIEW, 2, 2) == (1, 1)
    assert cell_of(5.0, 1.0, VIEW, 2, 2) == (-1, -1)
    col, row = cell_of(np.array([0.5, np.nan, 3.9]), np.array([0.5, 1.0, 7.9]), VIEW, 2, 2)
    assert col.tolist() == [0, -1, 1] and row.tolist() == [1, -1, 0]
    assert locate(1.5, 7.5, VIEW, 2, 2) == (0, 0, 0x08)


def test_density_level_is_log_scaled():
    counts = np.array([0, 1, 10, 100, 1000])
    lv = density_level(counts, 4)
    assert lv.tolist()[0] == 0 and lv[-1] == 4
    assert (np.diff(lv[1:]) >= 0).all() and lv[1] >= 1
    # log scale: 10 of 1000 is well above a linear 1 %
    assert lv[2] >= 2
    assert density_level(np.array([0, 1, 1]), 5).tolist() == [0, 5, 5]
    assert density_level(np.zeros(3, int), 5).tolist() == [0, 0, 0]
    assert density_level(np.array([1, 2]), 3, cmax=1000).tolist() == [1, 1]


def test_codepoints():
    cps = braille_codepoints(np.array([[0, 1, 0xFF]], dtype=np.uint8))
    assert "".join(map(chr, cps[0])) == " ⠁⣿"


def test_kernel_module_does_not_import_textual_or_rich():
    code = ("import sys, tui.braille; "
            "bad = [m for m in ('textual', 'rich') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- line segments

def _lines(segments, band=None, view=VIEW, width=2, height=2):
    a = np.asarray(segments, dtype=np.float64).reshape(-1, 4)
    return rasterize_lines(a[:, 0], a[:, 1], a[:, 2], a[:, 3], view, width, height, band)


# On VIEW (4 × 8 dots of one unit): dot column = floor(x), dot row = floor(8 - y).
@pytest.mark.parametrize("segment, bits", [
    # row 0, dot columns 0..3: the two top dots of both cells
    pytest.param((0.5, 7.5, 3.5, 7.5), [[0x01 | 0x08, 0x01 | 0x08], [0, 0]], id="horizontal"),
    # column 0, dot rows 0..7: the left column of both cells of column 0
    pytest.param((0.5, 7.5, 0.5, 0.5), [[0x47, 0], [0x47, 0]], id="vertical"),
    # dots (0,0) (1,1) (2,2) (3,3): 0x01|0x10 in cell (0,0), 0x04|0x80 in cell (0,1)
    pytest.param((0.5, 7.5, 3.5, 4.5), [[0x11, 0x84], [0, 0]], id="diagonal"),
    # dots (0,0) → (3,1): row = round(s/3) for s = 0..3 → rows 0 0 1 1
    pytest.param((0.5, 7.5, 3.5, 6.5), [[0x01 | 0x08, 0x02 | 0x10], [0, 0]], id="shallow"),
    # from x = -2 (outside, left) to dot column 1: clipped at x0, dots (0,0) (1,0)
    pytest.param((-2.0, 7.5, 1.5, 7.5), [[0x09, 0], [0, 0]], id="crossing-left-border"),
    # from y = 10 (above) down to dot row 1: clipped at y1, dots (0,0) (0,1)
    pytest.param((0.5, 10.0, 0.5, 6.5), [[0x03, 0], [0, 0]], id="crossing-top-border"),
    # both ends outside, across the view on dot row 3
    pytest.param((-1.0, 4.5, 5.0, 4.5), [[0xC0, 0xC0], [0, 0]], id="through-the-view"),
    # both ends outside, missing it
    pytest.param((-1.0, -1.0, -2.0, 9.0), [[0, 0], [0, 0]], id="outside"),
    pytest.param((5.0, 9.0, -1.0, 12.0), [[0, 0], [0, 0]], id="outside-corner"),
    # one dot: column 1, row 6 → cell (1, 0), its dot (row 2, column 1)
    pytest.param((1.5, 1.5, 1.5, 1.5), [[0, 0], [0x20, 0]], id="zero-length"),
    # ends on the far borders fall in the last dots, as points there do
    pytest.param((4.0, 0.0, 4.0, 0.0), [[0, 0], [0, 0x80]], id="far-corner"),
])
def test_known_segments(segment, bits):
    r = _lines([segment])
    assert r.bits.tolist() == bits
    assert r.band.tolist() == np.where(np.array(bits) > 0, 0, -1).tolist()
    back = _lines([segment[2:] + segment[:2]])
    assert back.bits.tolist() == bits, "the same dots whichever end comes first"


def test_segment_ends_fall_in_the_dots_of_points_there():
    rng = np.random.default_rng(3)
    view, width, height = (-1.0, 2.0, -0.5, 1.5), 9, 5
    ends = np.column_stack([rng.uniform(-1, 2, 50), rng.uniform(-0.5, 1.5, 50)])
    for (xa, ya), (xb, yb) in zip(ends[:-1], ends[1:], strict=True):
        r = _lines([(xa, ya, xb, yb)], view=view, width=width, height=height)
        for x, y in ((xa, ya), (xb, yb)):
            col, row, bit = locate(x, y, view, width, height)
            assert col >= 0 and r.bits[row, col] & bit


def test_bands_keep_the_brightest_per_cell_and_bad_segments_draw_nothing():
    r = _lines([(0.5, 7.5, 3.5, 7.5), (0.5, 7.5, 0.5, 4.5), (np.nan, 1, 2, 2),
                (0.5, 1.5, np.inf, 1.5)], band=[1, 3, 2, 2])
    assert r.bits.tolist() == [[0x01 | 0x08 | 0x02 | 0x04 | 0x40, 0x09], [0, 0]]
    assert r.band.tolist() == [[3, 1], [-1, -1]]
    empty = _lines(np.zeros((0, 4)))
    assert not empty.bits.any() and (empty.band == -1).all()
    with pytest.raises(ValueError, match="one entry per segment"):
        _lines([(0, 0, 1, 1)], band=[1, 2])
    with pytest.raises(ValueError, match="view"):
        _lines([(0, 0, 1, 1)], view=(1.0, 0.0, 0.0, 1.0))


def _slow_lines(segments, view, width, height, band):
    """The obvious version: a loop over segments and dots, clipping bound by bound and
    rounding s·Δ/n exactly (fractions), halves up."""
    x0, x1, y0, y1 = view
    w2, h4 = 2 * width, 4 * height
    sx, sy = w2 / (x1 - x0), h4 / (y1 - y0)
    bits = np.zeros((height, width), np.uint8)
    best = np.full((height, width), -1, np.int8)
    for (xa, ya, xb, yb), g in zip(segments, band, strict=True):
        ua, va, ub, vb = (xa - x0) * sx, (y1 - ya) * sy, (xb - x0) * sx, (y1 - yb) * sy
        if not all(math.isfinite(v) for v in (ua, va, ub, vb)):
            continue
        du, dv = ub - ua, vb - va
        t0, t1, out = 0.0, 1.0, False
        for p, q in ((-du, ua), (du, w2 - ua), (-dv, va), (dv, h4 - va)):
            if p == 0:
                out = out or q < 0
            elif p < 0:
                t0 = max(t0, q / p)
            else:
                t1 = min(t1, q / p)
        if out or t0 > t1:
            continue
        if t1 < 1:
            ub, vb = ua + t1 * du, va + t1 * dv
        if t0 > 0:
            ua, va = ua + t0 * du, va + t0 * dv
        a = (min(max(math.floor(va), 0), h4 - 1), min(max(math.floor(ua), 0), w2 - 1))
        b = (min(max(math.floor(vb), 0), h4 - 1), min(max(math.floor(ub), 0), w2 - 1))
        (ra, ca), (rb, cb) = sorted([a, b])
        n = max(abs(cb - ca), abs(rb - ra))
        for s in range(n + 1):
            f = Fraction(s, n) if n else Fraction(0)
            c = ca + math.floor(f * (cb - ca) + Fraction(1, 2))
            r = ra + math.floor(f * (rb - ra) + Fraction(1, 2))
            bits[r // 4, c // 2] |= DOT_BITS[r % 4, c % 2]
            best[r // 4, c // 2] = max(best[r // 4, c // 2], g)
    return bits, best


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(0, 60), width=st.integers(1, 9),
       height=st.integers(1, 6), reach=st.sampled_from([0.0, 0.3, 1.0, 3.0]))
def test_lines_match_the_slow_version(seed, m, width, height, reach):
    rng = np.random.default_rng(seed)
    view = (-1.0, 1.0, -1.0, 1.0)
    a = rng.uniform(-1.5, 1.5, (m, 2))
    # some ends exactly on dot borders and on the view's border
    snap = rng.random(m) < 0.3
    a[snap] = np.round(a[snap] * 4) / 4
    b = a + rng.uniform(-reach, reach, (m, 2))
    segs = np.concatenate([a, b], axis=1)
    band = rng.integers(0, 4, m)
    r = rasterize_lines(segs[:, 0], segs[:, 1], segs[:, 2], segs[:, 3], view, width, height,
                        band)
    bits, best = _slow_lines(segs.tolist(), view, width, height, band.tolist())
    assert r.bits.tolist() == bits.tolist()
    assert r.band.tolist() == best.tolist()


def test_numba_and_numpy_lines_agree_on_a_big_frame():
    import tui.braille
    tui.braille.warm_up()
    rng = np.random.default_rng(7)
    xy = rng.normal(size=(20_000, 2)).astype(np.float32)
    ends = rng.integers(0, len(xy), (5_000, 2))
    args = (xy[ends[:, 0], 0], xy[ends[:, 0], 1], xy[ends[:, 1], 0], xy[ends[:, 1], 1],
            (-2.0, 2.5, -1.5, 3.0), 200, 60, rng.integers(0, 4, len(ends)))
    fast = rasterize_lines(*args, kernel="numba")
    slow = rasterize_lines(*args, kernel="numpy")
    assert fast.bits.any()
    assert (fast.bits == slow.bits).all() and (fast.band == slow.band).all()


# ---------------------------------------------------------------- labels are data

def test_markup_stays_literal():
    assert plain_label("[bold red]x[/]") == "[bold red]x[/]"


def test_osc52_escape_cannot_reach_the_terminal():
    out = plain_label("\x1b]52;c;aGk=\x07")
    assert "\x1b" not in out and "\x07" not in out
    assert out == "␛]52;c;aGk=␇"


def test_bidi_override_and_zero_width_are_replaced():
    out = plain_label("\u202eabc")
    assert "\u202e" not in out and out.endswith("abc") and len(out) == 4
    out = plain_label("a\u200bb")
    assert "\u200b" not in out and out[0] == "a" and out[-1] == "b" and len(out) == 3


def test_other_controls_and_truncation():
    out = plain_label("a\nb\tc\x9bd\x7f\u2028\ufeff\u2066")
    assert out.isprintable()
    assert plain_label("abcdef", max_len=4) == "abc…"
    assert plain_label("日本語テキスト", max_len=5) == "日本…"
    assert plain_label(None) == "" and plain_label(42) == "42"
    assert plain_label("e\u0301") == "é"   # NFC: one cell, not a dangling combining mark


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 200), width=st.integers(1, 6),
       height=st.integers(1, 4))
def test_weights_sum_per_cell_as_a_direct_loop(seed, n, width, height):
    rng = np.random.default_rng(seed)
    x = (rng.integers(-4, 4 * width + 4, n) / 2).astype(np.float32)
    y = (rng.integers(-4, 8 * height + 4, n) / 2).astype(np.float32)
    w = rng.random(n) * 5
    w[rng.random(n) < 0.1] = np.nan  # a missing weight counts 0
    view = (0.0, 2.0 * width, 0.0, 4.0 * height)
    r = rasterize(x, y, view, width, height, weights=w)
    want = np.zeros((height, width))
    for xi, yi, wi in zip(x, y, w, strict=True):
        col, row = cell_of(xi, yi, view, width, height)
        if col >= 0 and np.isfinite(wi):
            want[row, col] += wi
    np.testing.assert_allclose(r.weight, want, rtol=1e-12, atol=1e-12)
    assert rasterize(x, y, view, width, height).weight is None


def test_weighted_frames_agree_between_kernels_and_brighten_heavy_cells():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(2, 50_000)).astype(np.float32)
    w = 1 + np.log1p(rng.integers(0, 100, len(x)))
    a = rasterize(x, y, (-2, 2, -2, 2), 80, 20, weights=w, kernel="numpy")
    b = rasterize(x, y, (-2, 2, -2, 2), 80, 20, weights=w, kernel="numba")
    np.testing.assert_allclose(a.weight, b.weight, rtol=1e-12)
    # two cells of one point each: the heavier one is the brighter
    two = rasterize(np.array([0.5, 2.5]), np.array([3.5, 3.5]), (0, 4, 0, 4), 2, 1,
                    weights=np.array([1.0, 1 + np.log1p(99)]))
    assert density_level(two.weight, 6).tolist() == [[3, 6]]
    assert density_level(two.counts, 6).tolist() == [[6, 6]]
