"""Helpers for the explorer's pilot and snapshot tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def settle(pilot, rounds: int = 10) -> None:
    """Let workers finish and their messages land, until nothing is running.

    Handlers of worker messages may start more workers (selecting loads the entity, a new
    threshold recomputes clusters), so wait in rounds rather than once. Never sleeps.
    """
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers):
            break
    await pilot.pause()


@pytest.fixture(name="settle")
def settle_fixture():
    return settle


@pytest.fixture
def explorer(vectors_dataset):
    """A fresh app on the 60-entity vectors fixture (alpha/beta/gamma clusters, odd labels)."""
    from tui.app import EmbtuiApp

    def make(path=None):
        return EmbtuiApp(path or vectors_dataset)
    return make
