"""AutoRPEval reports: the table of BeyondDialogue's paper (``74.58 ± 1.28``) in Markdown, CSV and HTML.

    write_reports(["runs/gpt-4o", "runs/mine"], "reports/rp")   # report.md, report.csv, report.html

One table per language (``cn``, ``en``) and one over all roles, one row per run: the five CSERP
metrics, Avg, then Human-likeness, Role Choice and Coherence, each ``mean ± SEM`` x100 (two
decimals; ``n/a`` where there are too few units for a SEM). A second table counts, per metric,
the chats whose answer failed. The CSV holds every number unrounded, as fractions. Where some run
had images (multimodal AutoRPEval), Grounding follows Coherence in every table; otherwise the
reports are BeyondDialogue's columns alone.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mmrole import files
from mmrole.autorpeval.metrics import AVG, LOWER_IS_BETTER, POOLED, LanguageScores, MetricScore
from mmrole.autorpeval.questions import GROUNDING, QUESTION_NAMES, QUESTIONS
from mmrole.autorpeval.results import tables_of
from mmrole.autorpeval.run_folder import RESULTS, AutoRPEvalRun
from mmrole.errors import ConfigError
from mmrole.eval.report.markdown import markdown_table

__all__ = [
    "COLUMNS",
    "ReportRun",
    "cell",
    "columns",
    "load_report_run",
    "render_csv",
    "render_html",
    "render_markdown",
    "write_reports",
    "write_run_reports",
]

#: The table's columns: the five CSERP metrics, Avg, the other three (BeyondDialogue's order).
COLUMNS: tuple[str, ...] = (*QUESTIONS[:5], AVG, *QUESTIONS[5:])
LANGUAGE_NAMES = {POOLED: "All roles", "cn": "Chinese roles (cn)", "en": "English roles (en)"}
CSV_COLUMNS = ("run", "language", "metric", "mean", "sem", "n", "unit", "failed")
REPORT_NAMES = {"markdown": "report.md", "csv": "report.csv", "html": "report.html"}
NOTE = (
    "Scores x100, mean ± SEM (std with ddof=1 / sqrt(n)) over chats (Character, Style, Emotion, "
    "Relationship) or over roles, each role's chats averaged first (Personality, Human-likeness, "
    "Role Choice, Coherence). ↓: an error, lower is better. Avg.: the mean of the five CSERP metrics "
    "with Emotion and Relationship taken as 100 − value (± the mean of their SEMs). Chats whose "
    "answer failed are left out of a metric and counted below."
)
#: Added to the note when some run had images.
GROUNDING_NOTE = (
    " Grounding (mmrole's own question, not BeyondDialogue's): the share of chats with an image whose "
    "role lines the evaluator, shown the image, judged faithful to it, over roles."
)


@dataclass
class ReportRun:
    """What a report shows of one run: its name, models and tables."""

    name: str
    path: Path
    models: dict[str, str]
    tables: dict[str, LanguageScores]


def header(column: str) -> str:
    if column == AVG:
        return "Avg."
    return QUESTION_NAMES[column] + (" ↓" if column in LOWER_IS_BETTER else "")


def cell(score: MetricScore | None) -> str:
    """``74.58 ± 1.28`` (x100, two decimals), ``74.58 ± n/a`` without a SEM, ``n/a`` without a mean."""
    if score is None or score.mean is None:
        return "n/a"
    sem = "n/a" if score.sem is None else f"{100 * score.sem:.2f}"
    return f"{100 * score.mean:.2f} ± {sem}"


def _has_grounding(runs: Sequence[ReportRun]) -> bool:
    return any(GROUNDING in table.metrics for run in runs for table in run.tables.values())


def columns(runs: Sequence[ReportRun]) -> tuple[str, ...]:
    """The table's columns for ``runs``: :data:`COLUMNS`, then Grounding where some run had images."""
    return (*COLUMNS, GROUNDING) if _has_grounding(runs) else COLUMNS


def _questions(runs: Sequence[ReportRun]) -> tuple[str, ...]:
    return (*QUESTIONS, GROUNDING) if _has_grounding(runs) else QUESTIONS


def _note(runs: Sequence[ReportRun]) -> str:
    return NOTE + (GROUNDING_NOTE if _has_grounding(runs) else "")


def _failed(table: LanguageScores, question: str) -> str:
    score = table.metrics.get(question)
    return "n/a" if score is None else str(score.failed)


def _score(table: LanguageScores, column: str) -> MetricScore | None:
    return table.avg if column == AVG else table.metrics.get(column)


def _languages(runs: Sequence[ReportRun]) -> list[str]:
    found = sorted({language for run in runs for language in run.tables if language != POOLED})
    return [POOLED, *found]


def load_report_run(run_dir: str | Path) -> ReportRun:
    """Read a scored AutoRPEval run (its results.json checked against run.json)."""
    run = AutoRPEvalRun(run_dir)
    results = run.results()
    models = {seat: str(results.get(seat) or "?") for seat in ("agent", "simulator", "evaluator")}
    return ReportRun(run.name(), run.path, models, tables_of(results, file=str(run.path / RESULTS)))


