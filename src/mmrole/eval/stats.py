"""Seeded resampling statistics over a samples x metrics score matrix (numpy, no I/O).

Scores are a float matrix with NaN where a sample has no score on a metric (failed or
not judged); any non-finite cell counts as no score. The statistic everywhere is MMRole's: each metric's mean over the samples
that have a score on it, and the overall score as the mean of the metric means.
Resampling is over samples (rows), so a sample's metrics move together.

Bootstrap replicates are drawn as multinomial row weights, which keeps memory at
``n_boot x n_samples`` whatever the number of metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Default number of bootstrap replicates / permutations and the default seed.
N_BOOT = 1000
N_PERM = 10000
SEED = 0
_PERM_BLOCK = 1000


def _weighted_means(weights: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per-metric means of the rows under each weight vector: ``(k, n) x (n, m) -> (k, m)``, NaN if empty."""
    present = np.isfinite(scores)
    totals = weights @ np.where(present, scores, 0.0)
    counts = weights @ present.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, totals / np.where(counts > 0, counts, 1.0), np.nan)


def metric_means(scores: np.ndarray) -> np.ndarray:
    """Each column's mean over its finite rows (NaN for an empty column)."""
    scores = np.asarray(scores, dtype=float)
    return _weighted_means(np.ones((1, scores.shape[0])), scores)[0]


def mean_of_means(means: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mean over metrics of metric means; NaN when any metric has no score (an incomplete overall is no overall)."""
    return np.mean(means, axis=axis)


def bootstrap_weights(n_rows: int, n_boot: int = N_BOOT, seed: int = SEED) -> np.ndarray:
    """``(n_boot, n_rows)`` resampling counts: each replicate draws ``n_rows`` rows with replacement."""
    rng = np.random.default_rng(seed)
    if n_rows == 0:
        return np.zeros((n_boot, 0))
    return rng.multinomial(n_rows, np.full(n_rows, 1.0 / n_rows), size=n_boot).astype(float)


def bootstrap_metric_means(scores: np.ndarray, n_boot: int = N_BOOT, seed: int = SEED) -> np.ndarray:
    """``(n_boot, n_metrics)`` metric means of bootstrap resamples of the rows."""
    scores = np.asarray(scores, dtype=float)
    return _weighted_means(bootstrap_weights(scores.shape[0], n_boot, seed), scores)


def percentile_ci(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float] | None:
    """The percentile interval of bootstrap replicates (NaN replicates ignored), or None if there are none."""
    values = np.asarray(replicates, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return (float(low), float(high))


@dataclass(frozen=True)
class PairedResult:
    """A paired difference (A - B) with its bootstrap interval and permutation p-value.

    Attributes:
        mean_a: The statistic on run A over the shared samples.
        mean_b: The same on run B.
        diff: ``mean_a - mean_b``.
        ci: Paired-bootstrap percentile interval of the difference.
        p_value: Two-sided sign-flip permutation p-value (H0: no difference), with the
            +1 correction so it is never 0.
        n: Shared samples that contribute.
    """

    mean_a: float | None
    mean_b: float | None
    diff: float | None
    ci: tuple[float, float] | None
    p_value: float | None
    n: int


def paired_differences(
    scores_a: np.ndarray,
    scores_b: np.ndarray,
    *,
    n_boot: int = N_BOOT,
    n_perm: int = N_PERM,
    seed: int = SEED,
    level: float = 0.95,
) -> tuple[list[PairedResult], PairedResult]:
    """Paired comparison of two runs on the same samples, per metric and overall.

    Only cells scored in both runs count (a pair needs both sides). The paired bootstrap
    resamples samples; the permutation test flips, per sample, which run each of its
    scores belongs to (exchangeable under H0).

    Args:
        scores_a: ``(n, m)`` scores of run A, rows aligned with ``scores_b``.
        scores_b: ``(n, m)`` scores of run B.

    Returns:
        One result per metric column, and the overall (mean of metric means) result.
    """
    if n_boot < 1 or n_perm < 1:
        raise ValueError("n_boot and n_perm must be at least 1")
    a = np.asarray(scores_a, dtype=float)
    b = np.asarray(scores_b, dtype=float)
    both = np.isfinite(a) & np.isfinite(b)
    a = np.where(both, a, np.nan)
    b = np.where(both, b, np.nan)
    diffs = a - b
    n_rows, n_metrics = diffs.shape

    means_a, means_b = metric_means(a), metric_means(b)
    observed = means_a - means_b
    weights = bootstrap_weights(n_rows, n_boot, seed)
    boot = _weighted_means(weights, diffs) if n_rows else np.full((n_boot, n_metrics), np.nan)

    # Sign flips: the mean of flipped differences, per metric (present cells only), drawn in
    # blocks so memory stays at block x n_rows for large test sets.
    rng = np.random.default_rng(seed + 1)
    counts = both.sum(axis=0).astype(float)
    filled = np.where(both, diffs, 0.0)
    blocks = []
    for start in range(0, n_perm, _PERM_BLOCK):
        signs = rng.choice(np.array([-1.0, 1.0]), size=(min(_PERM_BLOCK, n_perm - start), n_rows))
        blocks.append(signs @ filled)
    with np.errstate(invalid="ignore", divide="ignore"):
        flipped = np.concatenate(blocks) / np.where(counts > 0, counts, np.nan)

    def _result(obs: float, ma: float, mb: float, reps: np.ndarray, null: np.ndarray, n: int) -> PairedResult:
        if n == 0 or np.isnan(obs):
            return PairedResult(None, None, None, None, None, n)
        extreme = np.sum(np.abs(null) >= abs(obs) - 1e-12)
        return PairedResult(
            float(ma),
            float(mb),
            float(obs),
            percentile_ci(reps, level),
            float((extreme + 1) / (len(null) + 1)),
            n,
        )

    per_metric = [
        _result(observed[j], means_a[j], means_b[j], boot[:, j], flipped[:, j], int(counts[j]))
        for j in range(n_metrics)
    ]
    overall_n = int(both.any(axis=1).sum())
    overall = _result(
        float(mean_of_means(observed)),
        float(mean_of_means(means_a)),
        float(mean_of_means(means_b)),
        mean_of_means(boot, axis=1),
        mean_of_means(flipped, axis=1),
        overall_n,
    )
    return per_metric, overall
