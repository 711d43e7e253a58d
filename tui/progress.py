"""Build progress drawn with rich on stderr; silent with --quiet or when stdout is not a
terminal."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from engine.pipeline import Progress


class RichProgress(Progress):
    def __init__(self, progress, console):
        self._progress = progress
        self._console = console
        self._task = None

    def start(self, step: str, description: str) -> None:
        self._task = self._progress.add_task(description, total=None)

    def update(self, done: float, total: float | None = None) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=done, total=total)

    def finish(self, step: str, seconds: float, cached: bool) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
            self._task = None
        status = "cached" if cached else f"{seconds:.1f} s"
        self._console.print(f"  {step:<28} {status}", markup=False, highlight=False)

    def note(self, text: str) -> None:
        self._console.print(text, markup=False, highlight=False)


@contextmanager
def build_progress(quiet: bool = False):
    if quiet or not sys.stdout.isatty():
        yield Progress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bars

    console = Console(stderr=True)
    bars = Bars(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                console=console, transient=True)
    with bars:
        yield RichProgress(bars, console)
