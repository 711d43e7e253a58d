"""What the explorer shows, computed from the dataset's arrays: no Textual, no DuckDB here.

The functions that touch the Dataset (colouring) are slow on big data and run in
workers; the rest are cheap helpers for the panes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tui.text import plain_label

if TYPE_CHECKING:  # the engine's cluster listing; importing it loads numba
    from engine.clusters import Clusters

BLOCKS = " ▏▎▍▌▋▊▉█"


def nice_step(x: float) -> float:
    """The largest 1, 2 or 5 × 10^k not above x (x > 0)."""
    if not x > 0 or not math.isfinite(x):
        return 0.01
    e = math.floor(math.log10(x))
    for m in (5, 2, 1):
        if m * 10.0 ** e <= x * (1 + 1e-9):
            return m * 10.0 ** e
    return 10.0 ** e


@dataclass(frozen=True)
class ThresholdScale:
    """The range a threshold moves over and its fine/coarse steps."""

    lo: float
    hi: float
    fine: float
    coarse: float

    @property
    def decimals(self) -> int:
        return max(0, -math.floor(math.log10(self.fine) + 1e-9))

    def snap(self, t: float) -> float:
        t = round(t / self.fine) * self.fine
        lo = math.floor(self.lo / self.fine) * self.fine - self.fine
        hi = math.ceil(self.hi / self.fine) * self.fine + self.fine
        return round(min(max(t, lo), hi), self.decimals + 2)

    def step(self, t: float, steps: int, coarse: bool = False) -> float:
        return self.snap(t + steps * (self.coarse if coarse else self.fine))

    def fraction(self, t: float) -> float:
        if self.hi <= self.lo:
            return 0.5
        return min(max((t - self.lo) / (self.hi - self.lo), 0.0), 1.0)

    def format(self, t: float) -> str:
        return f"{t:.{self.decimals}f}"


def threshold_scale(tree_sims: np.ndarray) -> ThresholdScale:
    """Steps sized to the spread of the merge tree's similarities (1st to 99th percentile)."""
    s = np.asarray(tree_sims, dtype=np.float64)
    s = s[np.isfinite(s)]
    if len(s) == 0:
        return ThresholdScale(0.0, 1.0, 0.01, 0.05)
    lo, hi = float(s.min()), float(s.max())
    q1, q99 = np.quantile(s, [0.01, 0.99]) if len(s) > 1 else (lo, hi)
    span = float(q99 - q1) or float(hi - lo) or 1.0
    fine = nice_step(span / 50)
    return ThresholdScale(lo, hi, fine, nice_step(span / 10))


def threshold_candidates(scale: ThresholdScale, tree_sims: np.ndarray) -> np.ndarray:
    """The thresholds the opening one is chosen from: each tree similarity rounded up onto
    the slider's fine grid (up: the grid value then keeps every stronger edge), the grid's
    bottom and one step above the strongest edge; at most one per tree edge."""
    s = np.asarray(tree_sims, dtype=np.float64)
    s = s[np.isfinite(s)]
    up = np.ceil(s / scale.fine - 1e-9) * scale.fine
    # the bottom, and one step above the strongest edge, where every entity stands alone
    ends = [scale.snap(scale.lo)] + ([float(up.max()) + scale.fine] if len(up) else [])
    return np.unique(np.round(np.append(up, ends), scale.decimals + 2))


def opening_threshold(ds, scale: ThresholdScale | None = None) -> float:
    """Where the explorer opens and `embtui clusters` cuts without --threshold: the rule of
    Dataset.opening_threshold over the slider's grid (slow on big data: workers only)."""
    tree_sims = ds.merge_tree[2]
    scale = scale or threshold_scale(tree_sims)
    return scale.snap(ds.opening_threshold(threshold_candidates(scale, tree_sims)))


def made_where(view, scale: ThresholdScale | None, threshold: float | None) -> str:
    """How the listed clusters were made: "at 0.57" or "in slpa"."""
    if view is not None and view.method is not None:
        return f"in {view.method}"
    return f"at {scale.format(threshold)}" if scale and threshold is not None else ""


def best_connected(members: np.ndarray, degree: np.ndarray | None, limit: int | None = None
                   ) -> np.ndarray:
    """Members by in-degree, highest first (ties by index); at most `limit` of them."""
    members = np.asarray(members)
    if degree is None or len(members) == 0:
        return members[:limit] if limit else members
    d = -degree[members].astype(np.int64)
    if limit is not None and len(members) > 4 * limit:
        # Keep every member tied with the limit-th, so ties are still settled by index.
        keep = d <= np.partition(d, limit - 1)[limit - 1]
        members, d = members[keep], d[keep]
    order = np.lexsort((members, d))
    out = members[order]
    return out[:limit] if limit else out


def cluster_examples(view: Clusters, degree: np.ndarray | None, limit: int = 300,
                     per: int = 3) -> list[np.ndarray]:
    """A few best-connected members of each of the first `limit` clusters."""
    return [best_connected(view.members(c), degree, per) for c in range(min(len(view), limit))]


