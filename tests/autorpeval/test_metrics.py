"""The metrics on hand-built result files equal the hand calculations (to 1e-12), SEM and Avg included;
the t-test equals its closed forms."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import hand_built
import pytest

from mmrole.autorpeval import import_results, load_roles, ttest_ind
from mmrole.autorpeval.metrics import AVG_PARTS, LOWER_IS_BETTER, score_roles
from mmrole.autorpeval.report import cell
from mmrole.autorpeval.results import evaluated_role, tables_of
from mmrole.autorpeval.ttest import student_t_sf2

TOLERANCE = 1e-12


def _hand(units: list[float]) -> tuple[float, float | None]:
    """Mean and SEM by hand: the arithmetic mean, and the sample standard deviation over sqrt(n)."""
    mean = statistics.fmean(units)
    return mean, (statistics.stdev(units) / math.sqrt(len(units)) if len(units) > 1 else None)


def _close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= TOLERANCE)


@pytest.fixture
def tables(tmp_path: Path):
    folder = hand_built.write(tmp_path / "beyond")
    return score_roles(evaluated_role(role) for role in load_roles(folder))


def test_every_metric_equals_the_hand_calculation(tables) -> None:
    assert set(tables) == {"cn", "en", "all"}
    assert (tables["en"].n_roles, tables["en"].n_chats, tables["all"].n_chats) == (2, 5, 7)
    for language, units in hand_built.UNITS.items():
        for metric, values in units.items():
            score = tables[language].metrics[metric]
            mean, sem = _hand(values)
            assert len(score.values) == len(values), (language, metric)
            assert all(
                abs(a - b) <= TOLERANCE for a, b in zip(sorted(score.values), sorted(values), strict=True)
            )
            assert _close(score.mean, mean) and _close(score.sem, sem), (language, metric, score, mean, sem)
            assert score.failed == hand_built.FAILED[language].get(metric, 0), (language, metric)
            assert score.unit == (
                "chat" if metric in ("character", "style", "emotion", "relationship") else "role"
            )


def test_avg_is_the_mean_of_the_five_with_emotion_and_relationship_as_one_minus(tables) -> None:
    for language in ("en", "all"):
        parts = [_hand(hand_built.UNITS[language][m]) for m in AVG_PARTS]
        means = [
            1 - mean if m in LOWER_IS_BETTER else mean for m, (mean, _) in zip(AVG_PARTS, parts, strict=True)
        ]
        expected_mean = sum(means) / 5
        expected_sem = sum(sem for _, sem in parts) / 5
        assert _close(tables[language].avg.mean, expected_mean) and _close(
            tables[language].avg.sem, expected_sem
        )
    # English by hand, in numbers: Character 0.5875, Style 0.5, Emotion 0.0875, Relationship 0.18,
    # Personality 19/24.
    assert _close(tables["en"].avg.mean, (0.5875 + 0.5 + (1 - 0.0875) + (1 - 0.18) + 19 / 24) / 5)
    # One Chinese role: its role-unit metrics have no SEM, so neither has Avg.
    assert tables["cn"].metrics["personality"].sem is None and tables["cn"].avg.sem is None
    assert _close(tables["cn"].avg.mean, (0.5 + 0.5 + 0.85 + 0.95 + 0.625) / 5)


def test_the_files_are_scored_through_an_import_and_shown_in_the_seeds_format(tmp_path: Path, tables) -> None:
    folder = hand_built.write(tmp_path / "beyond")
    summary = import_results(folder, tmp_path / "run", name="hand")
    assert summary.stage == "questions" and (summary.n_roles, summary.n_chats) == (3, 7)
    imported = tables_of(summary.results)
    for language in ("cn", "en", "all"):
        for metric in hand_built.UNITS["en"]:
            assert imported[language].metrics[metric] == tables[language].metrics[metric]
    mean, sem = _hand(hand_built.UNITS["en"]["character"])
    assert (
        cell(imported["en"].metrics["character"]) == f"{100 * mean:.2f} ± {100 * sem:.2f}" == "58.75 ± 15.60"
    )
    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "| hand | 58.75 ± 15.60 | 50.00 ± 20.41 | 8.75 ± 4.27 | 18.00 ± 8.00 | 79.17 ± 20.83 |" in report
    assert "| hand | 7 | 1 | 1 | 1 | 0 | 1 | 0 | 0 | 0 |" in report  # failed answers, per metric
    csv_text = (tmp_path / "run" / "report.csv").read_text(encoding="utf-8")
    assert f"hand,en,character,{mean!r},{sem!r},4,chat,1" in csv_text


def test_the_t_test_equals_its_closed_forms_and_scipys_default() -> None:
    for t in (0.3, 1.0, 2.5, 40.0):
        assert abs(student_t_sf2(t, 1) - (1 - 2 / math.pi * math.atan(t))) < 1e-13  # Cauchy
        assert abs(student_t_sf2(t, 2) - (1 - t / math.sqrt(2 + t * t))) < 1e-13
    assert abs(student_t_sf2(2.228138851986274, 10) - 0.05) < 1e-12  # the t table's 5% point at 10 df
    a, b = [0.2, 0.4], [0.5, 0.9]  # df = 2: pooled variance (0.02 + 0.08) / 2, t = -0.4 / sqrt(0.05 * 1)
    test = ttest_ind(a, b)
    t = -0.4 / math.sqrt(0.05)
    assert (
        test is not None and test.df == 2 and abs(test.t - t) < 1e-12 and abs(test.difference + 0.4) < 1e-12
    )
    assert abs(test.p - (1 - abs(t) / math.sqrt(2 + t * t))) < 1e-12
    assert ttest_ind([0.5], [0.1, 0.2]) is None and ttest_ind([1.0, 1.0], [1.0, 1.0]) is None
