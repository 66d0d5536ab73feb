"""The self-contained HTML report: tables, the radar chart and a per-sample browser.

One file with everything inline (CSS, a small vanilla script, the chart as SVG and
image thumbnails as JPEG data URLs), so it opens offline and can be mailed around.
All text from runs (answers, reviews, names) goes through :func:`html.escape`.

Thumbnails are stored once per image in a JSON map that the script assigns to the
``<img>`` elements: turns of the same dialogue share an image, and a 256 px JPEG
keeps a 294-sample report to a few megabytes.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from html import escape
from importlib.resources import files
from pathlib import Path
from string import Template

from mmrole.errors import DataError
from mmrole.eval.report_chart import run_color
from mmrole.eval.report_data import RunData
from mmrole.eval.report_tables import (
    COUNT_HEADERS,
    Cell,
    Table,
    demo_note,
    format_number,
    group_table,
    like_for_like_warnings,
    summary_table,
)
from mmrole.schema import DIALOGUE_TYPES, DIMENSIONS, METRICS, SPLITS, Review, Sample

THUMBNAIL_PX = 256
THUMBNAIL_QUALITY = 70
#: Characters of the end of the instruction shown before it is expanded (the final request).
QUESTION_PREVIEW_CHARS = 180


def _template(name: str) -> str:
    return files("mmrole.eval").joinpath("templates", name).read_text(encoding="utf-8")


class Thumbnails:
    """Downscaled JPEG data URLs of sample images, one per distinct file."""

    def __init__(self, max_px: int = THUMBNAIL_PX):
        self.max_px = max_px
        self.urls: list[str] = []
        self._index: dict[Path, int | str] = {}

    def lookup(self, sample: Sample, roots: Sequence[Path | None]) -> int | str:
        """The index of the sample image's thumbnail in :attr:`urls`, or a note saying why there is none."""
        from mmrole.data.convert import resolve_image

        known = [root for root in roots if root is not None]
        if not known and not Path(sample.image).is_absolute():
            return f"image not embedded: run.json gives no image root for {sample.image}"
        reasons = []
        for root in known or [None]:
            try:
                path = resolve_image(sample, root)
            except DataError as err:
                reasons.append(err.reason)
                continue
            if path not in self._index:
                self._index[path] = self._encode(path)
            return self._index[path]
        return reasons[0]

    def _encode(self, path: Path) -> int | str:
        from mmrole.imaging import image_errors, open_image

        try:
            data = path.read_bytes()
            with image_errors(file=str(path)):
                img = open_image(data, decode=False, file=str(path))
                img.thumbnail((self.max_px, self.max_px))
                buffer = io.BytesIO()
                img.convert("RGB").save(buffer, format="JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
        except OSError as err:
            return f"image unreadable: {path} ({err.strerror or err})"
        except DataError as err:
            return f"image unreadable: {path} ({err.reason})"
        self.urls.append("data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"))
        return len(self.urls) - 1


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

    Same cells as :func:`~mmrole.eval.report_tables.summary_table`, rearranged so the
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


def sample_ratio(reviews: Sequence[Review]) -> float | None:
    """A sample's score on one metric from its reviews, exactly as the aggregation computes it.

    Reviews may come in both orders (``order`` ``AB``/``BA``) and several repeats; None
    when an order that was asked has no scored review.
    """
    from mmrole.eval.aggregate import Judgement, combine

    return combine(
        [Judgement(r.sample_id, r.metric, r.score, str(getattr(r, "order", None) or "AB")) for r in reviews]
    )


def _ratio_class(ratio: float) -> str:
    # Shade clear losses and wins against the reference, so weak metrics stand out in a long list.
    return " lo" if ratio < 0.8 else " hi" if ratio > 1.05 else ""