def cluster_centres(view: Clusters, xy: np.ndarray, limit: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The median x and y (the lower middle value) of the members of each of the first
    `limit` listed clusters: one sort of their coordinates, no loop over clusters."""
    limit = min(int(limit), len(view))
    sizes = np.diff(view.offsets[:limit + 1])
    pos = np.repeat(np.arange(limit), sizes)
    members = view.order[:int(view.offsets[limit])]
    mid = view.offsets[:limit] + (sizes - 1) // 2
    centre = []
    for d in (0, 1):
        v = np.asarray(xy[members, d], dtype=np.float64)
        centre.append(v[np.lexsort((v, pos))][mid] if len(v) else np.zeros(0))
    return centre[0], centre[1]


def map_label(words: list[str], label: str, width: int) -> str:
    """A cluster's name on the map: as many of `words` (its label's keywords) as fit in
    `width` cells whole (always the first), else its label."""
    from rich.cells import cell_len
    if not words:
        return label
    out = words[0]
    for word in words[1:]:
        if cell_len(out) + 2 + cell_len(word) > width:
            break
        out += ", " + word
    return out


# ---- colouring -----------------------------------------------------------------------------

@dataclass
class Colouring:
    """A group per point, 0 = most prominent (-1 = none), and a legend of (text, group).

    Groups are not capped: the view shows as many as it has colours or symbols for."""

    mode: str
    title: str
    groups: np.ndarray
    legend: list[tuple[str, int]] = field(default_factory=list)
    view: Clusters | None = None  # the communities coloured, to list them too
    examples: list = field(default_factory=list)  # a few best-connected members of each
    palette: tuple[str, ...] | None = None  # colours of its own (default: the scatter's)


# the kept share in fifths, where the map distorts (red) to where it holds (cyan); no yellow,
# the highlight's colour
TRUST_PALETTE = ("#ff4d4d", "#ff8c42", "#c8b45b", "#4cd37a", "#2fd4d4")


def group_modes(community_methods, metadata_columns, trust: bool = False,
                agreement=()) -> list[str]:
    """What the groups can stand for; `trust` when the file has a graph and a layout;
    agreement with each of the `agreement` embeddings (the file's others with a graph)."""
    modes = ["clusters"]
    modes += [f"community:{m}" for m in community_methods]
    modes += [f"column:{c}" for c in metadata_columns if c != "weight"]
    modes.append("degree")
    if trust:
        modes.append("trust")
    modes += [f"agreement:{name}" for name in agreement]
    return modes


def mode_title(mode: str) -> str:
    if mode == "clusters":
        return "clusters"
    if mode == "trust":
        return "trust"
    kind, _, name = mode.partition(":")
    name = plain_label(name, 40)  # a metadata column's name is data
    return {"community": f"communities ({name})", "column": name,
            "agreement": f"agreement with {name}"}.get(kind, plain_label(mode))


def colour_by_view(view: Clusters, mode: str = "clusters") -> Colouring:
    """Group = the cluster's place in the listing (0 = largest); singletons get none."""
    groups = view.positions().astype(np.int32)
    legend = [(f"{c} ({int(view.sizes[c])})", c) for c in range(min(len(view), 36))]
    return Colouring(mode, mode_title(mode), groups, legend)


def colour_by_values(values: np.ndarray, mode: str) -> Colouring:
    """Numbers in quantile bins (low to high); anything else by value, most common first."""
    values = np.asarray(values)
    n = len(values)
    groups = np.full(n, -1, dtype=np.int32)
    numeric = values.dtype.kind in "iuf"
    if values.dtype.kind == "O":
        try:
            as_float = values.astype(np.float64)
            numeric = bool(np.isfinite(as_float).any())
            values = as_float if numeric else values
        except (TypeError, ValueError):
            numeric = False
    if numeric and n:
        x = values.astype(np.float64)
        ok = np.isfinite(x)
        if ok.any():
            edges = np.unique(np.quantile(x[ok], np.linspace(0, 1, 7)))
            if len(edges) == 1:
                groups[ok] = 0
                return Colouring(mode, mode_title(mode), groups, [(_num(edges[0]), 0)])
            b = np.clip(np.searchsorted(edges, x[ok], side="right") - 1, 0, len(edges) - 2)
            groups[ok] = b
            legend = [(f"{_num(edges[i])}–{_num(edges[i + 1])}", i)
                      for i in range(len(edges) - 1)]
            return Colouring(mode, mode_title(mode), groups, legend)
        return Colouring(mode, mode_title(mode), groups, [])
    text = np.array(["" if v is None else str(v) for v in values], dtype=object)
    # "Action|Adventure|Sci-Fi": colour by the first value of multi-valued fields.
    if n and np.mean([("|" in t) for t in text[:1000]]) > 0.3:
        text = np.array([t.split("|", 1)[0] for t in text], dtype=object)
    cats, inverse, counts = np.unique(text, return_inverse=True, return_counts=True)
    top = [c for c in np.argsort(-counts, kind="stable") if cats[c] != ""]
    lut = np.full(len(cats), -1, dtype=np.int32)
    lut[top] = np.arange(len(top))
    groups = lut[inverse.ravel()]
    legend = [(str(cats[c]), g) for g, c in enumerate(top[:36])]
    return Colouring(mode, mode_title(mode), groups, legend)


def colour_by_trust(share: np.ndarray) -> Colouring:
    """Each entity by the share of its neighbours kept on the map, in fifths (0–20% … 80–100%);
    none without neighbours."""
    share = np.asarray(share, dtype=np.float64)
    groups = np.full(len(share), -1, dtype=np.int32)
    ok = np.isfinite(share)
    groups[ok] = np.clip(np.floor(share[ok] * 5), 0, 4).astype(np.int32)
    legend = [(f"{20 * g}–{20 * (g + 1)}% kept", g) for g in range(5)]
    return Colouring("trust", mode_title("trust"), groups, legend, palette=TRUST_PALETTE)


def colour_by_agreement(overlap: np.ndarray, mode: str) -> Colouring:
    """Each entity by the share of its neighbours another embedding gives it too (Jaccard),
    in fifths, on the trust palette; none where the other lacks it."""
    col = colour_by_trust(overlap)
    legend = [(f"{20 * g}–{20 * (g + 1)}% shared", g) for g in range(5)]
    return Colouring(mode, mode_title(mode), col.groups, legend, palette=TRUST_PALETTE)


def trust_note(mean: float, trustworthiness: float | None) -> str:
    """The status line's word on the layout: "trust 26% · T 0.86"."""
    text = "trust —" if mean != mean else f"trust {mean:.0%}"
    return text if trustworthiness is None else f"{text} · T {trustworthiness:.2f}"


def emphasis_weights(values: np.ndarray) -> np.ndarray:
    """A point's weight in the density shading: 1 + log(1 + v − min v), so the least weighs
    1 (as an unweighted point does) and a hub of degree 100 about 5.6; missing values 1."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    out = np.ones(len(v), dtype=np.float64)
    if ok.any():
        out[ok] = 1.0 + np.log1p(v[ok] - v[ok].min())
    return out


def emphasis_modes(numeric_columns) -> list[str]:
    """What `w` cycles through: off, then degree, then each numeric metadata column."""
    return ["off", "degree", *[f"column:{c}" for c in numeric_columns]]


def _num(x: float) -> str:
    return f"{x:.4g}"


def colouring(ds, mode: str, view: Clusters | None, degree: np.ndarray | None) -> Colouring:
    """The colouring for a mode (slow for stored columns and communities: a worker)."""
    if mode == "clusters":
        if view is None:
            return Colouring(mode, mode_title(mode), np.full(ds.n, -1, np.int32))
        return colour_by_view(view, mode)
    kind, _, name = mode.partition(":")
    if kind == "community":
        view = ds.clusters(method=name)
        col = colour_by_view(view, mode)
        col.view = view
        col.examples = cluster_examples(view, degree)
        return col
    if kind == "column":
        return colour_by_values(ds.metadata(name), mode)
    if kind == "agreement":
        from engine.compare import entity_overlap
        with ds.with_embedding(name) as other:
            return colour_by_agreement(entity_overlap(ds, other), mode)
    if mode == "degree" and degree is not None:
        return colour_by_values(degree, mode)
    return Colouring(mode, mode_title(mode), np.full(ds.n, -1, np.int32))


# ---- small text helpers --------------------------------------------------------------------

def bar(fraction: float, width: int) -> str:
    """A left-aligned bar of eighth blocks, padded to width."""
    f = min(max(float(fraction), 0.0), 1.0) if math.isfinite(fraction) else 0.0
    eighths = int(round(f * width * 8))
    full, part = divmod(eighths, 8)
    out = "█" * full + (BLOCKS[part] if part and full < width else "")
    return out.ljust(width)


def slider(fraction: float, width: int) -> str:
    """A track with a knob at fraction, e.g. ━━━━●──────."""
    width = max(width, 3)
    pos = int(round(min(max(fraction, 0.0), 1.0) * (width - 1)))
    return "━" * pos + "●" + "─" * (width - 1 - pos)


def slug(text: str, max_len: int = 40) -> str:
    """A file-name-safe version of a label."""
    s = re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-").lower()
    return s[:max_len].strip("-") or "entity"


def sim_histogram(sim: np.ndarray, bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin edges of the finite kNN similarities."""
    s = np.asarray(sim, dtype=np.float32).ravel()
    s = s[np.isfinite(s)]
    if len(s) == 0:
        return np.zeros(bins, np.int64), np.linspace(0, 1, bins + 1)
    s = s.astype(np.float64)  # float32 edges cannot split a range as narrow as its spacing
    lo, hi = float(s.min()), float(s.max())
    if hi - lo <= 1e-9 * max(1.0, abs(lo)):
        # every similarity the same (identical or 1-d vectors): one bar from the value
        return np.array([len(s)], np.int64), np.array([lo, lo + 0.01])
    return np.histogram(s, bins=bins, range=(lo, hi))
