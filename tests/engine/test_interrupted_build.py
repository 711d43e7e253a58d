"""A rebuild killed at any step leaves the previous dataset as it was, answering as before."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engine.dataset import Dataset
from engine.pipeline import BuildOptions, Progress, build

ROOT = Path(__file__).resolve().parents[2]

# Builds `out` from `src` with -k K, and at step STEP's start (or finish) says "ready" and waits
# on stdin, to be killed there by the test.
_BUILD = """
import sys
from engine.pipeline import BuildOptions, Progress, build
step, phase, src, out, k = sys.argv[1:6]

def wait():
    print("ready", flush=True)
    sys.stdin.read()

class Stop(Progress):
    def start(self, name, description):
        if phase == "start" and name == step:
            wait()

    def finish(self, name, seconds, cached):
        if phase == "finish" and name == step and not cached:
            wait()

build(src, out, BuildOptions(k=int(k)), progress=Stop())
print("finished", flush=True)
"""


def answers(path) -> dict:
    """What a viewer and the queries read from a dataset."""
    with Dataset.open(path) as ds:
        return {"steps": {n: (r.key, r.params) for n, r in ds.steps.items()},
                "neighbors": ds.neighbors("e000").records(ds),
                "clusters": [list(ds.clusters(0.5).members(c))
                             for c in range(len(ds.clusters(0.5)))],
                "layout": ds.layout().tolist(),
                "communities": ds.community_labels("label-propagation")[0].tolist(),
                "k": ds.k}


@pytest.fixture(scope="module")
def previous(tmp_path_factory, vectors_parquet):
    """A complete dataset (k=5) and its answers."""
    out = tmp_path_factory.mktemp("previous") / "d.duckdb"
    build(vectors_parquet, out, BuildOptions(k=5))
    return out, answers(out)


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def kill_build(src, out, step, phase, sig, k=7) -> int:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", _BUILD, step, phase, str(src), str(out),
                             str(k)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        proc.send_signal(sig)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode


@pytest.mark.parametrize("step, phase, sig", [
    ("knn", "start", signal.SIGINT),
    ("knn", "finish", signal.SIGINT),  # the new graph written, nothing after it yet
    ("layout:umap", "start", signal.SIGINT),
    ("layout:umap", "start", signal.SIGKILL),
    ("merge_tree", "start", signal.SIGINT),
    ("communities:label-propagation", "start", signal.SIGINT),
    ("communities:label-propagation", "finish", signal.SIGKILL),  # all written, not in place
])
def test_a_killed_rebuild_leaves_the_previous_dataset(previous, vectors_parquet, tmp_path,
                                                      step, phase, sig):
    base, before = previous
    out = tmp_path / "d.duckdb"
    shutil.copyfile(base, out)
    code = kill_build(vectors_parquet, out, step, phase, sig)
    assert code != 0
    assert answers(out) == before
    if sig == signal.SIGINT:  # an interrupted build removes its copy
        assert leftovers(out) == []
    else:  # a killed one cannot; the next build removes it
        left = leftovers(out)
        assert left and all(name.startswith("d.duckdb.building-") for name in left), left
    report = build(vectors_parquet, out, BuildOptions(k=7))
    assert "ingest" in report.cached and "knn" in report.computed
    assert leftovers(out) == []
    after = answers(out)
    assert after["k"] == 7 and after["layout"] != before["layout"]


def test_a_killed_rebuild_from_a_changed_input(previous, vectors_parquet, tmp_path):
    base, before = previous
    out = tmp_path / "out" / "d.duckdb"
    out.parent.mkdir()
    shutil.copyfile(base, out)
    src = tmp_path / "input" / "changed.parquet"
    src.parent.mkdir()
    table = pq.read_table(vectors_parquet)
    pq.write_table(table.slice(0, table.num_rows - 1), src)
    assert kill_build(src, out, "ingest", "start", signal.SIGINT, k=5) != 0
    assert answers(out) == before and leftovers(out) == []


class _StopAt(Progress):
    def __init__(self, step: str):
        self.step = step

    def start(self, name, description):
        if name == self.step:
            raise KeyboardInterrupt


@pytest.mark.parametrize("step", ["ingest", "knn", "layout:umap", "merge_tree",
                                  "communities:label-propagation"])
def test_an_interrupted_first_build_leaves_no_file(vectors_parquet, tmp_path, step):
    out = tmp_path / "d.duckdb"
    with pytest.raises(KeyboardInterrupt):
        build(vectors_parquet, out, BuildOptions(k=5), progress=_StopAt(step))
    assert not out.exists() and leftovers(out) == []


def test_duckdb_interrupts_reach_the_caller_as_keyboard_interrupt(tmp_path):
    """DuckDB reports Ctrl+C as its own error; the store hands it on as KeyboardInterrupt."""
    import threading

    from engine.store import open_source
    src_file = tmp_path / "t.csv"
    src_file.write_text("a\n1\n")
    with open_source(src_file) as src:
        timer = threading.Timer(0.2, src.con.interrupt)
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            src.scalar("SELECT count(*) FROM range(100000000000) t(x) WHERE x % 7 = 3")
        timer.join()
