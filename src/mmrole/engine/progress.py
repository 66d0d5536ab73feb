"""The engine's progress display: a rich bar with done/total, failures, rate and ETA."""

from __future__ import annotations

from typing import Any


def made_per_second(completed: float, cached: int, elapsed: float | None) -> float | None:
    """Calls made per second since the bar started: the results read from the store left out.

    An average over the whole run, not rich's recent-window speed: calls that finish in a burst
    (a local model answering a batch together, replies after a long first load) would make the
    window's rate thousands per second and its ETA zero.
    """
    made = completed - cached
    if not elapsed or made <= 0:
        return None
    return made / elapsed


def _rate_and_eta_columns() -> tuple[Any, Any]:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            rate = made_per_second(task.completed, task.fields.get("cached", 0), task.elapsed)
            return Text(f"{rate:.1f}/s" if rate else "", style="cyan")

    class Eta(ProgressColumn):
        def render(self, task: Any) -> Text:
            rate = made_per_second(task.completed, task.fields.get("cached", 0), task.elapsed)
            if task.total is None or not rate:
                return Text("eta -:--:--", style="progress.remaining")
            seconds = int(max(task.total - task.completed, 0) / rate)
            hours, rest = divmod(seconds, 3600)
            return Text(f"eta {hours}:{rest // 60:02d}:{rest % 60:02d}", style="progress.remaining")

    return Rate(), Eta()


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
        )
        from rich.progress import Progress as RichProgress

        rate, eta = _rate_and_eta_columns()
        self._progress = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[notes]}"),
            rate,
            TimeElapsedColumn(),
            eta,
            console=Console(stderr=True),
            refresh_per_second=4,
        )
        self._task = self._progress.add_task(description, total=total, notes="", cached=0)

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

    def _refresh_fields(self) -> None:
        notes = []
        if self.cached:
            notes.append(f"{self.cached} cached")
        if self.failed:
            notes.append(f"[red]{self.failed} failed[/]")
        self._progress.update(self._task, notes=", ".join(notes), cached=self.cached)
