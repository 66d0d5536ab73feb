"""Rich tables of results, comparisons, leaderboards and judge agreement, for the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmrole.eval.agreement import ALL_METRICS, MMROLE_REWARD_MODEL
from mmrole.eval.report.tables import MISSING, format_interval, format_number
from mmrole.schema import DIMENSIONS, SPLIT_NAMES, SPLITS

if TYPE_CHECKING:
    from rich.table import Table

    from mmrole.eval.compare import Comparison
    from mmrole.eval.leaderboard import Entry


#: Decimals of the terminal's scores.
DIGITS = 4


def results_table(results: dict[str, Any], title: str = "MMRole-Eval") -> Table:
    """Per-metric, per-dimension and overall scores with CIs and the scored/failed/missing counts."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column, justify in (
        ("", "left"),
        ("score", "right"),
        ("95% CI", "right"),
        ("n", "right"),
        ("failed", "right"),
        ("missing", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for metric, stat in results.get("metrics", {}).items():
        table.add_row(
            metric,
            format_number(stat.get("mean"), DIGITS),
            format_interval(stat.get("ci"), DIGITS),
            str(stat.get("n", "")),
            str(stat.get("n_failed", "")),
            str(stat.get("n_missing", "")),
        )
    table.add_section()
    for dimension in DIMENSIONS:
        stat = results.get("dimensions", {}).get(dimension)
        if stat:
            table.add_row(
                dimension,
                format_number(stat.get("mean"), DIGITS),
                format_interval(stat.get("ci"), DIGITS),
                "",
                "",
                "",
            )
    table.add_section()
    overall = results.get("overall") or {}
    table.add_row(
        "[bold]Overall[/bold]",
        f"[bold]{format_number(overall.get('mean'), DIGITS)}[/bold]",
        format_interval(overall.get("ci"), DIGITS),
        str(results.get("n_scored", "")),
        str(results.get("n_failed", "")),
        str(results.get("n_missing", "")),
    )
    table.caption = (
        f"{results.get('n_samples', 0)} samples: {results.get('n_scored', 0)} scored on every metric, "
        f"{results.get('n_failed', 0)} with failed judgements, {results.get('n_missing', 0)} not judged "
        "(no answer). Score = MRPA / reference (MMRole-Eval); CI: bootstrap over samples."
    )
    return table


def comparison_table(comparison: Comparison) -> Table:
    """A paired comparison: A, B, A - B with its CI and p-value, per row."""
    from rich.table import Table

    table = Table(
        title=f"{comparison.name_a} (A) vs {comparison.name_b} (B), {comparison.n_shared} shared samples",
        title_justify="left",
    )
    for column, justify in (
        ("", "left"),
        ("A", "right"),
        ("B", "right"),
        ("A - B", "right"),
        ("95% CI", "right"),
        ("p", "right"),
        ("n", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    previous = None
    for row in comparison.rows:
        if previous is not None and row.kind != previous:
            table.add_section()
        previous = row.kind
        r = row.result
        diff = format_number(r.diff, DIGITS)
        if r.diff is not None and r.ci is not None and (r.ci[0] > 0 or r.ci[1] < 0):
            diff = f"[{'green' if r.diff > 0 else 'red'}]{diff}[/]"
        name = f"[bold]{row.name}[/bold]" if row.kind == "overall" else row.name
        table.add_row(
            name,
            format_number(r.mean_a, DIGITS),
            format_number(r.mean_b, DIGITS),
            diff,
            format_interval(r.ci, DIGITS),
            format_number(r.p_value, DIGITS),
            str(r.n),
        )
    table.caption = "Paired over samples scored in both runs: bootstrap CI, sign-flip permutation p-value."
    return table


#: Short headers of the dimensions, for narrow terminals.
_SHORT = {
    "Fundamental Conversational Skills": "Conversation",
    "Multimodal Understanding Abilities": "Multimodal",
    "Role-Playing Qualities": "Role-play",
}


def leaderboard_table(entries: list[Entry]) -> Table:
    """The board: rank, name, overall with CI, In-Test, Out-Test, the three dimensions, counts (and judges
    when they differ)."""
    from rich.table import Table

    judges = sorted({e.judge for e in entries})
    table = Table(title="MMRole-Eval leaderboard", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("MRPA", no_wrap=True)
    table.add_column("overall", justify="right")
    table.add_column("95% CI", justify="right", no_wrap=True)
    for split in SPLITS:
        table.add_column(SPLIT_NAMES[split], justify="right")
    for dimension in DIMENSIONS:
        table.add_column(_SHORT.get(dimension, dimension), justify="right")
    table.add_column("failed/missing", justify="right")
    if len(judges) > 1:
        table.add_column("judge")
    for rank, entry in enumerate(entries, 1):
        table.add_row(
            str(rank),
            entry.name,
            format_number(entry.overall, DIGITS),
            format_interval(entry.ci, DIGITS),
            *(format_number(entry.by_split.get(s), DIGITS) for s in SPLITS),
            *(format_number(entry.dimensions.get(d), DIGITS) for d in DIMENSIONS),
            f"{entry.n_failed}/{entry.n_missing}",
            *([entry.judge] if len(judges) > 1 else []),
        )
    table.caption = (f"judge: {judges[0]}; " if len(judges) == 1 else "") + (
        "score = MRPA / reference (MMRole-Eval); overall over all samples; "
        "failed/missing: samples with failed judgements / not judged"
    )
    return table


def agreement_table(report: dict[str, Any]) -> Table:
    """The report as a rich Table (one row per metric, then all metrics pooled)."""
    from rich.table import Table

    table = Table(
        title=f"Judge agreement: {report['run']} vs {report['reference']} ({report['n_common_samples']} samples)",
        caption=(
            f"MMRole's reward model vs GPT-4: MAE {MMROLE_REWARD_MODEL['mae']}, "
            f"Pearson {MMROLE_REWARD_MODEL['pearson']}"
        ),
    )
    for column in (
        "Metric",
        "n",
        "MAE",
        "Pearson",
        "Spearman",
        "Better answer",
        "Parsed (run)",
        "Parsed (ref)",
    ):
        table.add_column(column, justify="left" if column == "Metric" else "right")

    def cells(name: str, values: dict[str, Any]) -> list[str]:
        return [
            name,
            str(values["n"]),
            format_number(values["mae"], DIGITS),
            format_number(values["pearson"], DIGITS),
            format_number(values["spearman"], DIGITS),
            _pct(values["sign_agreement"]),
            _pct(values["parse_rate"]),
            _pct(values["reference_parse_rate"]),
        ]

    for metric, values in report["metrics"].items():
        table.add_row(*cells(metric, values))
    table.add_row(*cells(ALL_METRICS, report["overall"]), style="bold")
    return table


def _pct(value: float | None) -> str:
    return MISSING if value is None else f"{format_number(100 * value, 1)}%"
