"""Reports of evaluated runs: Markdown and CSV numbers, the HTML page's escaping and size, the chart.

The sample browser's data files are tested in test_report_files.py, the page in a browser in
test_report_browser.py."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mmrole.errors import ConfigError, DataError
from mmrole.eval.report import render_radar, write_reports
from mmrole.eval.report.browser import sample_ratio
from mmrole.eval.report.chart import RUN_COLORS
from mmrole.eval.report.markdown import markdown_table
from mmrole.eval.report.tables import format_interval, format_number
from mmrole.schema import DIALOGUE_TYPES, DIMENSIONS, METRICS, SPLITS, Review

# ---------------------------------------------------------------- fake runs


def _stat(mean: float, n: int = 6) -> dict[str, Any]:
    return {"mean": mean, "ci": [mean - 0.031, mean + 0.027], "n": n}


def fake_results(offset: float, *, sections: bool = True) -> dict[str, Any]:
    """A plausible results.json: distinct numbers per metric, dimension, split and type."""

    def group(shift: float) -> dict[str, Any]:
        metrics = {m: _stat(round(0.71 + 0.023 * i + offset + shift, 6)) for i, m in enumerate(METRICS)}
        dims = {d: _stat(round(0.75 + 0.04 * i + offset + shift, 6)) for i, d in enumerate(DIMENSIONS)}
        return {
            "overall": _stat(round(0.8123 + offset + shift, 6)),
            "metrics": metrics,
            "dimensions": dims,
            "n_samples": 3,
            "n_failed": 1,
            "n_missing": 0,
        }

    results = group(0.0) | {"n_samples": 6, "n_failed": 1, "n_missing": 1}
    if sections:
        results["by_split"] = {s: group(0.01 * (i + 1)) for i, s in enumerate(SPLITS)}
        results["by_type"] = {t: group(-0.01 * (i + 1)) for i, t in enumerate(DIALOGUE_TYPES)}
    return results


def make_images(root: Path) -> Path:
    """Two 800x600 images (blue, green) under ``root/images``."""
    images = root / "images" / "The_Avengers"
    images.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (800, 600), (40, 60, 200)).save(images / "01.jpg")
    Image.new("RGB", (800, 600), (40, 200, 60)).save(images / "02.jpg")
    return root / "images"


def make_run(
    root: Path,
    name: str,
    *,
    offset: float = 0.0,
    image_root: Path | None = None,
    results: dict[str, Any] | None = None,
    answer_text: str = "Genius, billionaire.",
) -> Path:
    """A run folder with six samples (two per type), answers (one failed) and eight reviews per answer."""
    run = root / name
    run.mkdir(parents=True)
    run_json = {"name": name, "agent": f"openai:agent-{name}", "judge": {"spec": "openai:judge"}}
    if image_root is not None:
        run_json["image_root"] = str(image_root)
    (run / "run.json").write_text(json.dumps(run_json))
    samples, answers, reviews = [], [], []
    for i in range(6):
        sample_id = f"Iron_Man_{DIALOGUE_TYPES[i // 2]}_{i}"
        samples.append(
            {
                "id": sample_id,
                "image": f"The_Avengers/0{1 + i % 2}.jpg",
                "system": "You are a role-playing assistant.",
                "instruction": "Please step into the shoes of Iron Man. " * 20 + f"What do you see? ({i})",
                "reference": f"Reference answer {i}.",
                "role": "Iron Man" if i < 4 else "Thor",
                "script": "The Avengers",
                "other_role": "a curious human",
                "type": DIALOGUE_TYPES[i // 2],
                "split": SPLITS[i % 2],
            }
        )
        failed = i == 5
        answers.append(
            {
                "id": sample_id,
                "answer": None if failed else f"{answer_text} ({i})",
                "error": "HTTP 500: upstream exploded" if failed else None,
                "meta": {},
            }
        )
        for j, metric in enumerate(METRICS):
            if failed:
                continue
            score = None if (i, j) == (0, 1) else [7.0 + (i + j) % 3, 8.0]
            reviews.append(
                {
                    "sample_id": sample_id,
                    "metric": metric,
                    "text": f"Review of {metric} for {sample_id}.",
                    "score": score,
                    "error": None if score else "no score pair found",
                }
            )
    for file, records in (("samples.jsonl", samples), ("answers.jsonl", answers), ("reviews.jsonl", reviews)):
        (run / file).write_text("".join(json.dumps(r) + "\n" for r in records))
    (run / "results.json").write_text(json.dumps(results if results is not None else fake_results(offset)))
    return run


@pytest.fixture
def two_runs(tmp_path: Path) -> list[Path]:
    images = make_images(tmp_path / "data")
    return [
        make_run(tmp_path, "alpha", image_root=images),
        make_run(tmp_path, "beta", offset=0.05, image_root=images),
    ]


# ---------------------------------------------------------------- Markdown and CSV


def test_single_run_report_goes_into_the_run_folder(tmp_path: Path) -> None:
    run = make_run(tmp_path, "solo")
    paths = write_reports([run])
    assert {p.name for p in paths.values()} == {
        "report.md",
        "report.csv",
        "report.html",
        "radar.png",
        "report_files",
    }
    assert all(p.parent == run and p.stat().st_size > 0 for p in paths.values() if p.is_file())
    assert sorted(p.name.split("-")[0] for p in paths["browser"].iterdir()) == ["run", "samples"]


def test_markdown_shows_the_numbers_of_results_json(two_runs: list[Path], tmp_path: Path) -> None:
    markdown = write_reports(two_runs, tmp_path / "out")["markdown"].read_text()
    results = json.loads((two_runs[1] / "results.json").read_text())
    row = next(line for line in markdown.splitlines() if line.startswith("| beta |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:3] == ["beta", "openai:agent-beta", "openai:judge"]
    lo, hi = results["overall"]["ci"]
    assert cells[3] == f"{results['overall']['mean']:.3f} ± {(hi - lo) / 2:.3f}"
    assert cells[4:7] == [f"{results['dimensions'][d]['mean']:.3f}" for d in DIMENSIONS]
    assert cells[7:15] == [f"{results['metrics'][m]['mean']:.3f}" for m in METRICS]
    assert cells[15:] == ["6", "1", "1"]  # samples, failed, missing: always shown
    split_row = next(
        line for line in markdown.splitlines() if line.startswith("| out-of-distribution | beta |")
    )
    ood = results["by_split"]["out-of-distribution"]
    assert f"{ood['metrics']['Tone Consistency']['mean']:.3f}" in split_row
    assert "| inter-role | alpha |" in markdown
    assert "![The eight metrics, one polygon per run](radar.png)" in markdown


def test_one_table_writer_escapes_every_cell_and_aligns_the_numbers() -> None:
    table = markdown_table(
        ["run", "note", "score"], [["a|b", "line one\nline two", "0.912"], ["c\\|d", "", "—"]], numeric_from=2
    )
    lines = table.splitlines()
    assert lines[:2] == ["| run | note | score |", "| --- | --- | ---: |"]
    # A pipe is escaped (a backslash before it too, so it cannot unescape it); a newline stays in its row.
    assert lines[2:] == ["| a\\|b | line one line two | 0.912 |", "| c\\\\\\|d |  | — |"]
    assert markdown_table(["a", "b"], []).splitlines()[1] == "| --- | --- |"  # no numeric_from: all left


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (0.91249, 3, "0.912"),
        (0.91249, 4, "0.9125"),
        (1.0, 3, "1.000"),
        (None, 3, "—"),
        (float("nan"), 4, "—"),
    ],
)
def test_one_number_formatter(value: float | None, digits: int, text: str) -> None:
    assert format_number(value, digits) == text
    assert format_interval(None) == format_interval([]) == "—"
    assert format_interval((0.5, 0.75), 4) == "[0.5000, 0.7500]"


def test_csv_holds_every_number_unrounded(two_runs: list[Path], tmp_path: Path) -> None:
    text = write_reports(two_runs, tmp_path / "out")["csv"].read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    index = {(r["run"], r["section"], r["group"], r["kind"], r["name"]): r for r in rows}
    for run in two_runs:
        results = json.loads((run / "results.json").read_text())
        groups = [("all", "", results)]
        groups += [("split", s, results["by_split"][s]) for s in SPLITS]
        groups += [("type", t, results["by_type"][t]) for t in DIALOGUE_TYPES]
        for section, group, body in groups:
            for kind, name, stat in (
                [("overall", "overall", body["overall"])]
                + [("metric", m, body["metrics"][m]) for m in METRICS]
                + [("dimension", d, body["dimensions"][d]) for d in DIMENSIONS]
            ):
                row = index[(run.name, section, group, kind, name)]
                assert float(row["mean"]) == stat["mean"]
                assert [float(row["ci_lo"]), float(row["ci_hi"])] == stat["ci"]
                assert row["agent"] == f"openai:agent-{run.name}" and row["judge"] == "openai:judge"
            assert int(index[(run.name, section, group, "count", "n_failed")]["n"]) == body["n_failed"]
    assert len(rows) == 2 * 6 * (1 + 3 + 8 + 3)  # runs x groups x (overall, dims, metrics, counts)


def test_missing_optional_sections_are_tolerated(tmp_path: Path) -> None:
    minimal = {"overall": {"mean": 0.9}, "metrics": {"Fluency": 0.95}}  # no CI, no dims, no sections
    run = make_run(tmp_path, "minimal", results=minimal)
    paths = write_reports([run])
    markdown = paths["markdown"].read_text()
    row = next(line for line in markdown.splitlines() if line.startswith("| minimal |"))
    assert "| 0.900 |" in row and "| 0.950 |" in row and "—" in row
    assert "No by split results." in markdown
    rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text())))
    assert [(r["kind"], r["name"], r["mean"], r["ci_lo"]) for r in rows] == [
        ("overall", "overall", "0.9", ""),
        ("metric", "Fluency", "0.95", ""),
    ]


def test_runs_with_the_same_name_are_told_apart(tmp_path: Path) -> None:
    first, second = make_run(tmp_path / "a", "same"), make_run(tmp_path / "b", "same")
    (second / "run.json").write_text(json.dumps({"name": "same"}))
    csv_text = write_reports([first, second], tmp_path / "out")["csv"].read_text()
    names = {r["run"] for r in csv.DictReader(io.StringIO(csv_text))}
    assert len(names) == 2


def test_bad_inputs_raise_clear_errors(tmp_path: Path) -> None:
    run = make_run(tmp_path, "r")
    with pytest.raises(ConfigError, match="output folder"):
        write_reports([run, run])
    with pytest.raises(ConfigError):
        write_reports([])
    with pytest.raises(DataError, match="run folder not found"):
        write_reports([tmp_path / "nope"], tmp_path / "out")
    (run / "reviews.jsonl").write_text('{"sample_id": "x", "metric": "Fluency", "score": "eight"}\n')
    with pytest.raises(DataError) as err:
        write_reports([run])
    assert (
        "reviews.jsonl" in str(err.value)
        and "record x/Fluency" in str(err.value)
        and "score" in str(err.value)
    )
    (run / "results.json").unlink()
    with pytest.raises(DataError, match="results.json not found"):
        write_reports([run])


# ---------------------------------------------------------------- HTML


def test_html_escapes_user_text(tmp_path: Path) -> None:
    evil = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
    run = make_run(tmp_path, "evil <b>run</b>", answer_text=evil)
    html = write_reports([run])["html"].read_text()
    assert "<b>run</b>" not in html and "evil &lt;b&gt;run&lt;/b&gt;" in html
    # Only the report's own two script elements (its JSON settings and the browser script); the run's
    # name reaches the settings with no "<" at all, so it cannot end that element.
    assert len(re.findall(r"<script\b", html)) == 2
    config = re.search(r'<script type="application/json" id="report-config">(.*?)</script>', html, re.DOTALL)
    assert "<" not in config.group(1) and json.loads(config.group(1))["runs"][0]["name"] == "evil <b>run</b>"


def test_html_is_small_and_self_contained(two_runs: list[Path], tmp_path: Path) -> None:
    paths = write_reports(two_runs, tmp_path / "out")
    html = paths["html"].read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert not re.search(
        r"url\(\s*['\"]?(https?:)?//|@import|<link\b|<script[^>]*\bsrc=", html, re.IGNORECASE
    )
    assert "<svg" in html  # the chart is inline
    # No sample, answer or review is in the page: they wait in report_files/ until a run is opened.
    assert (
        "Reference answer 0." not in html and "Genius, billionaire." not in html and "Review of" not in html
    )
    for data_file in paths["browser"].iterdir():
        assert not re.search(r"https?://", data_file.read_text())


def test_sample_ratio_follows_the_review_order() -> None:
    ab = Review(sample_id="s", metric="Fluency", score=(6, 8), order="AB")
    ba = Review(sample_id="s", metric="Fluency", score=(8, 6), order="BA")  # the MRPA was Model B
    assert sample_ratio([ab]) == pytest.approx(0.75)
    assert sample_ratio([ba]) == pytest.approx(0.75)
    assert sample_ratio([ab, Review(sample_id="s", metric="Fluency", score=None, order="BA")]) is None


# ---------------------------------------------------------------- chart


def _colour_pixels(png: Path, colour: str, tolerance: int = 40) -> list[tuple[int, int]]:
    target = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    with Image.open(png) as img:
        rgb = img.convert("RGB")
        width, height = rgb.size
        data = rgb.load()
        return [
            (x, y)
            for y in range(0, height, 2)
            for x in range(0, width, 2)
            if sum(abs(a - b) for a, b in zip(data[x, y], target, strict=True)) <= tolerance
        ]


def test_render_radar_draws_one_polygon_per_run(tmp_path: Path) -> None:
    path = render_radar(
        {"a": fake_results(0.0), "b": fake_results(0.1), "c": {"metrics": {}}}, tmp_path / "radar.png"
    )
    for colour in RUN_COLORS[:2]:
        points = _colour_pixels(path, colour)
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        assert len(points) > 150 and max(xs) - min(xs) > 150 and max(ys) - min(ys) > 150
    svg = render_radar({"a": fake_results(0.0)}, tmp_path / "radar.svg").read_text()
    assert "<svg" in svg


def test_a_demo_judged_run_carries_the_demonstration_note(tmp_path: Path) -> None:
    """A 135M judge is a demonstration: the report says so, and only for runs it judged."""
    real = make_run(tmp_path, "real")
    demo = make_run(tmp_path, "demo-run")
    info = json.loads((demo / "run.json").read_text())
    (demo / "run.json").write_text(json.dumps({**info, "judge": "demo"}))

    paths = write_reports([real, demo], tmp_path / "both")
    for kind in ("markdown", "html"):
        text = paths[kind].read_text()
        assert "demo-run: The judge is the 135M-parameter demo model" in text
        assert "real: The judge" not in text
    alone = write_reports([real], tmp_path / "real-only")
    assert "135M" not in alone["markdown"].read_text() and "135M" not in alone["html"].read_text()


def test_non_finite_results_are_a_clear_error_and_huge_means_still_render(tmp_path: Path) -> None:
    run = make_run(tmp_path, "r")
    results = fake_results(0.0)
    # What an older mmrole wrote after importing an [Infinity, 1] score: "Infinity" is not JSON.
    results["metrics"]["Fluency"]["mean"] = float("inf")
    (run / "results.json").write_text(json.dumps(results))
    with pytest.raises(DataError) as err:
        write_reports([run])
    assert "results.json" in str(err.value) and "Infinity" in str(err.value)
    # Finite but absurd (an old run that averaged (7, 1e-7)), or a literal that overflows: no OverflowError.
    results["metrics"]["Fluency"]["mean"] = 1e308
    results["metrics"]["Coherency"]["mean"] = 5.8e6
    (run / "results.json").write_text(json.dumps(results).replace("1e+308", "1e400"))
    paths = write_reports([run])
    assert paths["html"].exists() and paths["radar"].exists()
    assert "5800000.000" in paths["markdown"].read_text()
