"""Paired comparison of two judged runs on the samples they share.

For each metric, each dimension and overall: the difference of run A's and run B's
scores over the shared samples (cells scored in both), a paired-bootstrap 95% interval
and a sign-flip permutation p-value (:func:`mmrole.eval.stats.paired_differences`).
A comparison also carries the ways the runs are not like for like (judge, judge options,
splits, samples: :func:`mmrole.eval.provenance.provenance_warnings`), which every output shows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmrole.errors import ConfigError, DataError
from mmrole.eval import stats
from mmrole.eval.provenance import provenance_warnings
from mmrole.eval.report.markdown import markdown_table
from mmrole.eval.report.tables import format_interval, format_number
from mmrole.eval.results import load_table, read_provenance
from mmrole.files import write_json, write_text
from mmrole.runs import RunFolder
from mmrole.schema import DIMENSIONS, METRICS


@dataclass
class ComparisonRow:
    """One line of a comparison: a metric, a dimension or ``Overall``."""

    name: str
    kind: str  # "metric" | "dimension" | "overall"
    result: stats.PairedResult


@dataclass
class Comparison:
    """Run A against run B.

    Attributes:
        name_a: Run A's display name.
        name_b: Run B's display name.
        n_shared: Samples present in both runs.
        rows: Metrics (paper order), dimensions, then overall.
        warnings: How the runs are not like for like (different judges, options, splits or
            samples), one line each; empty when they are.
    """

    name_a: str
    name_b: str
    n_shared: int
    rows: list[ComparisonRow]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def row(r: ComparisonRow) -> dict[str, Any]:
            data = asdict(r.result)
            data["ci"] = list(r.result.ci) if r.result.ci else None
            return {"name": r.name, "kind": r.kind, **data}

        return {
            "a": self.name_a,
            "b": self.name_b,
            "n_shared": self.n_shared,
            "warnings": list(self.warnings),
            "rows": [row(r) for r in self.rows],
        }


def _name(run_dir: Path) -> str:
    return RunFolder(run_dir).name()


def compare_runs(
    run_a: str | Path,
    run_b: str | Path,
    *,
    n_boot: int = stats.N_BOOT,
    n_perm: int = stats.N_PERM,
    seed: int = stats.SEED,
) -> Comparison:
    """Compare two judged runs.

    Raises:
        DataError: A run is not judged, or the runs share no samples or metrics.
    """
    run_a, run_b = Path(run_a), Path(run_b)
    table_a, table_b = load_table(run_a), load_table(run_b)
    rows_b = table_b.rows_by_id()
    shared = [sample_id for sample_id in table_a.sample_ids if sample_id in rows_b]
    if not shared:
        raise DataError(f"the runs share no samples (by id) with {run_b}", file=str(run_a))
    metrics = [m for m in METRICS if m in table_a.metrics and m in table_b.metrics]
    if not metrics:
        raise DataError(f"the runs were judged on no common metric with {run_b}", file=str(run_a))
    rows_a = table_a.rows_by_id()
    a = table_a.scores[np.ix_([rows_a[s] for s in shared], [table_a.metrics.index(m) for m in metrics])]
    b = table_b.scores[np.ix_([rows_b[s] for s in shared], [table_b.metrics.index(m) for m in metrics])]
    if np.isnan(a).all() or np.isnan(b).all():
        raise DataError(
            "a run has no scored samples: judge it first (mmrole judge)",
            file=str(run_a if np.isnan(a).all() else run_b),
        )

    options = {"n_boot": n_boot, "n_perm": n_perm, "seed": seed}
    per_metric, overall = stats.paired_differences(a, b, **options)
    rows = [ComparisonRow(m, "metric", r) for m, r in zip(metrics, per_metric, strict=True)]
    for dimension, members in DIMENSIONS.items():
        cols = [metrics.index(m) for m in members if m in metrics]
        if cols:
            _, result = stats.paired_differences(a[:, cols], b[:, cols], **options)
            rows.append(ComparisonRow(dimension, "dimension", result))
    rows.append(ComparisonRow("Overall", "overall", overall))
    warnings = provenance_warnings([read_provenance(run_a), read_provenance(run_b)])
    return Comparison(_name(run_a), _name(run_b), len(shared), rows, warnings)


#: The columns of a comparison table (the first one names the row).
COLUMNS = ("", "A", "B", "A - B", "95% CI", "p", "n")
#: Decimals of a comparison's numbers.
DIGITS = 4


def row_cells(row: ComparisonRow) -> list[str]:
    """One row of a comparison table as text (:data:`COLUMNS`), overall in bold."""
    r = row.result
    name = f"**{row.name}**" if row.kind == "overall" else row.name
    numbers = (r.mean_a, r.mean_b, r.diff)
    return [
        name,
        *(format_number(x, DIGITS) for x in numbers),
        format_interval(r.ci, DIGITS),
        format_number(r.p_value, DIGITS),
        str(r.n),
    ]


def to_markdown(comparison: Comparison) -> str:
    """The comparison as Markdown: its not-like-for-like warnings, then one table row per metric,
    dimension and overall."""
    lines = [f"# {comparison.name_a} (A) vs {comparison.name_b} (B)", ""]
    lines += [f"> **Not like for like:** {w}" for w in comparison.warnings]
    lines += [""] if comparison.warnings else []
    lines.append(markdown_table(COLUMNS, (row_cells(row) for row in comparison.rows), numeric_from=1))
    lines += [
        "",
        f"Paired over the samples scored in both runs ({comparison.n_shared} shared): bootstrap 95% CI, "
        "sign-flip permutation p-value.",
    ]
    return "\n".join(lines) + "\n"


def write_comparison(comparison: Comparison, path: str | Path) -> Path:
    """Write the comparison as ``.md`` or ``.json`` (by the file's suffix), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        write_json(path, comparison.to_dict())
        return path
    if suffix not in (".md", ".markdown"):
        raise ConfigError(f"--out must end in .md or .json: {path}")
    write_text(path, to_markdown(comparison))
    return path
