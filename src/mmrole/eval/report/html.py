"""The HTML report page: tables, the radar chart and the shell of a per-sample browser.

The page holds the tables, CSS, a small vanilla script and the chart as inline SVG; the
sample browser's data lives in ``report_files/`` beside it (see
:mod:`mmrole.eval.report.browser`) and is loaded when the user opens a run, so the page
stays small whatever the number of runs, and opens offline (page and folder together).
All text from runs is escaped: names and tables here with :func:`html.escape`, samples,
answers and reviews by the browser script as it renders them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from importlib.resources import files
from string import Template

from mmrole import __version__
from mmrole.eval.report.browser import DATA_GLOBAL, SAMPLES_KEY, BrowserFiles, run_key
from mmrole.eval.report.chart import run_color
from mmrole.eval.report.data import RunData
from mmrole.eval.report.tables import (
    COUNT_HEADERS,
    Cell,
    Table,
    demo_note,
    format_number,
    group_table,
    like_for_like_warnings,
    summary_table,
)
from mmrole.schema import DIMENSIONS, METRICS

#: Characters of the end of the instruction shown before it is expanded (the final request).
QUESTION_PREVIEW_CHARS = 180
#: Sample cards drawn at a time; "Show more" draws the next ones.
PAGE_SIZE = 50


def _template(name: str) -> str:
    return (files("mmrole.eval.report") / "templates" / name).read_text(encoding="utf-8")


def _cell_html(cell: Cell, *, numeric: bool, css_class: str = "") -> str:
    classes = " ".join(c for c in ("num" if numeric else "", css_class) if c)
    css = f' class="{classes}"' if classes else ""
    title = f' title="{escape(cell.detail)}"' if cell.detail else ""
    return f"<td{css}{title}>{escape(cell.text)}</td>"


def _table_html(table: Table, *, numeric_from: int) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>" + "".join(_cell_html(c, numeric=i >= numeric_from) for i, c in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _summary_html(table: Table, colors: dict[str, str]) -> str:
    """The results table with metrics grouped under their dimension (two header rows).

    Same cells as :func:`~mmrole.eval.report.tables.summary_table`, rearranged so the
    20 columns fit a laptop screen: run, agent and judge share a cell, and each
    dimension's mean heads its group of metrics.
    """
    column = {header: index for index, header in enumerate(table.headers)}
    groups = [(name, [name, *members]) for name, members in DIMENSIONS.items()]
    counts = list(COUNT_HEADERS)
    top = '<th rowspan="2">Run (agent · judge)</th><th rowspan="2">Overall</th>'
    top += "".join(f'<th colspan="{len(cols)}" class="group">{escape(name)}</th>' for name, cols in groups)
    top += f'<th colspan="{len(counts)}" class="group">Samples</th>'
    second = "".join(
        '<th class="dim">Mean</th>' + "".join(f"<th>{escape(m)}</th>" for m in cols[1:]) for _, cols in groups
    ) + "".join(f"<th>{'All' if h == 'Samples' else escape(h)}</th>" for h in counts)
    order = ["Overall", *(c for _, cols in groups for c in cols), *counts]
    rows = []
    for row in table.rows:
        run, agent, judge = row[column["Run"]], row[column["Agent"]], row[column["Judge"]]
        swatch = f'<span class="swatch" style="background:{colors.get(run.text, "#999")}"></span>'
        first = (
            f'<td class="run" title="{escape(run.detail)}">{swatch}{escape(run.text)}'
            f'<span class="detail mono">{escape(agent.text)} · {escape(judge.text)}</span></td>'
        )
        cells = "".join(
            _cell_html(row[column[name]], numeric=True, css_class="dim" if name in DIMENSIONS else "")
            for name in order
        )
        rows.append(f"<tr>{first}{cells}</tr>")
    return (
        f'<div class="table-wrap"><table class="summary"><thead><tr>{top}</tr><tr>{second}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _runs_list(runs: Sequence[RunData]) -> str:
    rows = []
    for index, run in enumerate(runs):
        swatch = f'<span class="swatch" style="background:{run_color(index)}"></span>'
        overall = run.results.overall
        rows.append(
            f'<tr><td>{swatch}{escape(run.name)}</td><td class="mono">{escape(run.info.agent or "—")}</td>'
            f'<td class="mono">{escape(run.info.judge or "—")}</td>'
            f'<td class="num">{format_number(overall.mean if overall else None)}</td>'
            f'<td class="mono">{escape(str(run.path))}</td></tr>'
        )
    head = "<tr><th>Run</th><th>Agent</th><th>Judge</th><th>Overall</th><th>Folder</th></tr>"
    return f'<div class="table-wrap"><table><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>'


def _select(control_id: str, label: str, values: Sequence[str]) -> str:
    options = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
    return f'<label>{label} <select id="{control_id}"><option value="">all</option>{options}</select></label>'


def _browser_html(runs: Sequence[RunData], browser: BrowserFiles) -> str:
    """The browser's controls: which runs to show, the filters and search; the cards come from script."""
    if browser.samples_file is None:
        return '<p class="note">No samples.jsonl in these runs: nothing to browse.</p>'
    pickers = "".join(
        f'<label class="run-pick"><input type="checkbox" value="{index + 1}">'
        f'<span class="swatch" style="background:{run_color(index)}"></span>{escape(run.name)}'
        f' <span class="note">({len(run.sample_ids)})</span></label>'
        for index, run in enumerate(runs)
    )
    controls = (
        '<div class="controls">'
        + f'<div class="run-picker" id="run-picker"><b>Runs</b> {pickers}</div>'
        + _select("filter-type", "Type", browser.types)
        + _select("filter-split", "Split", browser.splits)
        + _select("filter-role", "Character", browser.roles)
        + '<label><input type="checkbox" id="filter-failed"> only samples without an answer</label>'
        + '<input type="search" id="filter-search" placeholder="Search ids, questions, answers, reviews">'
        + f'<span id="sample-count" class="note">{browser.n_samples} samples</span></div>'
    )
    status = (
        '<p class="note" id="browser-status">Loading the chosen runs from report_files/ '
        "(this needs the page's script, and the report_files folder beside the page).</p>"
    )
    more = '<p><button type="button" id="show-more" hidden>Show more</button></p>'
    return controls + status + '<div id="samples"></div>' + more


