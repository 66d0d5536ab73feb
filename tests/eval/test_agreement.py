"""`mmrole judge-agreement` on MMRole's released reviews against perturbed copies.

Expected values are computed here in plain Python, straight from the two reviews.jsonl files
(no numpy, no shared code with mmrole.eval.agreement): ratios a/b per (sample, metric), MAE,
Pearson, Spearman with average ranks for ties, sign agreement and parse rates.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.errors import DataError
from mmrole.eval.agreement import judge_agreement
from mmrole.eval.importer import import_released
from mmrole.eval.results import write_run
from mmrole.runs import RunFolder, StageInputs


@pytest.fixture(scope="module")
def released_run(in_test_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("agreement") / "gpt-4-turbo"
    import_released(in_test_root / "gpt-4-turbo", name="GPT-4 Turbo (released)", run_dir=run)
    return run


def _reviews(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "reviews.jsonl").read_text(encoding="utf-8").splitlines()]


def _perturbed_copy(
    run: Path, to: Path, change, rename=lambda sample_id: sample_id, judged: bool = True
) -> Path:
    """A copy of the run whose reviews are rewritten by ``change(index, review) -> review``, as
    another judge would have written them (``rename`` renames the samples)."""
    source = RunFolder(run)
    info = source.info()
    samples = [s.model_copy(update={"id": rename(s.id)}) for s in source.samples()]
    answers = [{**a, "id": rename(a["id"])} for a in source.answers().values()]
    reviews = [change(i, {**r, "sample_id": rename(r["sample_id"])}) for i, r in enumerate(source.reviews())]
    write_run(
        RunFolder(to),
        samples,
        answers,
        inputs=StageInputs(info["agent"]),
        summary={"name": info["name"], "agent": info["agent"]},
        reviews=reviews if judged else None,
        judge_inputs=StageInputs("perturbed judge"),
        judge_summary={"judge": "perturbed judge"},
    )
    return to


# -- plain-Python reference calculations ------------------------------------------------------
def _ratios(run: Path) -> dict[tuple[str, str], float]:
    return {(r["sample_id"], r["metric"]): r["score"][0] / r["score"][1] for r in _reviews(run) if r["score"]}


def _pearson(x: list[float], y: list[float]) -> float:
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))


def _ranks(values: list[float]) -> list[float]:
    ordered = sorted(values)
    first = {}
    for position, value in enumerate(ordered, start=1):
        first.setdefault(value, []).append(position)
    return [sum(first[v]) / len(first[v]) for v in values]


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _expected(run: Path, reference: Path, metric: str | None) -> dict:
    a, b = _ratios(run), _ratios(reference)
    keys = [k for k in a if k in b and (metric is None or k[1] == metric)]
    x, y = [a[k] for k in keys], [b[k] for k in keys]
    return {
        "n": len(keys),
        "mae": sum(abs(p - q) for p, q in zip(x, y, strict=True)) / len(keys),
        "pearson": _pearson(x, y),
        "spearman": _pearson(_ranks(x), _ranks(y)),
        "sign_agreement": sum(_sign(p - 1) == _sign(q - 1) for p, q in zip(x, y, strict=True)) / len(keys),
    }


def _parse_rate(run: Path) -> float:
    reviews = _reviews(run)
    return sum(r["score"] is not None for r in reviews) / len(reviews)


# -- tests ---------------------------------------------------------------------------------------
def test_identical_judges_agree_perfectly(released_run: Path, tmp_path: Path) -> None:
    copy = _perturbed_copy(released_run, tmp_path / "copy", lambda i, r: r)
    report = judge_agreement(released_run, copy)
    assert report["n_common_samples"] == len({r["sample_id"] for r in _reviews(released_run)})
    overall = report["overall"]
    assert (
        overall["mae"] == 0
        and overall["pearson"] == pytest.approx(1)
        and overall["spearman"] == pytest.approx(1)
    )
    assert overall["sign_agreement"] == 1 and overall["parse_rate"] == overall["reference_parse_rate"] == 1
    assert report["n_differing_answers"] == 0 and report["n_only_run"] == report["n_only_reference"] == 0


def test_a_shift_of_every_ratio_gives_that_mae_and_perfect_correlation(
    released_run: Path, tmp_path: Path
) -> None:
    def shift(_index: int, review: dict) -> dict:
        a, b = review["score"]
        review["score"] = [a + 0.1 * b, b]  # ratio + 0.1 exactly
        return review

    shifted = _perturbed_copy(released_run, tmp_path / "shifted", shift)
    report = judge_agreement(shifted, released_run)
    for values in [report["overall"], *report["metrics"].values()]:
        assert values["mae"] == pytest.approx(0.1)
        assert values["pearson"] == pytest.approx(1) and values["spearman"] == pytest.approx(1)
    # Sign agreement is lost exactly where the ratio was in [0.9, 1) or exactly 1.
    ratios = list(_ratios(released_run).values())
    flips = sum(0.9 <= r <= 1.0 for r in ratios)
    assert report["overall"]["sign_agreement"] == pytest.approx(1 - flips / len(ratios))


def test_noisy_judge_matches_plain_python_calculation(released_run: Path, tmp_path: Path) -> None:
    def noise(index: int, review: dict) -> dict:
        a, b = review["score"]
        if index % 11 == 0:  # an unparseable reply
            review.update(score=None, error="no score pair in the judge's reply", text="I cannot score this.")
        elif index % 3 == 0:
            review["score"] = [max(1, a - 1 - index % 2), b]
        elif index % 5 == 0:
            review["score"] = [b, a]
        return review

    noisy = _perturbed_copy(released_run, tmp_path / "noisy", noise)
    report = judge_agreement(noisy, released_run)
    keys = ("n", "mae", "pearson", "spearman", "sign_agreement")
    expected = _expected(noisy, released_run, None)
    assert {k: report["overall"][k] for k in keys} == pytest.approx(expected, rel=1e-12)
    assert 0.5 < expected["pearson"] < 0.99 and expected["mae"] > 0.05  # a real, imperfect agreement
    for metric, values in report["metrics"].items():
        assert {k: values[k] for k in keys} == pytest.approx(
            _expected(noisy, released_run, metric), rel=1e-12
        )
    assert report["overall"]["parse_rate"] == pytest.approx(_parse_rate(noisy))
    assert report["overall"]["parse_rate"] < 1 and report["overall"]["reference_parse_rate"] == 1


def test_two_released_mrpas_by_the_same_judge(released_run: Path, in_test_root: Path, tmp_path: Path) -> None:
    other = tmp_path / "claude"
    import_released(in_test_root / "claude-3-opus", name="Claude 3 Opus", run_dir=other)
    report = judge_agreement(other, released_run)
    expected = _expected(other, released_run, None)
    assert {k: report["overall"][k] for k in expected} == pytest.approx(expected, rel=1e-12)
    assert report["run"] == "Claude 3 Opus" and report["reference"] == "GPT-4 Turbo (released)"
    # Different MRPAs answered: the report says the judges did not see the same texts.
    assert report["n_differing_answers"] > 200


def test_cli_table_and_json(released_run: Path, tmp_path: Path) -> None:
    copy = _perturbed_copy(released_run, tmp_path / "copy", lambda i, r: r)
    runner = CliRunner()
    result = runner.invoke(
        app, ["judge-agreement", "--run", str(copy), "--reference", str(released_run), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["overall"]["mae"] == 0 and set(data["metrics"]) >= {"Fluency", "Tone Consistency"}
    table = runner.invoke(
        app, ["judge-agreement", "--run", str(copy), "--reference", str(released_run)], env={"COLUMNS": "160"}
    )
    assert table.exit_code == 0
    for text in ("Pearson", "Spearman", "Image-Text Relevance", "All metrics", "100.0%", "0.0738"):
        assert text in table.output


def test_errors_name_the_folder(released_run: Path, tmp_path: Path) -> None:
    unjudged = _perturbed_copy(released_run, tmp_path / "unjudged", lambda i, r: r, judged=False)
    with pytest.raises(DataError, match="not judged yet") as err:
        judge_agreement(unjudged, released_run)
    assert str(unjudged) in str(err.value)

    elsewhere = _perturbed_copy(
        released_run, tmp_path / "elsewhere", lambda i, r: r, rename=lambda sample_id: "other-" + sample_id
    )
    with pytest.raises(DataError, match="share no sample"):
        judge_agreement(elsewhere, released_run)
