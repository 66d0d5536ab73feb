"""Two AutoRPEval runs compared (a t-test per metric), and several ranked (by Avg over all roles).

``compare_runs(a, b)`` runs BeyondDialogue's comparison, an independent two-sample t-test of A's
units against B's (chats or roles, as the metric is averaged), per metric and per language.
``leaderboard(runs)`` ranks runs by Avg over all roles. Both read scored runs only, and warn when the
runs were evaluated by different evaluators or simulators, or on different roles.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole import files
from mmrole.autorpeval.metrics import AVG, POOLED, compare_scores
from mmrole.autorpeval.questions import QUESTION_NAMES
from mmrole.autorpeval.report import ReportRun, cell, columns, header, load_report_run
from mmrole.autorpeval.ttest import TTest
from mmrole.errors import ConfigError
from mmrole.eval.report.markdown import markdown_table

__all__ = [
    "Comparison",
    "compare_runs",
    "leaderboard",
    "like_for_like",
    "render_comparison",
    "write_comparison",
]


def like_for_like(runs: Sequence[ReportRun]) -> list[str]:
    """How the runs are not comparable: another simulator or evaluator, or other roles and chats."""
    warnings = []
    for seat in ("simulator", "evaluator"):
        specs = {run.models[seat] for run in runs}
        if len(specs) > 1:
            warnings.append(f"the runs have different {seat}s: {', '.join(sorted(specs))}")
    sizes = {(run.tables[POOLED].n_roles, run.tables[POOLED].n_chats) for run in runs}
    if len(sizes) > 1:
        warnings.append("the runs cover different numbers of roles or chats")
    return warnings


@dataclass
class Comparison:
    """Run A against run B: per language, per metric, the t-test (None: too few units to test)."""

    a: ReportRun
    b: ReportRun
    tests: dict[str, dict[str, TTest | None]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        tables: dict[str, Any] = {}
        for language, tests in self.tests.items():
            rows = {}
            for metric in tests:
                a, b = self.a.tables[language].metrics[metric], self.b.tables[language].metrics[metric]
                test = tests[metric]
                rows[metric] = {
                    "a": {"mean": a.mean, "sem": a.sem, "n": a.n},
                    "b": {"mean": b.mean, "sem": b.sem, "n": b.n},
                    "ttest": None if test is None else test.to_dict(),
                }
            tables[language] = rows
        return {"a": self.a.name, "b": self.b.name, "tables": tables, "warnings": self.warnings}


def compare_runs(run_a: str | Path, run_b: str | Path) -> Comparison:
    """The t-tests of two scored AutoRPEval runs, per language they share and over all roles."""
    a, b = load_report_run(run_a), load_report_run(run_b)
    languages = [language for language in a.tables if language in b.tables]
    tests = {language: compare_scores(a.tables[language], b.tables[language]) for language in languages}
    return Comparison(a, b, tests, like_for_like([a, b]))


def _p(test: TTest | None) -> str:
    return "n/a" if test is None else f"{test.p:.4f}"


def render_comparison(comparison: Comparison) -> str:
    """The comparison in Markdown: per language, each metric's A, B, A - B, t, df and p."""
    parts = [f"# AutoRPEval: {comparison.a.name} (A) vs {comparison.b.name} (B)", ""]
    parts += [f"> **Not like for like:** {warning}" for warning in comparison.warnings]
    parts += ["", "Independent two-sample t-tests (Student's, pooled variance) over the metric's units.", ""]
    for language, tests in comparison.tests.items():
        rows = []
        for metric, test in tests.items():
            a, b = (
                comparison.a.tables[language].metrics[metric],
                comparison.b.tables[language].metrics[metric],
            )
            numbers = (
                ["n/a"] * 3
                if test is None
                else [f"{100 * test.difference:.2f}", f"{test.t:.3f}", str(test.df)]
            )
            rows.append([QUESTION_NAMES[metric], cell(a), cell(b), *numbers, _p(test)])
        headers = ["Metric", "A", "B", "A − B", "t", "df", "p"]
        parts += [f"## {language}", "", markdown_table(headers, rows, numeric_from=1), ""]
    return "\n".join(parts)


def write_comparison(comparison: Comparison, path: str | Path) -> Path:
    """Write the comparison as ``.md`` or ``.json``."""
    path = Path(path)
    if path.suffix == ".json":
        files.write_text(
            path, json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        )
    elif path.suffix == ".md":
        files.write_text(path, render_comparison(comparison))
    else:
        raise ConfigError(f"--out {path}: write a comparison to .md or .json")
    return path


def leaderboard(run_dirs: Sequence[str | Path]) -> tuple[list[ReportRun], list[str]]:
    """Scored runs ranked by Avg over all roles (best first; runs without an Avg last), and warnings."""
    runs = [load_report_run(path) for path in run_dirs]

    def key(run: ReportRun) -> tuple[bool, float]:
        avg = run.tables[POOLED].avg
        return (avg is None or avg.mean is None, -(avg.mean or 0.0) if avg is not None else 0.0)

    return sorted(runs, key=key), like_for_like(runs)


def leaderboard_markdown(runs: Sequence[ReportRun], warnings: Sequence[str]) -> str:
    parts = ["# AutoRPEval leaderboard (all roles, by Avg.)", ""]
    parts += [f"> **Not like for like:** {warning}" for warning in warnings]
    rows = []
    shown = columns(runs)
    for rank, run in enumerate(runs, start=1):
        table = run.tables[POOLED]
        rows.append(
            [str(rank), run.name, *(cell(table.avg if c == AVG else table.metrics.get(c)) for c in shown)]
        )
    parts += ["", markdown_table(["Rank", "Model", *(header(c) for c in shown)], rows, numeric_from=2)]
    return "\n".join(parts) + "\n"
