"""The report's tables, built once and rendered as Markdown, HTML and CSV rows.

Cells carry display text plus a detail line (the CI and count) that the HTML shows
as a tooltip; CSV rows carry the exact numbers of ``results.json``, unrounded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mmrole.eval.presets import DEMO_DISCLAIMER, is_demo
from mmrole.eval.provenance import provenance_warnings
from mmrole.eval.report.data import GroupResults, RunData, Stat
from mmrole.schema import DIALOGUE_TYPES, DIMENSIONS, METRICS, SPLITS

#: What a table shows where there is no number (one dash for every table of mmrole).
MISSING = "—"
#: The columns of a CSV report, one row per run x section x group x quantity.
CSV_COLUMNS = ("run", "agent", "judge", "section", "group", "kind", "name", "mean", "ci_lo", "ci_hi", "n")


@dataclass(frozen=True)
class Cell:
    """One table cell: what it shows, and a detail (CI, count) for a tooltip."""

    text: str
    detail: str = ""


@dataclass
class Table:
    """A rectangular table: headers and rows of cells of the same width."""

    headers: list[str]
    rows: list[list[Cell]]


def format_number(value: float | None, digits: int = 3) -> str:
    """A number as every table of mmrole shows it: ``digits`` decimals, or :data:`MISSING` when there is
    no number (None, NaN or infinite).

    Reports show three decimals; the leaderboard, comparisons and terminal tables four (their
    readers tell close runs apart).

    >>> format_number(0.91234), format_number(0.91234, 4), format_number(None)
    ('0.912', '0.9123', '—')
    """
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:.{digits}f}"


def format_interval(ci: Sequence[float] | None, digits: int = 3) -> str:
    """A confidence interval as ``[low, high]`` (:func:`format_number` each), or :data:`MISSING`."""
    if not ci:
        return MISSING
    return f"[{format_number(ci[0], digits)}, {format_number(ci[1], digits)}]"


def stat_cell(stat: Stat | None, *, plus_minus: bool = False) -> Cell:
    """A mean as a cell; with ``plus_minus`` the CI's half-width follows it (``0.912 ± 0.013``)."""
    if stat is None or not stat.has_mean:
        return Cell(MISSING, "no value")
    text = format_number(stat.mean)
    details = []
    if stat.ci is not None:
        lo, hi = stat.ci
        details.append(f"95% CI {format_interval(stat.ci)}")
        if plus_minus and math.isfinite(lo) and math.isfinite(hi):
            text += f" ± {format_number((hi - lo) / 2)}"
    if stat.n is not None:
        details.append(f"n={stat.n}")
    return Cell(text, ", ".join(details))


#: Sample counts shown beside the scores: failed and never-judged samples are never hidden.
COUNT_HEADERS = ("Samples", "Failed", "Missing")
_COUNT_DETAILS = (
    "samples in the run",
    "samples with at least one metric the judge failed on",
    "samples never judged (e.g. no answer)",
)


def count_cells(results: GroupResults) -> list[Cell]:
    values = (results.n_samples, results.n_failed, results.n_missing)
    return [Cell(MISSING if v is None else str(v), d) for v, d in zip(values, _COUNT_DETAILS, strict=True)]


def summary_table(runs: Sequence[RunData]) -> Table:
    """One row per run: overall (mean ± CI), the dimensions, the metrics, sample and failure counts."""
    headers = ["Run", "Agent", "Judge", "Overall", *DIMENSIONS, *METRICS, *COUNT_HEADERS]
    rows = []
    for run in runs:
        results = run.results
        rows.append(
            [
                Cell(run.name, str(run.path)),
                Cell(run.info.agent or MISSING),
                Cell(run.info.judge or MISSING),
                stat_cell(results.overall, plus_minus=True),
                *(stat_cell(results.dimensions.get(name)) for name in DIMENSIONS),
                *(stat_cell(results.metrics.get(name)) for name in METRICS),
                *count_cells(results),
            ]
        )
    return Table(headers, rows)


