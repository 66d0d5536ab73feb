"""Rank judged runs by their overall MMRole-Eval score (Markdown and CSV output).

Runs judged by different judges are not comparable; the board shows each run's judge
so that is visible, and :func:`judges_differ` lets the CLI warn about it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.errors import ConfigError, DataError
from mmrole.eval.results import RESULTS_FILE, read_json, read_reviews, write_results
from mmrole.schema import DIMENSIONS, METRICS


@dataclass
class Entry:
    """One run on the board."""

    name: str
    run_dir: Path
    overall: float | None
    ci: tuple[float, float] | None
    dimensions: dict[str, float | None] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)
    n_samples: int = 0
    n_failed: int = 0
    n_missing: int = 0
    judge: str = ""


def _spec(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("spec") or value.get("name") or "")
    return "" if value is None else str(value)


def load_results(run_dir: str | Path) -> dict[str, Any]:
    """A run's results.json, aggregating its reviews first when the file is absent.

    Raises:
        DataError: The run has no reviews (not judged yet).
    """
    run_dir = Path(run_dir)
    path = run_dir / RESULTS_FILE
    if path.exists():
        return read_json(path)
    if (run_dir / "samples.jsonl").exists() and read_reviews(run_dir):
        return write_results(run_dir)
    raise DataError("no results.json and no reviews: judge the run first (mmrole judge)", file=str(run_dir))


def entry_of(run_dir: str | Path) -> Entry:
    """The board entry of one judged run."""
    run_dir = Path(run_dir)
    results = load_results(run_dir)
    overall = results.get("overall") or {}
    run = results.get("run") or {}
    ci = overall.get("ci")
    return Entry(
        name=str(run.get("name") or run_dir.resolve().name),
        run_dir=run_dir,
        overall=overall.get("mean"),
        ci=(ci[0], ci[1]) if ci else None,
        dimensions={d: (results.get("dimensions", {}).get(d) or {}).get("mean") for d in DIMENSIONS},
        metrics={m: (results.get("metrics", {}).get(m) or {}).get("mean") for m in METRICS},
        n_samples=int(results.get("n_samples") or 0),
        n_failed=int(results.get("n_failed") or 0),
        n_missing=int(results.get("n_missing") or 0),
        judge=_spec(run.get("judge")),
    )


def leaderboard(run_dirs: list[str | Path]) -> list[Entry]:
    """Entries of the runs, best overall first (runs without an overall score last)."""
    if not run_dirs:
        raise ConfigError("give at least one run folder")
    entries = [entry_of(run_dir) for run_dir in run_dirs]
    return sorted(entries, key=lambda e: (e.overall is None, -(e.overall or 0.0), e.name))


def judges_differ(entries: list[Entry]) -> bool:
    """Whether the runs were judged by more than one judge (their scores are then not comparable)."""
    return len({e.judge for e in entries}) > 1


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "–" if ci is None else f"[{ci[0]:.4f}, {ci[1]:.4f}]"


HEADER = ["rank", "name", "overall", "95% CI", *DIMENSIONS, *METRICS, "samples", "failed", "missing", "judge"]


def rows(entries: list[Entry]) -> list[list[str]]:
    """The board as text cells, in :data:`HEADER` order."""
    return [
        [
            str(rank),
            e.name,
            _fmt(e.overall),
            _ci(e.ci),
            *(_fmt(e.dimensions.get(d)) for d in DIMENSIONS),
            *(_fmt(e.metrics.get(m)) for m in METRICS),
            str(e.n_samples),
            str(e.n_failed),
            str(e.n_missing),
            e.judge,
        ]
        for rank, e in enumerate(entries, 1)
    ]


def to_markdown(entries: list[Entry]) -> str:
    """A Markdown table (pipes in names escaped)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows(entries):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    note = "Scores are MMRole-Eval ratios (MRPA score / reference score); 95% CI: bootstrap over samples."
    return "\n".join(lines) + "\n\n" + note + "\n"


def to_csv(entries: list[Entry]) -> str:
    """CSV with full-precision numbers (CI bounds in two columns)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "rank",
            "name",
            "overall",
            "ci_low",
            "ci_high",
            *DIMENSIONS,
            *METRICS,
            "n_samples",
            "n_failed",
            "n_missing",
            "judge",
            "run_dir",
        ]
    )
    for rank, e in enumerate(entries, 1):
        writer.writerow(
            [
                rank,
                e.name,
                "" if e.overall is None else repr(e.overall),
                *(("", "") if e.ci is None else (repr(e.ci[0]), repr(e.ci[1]))),
                *("" if e.dimensions.get(d) is None else repr(e.dimensions[d]) for d in DIMENSIONS),
                *("" if e.metrics.get(m) is None else repr(e.metrics[m]) for m in METRICS),
                e.n_samples,
                e.n_failed,
                e.n_missing,
                e.judge,
                str(e.run_dir),
            ]
        )
    return buffer.getvalue()


def write_leaderboard(entries: list[Entry], path: str | Path) -> Path:
    """Write the board as ``.md`` or ``.csv`` (by the file's suffix)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        text = to_csv(entries)
    elif path.suffix.lower() in (".md", ".markdown"):
        text = to_markdown(entries)
    else:
        raise ConfigError(f"--out must end in .md or .csv: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
