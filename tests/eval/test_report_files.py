"""The sample browser's data files beside report.html: what they hold, how they are named and replaced.

The page loads them in a browser (test_report_browser.py); here they are read as the JSON they assign.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

# The fake run folders are shared with the report's other tests.
from test_report import fake_results, make_images, make_run

from mmrole.errors import DataError
from mmrole.eval.report import write_reports
from mmrole.schema import METRICS


def page_config(html: Path) -> dict[str, Any]:
    text = html.read_text()
    return json.loads(re.search(r'id="report-config">(.*?)</script>', text, re.DOTALL).group(1))


def read_data(out_dir: Path, file: str, key: str) -> dict[str, Any]:
    """A data file's object; the file must assign it to ``window.MMROLE_REPORT[key]``."""
    text = (out_dir / file).read_text(encoding="utf-8")
    prefix = f'(window.MMROLE_REPORT = window.MMROLE_REPORT || {{}})["{key}"] = '
    assert text.startswith(prefix) and text.endswith(";\n")
    return json.loads(text[len(prefix) : -2])


def rows(data: dict[str, Any], name: str, columns: list[str]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in data[name]]


def browser_data(html: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The samples (as dicts) and each run's data, as the page's script reads them."""
    config = page_config(html)
    samples = read_data(html.parent, config["samples"]["file"], config["samples"]["key"])
    runs = [read_data(html.parent, run["file"], run["key"]) for run in config["runs"]]
    return rows(samples, "rows", samples["columns"]), runs


@pytest.fixture
def two_runs(tmp_path: Path) -> list[Path]:
    images = make_images(tmp_path / "data")
    return [
        make_run(tmp_path, "alpha", image_root=images),
        make_run(tmp_path, "beta", offset=0.05, image_root=images),
    ]


def test_each_image_is_one_small_thumbnail_in_the_samples_file(two_runs: list[Path], tmp_path: Path) -> None:
    samples, _ = browser_data(write_reports(two_runs, tmp_path / "out")["html"])
    assert [s["id"] for s in samples] == [f"Iron_Man_{t}_{i}" for i, t in enumerate(
        ["comment", "comment", "human-role", "human-role", "inter-role", "inter-role"])]  # fmt: skip
    assert [s["thumb"] for s in samples] == [0, 1, 0, 1, 0, 1]  # six samples share two image files
    urls = [s["thumb_src"] for s in samples if s["thumb_src"]]
    assert len(urls) == 2 and samples[0]["thumb_src"] and samples[1]["thumb_src"]
    for url in urls:
        with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as thumb:
            assert thumb.format == "JPEG" and max(thumb.size) == 256
    assert samples[5]["role"] == "Thor" and samples[5]["reference"] == "Reference answer 5."


def test_each_run_file_holds_its_answers_reviews_and_scores(two_runs: list[Path], tmp_path: Path) -> None:
    paths = write_reports(two_runs, tmp_path / "out")
    _, (alpha, beta) = browser_data(paths["html"])
    assert alpha["sample_ids"] == beta["sample_ids"] and len(alpha["sample_ids"]) == 6
    answers = {a["id"]: a for a in rows(alpha, "answers", alpha["columns"]["answers"])}
    assert answers["Iron_Man_comment_0"] == {
        "id": "Iron_Man_comment_0",
        "answer": "Genius, billionaire. (0)",
        "failure": None,
    }
    assert answers["Iron_Man_inter-role_5"]["failure"] == "HTTP 500: upstream exploded"
    reviews = rows(alpha, "reviews", alpha["columns"]["reviews"])
    assert (
        len(reviews) == 5 * 8
        and reviews[0]["text"] == "Review of Instruction Adherence for Iron_Man_comment_0."
    )
    assert reviews[0]["a"] == 7.0 and reviews[0]["b"] == 8.0 and reviews[0]["ratio"] == pytest.approx(7 / 8)
    assert reviews[1]["a"] is None and reviews[1]["error"] == "no score pair found"
    # Per-metric scores as the aggregation computes them; the unparsed Fluency review is "failed",
    # the unanswered sample was never judged.
    assert alpha["ratios"]["Iron_Man_comment_0"][:2] == [pytest.approx(7 / 8), "failed"]
    assert len(alpha["ratios"]["Iron_Man_comment_0"]) == len(METRICS)
    assert "Iron_Man_inter-role_5" not in alpha["ratios"]
    # Nothing of a run is in another run's file, and names follow the content (same runs: same names).
    assert page_config(paths["html"])["runs"][1]["file"].startswith("report_files/run-2-")
    again = write_reports(two_runs, tmp_path / "again")["browser"]
    assert sorted(p.name for p in again.iterdir()) == sorted(p.name for p in paths["browser"].iterdir())


def test_an_empty_answer_counts_as_no_answer(tmp_path: Path) -> None:
    run = make_run(tmp_path, "r")
    lines = (run / "answers.jsonl").read_text().splitlines()
    lines[3] = json.dumps({"id": "Iron_Man_human-role_3", "answer": "  ", "error": None})
    (run / "answers.jsonl").write_text("\n".join(lines) + "\n")
    _, (data,) = browser_data(write_reports([run])["html"])
    answers = {a["id"]: a for a in rows(data, "answers", data["columns"]["answers"])}
    assert answers["Iron_Man_human-role_3"]["answer"] is None
    assert answers["Iron_Man_human-role_3"]["failure"] == "empty answer"


def test_a_sample_without_an_image_says_why(tmp_path: Path) -> None:
    samples, _ = browser_data(write_reports([make_run(tmp_path, "noimg")])["html"])
    assert samples[0]["thumb"].startswith("image not embedded: run.json gives no image root")
    assert not any(s["thumb_src"] for s in samples)
    results = fake_results(0.0)
    results["by_split"]["out-of-distribution"]["n_samples"] = 0  # the aggregation lists absent splits too
    run = make_run(tmp_path, "r", image_root=tmp_path / "no-images", results=results)
    paths = write_reports([run])
    samples, _ = browser_data(paths["html"])
    assert samples[0]["thumb"].startswith("image file not found: ")
    markdown = paths["markdown"].read_text()
    assert "| in-distribution | r |" in markdown and "| out-of-distribution | r |" not in markdown
    assert ",split,out-of-distribution,overall," in paths["csv"].read_text()  # the CSV keeps every number


def test_a_rewritten_report_keeps_only_its_own_files(two_runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = {p.name for p in write_reports(two_runs, out)["browser"].iterdir()}
    (out / "report_files" / "notes.txt").write_text("mine")  # not the report's: left alone
    answers = two_runs[1] / "answers.jsonl"
    answers.write_text(answers.read_text().replace("Genius", "Playboy"))
    paths = write_reports(two_runs, out)
    second = {p.name for p in paths["browser"].iterdir()}
    changed = {name for name in first if name.startswith("run-2-")}
    assert second - {"notes.txt"} == (first - changed) | {n for n in second if n.startswith("run-2-")}
    assert changed.isdisjoint(second) and "notes.txt" in second
    config = page_config(paths["html"])
    assert {run["file"].split("/")[1] for run in config["runs"]} <= second


def test_a_malformed_line_leaves_the_previous_report_whole(two_runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    paths = write_reports(two_runs, out)
    before = {p.name: p.read_bytes() for p in paths["browser"].iterdir()}
    html = paths["html"].read_text()
    with (two_runs[1] / "reviews.jsonl").open("a") as handle:
        handle.write('{"sample_id": "x", "metric": "Fluency", "score": "eight"}\n')
    with pytest.raises(DataError, match="record x/Fluency"):
        write_reports(two_runs, out)
    assert paths["html"].read_text() == html
    assert {p.name: p.read_bytes() for p in paths["browser"].iterdir()} == before  # no partial file either
