"""Importing MMRole's released reviews reproduces the released results CSVs; answers files import ready to judge."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mmrole.errors import DataError
from mmrole.eval.importer import PUBLISHED_NAMES, import_published, import_released
from mmrole.runs import RunFolder
from mmrole.schema import METRICS

TYPES = ("comment", "human-role", "inter-role")


def _csv_row(path: Path) -> dict[str, float]:
    with path.open(encoding="utf-8") as handle:
        return {k: float(v) for k, v in next(csv.DictReader(handle)).items()}


def _assert_matches_csvs(results: dict, model_dir: Path) -> None:
    for kind in TYPES:
        expected = _csv_row(model_dir / f"{kind}_test.results.csv")
        group = results["by_type"][kind]
        for metric in METRICS:
            assert group["metrics"][metric]["mean"] == pytest.approx(expected[metric], abs=1e-9, rel=0)
            # The CSV's count is the number of reviewed samples (empty answers are not reviewed).
            assert group["metrics"][metric]["n"] == int(expected["count"])
        assert group["n_samples"] == 72
        assert group["n_missing"] == 72 - int(expected["count"])


def test_all_eleven_published_models_reproduce_their_csvs(in_test_root: Path, tmp_path: Path) -> None:
    summaries = import_published(in_test_root, out_dir=tmp_path)
    assert sorted(s.run_dir.name for s in summaries) == sorted(PUBLISHED_NAMES)
    for summary in summaries:
        results = json.loads((summary.run_dir / "results.json").read_text())
        assert results["run"]["name"] == PUBLISHED_NAMES[summary.run_dir.name]
        _assert_matches_csvs(results, in_test_root / summary.run_dir.name)
        assert results["by_split"]["in-distribution"]["n_samples"] == 216
        assert results["by_split"]["out-of-distribution"]["n_samples"] == 0
        assert results["by_split"]["out-of-distribution"]["overall"]["mean"] is None


def test_per_file_import_and_missing_samples_are_counted(in_test_root: Path, tmp_path: Path) -> None:
    # qwen-vl-max has an empty answer in comment_test: it stays in the run as missing.
    file = in_test_root / "qwen-vl-max" / "comment_test.reviews.json"
    summary = import_released(file, name="QWen-VL-Max", run_dir=tmp_path / "run")
    assert (summary.n_samples, summary.n_answers, summary.n_reviews) == (72, 71, 71 * 8)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    expected = _csv_row(file.with_name("comment_test.results.csv"))
    for metric in METRICS:
        assert results["metrics"][metric]["mean"] == pytest.approx(expected[metric], abs=1e-9, rel=0)
        assert results["metrics"][metric]["n_missing"] == 1
    assert results["n_missing"] == 1 and results["n_failed"] == 0
    overall = sum(expected[m] for m in METRICS) / 8
    assert results["overall"]["mean"] == pytest.approx(overall, abs=1e-12)
    low, high = results["overall"]["ci"]
    assert low < overall < high
    assert (
        results["by_type"]["comment"]["n_samples"] == 72
        and results["by_type"]["inter-role"]["n_samples"] == 0
    )


def test_answers_file_imports_as_a_run_ready_to_judge(in_test_root: Path, tmp_path: Path) -> None:
    # An answers file: the released records without their reviews.
    records = json.loads((in_test_root / "yi-vl-6b" / "inter-role_test.reviews.json").read_text())
    for record in records:
        record.pop("rm_review", None)
    answers_file = tmp_path / "inter-role_test.json"
    answers_file.write_text(json.dumps(records, ensure_ascii=False))
    summary = import_released(answers_file, name="Yi-VL-6B", run_dir=tmp_path / "run")
    assert not summary.judged and not (tmp_path / "run" / "results.json").exists()
    folder = RunFolder(tmp_path / "run")
    samples, answers = folder.samples(), folder.answers()
    assert len(samples) == 72 and not folder.is_judged()
    first = records[0]
    assert samples[0].id == first["id"] and samples[0].instruction == first["conversations"][0]["value"]
    assert samples[0].reference == first["conversations"][1]["value"]
    assert answers[first["id"]]["answer"] == first["conversations"][1]["answer"]
    assert {s.type for s in samples} == {"inter-role"}
    assert sum(1 for a in answers.values() if not a["answer"].strip()) == 1


def test_plain_test_file_without_answers_is_a_clear_error(in_test_root: Path, tmp_path: Path) -> None:
    records = json.loads((in_test_root / "gpt-4-turbo" / "comment_test.reviews.json").read_text())[:3]
    for record in records:
        record.pop("rm_review")
        del record["conversations"][1]["answer"]
    path = tmp_path / "comment_test.json"
    path.write_text(json.dumps(records))
    with pytest.raises(DataError) as err:
        import_released(path, name="x", run_dir=tmp_path / "run")
    assert "conversations[1].answer" in str(err.value) and records[0]["id"] in str(err.value)


def test_refuses_to_overwrite_a_run(in_test_root: Path, tmp_path: Path) -> None:
    file = in_test_root / "gpt-4-turbo" / "comment_test.reviews.json"
    import_released(file, name="a", run_dir=tmp_path)
    with pytest.raises(DataError, match="overwrite"):
        import_released(file, name="a", run_dir=tmp_path)
    import_released(file, name="b", run_dir=tmp_path, overwrite=True)
    assert json.loads((tmp_path / "run.json").read_text())["name"] == "b"


def test_published_root_with_in_and_out_test_splits(in_test_root: Path, tmp_path: Path) -> None:
    # A release root holding in-test/ and out-test/: each MRPA's run gets both splits.
    records = json.loads((in_test_root / "gpt-4-turbo" / "comment_test.reviews.json").read_text())
    for split, part in (("in-test", records[:5]), ("out-test", records[5:8])):
        folder = tmp_path / "release" / split / "gpt-4-turbo"
        folder.mkdir(parents=True)
        (folder / "comment_test.reviews.json").write_text(json.dumps(part))
    (summary,) = import_published(tmp_path / "release", out_dir=tmp_path / "runs")
    assert summary.n_samples == 8 and summary.run_dir.name == "gpt-4-turbo"
    results = json.loads((summary.run_dir / "results.json").read_text())
    assert results["run"]["name"] == "GPT-4 Turbo"
    assert results["by_split"]["in-distribution"]["n_samples"] == 5
    assert results["by_split"]["out-of-distribution"]["n_samples"] == 3
    ood = results["by_split"]["out-of-distribution"]["metrics"]["Fluency"]["mean"]
    expected = (
        sum(
            r["rm_review"]["Fluency"]["score"][0] / r["rm_review"]["Fluency"]["score"][1]
            for r in records[5:8]
        )
        / 3
    )
    assert ood == pytest.approx(expected, abs=1e-12)


def _strict_json(text: str):
    def refuse(name: str):
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_invalid_released_scores_are_flagged_counted_and_not_averaged(
    in_test_root: Path, tmp_path: Path
) -> None:
    records = json.loads((in_test_root / "gpt-4-turbo" / "comment_test.reviews.json").read_text())[:8]
    invalid = [
        [float("inf"), 1],  # json.dumps writes Infinity, which json.loads reads back as inf
        [float("nan"), 3],
        [7, 1e-7],
        [-1, 5],
        [8, 0],
        [11, 10],
        [1e400, 2],  # a literal that overflows to inf
    ]
    for record, score in zip(records, invalid, strict=False):
        record["rm_review"]["Fluency"]["score"] = score
    records[7]["rm_review"]["Fluency"]["score"] = [0, 10]  # a 0, as the released judge wrote: kept
    path = tmp_path / "comment_test.reviews.json"
    path.write_text(json.dumps(records).replace("1e+400", "1e400"))
    assert "Infinity" in path.read_text() and "NaN" in path.read_text()

    summary = import_released(path, name="Edited", run_dir=tmp_path / "run")
    assert summary.n_reviews == 8 * 8 and summary.n_invalid == len(invalid)
    results = _strict_json((tmp_path / "run" / "results.json").read_text())
    fluency = results["metrics"]["Fluency"]
    assert (fluency["n"], fluency["n_failed"]) == (1, len(invalid))
    assert fluency["mean"] == 0.0  # only the (0, 10) pair is averaged
    assert results["n_failed"] == len(invalid)
    flagged = [r for r in RunFolder(tmp_path / "run").reviews() if r["error"]]
    assert len(flagged) == len(invalid) and all(r["score"] is None for r in flagged)
    assert all(r["error"].startswith("invalid released score") for r in flagged)
    _strict_json("[" + ",".join((tmp_path / "run" / "reviews.jsonl").read_text().splitlines()) + "]")


def test_import_command_reports_invalid_released_scores_and_report_works(
    in_test_root: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from mmrole.cli import app

    records = json.loads((in_test_root / "gpt-4-turbo" / "comment_test.reviews.json").read_text())[:3]
    records[0]["rm_review"]["Coherency"]["score"] = [float("inf"), 1]
    records[1]["rm_review"]["Coherency"]["score"] = [7, 1e-7]
    path = tmp_path / "comment_test.reviews.json"
    path.write_text(json.dumps(records))
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["import", str(path), "--name", "x", "--run", str(run)])
    assert result.exit_code == 0, result.output
    assert "2 released score(s) invalid" in result.output
    report = CliRunner().invoke(app, ["report", str(run)], catch_exceptions=False)
    assert report.exit_code == 0, report.output
    assert (run / "report.html").exists()
