"""The Markdown report (``report.md``): the runs, how they are not like for like, the tables."""

from __future__ import annotations

from collections.abc import Sequence

from mmrole.eval.report.data import RunData
from mmrole.eval.report.tables import Table, demo_note, group_table, like_for_like_warnings, summary_table
from mmrole.runs import REPORT_FILES


def _md_cell(text: str) -> str:
    # A pipe would split the cell and a newline would end the row.
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _markdown_table(table: Table, *, numeric_from: int) -> str:
    align = ["---" if i < numeric_from else "---:" for i in range(len(table.headers))]
    lines = [
        "| " + " | ".join(_md_cell(h) for h in table.headers) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines += ["| " + " | ".join(_md_cell(c.text) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def render_markdown(runs: Sequence[RunData], *, radar_file: str | None = REPORT_FILES["radar"]) -> str:
    """The Markdown report: runs, how they are not like for like, the results table, per-split and
    per-type tables."""
    parts = ["# MMRole-Eval report", ""]
    parts += [
        f"- **{_md_cell(run.name)}**: agent `{run.info.agent or '?'}`, judge `{run.info.judge or '?'}` "
        f"({_md_cell(str(run.path))})"
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
        parts += [*(f"> **Not like for like:** {_md_cell(w)}" for w in warnings), ""]
    if radar_file:
        parts += [f"![The eight metrics, one polygon per run]({radar_file})", ""]
    parts += ["## Results", "", _markdown_table(summary_table(runs), numeric_from=3), ""]
    for heading, section in (("By split", "by_split"), ("By dialogue type", "by_type")):
        table = group_table(runs, section)
        parts += [f"## {heading}", ""]
        parts += [_markdown_table(table, numeric_from=2) if table else f"No {heading.lower()} results.", ""]
    return "\n".join(parts)
