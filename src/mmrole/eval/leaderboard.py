"""Rank judged runs by their overall MMRole-Eval score (Markdown and CSV output).

As in the paper, the overall score is over all of a run's samples, shown beside its In-Test
and Out-Test scores. Runs are only comparable when one judge, with the same options, scored
the same samples: :func:`like_for_like` names every difference, and the CLI and the Markdown
board show those lines above the table.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.errors import ConfigError
from mmrole.eval.provenance import provenance_warnings
from mmrole.eval.report.markdown import markdown_table
from mmrole.eval.report.tables import format_interval, format_number
from mmrole.eval.results import current_results, read_provenance
from mmrole.files import write_text
from mmrole.schema import DIMENSIONS, METRICS, SPLIT_NAMES, SPLITS


@dataclass
class Entry:
    """One run on the board (``overall`` is over all samples, ``by_split`` per split)."""

    name: str
    run_dir: Path
    overall: float | None
    ci: tuple[float, float] | None
    dimensions: dict[str, float | None] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)
    by_split: dict[str, float | None] = field(default_factory=dict)
    n_samples: int = 0
    n_failed: int = 0
    n_missing: int = 0
    judge: str = ""


def _spec(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("spec") or value.get("name") or "")
    return "" if value is None else str(value)


def load_results(run_dir: str | Path) -> dict[str, Any]:
    """A judged run's results (see :func:`mmrole.eval.results.current_results`).

    Raises:
        DataError: The run is not judged, its judging did not finish, or its files are not
            those its run.json records (a stale score is never shown).
    """
    return current_results(run_dir)


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
        by_split={s: _overall_of((results.get("by_split") or {}).get(s)) for s in SPLITS},
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


def like_for_like(run_dirs: list[str | Path]) -> list[str]:
    """How the runs differ in judge, judge options, splits and samples, one line each ([] if they don't)."""
    return provenance_warnings([read_provenance(run_dir) for run_dir in run_dirs])


def _overall_of(group: Any) -> float | None:
    return ((group.get("overall") or {}).get("mean")) if isinstance(group, dict) else None


#: Decimals of the board's scores.
DIGITS = 4
#: The split columns, with the paper's names.
SPLIT_HEADERS = [SPLIT_NAMES[s] for s in SPLITS]
HEADER = [
    "rank",
    "name",
    "overall",
    "95% CI",
    *SPLIT_HEADERS,
    *DIMENSIONS,
    *METRICS,
    "samples",
    "failed",
    "missing",
    "judge",
]


def rows(entries: list[Entry]) -> list[list[str]]:
    """The board as text cells, in :data:`HEADER` order."""
    return [
        [
            str(rank),
            e.name,
            format_number(e.overall, DIGITS),
            format_interval(e.ci, DIGITS),
            *(format_number(e.by_split.get(s), DIGITS) for s in SPLITS),
            *(format_number(e.dimensions.get(d), DIGITS) for d in DIMENSIONS),
            *(format_number(e.metrics.get(m), DIGITS) for m in METRICS),
            str(e.n_samples),
            str(e.n_failed),
            str(e.n_missing),
            e.judge,
        ]
        for rank, e in enumerate(entries, 1)
    ]


def to_markdown(entries: list[Entry], warnings: list[str] | tuple[str, ...] = ()) -> str:
    """A Markdown table (:func:`~mmrole.eval.report.markdown.markdown_table`), after the ``warnings``
    (:func:`like_for_like`)."""
    lines = [f"> **Not like for like:** {w}" for w in warnings] + ([""] if warnings else [])
    lines.append(markdown_table(HEADER, rows(entries)))
    note = (
        "Scores are MMRole-Eval ratios (MRPA score / reference score); overall is over all samples, "
        "In-Test and Out-Test over each split's; 95% CI: bootstrap over samples."
    )
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
            *SPLIT_HEADERS,
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
                *("" if e.by_split.get(s) is None else repr(e.by_split[s]) for s in SPLITS),
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


def write_leaderboard(
    entries: list[Entry], path: str | Path, warnings: list[str] | tuple[str, ...] = ()
) -> Path:
    """Write the board as ``.md`` (with the ``warnings``) or ``.csv`` (by the file's suffix)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        text = to_csv(entries)
    elif path.suffix.lower() in (".md", ".markdown"):
        text = to_markdown(entries, warnings)
    else:
        raise ConfigError(f"--out must end in .md or .csv: {path}")
    write_text(path, text)
    return path
