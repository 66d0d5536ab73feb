"""Aggregation and resampling statistics (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest

from mmrole.eval import stats
from mmrole.eval.aggregate import FAILED, MISSING, SCORED, Judgement, aggregate, build_table, combine
from mmrole.schema import DIMENSIONS, METRICS


def _samples(n: int, kind: str = "comment", split: str = "in-distribution") -> list[dict]:
    return [{"id": f"s{i}", "type": kind, "split": split} for i in range(n)]


def test_combine_is_a_over_b_and_swap_balances_position_bias() -> None:
    assert combine([Judgement("s", "Fluency", (8.0, 10.0))]) == 0.8
    # A judge that adds +2 to whoever is Model A: MRPA truly 6, reference truly 8.
    swapped = [Judgement("s", "Fluency", (8.0, 8.0), "AB"), Judgement("s", "Fluency", (10.0, 6.0), "BA")]
    assert combine(swapped) == pytest.approx(7 / 9)  # both sides got +1 on average: (6+1)/(8+1)
    # One order failed: no silent fallback to a one-sided score.
    assert (
        combine([Judgement("s", "Fluency", (8.0, 8.0), "AB"), Judgement("s", "Fluency", None, "BA")]) is None
    )
    # Repeats: mean MRPA over mean reference.
    assert combine([Judgement("s", "Fluency", (6.0, 8.0)), Judgement("s", "Fluency", (8.0, 8.0))]) == 7 / 8


def test_table_statuses_and_counts() -> None:
    judgements = [Judgement("s0", m, (8.0, 10.0)) for m in METRICS]
    judgements += [Judgement("s1", m, (5.0, 10.0)) for m in METRICS[:7]]
    judgements.append(Judgement("s1", METRICS[7], None))  # failed
    table = build_table(_samples(3), judgements)  # s2 never judged (empty answer)
    assert list(table.status[0]) == [SCORED] * 8
    assert table.status[1, 7] == FAILED and list(table.status[2]) == [MISSING] * 8
    results = aggregate(table, n_boot=200)
    assert results["n_samples"] == 3 and results["n_failed"] == 1 and results["n_missing"] == 1
    assert results["n_scored"] == 1 and results["n_failed_judgements"] == 1
    assert results["metrics"]["Fluency"] == {
        **results["metrics"]["Fluency"],
        "mean": pytest.approx(0.65),
        "n": 2,
    }
    tone = results["metrics"]["Tone Consistency"]
    assert (tone["mean"], tone["n"], tone["n_failed"], tone["n_missing"]) == (0.8, 1, 1, 1)
    means = [results["metrics"][m]["mean"] for m in METRICS]
    assert results["overall"]["mean"] == pytest.approx(np.mean(means))
    for name, members in DIMENSIONS.items():
        assert results["dimensions"][name]["mean"] == pytest.approx(
            np.mean([results["metrics"][m]["mean"] for m in members])
        )


def test_groups_by_split_and_type() -> None:
    samples = _samples(4, "comment") + [{"id": "o", "type": "inter-role", "split": "out-of-distribution"}]
    judgements = [Judgement(s["id"], m, (float(i + 1), 10.0)) for i, s in enumerate(samples) for m in METRICS]
    results = aggregate(build_table(samples, judgements), n_boot=100)
    assert results["by_type"]["comment"]["overall"]["mean"] == pytest.approx(0.25)
    assert results["by_type"]["inter-role"]["overall"]["mean"] == pytest.approx(0.5)
    assert results["by_type"]["human-role"]["n_samples"] == 0
    assert results["by_type"]["human-role"]["overall"] == {"mean": None, "ci": None}
    assert results["by_split"]["out-of-distribution"]["n_samples"] == 1
    assert results["by_split"]["out-of-distribution"]["overall"]["ci"] == [0.5, 0.5]


def test_bootstrap_is_seeded_and_covers_the_mean() -> None:
    rng = np.random.default_rng(1)
    scores = rng.normal(1.0, 0.2, size=(200, 8))
    scores[rng.random(scores.shape) < 0.1] = np.nan
    a = stats.bootstrap_metric_means(scores, 500, seed=3)
    b = stats.bootstrap_metric_means(scores, 500, seed=3)
    c = stats.bootstrap_metric_means(scores, 500, seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    means = stats.metric_means(scores)
    for j in range(8):
        low, high = stats.percentile_ci(a[:, j])
        assert low < means[j] < high
        # A 95% interval of a mean of ~180 values of sd 0.2 is about +-0.03 wide.
        assert 0.02 < high - low < 0.09
    assert stats.percentile_ci(np.array([np.nan])) is None


def test_paired_test_detects_a_real_difference_and_not_a_null_one() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(1.0, 0.2, size=(150, 8))
    better = base + 0.05 + rng.normal(0, 0.05, size=base.shape)
    per_metric, overall = stats.paired_differences(better, base, n_boot=400, n_perm=2000)
    assert overall.diff == pytest.approx(0.05, abs=0.01) and overall.p_value < 0.01
    assert overall.ci[0] > 0 and all(r.n == 150 for r in per_metric)
    noise = base + rng.normal(0, 0.05, size=base.shape)
    _, null = stats.paired_differences(noise, base, n_boot=400, n_perm=2000)
    assert null.p_value > 0.01 and null.ci[0] < 0 < null.ci[1]


def test_paired_test_uses_only_cells_scored_in_both() -> None:
    a = np.array([[1.0], [2.0], [np.nan]])
    b = np.array([[0.5], [np.nan], [3.0]])
    per_metric, overall = stats.paired_differences(a, b, n_boot=50, n_perm=50)
    assert per_metric[0].n == 1 and per_metric[0].diff == 0.5
    assert (per_metric[0].mean_a, per_metric[0].mean_b) == (1.0, 0.5)
    empty, _ = stats.paired_differences(np.array([[np.nan]]), np.array([[1.0]]), n_boot=10, n_perm=10)
    assert empty[0].diff is None and empty[0].n == 0


def test_non_finite_scores_never_count() -> None:
    inf, nan = float("inf"), float("nan")
    for pair in [(inf, 1.0), (nan, 3.0), (8.0, nan), (1e308, 0.5), (5.0, -inf)]:
        assert combine([Judgement("s", "Fluency", pair)]) is None, pair
    assert (
        combine([Judgement("s", "Fluency", (6.0, 8.0)), Judgement("s", "Fluency", (inf, 8.0), "BA")]) is None
    )
    judgements = [
        Judgement("s0", "Fluency", (inf, 1.0)),
        Judgement("s1", "Fluency", (nan, 3.0)),
        Judgement("s2", "Fluency", (6.0, 8.0)),
    ]
    table = build_table(_samples(3), judgements, ["Fluency"])
    assert list(table.status[:, 0]) == [FAILED, FAILED, SCORED]
    results = aggregate(table, n_boot=50)
    fluency = results["metrics"]["Fluency"]
    assert (fluency["n"], fluency["n_failed"], fluency["mean"]) == (1, 2, 0.75)
    # Non-finite cells reaching the statistics directly are no score either.
    scores = np.array([[0.5, np.inf], [1.0, np.nan], [np.inf, 1.0]])
    assert list(stats.metric_means(scores)) == [0.75, 1.0]
    per_metric, overall = stats.paired_differences(scores, np.ones_like(scores), n_boot=20, n_perm=20)
    assert [r.n for r in per_metric] == [2, 1] and per_metric[0].diff == pytest.approx(-0.25)
    assert stats.percentile_ci(np.array([np.inf, 1.0, 1.0, np.nan])) == (1.0, 1.0)
