"""Points and line segments → braille cells: dot bits, point counts and the dominant group
per cell; for segments, the dots they cross and the brightest band per cell.

A cell is 2 dots wide and 4 dots tall (Unicode U+2800 + dot bits). Dots of a terminal cell are
roughly square, so one data unit per dot in x and in y keeps the aspect. The view is
(x0, x1, y0, y1) in data coordinates and closed on every side; y grows upward in data and
downward on screen, so row 0 is the top (y1). A point exactly on a border between two dots
belongs to the dot to its right / below it on screen; points on x1 or y0 fall in the last dot.

A segment is clipped to the view in continuous dot coordinates (Liang–Barsky), its two ends
fall in the dots a point there would, and the dots between are an integer DDA: with
n = max(|Δcol|, |Δrow|), step s of 0..n lights (col0 + round(s·Δcol/n), row0 + round(s·Δrow/n)),
halves rounded up, from the end with the smaller (row, col), so a segment draws the same dots
whichever way round it is given.

Nothing here imports textual or rich: the widget builds its lines from these arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

BRAILLE_BASE = 0x2800
# DOT_BITS[dot row within the cell, dot column within the cell]
DOT_BITS = np.array([[0x01, 0x08],
                     [0x02, 0x10],
                     [0x04, 0x20],
                     [0x40, 0x80]], dtype=np.uint8)

# Above this many (cell, group) counters the dominant group is found by bucketing points per
# cell instead of a dense per-cell histogram (which would be mostly zeros to clear and scan).
_DENSE_GROUP_CELLS = 1 << 21


class LineRaster(NamedTuple):
    bits: np.ndarray    # (height, width) uint8 braille dot bits of the segments
    band: np.ndarray    # (height, width) int8 largest band of a segment in the cell; -1 if none
    view: tuple         # (x0, x1, y0, y1) the raster was drawn for


class Raster(NamedTuple):
    bits: np.ndarray    # (height, width) uint8 braille dot bits
    counts: np.ndarray  # (height, width) int32 points per cell
    group: np.ndarray   # (height, width) int32 most frequent group, ties → smallest; -1 if none
    view: tuple         # (x0, x1, y0, y1) the raster was drawn for
    weight: np.ndarray | None = None  # (height, width) float64 sum of the points' weights


@njit(cache=True, nogil=True)
def _dot(xi, yi, x0, y1, sx, sy, w2, h4):
    dx = int((xi - x0) * sx)
    dy = int((y1 - yi) * sy)
    if dx >= w2:
        dx = w2 - 1
    if dy >= h4:
        dy = h4 - 1
    return dx, dy


@njit(cache=True, nogil=True)
def _raster_kernel(x, y, x0, x1, y0, y1, groups, ngroups, dense, bits, counts, hist, cell,
                   weights, wsum):
    """One pass over the points.

    With groups and `dense`, counts (cell, group) in `hist`; with groups and not `dense`, stores
    each point's cell in `cell` (-1 outside) for `_dominant_sparse`; with `weights` (empty:
    none) adds each point's weight to its cell in `wsum`.
    """
    height, width = bits.shape
    w2 = width * 2
    h4 = height * 4
    sx = w2 / (x1 - x0)
    sy = h4 / (y1 - y0)
    has_groups = groups.shape[0] > 0
    has_weights = weights.shape[0] > 0
    for i in range(x.shape[0]):
        xi = x[i]
        yi = y[i]
        # written so that NaN fails the test
        if not (xi >= x0 and xi <= x1 and yi >= y0 and yi <= y1):
            if has_groups and not dense:
                cell[i] = -1
            continue
        dx, dy = _dot(xi, yi, x0, y1, sx, sy, w2, h4)
        r = dy >> 2
        c = dx >> 1
        bits[r, c] |= DOT_BITS[dy & 3, dx & 1]
        counts[r, c] += 1
        if has_weights:
            wsum[r, c] += weights[i]
        if has_groups:
            if dense:
                g = groups[i]
                if g >= 0:
                    hist[r * width + c, g] += 1
            else:
                cell[i] = r * width + c


@njit(cache=True, nogil=True)
def _dominant_dense(hist, out):
    ncells, ngroups = hist.shape
    for k in range(ncells):
        best = 0
        bestg = -1
        for g in range(ngroups):
            v = hist[k, g]
            if v > best:  # strict: ties keep the smaller group
                best = v
                bestg = g
        out[k] = bestg


@njit(cache=True, nogil=True)
def _dominant_sparse(cell, groups, ncells, ngroups, out):
    # bucket the group ids by cell (counting sort), then one scratch counter per group
    start = np.zeros(ncells + 1, dtype=np.int64)
    for i in range(cell.shape[0]):
        k = cell[i]
        if k >= 0 and groups[i] >= 0:
            start[k + 1] += 1
    for k in range(ncells):
        start[k + 1] += start[k]
    fill = start[:-1].copy()
    bucket = np.empty(start[ncells], dtype=np.int32)
    for i in range(cell.shape[0]):
        k = cell[i]
        if k >= 0 and groups[i] >= 0:
            bucket[fill[k]] = groups[i]
            fill[k] += 1
    scratch = np.zeros(ngroups, dtype=np.int32)
    for k in range(ncells):
        best = 0
        bestg = -1
        for j in range(start[k], start[k + 1]):
            g = bucket[j]
            v = scratch[g] + 1
            scratch[g] = v
            if v > best or (v == best and g < bestg):
                best = v
                bestg = g
        for j in range(start[k], start[k + 1]):
            scratch[bucket[j]] = 0
        out[k] = bestg


@njit(cache=True, nogil=True)
def _clip_dots(ua, va, ub, vb, w2, h4):
    """Liang–Barsky: the part of the segment inside [0, w2] × [0, h4] as (t0, t1) along it;
    t0 > t1 when none is. Every bound is applied (no early exit), as the numpy version does."""
    du = ub - ua
    dv = vb - va
    t0 = 0.0
    t1 = 1.0
    out = False
    for k in range(4):
        if k == 0:
            p, q = -du, ua
        elif k == 1:
            p, q = du, w2 - ua
        elif k == 2:
            p, q = -dv, va
        else:
            p, q = dv, h4 - va
        if p == 0.0:
            if q < 0.0:
                out = True
        else:
            r = q / p
            if p < 0.0:
                if r > t0:
                    t0 = r
            elif r < t1:
                t1 = r
    if out:
        return 1.0, 0.0
    return t0, t1


@njit(cache=True, nogil=True)
def _dot_index(u, limit):
    d = int(np.floor(u))
    if d < 0:
        return 0
    if d >= limit:
        return limit - 1
    return d


@njit(cache=True, nogil=True)
def _line_kernel(ax, ay, bx, by, band, x0, x1, y0, y1, bits, cellband):
    """One pass over the segments: OR their dots into `bits`, the largest band into
    `cellband`."""
    height, width = bits.shape
    w2 = width * 2
    h4 = height * 4
    sx = w2 / (x1 - x0)
    sy = h4 / (y1 - y0)
    for e in range(ax.shape[0]):
        ua = (ax[e] - x0) * sx
        va = (y1 - ay[e]) * sy
        ub = (bx[e] - x0) * sx
        vb = (y1 - by[e]) * sy
        if not (np.isfinite(ua) and np.isfinite(va) and np.isfinite(ub) and np.isfinite(vb)):
            continue
        t0, t1 = _clip_dots(ua, va, ub, vb, w2, h4)
        if t0 > t1:
            continue
        du = ub - ua
        dv = vb - va
        if t1 < 1.0:
            ub = ua + t1 * du
            vb = va + t1 * dv
        if t0 > 0.0:
            ua = ua + t0 * du
            va = va + t0 * dv
        ca = _dot_index(ua, w2)
        ra = _dot_index(va, h4)
        cb = _dot_index(ub, w2)
        rb = _dot_index(vb, h4)
        if rb < ra or (rb == ra and cb < ca):
            ca, ra, cb, rb = cb, rb, ca, ra
        dc = cb - ca
        dr = rb - ra
        n = max(abs(dc), abs(dr))
        q2 = 2 * max(n, 1)
        g = band[e]
        # c = ca + (2·s·dc + q) // 2q kept as quotient and remainder: a step adds 2·dc,
        # |2·dc| ≤ 2q, so the quotient moves by at most one (no division per dot)
        c, rc = ca, q2 // 2
        r, rr = ra, q2 // 2
        for _ in range(n + 1):
            bits[r >> 2, c >> 1] |= DOT_BITS[r & 3, c & 1]
            if g > cellband[r >> 2, c >> 1]:
                cellband[r >> 2, c >> 1] = g
            rc += 2 * dc
            if rc >= q2:
                rc -= q2
                c += 1
            elif rc < 0:
                rc += q2
                c -= 1
            rr += 2 * dr
            if rr >= q2:
                rr -= q2
                r += 1
            elif rr < 0:
                rr += q2
                r -= 1


def _check_view(view, width: int, height: int) -> tuple[float, float, float, float]:
    x0, x1, y0, y1 = (float(v) for v in view)
    if not (x1 > x0 and y1 > y0) or not np.isfinite([x0, x1, y0, y1]).all():
        raise ValueError(f"view must have x0 < x1 and y0 < y1, got {view!r}")
    if width < 1 or height < 1:
        raise ValueError(f"raster size must be at least 1×1 cells, got {width}×{height}")
    return x0, x1, y0, y1


def _coords(a) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype != np.float32 and a.dtype != np.float64:
        a = a.astype(np.float64)
    return np.ascontiguousarray(a)


# The first call of any numba function in a process sets up numba's machinery (~1.2 s on 2
# cores, even with every kernel cached on disk): longer than a first frame may take. Until
# warm_up() has run, "auto" draws with numpy (the same cells, a few times slower at 1M points).
_numba_ready = False


def warm_up() -> None:
    """Load the numba kernels (from numba's cache) so later frames use them; thread-safe."""
    global _numba_ready
    one = np.zeros(1)
    rasterize(one, one, (0.0, 1.0, 0.0, 1.0), 1, 1, kernel="numba")
    rasterize(one, one, (0.0, 1.0, 0.0, 1.0), 1, 1, weights=one, kernel="numba")
    rasterize(one, one, (0.0, 1.0, 0.0, 1.0), 1, 1, groups=np.zeros(1, np.int32),
              kernel="numba")
    cell = np.zeros(1, np.int32)
    _dominant_sparse(cell, cell, 1, 1, np.full(1, -1, np.int32))
    rasterize_lines(one, one, one, one, (0.0, 1.0, 0.0, 1.0), 1, 1, kernel="numba")
    _numba_ready = True


def rasterize(x, y, view, width: int, height: int, groups=None,
              ngroups: int | None = None, kernel: str = "auto", weights=None) -> Raster:
    """Draw points into a `height`×`width` grid of braille cells.

    `groups` (int, one per point; negative = no group) gives each cell its most frequent group.
    `ngroups` (max group + 1) may be passed to skip a scan when the caller already knows it.
    `weights` (float, one per point) are summed per cell into `Raster.weight`.
    `kernel`: "numba", "numpy" (identical output), or "auto": numba once warm_up() has run.
    """
    x0, x1, y0, y1 = _check_view(view, width, height)
    x = _coords(x)
    y = _coords(y)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x and y must be 1-d arrays of the same length")
    w = _weights_of(weights, len(x))
    if kernel == "auto":
        kernel = "numba" if _numba_ready else "numpy"
    if kernel == "numpy":
        return _rasterize_numpy(x, y, (x0, x1, y0, y1), width, height, groups, ngroups, w)
    if kernel != "numba":
        raise ValueError(f"kernel must be auto, numba or numpy, got {kernel!r}")
    bits = np.zeros((height, width), dtype=np.uint8)
    counts = np.zeros((height, width), dtype=np.int32)
    wsum = np.zeros((height, width) if w is not None else (0, 0), dtype=np.float64)
    ws = w if w is not None else np.zeros(0, dtype=np.float64)
    ncells = width * height
    dominant = np.full(ncells, -1, dtype=np.int32)
    empty = np.zeros(0, dtype=np.int32)
    if groups is None or len(x) == 0:
        _raster_kernel(x, y, x0, x1, y0, y1, empty, 0, True, bits, counts,
                       np.zeros((0, 0), dtype=np.int32), empty, ws, wsum)
    else:
        groups, ngroups = _groups_of(groups, len(x), ngroups)
        if ncells * ngroups <= _DENSE_GROUP_CELLS:
            hist = np.zeros((ncells, ngroups), dtype=np.int32)
            _raster_kernel(x, y, x0, x1, y0, y1, groups, ngroups, True, bits, counts, hist,
                           empty, ws, wsum)
            _dominant_dense(hist, dominant)
        else:
            cell = np.empty(len(x), dtype=np.int32)
            _raster_kernel(x, y, x0, x1, y0, y1, groups, ngroups, False, bits, counts,
                           np.zeros((0, 0), dtype=np.int32), cell, ws, wsum)
            _dominant_sparse(cell, groups, ncells, ngroups, dominant)
    return Raster(bits, counts, dominant.reshape(height, width), (x0, x1, y0, y1),
                  wsum if w is not None else None)


def _weights_of(weights, n: int) -> np.ndarray | None:
    if weights is None:
        return None
    w = np.ascontiguousarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"weights must have one entry per point, got shape {w.shape}")
    return np.where(np.isfinite(w), w, 0.0)