def _rows(runs: Sequence[ReportRun], language: str, failures: bool) -> list[list[str]]:
    rows = []
    shown, questions = columns(runs), _questions(runs)
    for run in runs:
        table = run.tables.get(language)
        if table is None:
            continue
        if failures:
            rows.append([run.name, str(table.n_chats), *(_failed(table, q) for q in questions)])
        else:
            rows.append([run.name, *(cell(_score(table, column)) for column in shown)])
    return rows


def _sizes(runs: Sequence[ReportRun], language: str) -> str:
    sizes = {(t.n_roles, t.n_chats) for run in runs if (t := run.tables.get(language)) is not None}
    return ", ".join(f"{roles} roles, {chats} chats" for roles, chats in sorted(sizes))


def render_markdown(runs: Sequence[ReportRun]) -> str:
    parts = ["# AutoRPEval report", ""]
    parts += [
        f"- **{run.name}**: agent `{run.models['agent']}`, simulator `{run.models['simulator']}`, "
        f"evaluator `{run.models['evaluator']}` ({run.path})"
        for run in runs
    ]
    parts += ["", _note(runs), ""]
    for language in _languages(runs):
        parts += [f"## {LANGUAGE_NAMES.get(language, language)} ({_sizes(runs, language)})", ""]
        parts += [
            markdown_table(
                ["Model", *map(header, columns(runs))], _rows(runs, language, False), numeric_from=1
            ),
            "",
        ]
    parts += ["## Failed answers (chats)", ""]
    for language in _languages(runs):
        parts += [f"### {LANGUAGE_NAMES.get(language, language)}", ""]
        headers = ["Model", "Chats", *(QUESTION_NAMES[q] for q in _questions(runs))]
        parts += [markdown_table(headers, _rows(runs, language, True), numeric_from=1), ""]
    return "\n".join(parts)


def render_csv(runs: Sequence[ReportRun]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for run in runs:
        for language, table in run.tables.items():
            for column in columns([run]):
                score = _score(table, column)
                if score is None:
                    continue
                number = lambda value: "" if value is None else repr(float(value))  # noqa: E731
                writer.writerow(
                    [
                        run.name,
                        language,
                        column,
                        number(score.mean),
                        number(score.sem),
                        score.n if column != AVG else "",
                        score.unit,
                        score.failed if column != AVG else "",
                    ]
                )
    return buffer.getvalue()


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(runs: Sequence[ReportRun]) -> str:
    """A self-contained page with the same tables as the Markdown report."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>AutoRPEval report</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:"
        "collapse;margin:0.5rem 0 1.5rem}th,td{border:1px solid #ccc;padding:0.3rem 0.6rem}td{text-align:"
        "right;font-variant-numeric:tabular-nums}td:first-child{text-align:left}p{color:#444}</style>",
        "</head><body><h1>AutoRPEval report</h1><ul>",
    ]
    for run in runs:
        models = ", ".join(f"{seat} <code>{html.escape(spec)}</code>" for seat, spec in run.models.items())
        parts.append(f"<li><strong>{html.escape(run.name)}</strong>: {models}</li>")
    parts.append(f"</ul><p>{html.escape(_note(runs))}</p>")
    for language in _languages(runs):
        title = f"{LANGUAGE_NAMES.get(language, language)} ({_sizes(runs, language)})"
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(_html_table(["Model", *map(header, columns(runs))], _rows(runs, language, False)))
    parts.append("<h2>Failed answers (chats)</h2>")
    for language in _languages(runs):
        parts.append(f"<h3>{html.escape(LANGUAGE_NAMES.get(language, language))}</h3>")
        headers = ["Model", "Chats", *(QUESTION_NAMES[q] for q in _questions(runs))]
        parts.append(_html_table(headers, _rows(runs, language, True)))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _write(runs: Sequence[ReportRun], out_dir: Path) -> dict[str, Path]:
    paths = {kind: out_dir / name for kind, name in REPORT_NAMES.items()}
    files.write_text(paths["markdown"], render_markdown(runs))
    files.write_text(paths["csv"], render_csv(runs))
    files.write_text(paths["html"], render_html(runs))
    return paths


def write_run_reports(run: AutoRPEvalRun) -> dict[str, Path]:
    """Write a scored run's reports into its own folder."""
    return _write([load_report_run(run.path)], run.path)


def write_reports(run_dirs: Sequence[str | Path], out_dir: str | Path | None = None) -> dict[str, Path]:
    """Write report.md, report.csv and report.html of one or several scored AutoRPEval runs.

    Raises:
        ConfigError: No run, or several runs without ``out_dir``.
        DataError: A run is not scored, or its files are not those its run.json records.
    """
    if not run_dirs:
        raise ConfigError("report: give at least one run folder")
    if out_dir is None:
        if len(run_dirs) > 1:
            raise ConfigError("report: several runs need an output folder (--out) for the combined report")
        out_dir = run_dirs[0]
    runs = [load_report_run(path) for path in run_dirs]
    names: dict[str, int] = {}
    for run in runs:  # two runs of one name: tell them apart by their folders
        names[run.name] = names.get(run.name, 0) + 1
    for run in runs:
        if names[run.name] > 1:
            run.name = f"{run.name} ({run.path})"
    return _write(runs, Path(out_dir))