def _score_cell(reviews: list[Review]) -> tuple[str, float | None]:
    """The cell of one run on one metric of a sample, and the ratio it shows."""
    if not reviews:
        return '<td class="num note" title="not judged">—</td>', None
    ratio = sample_ratio(reviews)
    pairs = [f"{r.score[0]:g}/{r.score[1]:g}" if r.score else "failed" for r in reviews]
    title = escape("; ".join(pairs), quote=True)
    if ratio is None:
        return f'<td class="num bad" title="{title}">failed</td>', None
    return f'<td class="num{_ratio_class(ratio)}" title="{title}">{ratio:.3f}</td>', ratio


def _mean_cell(ratios: list[float | None]) -> str:
    scored = [r for r in ratios if r is not None]
    if not scored:
        return '<td class="num note">—</td>'
    mean = sum(scored) / len(scored)
    return f'<td class="num" title="mean of {len(scored)} metric(s)"><b>{mean:.3f}</b></td>'


def _review_html(review: Review) -> str:
    labels = [escape(review.metric)]
    for extra in ("order", "repeat"):
        if getattr(review, extra, None) is not None:
            labels.append(f'<span class="tag">{extra} {escape(str(getattr(review, extra)))}</span>')
    if review.score is not None:
        ratio = sample_ratio([review])
        labels.append(f"A {review.score[0]:g} / B {review.score[1]:g} → {format_number(ratio)}")
    parts = [f"<h5>{' '.join(labels)}</h5>"]
    if review.error:
        parts.append(f'<div class="text bad">error: {escape(review.error)}</div>')
    if review.text:
        parts.append(f'<div class="text">{escape(review.text)}</div>')
    return f'<div class="review">{"".join(parts)}</div>'


def _answer_html(run: RunData, index: int, sample_id: str) -> str:
    answer = run.answers.get(sample_id)
    if answer is None:
        body = '<div class="text bad">no answer in this run</div>'
    elif answer.failed:
        body = f'<div class="text bad">failed: {escape(answer.error or "empty answer")}</div>'
    else:
        body = f'<div class="text">{escape(answer.answer or "")}</div>'
    color = run_color(index)
    return f'<div class="answer" style="border-left-color:{color}"><h4>{escape(run.name)}</h4>{body}</div>'


def _scores_and_reviews_html(sample_id: str, runs: Sequence[RunData]) -> str:
    """A metric x run table of the sample's scores, then each run's reviews (collapsed)."""
    score_rows: dict[str, list[str]] = {metric: [] for metric in METRICS}
    mean_cells, review_blocks = [], []
    for run in runs:
        reviews = run.reviews.get(sample_id, [])
        by_metric: dict[str, list[Review]] = {}
        for review in reviews:
            by_metric.setdefault(review.metric, []).append(review)
        ratios = []
        for metric in METRICS:
            cell, ratio = _score_cell(by_metric.get(metric, []))
            score_rows[metric].append(cell)
            ratios.append(ratio)
        mean_cells.append(_mean_cell(ratios))
        if reviews:
            scored = sum(1 for r in reviews if r.score is not None)
            review_blocks.append(
                f"<details><summary>Judge reviews: {escape(run.name)} ({scored} of {len(reviews)} scored)</summary>"
                + "".join(_review_html(r) for r in reviews)
                + "</details>"
            )
    run_heads = "".join(f"<th>{escape(run.name)}</th>" for run in runs)
    return (
        f'<table class="scores"><thead><tr><th>Metric (MRPA / reference)</th>{run_heads}</tr></thead><tbody>'
        + "".join(f"<tr><td>{escape(m)}</td>{''.join(cells)}</tr>" for m, cells in score_rows.items())
        + f"<tr><td><b>Mean</b></td>{''.join(mean_cells)}</tr></tbody></table>"
        + "".join(review_blocks)
    )