def rasterize_lines(ax, ay, bx, by, view, width: int, height: int, band=None,
                    kernel: str = "auto") -> LineRaster:
    """Draw segments (ax[i], ay[i]) → (bx[i], by[i]) into a `height`×`width` grid of braille
    cells, clipped to the view; a segment with a non-finite end draws nothing.

    `band` (small ints ≥ 0, one per segment; default all 0) is kept per cell as the largest of
    the segments crossing it, for their brightness. `kernel` as for rasterize().
    """
    x0, x1, y0, y1 = _check_view(view, width, height)
    ends = [np.ascontiguousarray(a, dtype=np.float64) for a in (ax, ay, bx, by)]
    m = ends[0].shape
    if len(m) != 1 or any(e.shape != m for e in ends):
        raise ValueError("segment ends must be 1-d arrays of the same length")
    if band is None:
        band = np.zeros(m, dtype=np.int8)
    else:
        band = np.ascontiguousarray(band, dtype=np.int8)
        if band.shape != m:
            raise ValueError("band must have one entry per segment")
        if len(band) and band.min() < 0:
            raise ValueError("bands must be ≥ 0")
    if kernel == "auto":
        kernel = "numba" if _numba_ready else "numpy"
    if kernel == "numpy":
        return _lines_numpy(*ends, band, (x0, x1, y0, y1), width, height)
    if kernel != "numba":
        raise ValueError(f"kernel must be auto, numba or numpy, got {kernel!r}")
    bits = np.zeros((height, width), dtype=np.uint8)
    cellband = np.full((height, width), -1, dtype=np.int8)
    _line_kernel(*ends, band, x0, x1, y0, y1, bits, cellband)
    return LineRaster(bits, cellband, (x0, x1, y0, y1))


