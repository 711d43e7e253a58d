"""Braille scatter frame time against textual-plotext; prints one JSON document.

Data: `--n` points (default 100k and 1M) from a mixture of 2-D Gaussian blobs of varied spread
plus a uniform background, float32, like a UMAP layout.

Ours, timed per frame: the widget's whole path for a 200×60-cell frame inside a headless
Textual app — raster (numba), compose (density levels, overlays) and the 60 `Strip`s from
`render_line` — with the line cache emptied before each frame. Measured plain and coloured by
12 groups, with a cursor and 15 highlighted points. `raster_only_ms` is the kernel alone.

With edges: the plain frame again with `--edges` (default 50k) lines drawn under the points,
all in view: kNN-like ones (each to a random point of its own blob, so a few to a few dozen
dots long) and, as a worst case, between random points (most cross the whole view).
`edge_raster_only_ms` is the line kernel alone; `edge_selection_ms` is the explorer's worker
picking the edges above a threshold among the points in view from a 1M × 15 graph
(tui.edges.edges_among), once with ~`--edges` passing and once with too many (it stops at
the count).

Peer, same points, same size: textual-plotext's `Plot` (what its `PlotextPlot` widget draws):
`clear_figure(); plotsize(200, 60); theme("clear"); scatter(x, y, marker="braille"); build()`,
then, as the widget does, `Text.from_ansi` and the 60 lines as Strips. Ratios use the peer's
full path and, more conservatively, its `build()` alone.

    .venv/bin/python benchmarks/bench_scatter.py
    .venv/bin/python benchmarks/bench_scatter.py --n 100000 --repeats 5 --peer-max 100000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time

import numba
import numpy as np
import plotext
import rich
import textual
from rich.text import Text
from textual.app import App, ComposeResult
from textual.strip import Strip

from tui.braille import rasterize, rasterize_lines, warm_up
from tui.edges import edges_among
from tui.widgets.scatter import Scatter

WIDTH, HEIGHT = 200, 60


def layout_like(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    blobs = 12
    centres = rng.uniform(-10, 10, (blobs, 2))
    spread = rng.lognormal(-0.5, 0.5, blobs)
    which = rng.integers(blobs, size=n)
    xy = centres[which] + rng.normal(size=(n, 2)) * spread[which, None]
    noise = rng.random(n) < 0.05
    xy[noise] = rng.uniform(-12, 12, (int(noise.sum()), 2))
    return xy.astype(np.float32), which.astype(np.int32)


def summary(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1e3
    return {"median_ms": round(float(np.median(ms)), 2), "min_ms": round(float(ms.min()), 2),
            "repeats": len(ms)}


class Bench(App):
    def compose(self) -> ComposeResult:
        yield Scatter()


def edge_ends(which: np.ndarray, m: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """m edges, each from a random point to a random point of the same blob."""
    rng = np.random.default_rng(seed)
    order = np.argsort(which, kind="stable")
    start = np.searchsorted(which[order], np.arange(which.max() + 2))
    a = rng.integers(len(which), size=m)
    blob = which[a]
    size = start[blob + 1] - start[blob]
    b = order[start[blob] + (rng.random(m) * size).astype(np.int64)]
    return a, b


async def time_widget(xy, groups, repeats: int, edges: int) -> dict:
    app = Bench()
    out = {}
    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        scatter = app.query_one(Scatter)
        scatter.palette_mode = "truecolor"
        scatter.set_points(xy)
        await pilot.pause()
        assert tuple(scatter.size) == (WIDTH, HEIGHT), scatter.size

        def frame() -> float:
            # what a zoom or pan costs: new rasters, new frame, every line rebuilt
            scatter._raster_key = None
            scatter._edge_key = None
            scatter._frame_dirty = True
            scatter._lines.clear()
            t = time.perf_counter()
            strips = [scatter.render_line(y) for y in range(HEIGHT)]
            elapsed = time.perf_counter() - t
            assert len(strips) == HEIGHT and all(s.cell_length == WIDTH for s in strips)
            return elapsed

        frame()  # warm: numba cache load, style table
        out["plain"] = summary([frame() for _ in range(repeats)])
        if edges:
            rng = np.random.default_rng(2)
            strength = rng.random(edges)
            a, b = edge_ends(groups, edges)
            scatter.set_edges(a, b, strength)
            frame()
            out[f"plain_with_{edges // 1000}k_edges"] = summary([frame() for _ in range(repeats)])
            scatter.set_edges(rng.integers(len(xy), size=edges),
                              rng.integers(len(xy), size=edges), strength)
            frame()
            out[f"plain_with_{edges // 1000}k_long_edges"] = summary(
                [frame() for _ in range(repeats)])
            scatter.set_edges(None)
        scatter.set_groups(groups)
        scatter.set_cursor(0)
        scatter.set_highlight(np.arange(1, 16), [f"n{i}" for i in range(1, 16)])
        frame()
        out["groups_12_cursor_highlight"] = summary([frame() for _ in range(repeats)])
        segments = sum(len(list(scatter.render_line(y))) for y in range(HEIGHT))
        out["segments_per_frame"] = segments

        t = time.perf_counter()
        for direction in ("right", "up", "left", "down") * 2:
            scatter.move_cursor(direction)
        out["move_cursor_ms"] = round((time.perf_counter() - t) / 8 * 1e3, 2)
    return out


def time_raster(xy, repeats: int) -> dict:
    x = np.ascontiguousarray(xy[:, 0])
    y = np.ascontiguousarray(xy[:, 1])
    view = (float(x.min()), float(x.max()), float(y.min()), float(y.max()))
    rasterize(x, y, view, WIDTH, HEIGHT)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        rasterize(x, y, view, WIDTH, HEIGHT)
        times.append(time.perf_counter() - t)
    return summary(times)


def time_edge_raster(xy, groups, edges: int, repeats: int) -> dict:
    a, b = edge_ends(groups, edges)
    x, y = xy[:, 0], xy[:, 1]
    view = (float(x.min()), float(x.max()), float(y.min()), float(y.max()))
    args = (x[a], y[a], x[b], y[b], view, WIDTH, HEIGHT, np.zeros(edges, np.int8))
    rasterize_lines(*args)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        rasterize_lines(*args)
        times.append(time.perf_counter() - t)
    out = summary(times)
    out["numpy_fallback_ms"] = round(_once(lambda: rasterize_lines(*args, kernel="numpy")), 1)
    return out


def _once(f) -> float:
    t = time.perf_counter()
    f()
    return (time.perf_counter() - t) * 1e3


def time_edge_selection(xy, groups, edges: int, repeats: int, k: int = 15) -> dict:
    """A kNN-shaped graph (k random points of the same blob a row) with similarities spread
    so that about `edges` undirected edges pass the first threshold."""
    n = len(xy)
    rng = np.random.default_rng(3)
    _, b = edge_ends(groups, n * k, seed=4)
    idx = b.reshape(n, k).astype(np.int32)
    sim = np.sort(rng.random((n, k)).astype(np.float32), axis=1)[:, ::-1].copy()
    t_some = float(np.quantile(sim, 1 - edges / (n * k)))
    shown = np.ones(n, dtype=bool)
    out = {"graph": [n, k]}
    for name, t, limit in (("about_limit", t_some, 2 * edges), ("too_many", 0.0, 2000)):
        got = edges_among(idx, sim, shown, t, limit)
        times = []
        for _ in range(repeats):
            s = time.perf_counter()
            edges_among(idx, sim, shown, t, limit)
            times.append(time.perf_counter() - s)
        out[name] = {**summary(times), "edges": len(got.edges.a), "too_many": got.too_many}
    return out


def time_plotext(xy, repeats: int) -> dict:
    from textual_plotext.plot import Plot

    console = rich.console.Console(width=WIDTH, color_system="truecolor", force_terminal=True,
                                   file=open("/dev/null", "w"), legacy_windows=False)
    x, y = xy[:, 0], xy[:, 1]
    build, full = [], []
    for _ in range(repeats):
        plt = Plot()
        t = time.perf_counter()
        plt.clear_figure()
        plt.plotsize(WIDTH, HEIGHT)
        plt._set_size(WIDTH, HEIGHT)  # as textual-plotext's widget does before each build
        plt.theme("clear")
        plt.scatter(x, y, marker="braille")
        ansi = plt.build()
        t_build = time.perf_counter()
        text = Text.from_ansi(ansi)
        lines = console.render_lines(text, console.options.update_width(WIDTH), pad=True)
        strips = [Strip(line, WIDTH) for line in lines]
        t_full = time.perf_counter()
        assert len(strips) >= HEIGHT, len(strips)
        build.append(t_build - t)
        full.append(t_full - t)
    return {"build": summary(build), "build_text_strips": summary(full)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--peer-repeats", type=int, default=3)
    ap.add_argument("--peer-max", type=int, default=1_000_000,
                    help="skip the plotext peer above this many points")
    ap.add_argument("--edges", type=int, default=50_000,
                    help="lines in the frame with edges (0: no such frame)")
    args = ap.parse_args()
    # the numba kernels, as the explorer has them once its first frame is up (that frame is
    # drawn with numpy while they load: bench_open.py times it)
    warm_up()

    results = []
    for n in args.n:
        xy, groups = layout_like(n)
        row = {"n": n, "frame_cells": [WIDTH, HEIGHT]}
        row["raster_only_ms"] = time_raster(xy, args.repeats)
        row["ours"] = asyncio.run(time_widget(xy, groups, args.repeats, args.edges))
        if args.edges:
            row["edges_in_view"] = args.edges
            row["edge_raster_only_ms"] = time_edge_raster(xy, groups, args.edges, args.repeats)
            row["edge_selection_ms"] = time_edge_selection(xy, groups, args.edges,
                                                           max(3, args.repeats // 3))
        if n <= args.peer_max:
            repeats = args.peer_repeats if n <= 200_000 else 1
            row["textual_plotext"] = time_plotext(xy, repeats)
            ours = row["ours"]["plain"]["median_ms"]
            peer = row["textual_plotext"]
            row["speedup_vs_textual_plotext"] = round(
                peer["build_text_strips"]["median_ms"] / ours, 1)
            row["speedup_vs_plotext_build_only"] = round(peer["build"]["median_ms"] / ours, 1)
        else:
            row["textual_plotext"] = f"skipped (n > --peer-max {args.peer_max})"
        results.append(row)

    print(json.dumps({
        "benchmark": "braille scatter, full 200x60-cell frame",
        "targets": {"ms_at_1M": 25, "speedup_vs_textual_plotext_at_100k": 100},
        "edges": "plain_with_*_edges: the plain frame with that many lines under the points",
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version(),
                    "numpy": np.__version__, "numba": numba.__version__,
                    "textual": textual.__version__, "plotext": plotext.__version__
                    if hasattr(plotext, "__version__") else "5.x"},
        "results": results,
    }, indent=2))


if __name__ == "__main__":
    main()
