"""Leaderboard and paired comparison over imported MMRole runs, and their warnings when runs are not like for like."""

from __future__ import annotations

import csv
import io
import json
from html import escape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.errors import ConfigError, DataError
from mmrole.eval.compare import compare_runs
from mmrole.eval.compare import to_markdown as to_markdown_comparison
from mmrole.eval.importer import PUBLISHED_NAMES, RELEASED_JUDGE, import_published, import_released
from mmrole.eval.leaderboard import leaderboard, like_for_like, to_csv, to_markdown, write_leaderboard
from mmrole.eval.report import write_reports
from mmrole.runs import update_run_info
from mmrole.schema import METRICS


@pytest.fixture(scope="module")
def published(in_test_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("published")
    import_published(in_test_root, out_dir=out)
    return out


def test_leaderboard_ranks_all_eleven_by_overall(published: Path, tmp_path: Path) -> None:
    entries = leaderboard(sorted(published.iterdir()))
    assert len(entries) == 11
    overall = [e.overall for e in entries]
    assert overall == sorted(overall, reverse=True)
    assert {e.name for e in entries} == set(PUBLISHED_NAMES.values())
    # The paper's MRPAs: Claude 3 Opus leads on the released reviews; Yi-VL-6B and QWen-VL-Chat trail.
    assert entries[0].name == "Claude 3 Opus"
    assert {e.name for e in entries[-2:]} == {"Yi-VL-6B", "QWen-VL-Chat"}
    markdown = to_markdown(entries)
    ranks = [line.split(" | ")[0] for line in markdown.splitlines()[2:] if line.startswith("| ")]
    assert ranks == [f"| {rank}" for rank in range(1, 12)] and "| 1 | Claude 3 Opus |" in markdown
    rows = list(csv.DictReader(io.StringIO(to_csv(entries))))
    assert [r["name"] for r in rows] == [e.name for e in entries]
    assert float(rows[0]["overall"]) == entries[0].overall
    assert float(rows[0][METRICS[0]]) == entries[0].metrics[METRICS[0]]
    written = write_leaderboard(entries, tmp_path / "board.md")
    assert written.read_text() == markdown
    with pytest.raises(ConfigError):
        write_leaderboard(entries, tmp_path / "board.txt")


def test_leaderboard_needs_judged_runs(in_test_root: Path, tmp_path: Path) -> None:
    records = json.loads((in_test_root / "yi-vl-6b" / "comment_test.reviews.json").read_text())
    for record in records:
        record.pop("rm_review", None)
    file = tmp_path / "comment_test.json"
    file.write_text(json.dumps(records))
    import_released(file, name="answers only", run_dir=tmp_path / "run")
    with pytest.raises(DataError, match="judge"):
        leaderboard([tmp_path / "run"])


def test_compare_finds_a_clear_gap_and_no_gap_with_itself(published: Path) -> None:
    strong, weak = published / "claude-3-opus", published / "yi-vl-6b"
    result = compare_runs(strong, weak, n_boot=300, n_perm=1000)
    assert (result.name_a, result.name_b, result.n_shared) == ("Claude 3 Opus", "Yi-VL-6B", 216)
    overall = result.rows[-1]
    assert overall.kind == "overall" and overall.result.diff > 0.2
    assert overall.result.ci[0] > 0 and overall.result.p_value < 0.01
    results_a = json.loads((strong / "results.json").read_text())
    results_b = json.loads((weak / "results.json").read_text())
    # Over shared samples scored in both: Yi-VL-6B has one unreviewed sample, so compare per-metric
    # means are over 215 pairs; the difference still matches the separate means closely.
    fluency = next(r for r in result.rows if r.name == "Fluency").result
    assert fluency.n == 215
    gap = results_a["metrics"]["Fluency"]["mean"] - results_b["metrics"]["Fluency"]["mean"]
    assert fluency.diff == pytest.approx(gap, abs=0.01)
    assert [r.kind for r in result.rows] == ["metric"] * 8 + ["dimension"] * 3 + ["overall"]
    same = compare_runs(strong, strong, n_boot=100, n_perm=200).rows[-1].result
    assert same.diff == 0 and same.p_value == 1.0
    data = result.to_dict()
    assert json.loads(json.dumps(data))["rows"][-1]["name"] == "Overall"


def test_compare_refuses_runs_without_shared_samples(in_test_root: Path, tmp_path: Path) -> None:
    import_released(
        in_test_root / "gpt-4-turbo" / "comment_test.reviews.json", name="a", run_dir=tmp_path / "a"
    )
    import_released(
        in_test_root / "gpt-4-turbo" / "inter-role_test.reviews.json", name="b", run_dir=tmp_path / "b"
    )
    with pytest.raises(DataError, match="share no samples"):
        compare_runs(tmp_path / "a", tmp_path / "b")


# -- runs that are not like for like: different judges, samples or splits are named everywhere -------


def _out_test_copy(released: Path, folder: Path) -> Path:
    """An out-test file built from an in-test one, ids renamed so they stay unique."""
    records = json.loads(released.read_text(encoding="utf-8"))[:26]
    for record in records:
        record["id"] += "_ood"
    path = folder / "out-test" / "gpt-4-turbo" / released.name
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(records))
    return path


