"""The summary of an ``mmrole align`` folder: ``summary.json`` and ``summary.md`` (its rows are also
the terminal table of ``mmrole align``, in :mod:`mmrole._cli.align`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmrole.eval.report.markdown import markdown_table
from mmrole.eval.report.tables import MISSING, format_number
from mmrole.files import write_json, write_text
from mmrole.schema import DIMENSIONS

SUMMARY_JSON, SUMMARY_MD = "summary.json", "summary.md"
COLUMNS = ("Model", "Trained from", "Pairs", "DPO steps", "Train loss", "Overall", *DIMENSIONS, "Best")


#: Decimals of the summary's scores.
DIGITS = 4


def summary_rows(summary: dict[str, Any]) -> list[list[str]]:
    """One row of :data:`COLUMNS` per evaluated model, the starting model first."""
    by_iteration = {record["iteration"]: record for record in summary["iterations"]}
    rows = []
    for model in summary["models"]:
        record = by_iteration.get(model.get("iteration"), {})
        training = record.get("training") or {}
        rows.append(
            [
                model["name"],
                record.get("base", MISSING),
                str((record.get("feedback") or {}).get("n_pairs", MISSING)),
                str(training.get("global_step", MISSING)),
                format_number(training.get("train_loss"), DIGITS),
                format_number(model["overall"], DIGITS),
                *(format_number(model["dimensions"].get(name), DIGITS) for name in DIMENSIONS),
                "★" if model["name"] == summary["best"]["name"] else "",
            ]
        )
    for record in summary["iterations"]:  # iterations that trained nothing still get a line
        if not record.get("models"):
            rows.append(
                [
                    record["name"],
                    record.get("base", MISSING),
                    "0",
                    MISSING,
                    MISSING,
                    MISSING,
                    *(MISSING for _ in DIMENSIONS),
                    record.get("note", ""),
                ]
            )
    return rows


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as a Markdown document."""
    lines = [
        "# mmrole align summary",
        "",
        f"Starting model: `{summary['config']['model']}`; judge: `{summary['config']['judge']}`; "
        f"{len(summary['iterations'])} iteration(s).",
        "",
        markdown_table(COLUMNS, summary_rows(summary), numeric_from=1),
    ]
    best = summary["best"]
    lines += [
        "",
        f"Best model: **{best['name']}** (overall {format_number(best['overall'], DIGITS)}), load it as `hf:{best['model_dir']}`.",
        "",
        "Overall and dimension scores are MMRole-Eval's (the MRPA's score over the reference's, averaged).",
        "",
    ]
    return "\n".join(lines)


def write_summary(out_dir: Path, summary: dict[str, Any]) -> None:
    """Write ``summary.json`` and ``summary.md`` atomically."""

    write_json(out_dir / SUMMARY_JSON, summary)
    write_text(out_dir / SUMMARY_MD, summary_markdown(summary))