def _sample_html(sample: Sample, runs: Sequence[RunData], thumbnails: Thumbnails) -> str:
    """One sample's card: tags, image, question, reference and answers, scores and reviews."""
    failed_in = [run.name for run in runs if (a := run.answers.get(sample.id)) is None or a.failed]
    tags = [sample.type, sample.split, f"{sample.role} ↔ {sample.other_role}", sample.language]
    header = [f"<h3>{escape(sample.id)}</h3>", *(f'<span class="tag">{escape(t)}</span>' for t in tags)]
    header += [f'<span class="tag bad">no answer: {escape(name)}</span>' for name in failed_in]

    image = thumbnails.lookup(sample, [run.info.image_root for run in runs])
    if isinstance(image, int):
        figure = f'<img data-thumb="{image}" alt="{escape(sample.image)}" width="256">'
    else:
        figure = f'<p class="note">{escape(image)}</p>'
    figure = (
        f'<figure class="thumb">{figure}<figcaption class="mono">{escape(sample.image)}</figcaption></figure>'
    )

    question = sample.instruction
    preview = (
        ("…" + question[-QUESTION_PREVIEW_CHARS:]) if len(question) > QUESTION_PREVIEW_CHARS else question
    )
    question_html = (
        f'<details class="question"><summary>Question ({len(question)} characters): '
        f"{escape(preview)}</summary>"
        f'<div class="text"><b>System:</b> {escape(sample.system)}\n\n{escape(question)}</div></details>'
    )
    answers = [
        f'<div class="answer reference"><h4>Reference</h4><div class="text">{escape(sample.reference)}</div></div>',
        *(_answer_html(run, index, sample.id) for index, run in enumerate(runs)),
    ]
    attrs = (
        f'data-type="{escape(sample.type)}" data-split="{escape(sample.split)}" '
        f'data-role="{escape(sample.role)}" data-failed="{1 if failed_in else 0}"'
    )
    return (
        f'<article class="sample" id="sample-{escape(sample.id)}" {attrs}><header>{"".join(header)}</header>'
        f'<div class="sample-main">{figure}<div>{question_html}<div class="answers">{"".join(answers)}</div>'
        f"{_scores_and_reviews_html(sample.id, runs)}</div></div></article>"
    )


def _union_samples(runs: Sequence[RunData]) -> list[Sample]:
    """Every sample of any run once, in the order the runs list them."""
    seen: dict[str, Sample] = {}
    for run in runs:
        for sample in run.samples:
            seen.setdefault(sample.id, sample)
    return list(seen.values())


def _select(control_id: str, label: str, values: Sequence[str]) -> str:
    options = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
    return f'<label>{label} <select id="{control_id}"><option value="">all</option>{options}</select></label>'


def _browser_html(runs: Sequence[RunData], thumbnails: Thumbnails) -> str:
    samples = _union_samples(runs)
    if not samples:
        return '<p class="note">No samples.jsonl in these runs: nothing to browse.</p>'
    present_types = [t for t in DIALOGUE_TYPES if any(s.type == t for s in samples)]
    present_splits = [s for s in SPLITS if any(x.split == s for x in samples)]
    roles = sorted({s.role for s in samples})
    controls = (
        '<div class="controls">'
        + _select("filter-type", "Type", present_types)
        + _select("filter-split", "Split", present_splits)
        + _select("filter-role", "Character", roles)
        + '<label><input type="checkbox" id="filter-failed"> only samples without an answer</label>'
        + '<input type="search" id="filter-search" placeholder="Search ids, questions, answers, reviews">'
        + f'<span id="sample-count" class="note">{len(samples)} samples</span></div>'
    )
    return controls + "".join(_sample_html(sample, runs, thumbnails) for sample in samples)


def render_html(runs: Sequence[RunData], chart_svg: str, *, title: str = "MMRole-Eval report") -> str:
    """The whole report page as one self-contained HTML string."""
    from mmrole import __version__

    colors = {run.name: run_color(index) for index, run in enumerate(runs)}
    thumbnails = Thumbnails()
    browser = _browser_html(runs, thumbnails)
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
    sections += ["<h2>Samples</h2>", browser]
    # "</" cannot end the JSON script early: data URLs hold none, and the escape guards anything else.
    thumbs_json = json.dumps(thumbnails.urls).replace("</", "<\\/")
    return Template(_template("report.html")).substitute(
        version=escape(__version__),
        title=escape(title),
        style=_template("report.css"),
        script=_template("report.js"),
        body="\n".join(sections),
        thumbnails=thumbs_json,
    )
