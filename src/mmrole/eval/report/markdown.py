"""Markdown: the one table writer (:func:`markdown_table`) and the report (``report.md``): the runs, how
they are not like for like, the tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mmrole.eval.report.data import RunData
from mmrole.eval.report.tables import Table, demo_note, group_table, like_for_like_warnings, summary_table
from mmrole.runs import REPORT_FILES


def markdown_cell(text: str) -> str:
    """Text made safe for one Markdown table cell: a pipe would split the cell and a newline would end
    the row, so pipes (and the backslashes that could unescape them) are escaped, newlines made spaces."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, numeric_from: int | None = None
) -> str:
    """A Markdown table, every header and cell escaped (:func:`markdown_cell`); the one table writer of
    mmrole's Markdown files (reports, leaderboards, comparisons, align summaries).

    Args:
        headers: The column names.
        rows: The cells, as text (numbers through :func:`~mmrole.eval.report.tables.format_number`).
        numeric_from: Columns from this index on are right-aligned (numbers); None: all left-aligned.

    >>> print(markdown_table(["run", "score"], [["a|b", "0.912"]], numeric_from=1))
    | run | score |
    | --- | ---: |
    | a\\|b | 0.912 |
    """
    right = len(headers) if numeric_from is None else numeric_from
    align = ["---" if index < right else "---:" for index in range(len(headers))]
    lines = ["| " + " | ".join(markdown_cell(h) for h in headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _table(table: Table, *, numeric_from: int) -> str:
    return markdown_table(
        table.headers, ([c.text for c in row] for row in table.rows), numeric_from=numeric_from
    )


def render_markdown(runs: Sequence[RunData], *, radar_file: str | None = REPORT_FILES["radar"]) -> str:
    """The Markdown report: runs, how they are not like for like, the results table, per-split and
    per-type tables."""
    parts = ["# MMRole-Eval report", ""]
    parts += [
        f"- **{markdown_cell(run.name)}**: agent `{run.info.agent or '?'}`, judge `{run.info.judge or '?'}` "
        f"({markdown_cell(str(run.path))})"
        for run in runs
    ]
    parts += [
        "",
        "Scores are MRPA / reference ratios (1.0 = as good as the reference answer); "
        "± is half the 95% bootstrap confidence interval. *Failed*: samples with a metric the judge "
        "failed on; *Missing*: samples never judged.",
        "",
    ]
    if note := demo_note(runs):
        parts += [f"> **Note:** {note}", ""]
    if warnings := like_for_like_warnings(runs):
        parts += [*(f"> **Not like for like:** {markdown_cell(w)}" for w in warnings), ""]
    if radar_file:
        parts += [f"![The eight metrics, one polygon per run]({radar_file})", ""]
    parts += ["## Results", "", _table(summary_table(runs), numeric_from=3), ""]
    for heading, section in (("By split", "by_split"), ("By dialogue type", "by_type")):
        table = group_table(runs, section)
        parts += [f"## {heading}", ""]
        parts += [_table(table, numeric_from=2) if table else f"No {heading.lower()} results.", ""]
    return "\n".join(parts)
