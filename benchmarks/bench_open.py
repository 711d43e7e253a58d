"""Opening a cached dataset in the explorer: time to the first frame and resident memory.

    .venv/bin/python benchmarks/bench_open.py                 # 1M entities
    .venv/bin/python benchmarks/bench_open.py --n 100000

Prints one JSON document. Data: `--n` entities whose kNN graph (k = 15, exact, scipy cKDTree)
comes from 3-D Gaussian blobs (benchmarks/synthetic.py), a random layout smoothed over
each point's neighbours, the merge tree and label propagation communities from the engine,
labels like "entity 123456 tal" and one metadata column; written straight into a dataset
file with the engine's store, as a build would leave it.

Each side runs in a fresh Python process on a headless 200×60 terminal, timed from the
process's start (imports included) to the first frame that shows the points (the first time
the plot widget hands the compositor lines drawn from the points):
- ours: `EmbtuiApp(path)`; then, on the same clock, until labels, graph, clusters and the
  search index have all loaded. Peak resident memory (VmHWM) at the end.
- textual-plotext: a minimal app that reads the same layout rows from the file with DuckDB
  (`fetchnumpy`) and draws them with `PlotextPlot` as a braille scatter, the way one would
  without embtui.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

import numpy as np

SIZE = (200, 60)
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def build_file(path: str, n: int, seed: int) -> float:
    """Write an n-entity dataset with every step valid; returns the seconds it took."""
    sys.path.insert(0, ROOT)
    sys.path.insert(0, HERE)
    from synthetic import write_dataset
    return write_dataset(path, n, seed)


# Each child starts its clock first thing, before any import.
PRELUDE = r"""
import time; T0 = time.perf_counter()
import asyncio, json, sys

def peak_rss_mb():
    # VmHWM restarts at exec; ru_maxrss would keep the forking parent's peak
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
"""

OURS = PRELUDE + r"""
sys.path.insert(0, sys.argv[2])
from tui.app import EmbtuiApp
from tui.widgets.scatter import Scatter

FIRST = []
render_line = Scatter.render_line

def timed_render_line(self, y):
    # the compositor asks for the lines of a frame: the first one with points is the frame
    strip = render_line(self, y)
    if not FIRST and len(self._x):
        FIRST.append(time.perf_counter() - T0)
    return strip

Scatter.render_line = timed_render_line

async def main():
    app = EmbtuiApp(sys.argv[1])
    out = {}
    async with app.run_test(size=SIZE) as pilot:
        while not FIRST:
            await pilot.pause()
        out["first_frame_s"] = FIRST[0]
        while not (app.search_ready and app.view is not None and app.graph is not None):
            await pilot.pause(0.01)
        await app.workers.wait_for_complete()
        out["everything_loaded_s"] = time.perf_counter() - T0
        out["points"] = int(len(app.xy))
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))

asyncio.run(main())
""".replace("SIZE", repr(SIZE))

PEER = PRELUDE + r"""
import duckdb
from textual.app import App
from textual_plotext import PlotextPlot

FIRST = []
render = PlotextPlot.render

def timed_render(self):
    visual = render(self)
    if not FIRST and getattr(self.app, "points", 0):
        FIRST.append(time.perf_counter() - T0)
    return visual

PlotextPlot.render = timed_render

class Peer(App):
    def compose(self):
        yield PlotextPlot()

    def on_mount(self):
        con = duckdb.connect(sys.argv[1], read_only=True)
        cols = con.execute("SELECT x, y FROM layout WHERE name = 'umap'").fetchnumpy()
        con.close()
        plt = self.query_one(PlotextPlot).plt
        plt.scatter(cols["x"].tolist(), cols["y"].tolist(), marker="braille")
        self.points = len(cols["x"])

async def main():
    app = Peer()
    out = {}
    async with app.run_test(size=SIZE) as pilot:
        while not FIRST:
            await pilot.pause()
        out["first_frame_s"] = FIRST[0]
        out["points"] = int(app.points)
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))

asyncio.run(main())
""".replace("SIZE", repr(SIZE))


def child(code: str, path: str) -> dict:
    res = subprocess.run([sys.executable, "-c", code, path, ROOT], capture_output=True,
                         text=True, timeout=1800)
    if res.returncode != 0:
        raise SystemExit(f"child failed: {res.stderr.strip().splitlines()[-1:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "open.duckdb")
        build_seconds = build_file(path, args.n, args.seed)
        child(OURS, path)  # once to fill numba's cache, as any second start would find it
        ours = [child(OURS, path) for _ in range(args.repeats)]
        peer = [child(PEER, path) for _ in range(args.repeats)]
        size_mb = os.path.getsize(path) / 2**20

    def med(runs, key):
        return round(float(np.median([r[key] for r in runs])), 3)

    doc = {
        "benchmark": "open",
        "n": args.n, "repeats": args.repeats, "terminal": list(SIZE),
        "file_mb": round(size_mb, 1), "build_file_seconds": round(build_seconds, 1),
        "ours": {"first_frame_s": med(ours, "first_frame_s"),
                 "everything_loaded_s": med(ours, "everything_loaded_s"),
                 "peak_rss_mb": med(ours, "peak_rss_mb")},
        "peer_textual_plotext": {"first_frame_s": med(peer, "first_frame_s"),
                                 "peak_rss_mb": med(peer, "peak_rss_mb")},
        "ratio_first_frame_peer_over_ours": round(med(peer, "first_frame_s")
                                                  / med(ours, "first_frame_s"), 2),
        "target": {"first_frame_s": 1.5, "peak_rss_mb": 500},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
