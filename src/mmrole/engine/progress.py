"""The engine's progress display: a rich bar with done/total, failures, rate and ETA."""

from __future__ import annotations

from typing import Any


class Progress:
    """A thin wrapper over ``rich.progress`` that does nothing when disabled.

    Args:
        total: How many requests the run has (None when not known: the bar then counts up).
        description: The label in front of the bar.
        enabled: False makes every method a no-op (tests, benchmarks, nested runs).
    """

    def __init__(self, total: int | None, description: str, enabled: bool = True):
        self._progress: Any = None
        self._task: Any = None
        self.failed = 0
        self.cached = 0
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._progress = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[notes]}"),
            TextColumn("[cyan]{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            refresh_per_second=4,
            speed_estimate_period=20.0,
        )
        self._task = self._progress.add_task(description, total=total, notes="", rate="")

    def __enter__(self) -> Progress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._refresh_fields()
            self._progress.stop()

    def advance(self, n: int = 1, *, failed: int = 0, cached: int = 0) -> None:
        """Count ``n`` more finished requests (``failed`` of them failed, ``cached`` from the store)."""
        if self._progress is None:
            return
        self.failed += failed
        self.cached += cached
        self._progress.advance(self._task, n)
        if failed or cached:
            self._refresh_fields()
        elif self._progress.tasks[0].completed % 16 == 0:  # the rate changes slowly: update it now and then
            self._refresh_fields()

    def _refresh_fields(self) -> None:
        task = self._progress.tasks[0]
        notes = []
        if self.cached:
            notes.append(f"{self.cached} cached")
        if self.failed:
            notes.append(f"[red]{self.failed} failed[/]")
        speed = task.speed
        self._progress.update(self._task, notes=", ".join(notes), rate=f"{speed:.1f}/s" if speed else "")