def _lines_numpy(ax, ay, bx, by, band, view, width: int, height: int) -> LineRaster:
    """rasterize_lines() in whole-array numpy (the same arithmetic, segment by segment as
    arrays): for frames drawn before the numba kernels have loaded."""
    x0, x1, y0, y1 = view
    w2, h4 = width * 2, height * 4
    sx, sy = w2 / (x1 - x0), h4 / (y1 - y0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ua, va = (ax - x0) * sx, (y1 - ay) * sy
        ub, vb = (bx - x0) * sx, (y1 - by) * sy
        ok = np.isfinite(ua) & np.isfinite(va) & np.isfinite(ub) & np.isfinite(vb)
        ua, va, ub, vb, band = ua[ok], va[ok], ub[ok], vb[ok], band[ok]
        du, dv = ub - ua, vb - va
        t0 = np.zeros(len(ua))
        t1 = np.ones(len(ua))
        out = np.zeros(len(ua), dtype=bool)
        for p, q in ((-du, ua), (du, w2 - ua), (-dv, va), (dv, h4 - va)):
            out |= (p == 0) & (q < 0)
            r = q / p
            t0 = np.where((p < 0) & (r > t0), r, t0)
            t1 = np.where((p > 0) & (r < t1), r, t1)
        keep = ~out & (t0 <= t1)
        ua, va, ub, vb, du, dv, t0, t1, band = (
            a[keep] for a in (ua, va, ub, vb, du, dv, t0, t1, band))
        end = t1 < 1.0
        ub = np.where(end, ua + t1 * du, ub)
        vb = np.where(end, va + t1 * dv, vb)
        start = t0 > 0.0
        ua = np.where(start, ua + t0 * du, ua)
        va = np.where(start, va + t0 * dv, va)
    ca, cb = (np.clip(np.floor(u), 0, w2 - 1).astype(np.int64) for u in (ua, ub))
    ra, rb = (np.clip(np.floor(v), 0, h4 - 1).astype(np.int64) for v in (va, vb))
    swap = (rb < ra) | ((rb == ra) & (cb < ca))
    ca, cb = np.where(swap, cb, ca), np.where(swap, ca, cb)
    ra, rb = np.where(swap, rb, ra), np.where(swap, ra, rb)
    dc, dr = cb - ca, rb - ra
    n = np.maximum(np.abs(dc), np.abs(dr))
    q = np.maximum(n, 1)
    seg = np.repeat(np.arange(len(n)), n + 1)
    first = np.cumsum(n + 1) - (n + 1)
    s = np.arange(len(seg)) - first[seg]
    c = ca[seg] + (2 * s * dc[seg] + q[seg]) // (2 * q[seg])
    r = ra[seg] + (2 * s * dr[seg] + q[seg]) // (2 * q[seg])
    cell = (r >> 2) * width + (c >> 1)
    ncells = width * height
    dots = np.zeros(ncells * 8, dtype=bool)
    dots[cell * 8 + _BIT_SHIFT[DOT_BITS[r & 3, c & 1]]] = True
    bits = np.packbits(dots.reshape(ncells, 8), axis=1, bitorder="little")[:, 0]
    cellband = np.full(ncells, -1, dtype=np.int8)
    np.maximum.at(cellband, cell, band[seg])
    return LineRaster(bits.reshape(height, width), cellband.reshape(height, width), view)


def _groups_of(groups, n: int, ngroups: int | None) -> tuple[np.ndarray, int]:
    groups = np.ascontiguousarray(groups, dtype=np.int32)
    if groups.shape != (n,):
        raise ValueError("groups must have one entry per point")
    if ngroups is None:
        ngroups = int(groups.max()) + 1 if len(groups) else 0
    return groups, max(int(ngroups), 1)


# bit position (0-7) of each dot bit, for packing dots into a cell's byte with numpy
_BIT_SHIFT = np.zeros(256, np.int64)
_BIT_SHIFT[DOT_BITS.ravel()] = np.log2(DOT_BITS.ravel()).astype(np.int64)


def _rasterize_numpy(x, y, view, width: int, height: int, groups, ngroups,
                     weights=None) -> Raster:
    """rasterize() in whole-array numpy: no numba, so no start-up cost."""
    ncells = width * height
    col, row, bit = locate(x, y, view, width, height)
    inside = col >= 0
    cell = (row * width + col)[inside]
    counts = np.bincount(cell, minlength=ncells).astype(np.int32)
    wsum = None if weights is None else np.bincount(
        cell, weights=weights[inside], minlength=ncells).reshape(height, width)
    dots = np.zeros(ncells * 8, dtype=bool)
    dots[cell * 8 + _BIT_SHIFT[bit[inside]]] = True
    bits = np.packbits(dots.reshape(ncells, 8), axis=1, bitorder="little")[:, 0]
    dominant = np.full(ncells, -1, dtype=np.int32)
    if groups is not None and len(x):
        g, ngroups = _groups_of(groups, len(x), ngroups)
        g = g[inside]
        keep = g >= 0
        pair = cell[keep] * ngroups + g[keep]
        if len(pair):
            keys, n = np.unique(pair, return_counts=True)
            kc, kg = keys // ngroups, keys % ngroups
            # per cell the largest count, ties to the smallest group: sort, take the first
            order = np.lexsort((kg, -n, kc))
            first = np.ones(len(order), dtype=bool)
            first[1:] = kc[order][1:] != kc[order][:-1]
            best = order[first]
            dominant[kc[best]] = kg[best]
    return Raster(bits.reshape(height, width), counts.reshape(height, width),
                  dominant.reshape(height, width), view, wsum)


def locate(x, y, view, width: int, height: int):
    """(column, row, dot bit) of each point, the same arithmetic as the kernel.

    Points outside the view (or NaN) get column = row = -1 and bit 0. Scalars in, scalars out.
    """
    x0, x1, y0, y1 = _check_view(view, width, height)
    scalar = np.ndim(x) == 0 and np.ndim(y) == 0
    xa = np.atleast_1d(np.asarray(x, dtype=np.float64))
    ya = np.atleast_1d(np.asarray(y, dtype=np.float64))
    w2, h4 = width * 2, height * 4
    inside = (xa >= x0) & (xa <= x1) & (ya >= y0) & (ya <= y1)
    with np.errstate(invalid="ignore"):
        dx = np.minimum(np.where(inside, (xa - x0) * (w2 / (x1 - x0)), 0).astype(np.int64), w2 - 1)
        dy = np.minimum(np.where(inside, (y1 - ya) * (h4 / (y1 - y0)), 0).astype(np.int64), h4 - 1)
    col = np.where(inside, dx >> 1, -1)
    row = np.where(inside, dy >> 2, -1)
    bit = np.where(inside, DOT_BITS[dy & 3, dx & 1], 0).astype(np.uint8)
    if scalar:
        return int(col[0]), int(row[0]), int(bit[0])
    return col, row, bit


def cell_of(x, y, view, width: int, height: int):
    """(column, row) of the cell holding each point; -1, -1 outside the view."""
    col, row, _ = locate(x, y, view, width, height)
    return col, row


def density_level(counts, levels: int, cmax: float | None = None) -> np.ndarray:
    """Brightness level per cell on a log scale: 0 for empty, 1..levels otherwise.

    A cell holding `cmax` points (default: the busiest cell) gets `levels`; a single point
    gets at least 1, and the top level when every non-empty cell holds one point. `counts`
    may be weight sums (Raster.weight) instead: the same scale over them.
    """
    counts = np.asarray(counts)
    if levels < 1:
        raise ValueError("levels must be at least 1")
    if cmax is None:
        cmax = counts.max() if counts.size else 0
    out = np.zeros(counts.shape, dtype=np.uint8)
    nonempty = counts > 0
    if cmax <= 0 or not nonempty.any():
        return out
    frac = np.log1p(counts[nonempty]) / np.log1p(cmax)
    out[nonempty] = np.clip(np.ceil(levels * frac), 1, levels).astype(np.uint8)
    return out


def braille_codepoints(bits) -> np.ndarray:
    """uint32 code points for the cells: U+2800 + bits, and a space for an empty cell."""
    bits = np.asarray(bits)
    return np.where(bits == 0, 0x20, BRAILLE_BASE + bits.astype(np.uint32)).astype(np.uint32)
