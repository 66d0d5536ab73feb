"""MMRole's own repository layout (``eval/in-test_reviews/<model>/``, ``eval/out-test_answers/<model>/``...)
imports with its splits: one run per model holding both, overall over all samples beside In-Test and Out-Test.

The out-test folders are built from the released in-test files with renamed ids (the release
beside the repo ships only ``in-test/``), 26 samples per dialogue type as MMRole's out-test has.
"""

from __future__ import annotations

import copy
import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.data.qwen import split_folder, split_from_path
from mmrole.errors import DataError
from mmrole.eval.importer import import_published, import_released
from mmrole.eval.leaderboard import leaderboard, to_csv, to_markdown
from mmrole.runs import RunFolder
from mmrole.schema import METRICS

TYPES = ("comment", "human-role", "inter-role")
MODELS = ("claude-3-opus", "yi-vl-6b")  # yi-vl-6b has an unreviewed (empty) answer
IN, OUT = "in-distribution", "out-of-distribution"
N_OUT = 26


def _without_reviews(records: list[dict]) -> list[dict]:
    stripped = copy.deepcopy(records)
    for record in stripped:
        record.pop("rm_review", None)
    return stripped


def _out_test(records: list[dict]) -> list[dict]:
    out = copy.deepcopy(records[:N_OUT])
    for record in out:
        record["id"] += "_ood"  # unique beside the in-test ids, type marker kept
    return out


def _write(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")


def build_repo_eval(in_test_root: Path, root: Path, *, reviews: bool = True) -> Path:
    """``root/eval`` as in github.com/YanqiDai/MMRole: {in,out}-test_{answers,reviews,results}/<model>/."""
    eval_dir = root / "eval"
    eval_dir.mkdir(parents=True)
    (eval_dir / "RM_result.py").write_text("# MMRole's script, not data\n")
    for model in MODELS:
        for kind in TYPES:
            released = in_test_root / model / f"{kind}_test.reviews.json"
            records = json.loads(released.read_text(encoding="utf-8"))
            for split, part in (("in-test", records), ("out-test", _out_test(records))):
                _write(eval_dir / f"{split}_answers" / model / f"{kind}_test.json", _without_reviews(part))
                if reviews:
                    _write(eval_dir / f"{split}_reviews" / model / f"{kind}_test.json", part)
            results = eval_dir / "in-test_results" / model / f"{kind}_test.csv"
            results.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(released.with_name(f"{kind}_test.results.csv"), results)
    return eval_dir


@pytest.fixture(scope="module")
def repo_eval(in_test_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_repo_eval(in_test_root, tmp_path_factory.mktemp("mmrole-repo"))


def _records(folder: Path) -> list[dict]:
    return [r for kind in TYPES for r in json.loads((folder / f"{kind}_test.json").read_text())]


def _mean_over_samples(records: list[dict]) -> float:
    """The paper's overall by hand: per metric, the mean of a/b over every reviewed sample; then the mean."""
    reviewed = [r["rm_review"] for r in records if r.get("rm_review")]
    per_metric = [sum(v[m]["score"][0] / v[m]["score"][1] for v in reviewed) / len(reviewed) for m in METRICS]
    return sum(per_metric) / len(per_metric)


def _in_test_from_csvs(results_dir: Path, suffix: str = ".csv") -> float:
    """The In-Test overall from MMRole's released per-type CSVs (count-weighted per metric)."""
    rows = []
    for kind in TYPES:
        with (results_dir / f"{kind}_test{suffix}").open(encoding="utf-8") as handle:
            rows.append({k: float(v) for k, v in next(csv.DictReader(handle)).items()})
    total = sum(r["count"] for r in rows)
    per_metric = [sum(r["count"] * r[m] for r in rows) / total for m in METRICS]
    return sum(per_metric) / len(per_metric)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("in-test_answers", (IN, "answers")),
        ("in-test_reviews", (IN, "reviews")),
        ("in-test_results", (IN, "results")),
        ("out-test_answers", (OUT, "answers")),
        ("out-test_reviews", (OUT, "reviews")),
        ("out-test", (OUT, "")),
        ("in-test", (IN, "")),
        ("out-of-distribution", (OUT, "")),
        ("in-distribution", (IN, "")),
        ("mini_reviews", None),
        ("in-test-old", None),
    ],
)
def test_split_folder_names(name: str, expected: tuple[str, str] | None, tmp_path: Path) -> None:
    assert split_folder(name) == expected
    assert split_from_path(tmp_path / name / "gpt-4-turbo") == (expected[0] if expected else None)


