"""How closely one judge agrees with another on the same samples (``mmrole judge-agreement``).

Both runs are judged run folders over the same samples (e.g. a trained reward model's run
and a GPT-4 run, or a judge with and without ``--swap``). Per metric, and over all metrics
pooled, on the (sample, metric) cells both judges scored:

* MAE of MMRole's per-sample scores (the a/b ratios), and their Pearson and Spearman
  correlations (MMRole reports its reward model against GPT-4 at MAE 0.0738, Pearson 0.8129);
* better-answer agreement: how often the two judges agree on which of the MRPA's answer and
  the reference is better, or that they tie (the sign of a - b, i.e. of ratio - 1);
* each run's parse rate: the share of its judge replies that held a usable score pair.

Pure numpy arithmetic on top of :class:`mmrole.runs.RunFolder`'s readers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mmrole.errors import DataError
from mmrole.eval import results as run_results
from mmrole.runs import AnswerRecord, RunFolder
from mmrole.schema import METRICS

#: What MMRole reports for its MMRole-Eval reward model against GPT-4 (for the table's caption).
MMROLE_REWARD_MODEL = {"mae": 0.0738, "pearson": 0.8129}
ALL_METRICS = "All metrics"


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson's r, or None with fewer than 2 points or a constant side."""
    if len(x) < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    denominator = float(np.sqrt((dx * dx).sum() * (dy * dy).sum()))
    return float((dx * dy).sum() / denominator) if denominator > 0 else None


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties given the mean of the ranks they span (as Spearman's rho needs)."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse = np.unique(values, return_inverse=True)
    return (np.bincount(inverse, weights=ranks) / np.bincount(inverse))[inverse]


def compare_scores(run: np.ndarray, reference: np.ndarray) -> dict[str, Any]:
    """MAE, Pearson, Spearman and sign agreement of two aligned vectors of a/b ratios."""
    run, reference = np.asarray(run, dtype=float), np.asarray(reference, dtype=float)
    n = len(run)
    if n == 0:
        return {"n": 0, "mae": None, "pearson": None, "spearman": None, "sign_agreement": None}
    return {
        "n": n,
        "mae": float(np.abs(run - reference).mean()),
        "pearson": _pearson(run, reference),
        "spearman": _pearson(average_ranks(run), average_ranks(reference)),
        "sign_agreement": float((np.sign(run - 1.0) == np.sign(reference - 1.0)).mean()),
    }


def parse_rates(reviews: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """Per metric, the share of judge replies with a usable score pair (None: no reply)."""
    asked: Counter[str] = Counter()
    parsed: Counter[str] = Counter()
    for review in reviews:
        metric = str(review.get("metric"))
        asked[metric] += 1
        parsed[metric] += review.get("score") is not None and not review.get("error")
    rates: dict[str, float | None] = {m: parsed[m] / asked[m] if asked[m] else None for m in METRICS}
    total = sum(asked.values())
    rates[ALL_METRICS] = sum(parsed.values()) / total if total else None
    return rates


def _answer(answers: Mapping[str, AnswerRecord], sample_id: str) -> str | None:
    record = answers.get(sample_id)
    return record.get("answer") if record is not None else None


def judge_agreement(run_dir: str | Path, reference_dir: str | Path) -> dict[str, Any]:
    """Compare the judge of ``run_dir`` with the judge of ``reference_dir`` on their common samples.

    Returns:
        ``{"run", "reference", "n_common_samples", "n_only_run", "n_only_reference", "n_differing_answers",
        "metrics": {metric: {n, mae, pearson, spearman, sign_agreement, parse_rate, reference_parse_rate}},
        "overall": {...the same over all metrics pooled}}``.

    Raises:
        DataError: A folder is not a judged run, or the runs share no judged metric or sample.
    """
    run_dir, reference_dir = Path(run_dir), Path(reference_dir)
    tables, rates, names = [], [], []
    for folder in (run_dir, reference_dir):
        reviews = RunFolder(folder).reviews()
        if not reviews:
            raise DataError(
                "no reviews.jsonl: judge the run first (mmrole judge) or import reviews", file=str(folder)
            )
        tables.append(run_results.load_table(folder))
        rates.append(parse_rates(reviews))
        names.append(RunFolder(folder).name())
    run_table, reference_table = tables
    metrics = [m for m in run_table.metrics if m in reference_table.metrics]
    run_rows, reference_rows = run_table.rows_by_id(), reference_table.rows_by_id()
    common = [sample_id for sample_id in run_table.sample_ids if sample_id in reference_rows]
    if not metrics or not common:
        raise DataError(
            f"the runs share no {'judged metric' if not metrics else 'sample'}: compare judges on the same samples",
            file=str(reference_dir),
        )
    # Judges are only comparable on the same answers: count the samples where the MRPA answers differ.
    run_answers, reference_answers = (
        RunFolder(run_dir).answers(),
        RunFolder(reference_dir).answers(),
    )
    differing = sum(_answer(run_answers, s) != _answer(reference_answers, s) for s in common)
    run_idx = np.array([run_rows[s] for s in common])
    ref_idx = np.array([reference_rows[s] for s in common])
    run_scores = run_table.scores[run_idx][:, [run_table.metrics.index(m) for m in metrics]]
    ref_scores = reference_table.scores[ref_idx][:, [reference_table.metrics.index(m) for m in metrics]]
    both = ~np.isnan(run_scores) & ~np.isnan(ref_scores)

    def row(values: dict[str, Any], metric: str) -> dict[str, Any]:
        return {**values, "parse_rate": rates[0].get(metric), "reference_parse_rate": rates[1].get(metric)}

    per_metric = {
        metric: row(compare_scores(run_scores[both[:, j], j], ref_scores[both[:, j], j]), metric)
        for j, metric in enumerate(metrics)
    }
    return {
        "run": names[0],
        "reference": names[1],
        "run_dir": str(run_dir),
        "reference_dir": str(reference_dir),
        "n_common_samples": len(common),
        "n_only_run": len(run_table.sample_ids) - len(common),
        "n_only_reference": len(reference_table.sample_ids) - len(common),
        "n_differing_answers": differing,
        "metrics": per_metric,
        "overall": row(compare_scores(run_scores[both], ref_scores[both]), ALL_METRICS),
    }