def group_names(runs: Sequence[RunData], section: str) -> list[str]:
    """The groups of a section (``by_split`` / ``by_type``) with samples in any run, known ones first.

    A group no run has samples in (the aggregation lists every split, even an absent one)
    is left out of the tables; the CSV keeps it.
    """
    present: list[str] = []
    for run in runs:
        for name, results in getattr(run.results, section).items():
            if name not in present and results.n_samples != 0:
                present.append(name)
    return _ordered(present, SPLITS if section == "by_split" else DIALOGUE_TYPES)


def group_table(runs: Sequence[RunData], section: str) -> Table | None:
    """Rows of run x group for ``by_split`` or ``by_type``; None when no run has that section."""
    groups = group_names(runs, section)
    if not groups:
        return None
    label = "Split" if section == "by_split" else "Type"
    headers = [label, "Run", "Overall", *METRICS, *COUNT_HEADERS]
    rows = []
    for group in groups:
        for run in runs:
            results: GroupResults | None = getattr(run.results, section).get(group)
            if results is None:
                rows.append(
                    [Cell(group), Cell(run.name), *([Cell(MISSING, "not in this run")] * (len(headers) - 2))]
                )
                continue
            rows.append(
                [
                    Cell(group),
                    Cell(run.name),
                    stat_cell(results.overall, plus_minus=True),
                    *(stat_cell(results.metrics.get(name)) for name in METRICS),
                    *count_cells(results),
                ]
            )
    return Table(headers, rows)


def _ordered(names: Iterable[str], known: Sequence[str]) -> list[str]:
    names = list(names)
    return [name for name in known if name in names] + [name for name in names if name not in known]


def _stat_row(base: dict[str, Any], kind: str, name: str, stat: Stat) -> dict[str, Any]:
    lo, hi = stat.ci if stat.ci is not None else (None, None)
    return {**base, "kind": kind, "name": name, "mean": stat.mean, "ci_lo": lo, "ci_hi": hi, "n": stat.n}


def _group_rows(base: dict[str, Any], results: GroupResults) -> list[dict[str, Any]]:
    rows = []
    if results.overall is not None:
        rows.append(_stat_row(base, "overall", "overall", results.overall))
    for name in _ordered(results.dimensions, tuple(DIMENSIONS)):
        rows.append(_stat_row(base, "dimension", name, results.dimensions[name]))
    for name in _ordered(results.metrics, METRICS):
        rows.append(_stat_row(base, "metric", name, results.metrics[name]))
    for name in ("n_samples", "n_scored", "n_failed", "n_missing"):
        value = getattr(results, name)
        if value is not None:
            empty = {"mean": None, "ci_lo": None, "ci_hi": None}
            rows.append({**base, "kind": "count", "name": name, **empty, "n": value})
    return rows


def csv_rows(runs: Sequence[RunData]) -> list[dict[str, Any]]:
    """Machine-readable rows (:data:`CSV_COLUMNS`): every number of every run's ``results.json``.

    ``section`` is ``all``, ``split`` or ``type``; ``group`` names the split or type;
    ``kind`` is ``overall``, ``dimension``, ``metric`` or ``count`` (the count in ``n``).
    """
    rows: list[dict[str, Any]] = []
    for run in runs:
        ident = {"run": run.name, "agent": run.info.agent, "judge": run.info.judge}
        rows += _group_rows({**ident, "section": "all", "group": ""}, run.results)
        for section, attr in (("split", "by_split"), ("type", "by_type")):
            groups: dict[str, GroupResults] = getattr(run.results, attr)
            for group in _ordered(groups, SPLITS if attr == "by_split" else DIALOGUE_TYPES):
                rows += _group_rows({**ident, "section": section, "group": group}, groups[group])
    return rows


def demo_note(runs: Sequence[RunData]) -> str | None:
    """The plain warning a report must carry when a run was judged by the 135M demo model."""
    demo_runs = [run.name for run in runs if is_demo(run.info.judge)]
    if not demo_runs:
        return None
    return f"{', '.join(demo_runs)}: {DEMO_DISCLAIMER}"


def like_for_like_warnings(runs: Sequence[RunData]) -> list[str]:
    """How the runs differ in judge, judge options, splits and samples (one line each; [] for one run)."""

    return provenance_warnings([run.provenance for run in runs])
