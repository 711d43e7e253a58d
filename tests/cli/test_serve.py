"""`embtui serve`: the explorer over HTTP with textual-serve (the [serve] extra)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("textual_serve")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


async def _first_screen(port: int, proc) -> bytes:
    """Connect as a browser tab does and read the app's first output (the server is polled
    until it accepts; the process ending first fails the test)."""
    import aiohttp
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            if proc.poll() is not None:
                raise AssertionError(f"embtui serve exited with {proc.returncode}")
            try:
                async with session.get(f"http://localhost:{port}/") as page:
                    html = await page.text()
                break
            except aiohttp.ClientConnectorError:
                await asyncio.sleep(0.1)
        assert "textual.js" in html and "embtui" in html
        async with session.ws_connect(f"http://localhost:{port}/ws?width=80&height=24") as ws:
            got = b""
            while b"vectors.duckdb" not in got and len(got) < 1_000_000:
                msg = await asyncio.wait_for(ws.receive(), timeout=120)
                if msg.type == aiohttp.WSMsgType.BINARY:
                    got += msg.data
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    got += msg.data.encode()
                else:
                    break
        return got


def test_serve_runs_the_explorer_for_a_browser_tab(vectors_dataset):
    port = _free_port()
    exe = Path(sys.executable).parent / "embtui"
    proc = subprocess.Popen([str(exe), "serve", str(vectors_dataset), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "NO_COLOR": "1"})
    try:
        screen = asyncio.run(_first_screen(port, proc))
        assert b"vectors.duckdb" in screen  # the scatter's title: the explorer is drawing
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_refuses_a_bad_file_before_listening(run, tmp_path):
    bad = tmp_path / "x.duckdb"
    bad.write_text("not a database")
    res = run("serve", bad, "--port", str(_free_port()))
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    res = run("serve", tmp_path / "missing.duckdb")
    assert res.returncode == 2 and "no such file" in res.stderr
    res = run("serve", bad, "--port", "0")
    assert res.returncode == 2 and "--port must be in 1..65535" in res.stderr
