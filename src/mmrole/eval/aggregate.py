"""From judge reviews to MMRole-Eval results (pure functions, no I/O).

A *judgement* is one judge reply on one (sample, metric), in one order (``AB``: the
MRPA is Model A, MMRole's setting; ``BA``: swapped) and one repeat. A sample's score on
a metric is, as in MMRole, the MRPA's score over the reference's score; with several
judgements (``--swap``, ``--repeats``) it is the mean MRPA score over the mean reference
score, so a position bias adds the same amount to both sides. A metric's score is the
mean over samples; a dimension's and the overall score are means of metric means.

Every sample is accounted for on every metric: ``scored``, ``failed`` (the judge was
asked and gave no usable pair, or the request failed) or ``missing`` (never judged, e.g.
an empty MRPA answer, which MMRole leaves unreviewed).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmrole.eval import stats
from mmrole.schema import DIALOGUE_TYPES, DIMENSIONS, METRICS, SPLITS

SCORED, FAILED, MISSING = "scored", "failed", "missing"


@dataclass(frozen=True)
class Judgement:
    """One judge reply, reduced to what aggregation needs.

    Attributes:
        sample_id: The sample judged.
        metric: One of :data:`mmrole.schema.METRICS`.
        score: ``(Model A, Model B)`` as the judge gave them, None when failed.
        order: ``AB`` (the MRPA is Model A) or ``BA`` (swapped).
    """

    sample_id: str
    metric: str
    score: tuple[float, float] | None
    order: str = "AB"

    def mrpa_and_reference(self) -> tuple[float, float] | None:
        if self.score is None:
            return None
        a, b = self.score
        return (a, b) if self.order == "AB" else (b, a)


def combine(judgements: Sequence[Judgement]) -> float | None:
    """A sample's score on one metric from its judgements, or None when it has none usable.

    Every order that was asked must have at least one scored judgement, so ``--swap``
    never silently degrades to a one-sided score. A non-finite pair (an old or hand-made
    reviews file) is no score, and neither is a non-finite ratio: NaN never counts.
    """
    orders = {j.order for j in judgements}
    pairs = [(j.order, j.mrpa_and_reference()) for j in judgements]
    scored = [
        (order, pair)
        for order, pair in pairs
        if pair is not None and math.isfinite(pair[0]) and math.isfinite(pair[1])
    ]
    if not scored or {order for order, _ in scored} != orders:
        return None
    mrpa = sum(pair[0] for _, pair in scored) / len(scored)
    reference = sum(pair[1] for _, pair in scored) / len(scored)
    if reference <= 0:
        return None
    value = mrpa / reference
    return value if math.isfinite(value) else None


@dataclass
class ScoreTable:
    """Scores of a run: one row per sample, one column per metric (NaN where not scored).

    Attributes:
        sample_ids: Row labels.
        metrics: Column labels.
        scores: ``(n_samples, n_metrics)`` floats.
        status: Same shape: ``scored``, ``failed`` or ``missing``.
        splits: Each sample's split.
        types: Each sample's dialogue type.
    """

    sample_ids: list[str]
    metrics: list[str]
    scores: np.ndarray
    status: np.ndarray
    splits: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)

    def subset(self, rows: np.ndarray) -> ScoreTable:
        """The rows selected by a boolean mask."""
        index = np.flatnonzero(rows)
        return ScoreTable(
            [self.sample_ids[i] for i in index],
            list(self.metrics),
            self.scores[index],
            self.status[index],
            [self.splits[i] for i in index],
            [self.types[i] for i in index],
        )

    def rows_by_id(self) -> dict[str, int]:
        return {sample_id: i for i, sample_id in enumerate(self.sample_ids)}


def build_table(
    samples: Iterable[Mapping[str, Any]],
    judgements: Iterable[Judgement],
    metrics: Sequence[str] = METRICS,
) -> ScoreTable:
    """Arrange judgements into a :class:`ScoreTable`.

    Args:
        samples: ``{"id", "split", "type"}`` per sample of the run, in order.
        judgements: Every judgement of the run (of any metric; others are ignored).
        metrics: The metrics to tabulate.
    """
    samples = list(samples)
    grouped: dict[tuple[str, str], list[Judgement]] = defaultdict(list)
    for judgement in judgements:
        grouped[(judgement.sample_id, judgement.metric)].append(judgement)
    scores = np.full((len(samples), len(metrics)), np.nan)
    status = np.full((len(samples), len(metrics)), MISSING, dtype=object)
    for i, sample in enumerate(samples):
        for j, metric in enumerate(metrics):
            group = grouped.get((sample["id"], metric))
            if not group:
                continue
            value = combine(group)
            if value is None:
                status[i, j] = FAILED
            else:
                scores[i, j], status[i, j] = value, SCORED
    return ScoreTable(
        [s["id"] for s in samples],
        list(metrics),
        scores,
        status,
        [s.get("split", "in-distribution") for s in samples],
        [s.get("type", "") for s in samples],
    )


def _summary(mean: float, replicates: np.ndarray, level: float) -> dict[str, Any]:
    if not np.isfinite(mean):
        return {"mean": None, "ci": None}
    ci = stats.percentile_ci(replicates, level)
    return {"mean": float(mean), "ci": list(ci) if ci else None}


def summarize(
    table: ScoreTable, *, n_boot: int = stats.N_BOOT, seed: int = stats.SEED, level: float = 0.95
) -> dict[str, Any]:
    """Overall, per-metric and per-dimension scores of a table with bootstrap CIs and counts."""
    means = stats.metric_means(table.scores) if len(table.sample_ids) else np.full(len(table.metrics), np.nan)
    boot = (
        stats.bootstrap_metric_means(table.scores, n_boot, seed)
        if len(table.sample_ids)
        else np.full((n_boot, len(table.metrics)), np.nan)
    )
    metrics: dict[str, Any] = {}
    for j, metric in enumerate(table.metrics):
        column = table.status[:, j]
        metrics[metric] = {
            **_summary(means[j], boot[:, j], level),
            "n": int(np.sum(column == SCORED)),
            "n_failed": int(np.sum(column == FAILED)),
            "n_missing": int(np.sum(column == MISSING)),
        }
    dimensions: dict[str, Any] = {}
    for name, members in DIMENSIONS.items():
        cols = [table.metrics.index(m) for m in members if m in table.metrics]
        if cols:
            dimensions[name] = _summary(
                float(stats.mean_of_means(means[cols])), stats.mean_of_means(boot[:, cols], axis=1), level
            )
    status = table.status
    return {
        "overall": _summary(
            float(stats.mean_of_means(means)) if len(means) else np.nan,
            stats.mean_of_means(boot, axis=1),
            level,
        ),
        "metrics": metrics,
        "dimensions": dimensions,
        "n_samples": len(table.sample_ids),
        "n_scored": int(np.sum((status == SCORED).all(axis=1))) if status.size else 0,
        "n_failed": int(np.sum((status == FAILED).any(axis=1))) if status.size else 0,
        "n_missing": int(np.sum((status == MISSING).all(axis=1))) if status.size else 0,
        "n_failed_judgements": int(np.sum(status == FAILED)),
    }


def aggregate(
    table: ScoreTable, *, n_boot: int = stats.N_BOOT, seed: int = stats.SEED, level: float = 0.95
) -> dict[str, Any]:
    """The ``results.json`` body: the whole run, then by split and by dialogue type.

    Counts: ``n_samples`` all samples; ``n_scored`` samples scored on every metric;
    ``n_failed`` samples with at least one failed metric; ``n_missing`` samples never
    judged (no answer); per metric ``n`` / ``n_failed`` / ``n_missing``.
    """
    results = summarize(table, n_boot=n_boot, seed=seed, level=level)
    splits = np.array(table.splits, dtype=object)
    types = np.array(table.types, dtype=object)
    results["by_split"] = {
        split: summarize(table.subset(splits == split), n_boot=n_boot, seed=seed, level=level)
        for split in SPLITS
    }
    results["by_type"] = {
        kind: summarize(table.subset(types == kind), n_boot=n_boot, seed=seed, level=level)
        for kind in DIALOGUE_TYPES
    }
    results["bootstrap"] = {"n_boot": n_boot, "seed": seed, "level": level, "unit": "sample"}
    return results
