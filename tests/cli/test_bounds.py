"""Inputs that would block or exhaust memory are refused in one line, quickly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EMBTUI = [str(Path(sys.executable).parent / "embtui")]


# embtui's main in a fresh interpreter that writes its own peak resident memory (VmHWM, in kB)
# at exit: unlike wait4's ru_maxrss, it does not count the test process's memory that the
# child held between fork and exec.
OWN_PEAK = """
import atexit, os, sys
def peak():
    with open("/proc/self/status") as f:
        kb = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    with open(os.environ["PEAK_FILE"], "w") as f:
        f.write(kb)
atexit.register(peak)
from tui.cli import main
sys.argv[0] = "embtui"
sys.exit(main(sys.argv[1:]))
"""


def quick(*args, timeout=120):
    """Run embtui with a timeout: a command blocked on a FIFO fails the test instead of hanging."""
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([*EMBTUI, *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout, stdin=subprocess.DEVNULL)


def refused(res, *needles, code=2):
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.duckdb"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("command", [("info",), ("neighbors", "x"), ("search", "x"),
                                     ("clusters", "--threshold", "0.5"),
                                     ("export", "--table", "knn"), ()])
def test_fifo_dataset_is_refused(fifo, command):
    name, *rest = command or (None,)
    args = [name, fifo, *rest] if name else [fifo]
    refused(quick(*args), str(fifo), "is a FIFO, not a dataset file")


def test_fifo_build_input_and_output_are_refused(fifo, tmp_path, vectors_parquet):
    csv = tmp_path / "in.csv"
    os.mkfifo(csv)
    refused(quick("build", csv, "-o", tmp_path / "out.duckdb"), "is a FIFO, not an input file")
    assert not (tmp_path / "out.duckdb").exists()
    refused(quick("build", vectors_parquet, "-o", fifo), "is a FIFO, not a regular file")


def test_character_device_dataset_is_refused():
    refused(quick("info", "/dev/null"), "/dev/null is a character device, not a dataset file")


def test_k_above_n_is_clipped_with_a_warning(tmp_path):
    import numpy as np
    src = tmp_path / "v.npy"
    np.save(src, np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32))
    out = tmp_path / "o.duckdb"
    res = quick("build", src, "-o", out, "-k", "100", "--quiet")
    assert res.returncode == 0, res.stderr
    assert "-k 100 is more than the 29 other entities" in res.stderr
    nb = quick("neighbors", out, "0", "--json")
    import json
    assert len(json.loads(nb.stdout)["neighbors"]) == 29


def test_dense_k_is_refused_before_the_graph(tmp_path):
    """The issue's case: -k 100000 on 30k entities grew past 7.5 GB; now one line, quickly."""
    import numpy as np
    src = tmp_path / "v.npy"
    np.save(src, np.random.default_rng(0).normal(size=(30_000, 4)).astype(np.float32))
    peak = tmp_path / "peak_kb"
    res = subprocess.run([sys.executable, "-c", OWN_PEAK, "build", str(src), "-o",
                          str(tmp_path / "o.duckdb"), "-k", "100000", "--quiet"],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL,
                         env={**os.environ, "NO_COLOR": "1", "PEAK_FILE": str(peak)})
    refused(res, "-k 29999 on 30,000 entities is 899,970,000 edges", "use -k 6666 or less")
    assert int(peak.read_text()) < 1_500_000, peak.read_text()  # the dense graph: 7.2 GB
