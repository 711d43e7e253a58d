"""Ctrl+C and failed writes: one line, a clear status, nothing left half-written."""

import os
import pty
import resource
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
                            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"},
                            # a shell's background job (`cmd &`) ignores SIGINT, and so would
                            # the build it starts: give the child the default a terminal gives
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
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


# ---- writes that fail: one line naming the file and the reason, nothing half-written ------

def _limited(max_bytes):
    """A child whose files may not grow past max_bytes: writes fail with EFBIG, as a full disk
    fails them with ENOSPC (SIGXFSZ ignored, so the write returns the error)."""
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return preexec


def _run_limited(shell_exe, max_bytes, *args):
    return subprocess.run([*shlex.split(shell_exe), *map(str, args)], capture_output=True,
                          text=True, preexec_fn=_limited(max_bytes), timeout=600,
                          env={**os.environ, "NO_COLOR": "1"})


def _one_line(res, *needles):
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert "unexpected" not in lines[0], lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_export_to_a_full_disk_names_the_file_and_leaves_nothing(shell_exe, vectors_dataset,
                                                                  tmp_path):
    for name in ("knn.csv", "knn.parquet"):
        out = tmp_path / name
        res = _run_limited(shell_exe, 1000, "export", vectors_dataset, "--table", "knn",
                           "-o", out)
        _one_line(res, f"cannot write {out}: file too large")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("previous", [False, True])
def test_build_onto_a_full_disk_names_the_output_and_keeps_what_was_there(
        shell_exe, vectors_parquet, vectors_dataset, tmp_path, previous):
    out = tmp_path / "out.duckdb"
    if previous:  # the copy of the previous dataset does not fit
        out.write_bytes(vectors_dataset.read_bytes())
    before = out.read_bytes() if previous else None
    limit = len(before) - 1 if previous else 600_000  # DuckDB's writes (file, WAL) do not fit
    res = _run_limited(shell_exe, limit, "build", vectors_parquet, "-o", out, "-k", "3",
                       "--quiet")
    _one_line(res, f"cannot write {out}: file too large")
    assert [p.name for p in tmp_path.iterdir()] == (["out.duckdb"] if previous else [])
    if previous:
        assert out.read_bytes() == before


def test_standard_output_that_is_full(shell_exe, vectors_dataset, tmp_path):
    for command in ("export {ds} --table knn", "info {ds}", "info {ds} --json",
                    "neighbors {ds} e000", "search {ds} alpha"):
        cmd = f"{shell_exe} {command.format(ds=shlex.quote(str(vectors_dataset)))} > /dev/full"
        res = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=600)
        _one_line(res, "cannot write /dev/full: no space left on device")


def test_export_to_a_device_or_a_missing_directory(run, vectors_dataset, tmp_path):
    _one_line(run("export", vectors_dataset, "--table", "knn", "-o", "/dev/full"),
              "/dev/full is a character device, not a regular file")
    _one_line(run("export", vectors_dataset, "--table", "knn", "-o",
                  tmp_path / "nodir" / "x.csv"), f"{tmp_path / 'nodir'}: no such directory")
    assert list(tmp_path.iterdir()) == []
