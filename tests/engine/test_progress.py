"""The engine's progress bar: its rate and ETA are whole-run averages of the calls made."""

from __future__ import annotations

from mmrole.engine.progress import Progress, made_per_second


def test_a_burst_after_a_long_wait_shows_the_whole_runs_average_not_thousands_per_second():
    # 20 answers arriving together after 100 s (a local model's batch): 0.2 calls/s.
    assert made_per_second(20, 0, 100.0) == 0.2


def test_results_from_the_store_are_not_counted_as_calls_made():
    assert made_per_second(30, 10, 10.0) == 2.0
    assert made_per_second(10, 10, 10.0) is None  # all cached: no rate to show
    assert made_per_second(5, 0, 0.0) is None


def _rendered(bar: Progress) -> str:
    task = bar._progress.tasks[0]
    return " ".join(str(column.render(task)) for column in bar._progress.columns[-3:])


def test_the_bar_renders_the_average_rate_and_an_eta_from_it():
    bar = Progress(total=40, description="judging")
    task = bar._progress.tasks[0]
    task.start_time = task.get_time() - 10.0  # started 10 s ago
    bar.advance(10, cached=10)  # read from the store
    bar.advance(10)  # 10 calls made in 10 s: 1.0/s, 20 left: 20 s
    text = _rendered(bar)
    assert "1.0/s" in text and "eta 0:00:20" in text