def _config_json(runs: Sequence[RunData], browser: BrowserFiles) -> str:
    """What the browser script needs: where each file is, the global it fills, the metrics."""
    config = {
        "global": DATA_GLOBAL,
        "metrics": list(METRICS),
        "samples": {"file": browser.samples_file, "key": SAMPLES_KEY},
        "page_size": PAGE_SIZE,
        "preview_chars": QUESTION_PREVIEW_CHARS,
        "runs": [
            {"name": run.name, "color": run_color(index), "file": file, "key": run_key(index)}
            for index, (run, file) in enumerate(zip(runs, browser.run_files, strict=False))
        ],
    }
    # No "<" at all, so neither "</script>" nor "<!--" can end or bend the JSON script element.
    return json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")


def render_html(
    runs: Sequence[RunData], chart_svg: str, browser: BrowserFiles, *, title: str = "MMRole-Eval report"
) -> str:
    """The report page as an HTML string (its browser data: ``browser``, written beforehand)."""

    colors = {run.name: run_color(index) for index, run in enumerate(runs)}
    sections = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="subtitle">{len(runs)} run(s); scores are MRPA / reference ratios (1.0 = as good as the '
        "reference); ± is half the 95% bootstrap CI. Hover a cell for its CI and counts.</p>",
        *(
            [f'<p class="note demo-note"><strong>Note:</strong> {escape(note)}</p>']
            if (note := demo_note(runs))
            else []
        ),
        *(
            f'<p class="warn"><strong>Not like for like:</strong> {escape(w)}</p>'
            for w in like_for_like_warnings(runs)
        ),
        f'<div class="overview"><figure class="chart" id="radar">{chart_svg}</figure>'
        f'<div class="runs">{_runs_list(runs)}</div></div>',
        "<h2>Results</h2>",
        _summary_html(summary_table(runs), colors),
    ]
    for heading, section in (("By split", "by_split"), ("By dialogue type", "by_type")):
        table = group_table(runs, section)
        sections.append(f"<h2>{heading}</h2>")
        sections.append(
            _table_html(table, numeric_from=2)
            if table
            else f'<p class="note">No {heading.lower()} results.</p>'
        )
    sections += ["<h2>Samples</h2>", _browser_html(runs, browser)]
    return Template(_template("report.html")).substitute(
        version=escape(__version__),
        title=escape(title),
        style=_template("report.css"),
        script=_template("report.js"),
        body="\n".join(sections),
        config=_config_json(runs, browser),
    )