def test_compare_names_a_different_judge_in_every_output(in_test_root: Path, tmp_path: Path) -> None:
    file = in_test_root / "gpt-4-turbo" / "comment_test.reviews.json"
    a, b = tmp_path / "a", tmp_path / "b"
    import_released(file, name="A", run_dir=a)
    import_released(file, name="B", run_dir=b)
    update_run_info(b, {"judge": "openai:gpt-4o", "judge_options": {"swap": True}})
    expected = f"{a} was judged by {RELEASED_JUDGE}, {b} by openai:gpt-4o"

    comparison = compare_runs(a, b, n_boot=50, n_perm=50)
    assert comparison.warnings == [expected]
    assert comparison.to_dict()["warnings"] == [expected]
    assert f"> **Not like for like:** {expected}" in to_markdown_comparison(comparison)
    assert compare_runs(a, a, n_boot=50, n_perm=50).warnings == []

    runner = CliRunner()
    result = runner.invoke(app, ["compare", str(a), str(b), "--n-boot", "50", "--n-perm", "50", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["warnings"] == [expected]  # stdout stays JSON
    assert f"Not like for like: {expected}" in result.stderr
    out = tmp_path / "ab.md"
    result = runner.invoke(
        app, ["compare", str(a), str(b), "--n-boot", "50", "--n-perm", "50", "--out", str(out)]
    )
    assert result.exit_code == 0 and f"Not like for like: {expected}" in result.stderr
    assert expected in out.read_text() and "| **Overall** |" in out.read_text()


def test_leaderboard_names_fewer_samples_and_other_splits(
    published: Path, in_test_root: Path, tmp_path: Path
) -> None:
    full = published / "gpt-4-turbo"  # 216 in-test samples
    both = tmp_path / "both"
    released = in_test_root / "gpt-4-turbo" / "comment_test.reviews.json"
    import_released([released, _out_test_copy(released, tmp_path)], name="both splits", run_dir=both)
    part = tmp_path / "part"
    import_released(released, name="comment only", run_dir=part)

    warnings = like_for_like([full, part, both])
    assert warnings == [
        f"{full} and {part} cover in-test, {both} covers in-test+out-test",
        f"{part} has 72 of {full}'s 216 samples",
        f"{both} has 72 of {full}'s 216 samples and 26 that {full} lacks",
    ]
    markdown = to_markdown(leaderboard([full, part, both]), warnings)
    assert all(f"> **Not like for like:** {w}" in markdown for w in warnings)
    assert markdown.count("\n| ") == 2 + 3  # the header, its alignment row and three rows, below the warnings

    result = CliRunner().invoke(app, ["leaderboard", str(both), str(part), "--out", str(tmp_path / "b.md")])
    assert result.exit_code == 0
    lines = [f"{both} covers in-test+out-test, {part} only in-test", f"{part} has 72 of {both}'s 98 samples"]
    assert all(f"Not like for like: {line}" in result.stderr for line in lines)
    assert all(line in (tmp_path / "b.md").read_text() for line in lines)
    assert like_for_like([full, published / "claude-3-opus"]) == []


def test_reports_over_several_runs_carry_the_warnings(
    published: Path, in_test_root: Path, tmp_path: Path
) -> None:
    full, part = published / "gpt-4-turbo", tmp_path / "part"
    import_released(in_test_root / "gpt-4-turbo" / "inter-role_test.reviews.json", name="part", run_dir=part)
    line = f"{part} has 72 of {full}'s 216 samples"
    result = CliRunner().invoke(app, ["report", str(full), str(part), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert f"Not like for like: {line}" in result.stderr
    assert f"> **Not like for like:** {line}" in (tmp_path / "report" / "report.md").read_text()
    html = (tmp_path / "report" / "report.html").read_text()
    assert f'<p class="warn"><strong>Not like for like:</strong> {escape(line)}</p>' in html
    write_reports([full, published / "claude-3-opus"], tmp_path / "alike")
    assert "Not like for like" not in (tmp_path / "alike" / "report.md").read_text()
    assert "Not like for like" not in (tmp_path / "alike" / "report.html").read_text()
