"""Ctrl+C and failed writes: one line, a clear status, nothing left half-written."""

import os
import pty
import select
import shlex
import signal
import subprocess

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from engine.dataset import Dataset


def _big_csv(path, n=4_000_000):
    """Collections whose ingest is seconds of DuckDB work (reading, grouping, numbering)."""
    rng = np.random.default_rng(0)
    pacsv.write_csv(pa.table({
        "collection": pa.array(rng.integers(0, n // 20, n)).cast(pa.string()),
        "entity": pa.array(rng.integers(0, n // 2, n)).cast(pa.string())}), path)


def _read_until(fd, needle: bytes, proc) -> bytes:
    """What the process writes to the terminal `fd`, up to and including `needle`."""
    seen = b""
    while needle not in seen:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the process closed the terminal
                chunk = b""
            seen += chunk
            if not chunk and proc.poll() is not None:
                break
        elif proc.poll() is not None:
            break
    return seen


@pytest.mark.parametrize("step", ["reading input", "neighbour graph"])
def test_ctrl_c_during_a_build_says_interrupted_and_leaves_the_dataset(
        tmp_path, vectors_dataset, shell_exe, step):
    """SIGINT while DuckDB reads the input (ingest), or once the build's copy exists."""
    src = tmp_path / "big.csv"
    _big_csv(src)
    out = tmp_path / "out.duckdb"
    out.write_bytes(vectors_dataset.read_bytes())  # a previous dataset, to be kept
    before = out.read_bytes()
    primary, secondary = pty.openpty()  # progress draws on a terminal only
    proc = subprocess.Popen([*shlex.split(shell_exe), "build", str(src), "-o", str(out), "-k", "2",
                             "--collections"],
                            stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary,
                            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"})
    os.close(secondary)
    try:
        seen = _read_until(primary, step.encode(), proc)
        if step == "reading input":  # a second into it, DuckDB is busy reading and grouping
            seen += _read_until(primary, b"0:00:01", proc)
        assert proc.poll() is None, seen.decode(errors="replace")
        proc.send_signal(signal.SIGINT)
        seen += _read_until(primary, b"\0", proc)  # to the end
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    text = seen.decode(errors="replace")
    assert proc.returncode == 130, text
    assert "embtui: interrupted" in text and "unexpected" not in text, text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "out.duckdb"]
    assert out.read_bytes() == before
    with Dataset.open(out) as ds:
        assert ds.n == 60