def test_the_repository_eval_folder_imports_each_model_with_both_splits(
    repo_eval: Path, tmp_path: Path
) -> None:
    summaries = import_published(repo_eval, out_dir=tmp_path / "runs")
    assert sorted(s.run_dir.name for s in summaries) == sorted(MODELS)
    for summary in summaries:
        assert summary.splits == {IN: 216, OUT: 3 * N_OUT} and summary.n_samples == 216 + 3 * N_OUT
        assert summary.judged and summary.unsplit_files == []
        # the reviews folders win over the answers folders of the same split
        assert all(f.parent.parent.name.endswith("_reviews") for f in summary.files)
        splits = {s.id: s.split for s in RunFolder(summary.run_dir).samples()}
        assert all(splits[i] == OUT for i in splits if i.endswith("_ood"))
        assert sum(1 for v in splits.values() if v == IN) == 216

    entries = {e.run_dir.name: e for e in leaderboard([s.run_dir for s in summaries])}
    for model in MODELS:
        entry = entries[model]
        in_records = _records(repo_eval / "in-test_reviews" / model)
        out_records = _records(repo_eval / "out-test_reviews" / model)
        # The overall is the paper's: over all samples, not the mean of the two splits.
        assert entry.overall == pytest.approx(_mean_over_samples(in_records + out_records), abs=1e-12)
        assert entry.by_split[OUT] == pytest.approx(_mean_over_samples(out_records), abs=1e-12)
        # The In-Test column still reproduces MMRole's released CSVs.
        assert entry.by_split[IN] == pytest.approx(
            _in_test_from_csvs(repo_eval / "in-test_results" / model), abs=1e-9
        )
        assert entry.overall not in (entry.by_split[IN], entry.by_split[OUT])

    markdown = to_markdown(list(entries.values()))
    assert "| overall | 95% CI | In-Test | Out-Test |" in markdown
    claude = entries["claude-3-opus"]
    assert (
        f"| {claude.overall:.4f} | [{claude.ci[0]:.4f}, {claude.ci[1]:.4f}] | {claude.by_split[IN]:.4f} | "
        in markdown
    )
    header = to_csv(list(entries.values())).splitlines()[0].split(",")
    assert header[header.index("overall") + 3 : header.index("overall") + 5] == ["In-Test", "Out-Test"]


def test_answers_folders_alone_import_runs_ready_to_judge(in_test_root: Path, tmp_path: Path) -> None:
    repo = build_repo_eval(in_test_root, tmp_path / "repo", reviews=False)
    summaries = import_published(repo, out_dir=tmp_path / "runs")
    assert len(summaries) == len(MODELS)
    for summary in summaries:
        assert not summary.judged and summary.splits == {IN: 216, OUT: 3 * N_OUT}
        assert not (summary.run_dir / "results.json").exists()


def test_one_model_folder_of_the_repository_keeps_its_split(repo_eval: Path, tmp_path: Path) -> None:
    summary = import_released(
        repo_eval / "out-test_reviews" / "yi-vl-6b", name="Yi", run_dir=tmp_path / "ood"
    )
    assert summary.splits == {OUT: 3 * N_OUT} and summary.unsplit_files == []
    results = json.loads((tmp_path / "ood" / "results.json").read_text())
    assert results["by_split"][OUT]["n_samples"] == 3 * N_OUT and results["by_split"][IN]["n_samples"] == 0
    summary = import_released(repo_eval / "in-test_answers" / "yi-vl-6b", name="Yi", run_dir=tmp_path / "in")
    assert summary.splits == {IN: 216} and not summary.judged


def test_a_file_whose_path_names_no_split_is_reported(repo_eval: Path, tmp_path: Path) -> None:
    loose = tmp_path / "comment_test.json"
    shutil.copy(repo_eval / "out-test_reviews" / "yi-vl-6b" / "comment_test.json", loose)
    summary = import_released(loose, name="Yi", run_dir=tmp_path / "run")
    assert summary.unsplit_files == [loose] and summary.splits == {IN: N_OUT}
    forced = import_released(loose, name="Yi", run_dir=tmp_path / "forced", split=OUT)
    assert forced.unsplit_files == [] and forced.splits == {OUT: N_OUT}
    result = CliRunner().invoke(app, ["import", str(loose), "--name", "Yi", "--run", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    assert f"{loose}: no in-test/out-test folder in its path, imported as in-distribution" in result.output


def test_pointing_import_at_the_eval_folder_suggests_published(repo_eval: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="it holds split folders: import them all with --published"):
        import_released(repo_eval, name="x", run_dir=tmp_path / "r")


def test_cli_import_published_and_leaderboard_show_the_splits(repo_eval: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["import", "--published", str(repo_eval), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert result.output.count("294 samples (216 In-Test, 78 Out-Test)") == len(MODELS)
    runs = [str(tmp_path / "runs" / m) for m in MODELS]
    result = runner.invoke(app, ["leaderboard", *runs, "--out", str(tmp_path / "board.md")])
    assert result.exit_code == 0, result.output
    assert "In-Test" in result.output and "Out-Test" in result.output
    assert "Not like for like" not in result.output  # same judge, same samples and splits


def test_the_shared_release_root_imports_with_in_test_columns(reference_root: Path, tmp_path: Path) -> None:
    # ../shared/reference/mmrole-eval: its in-test/ holds the released files, beside JUDGE_PROMPT.md.
    root = reference_root / "mmrole-eval"
    summaries = import_published(root, out_dir=tmp_path)
    assert len(summaries) == 11 and all(s.splits == {IN: 216} for s in summaries)
    for entry in leaderboard([s.run_dir for s in summaries]):
        assert entry.by_split[IN] == entry.overall and entry.by_split[OUT] is None
        expected = _in_test_from_csvs(root / "in-test" / entry.run_dir.name, ".results.csv")
        assert entry.by_split[IN] == pytest.approx(expected, abs=1e-9)
