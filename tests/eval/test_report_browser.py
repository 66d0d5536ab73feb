"""The HTML report in a real browser: headless Chromium draws the chart and runs the sample browser's
script, which loads the chosen runs' data from report_files/ beside the page, from file://.

Chromium is a Debian package (``apt-get install chromium``; ``make system-deps``). Each test
starts it once (~2 s); flags keep it off the network and out of the user's profile.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

# The fake run folders and the pixel counter are shared with the report's other tests.
from test_report import _colour_pixels, make_images, make_run

from mmrole.eval.report import write_reports
from mmrole.eval.report.chart import RUN_COLORS

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--window-size=1280,2000",
    "--virtual-time-budget=5000",
)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "headless Chromium is not installed (Debian: apt-get install chromium; `make system-deps`)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: a missing browser there is a broken setup, not a skip
        pytest.skip(message)
    return found


def _run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def report(tmp_path: Path) -> Path:
    images = make_images(tmp_path / "data")
    runs = [
        make_run(tmp_path, "alpha", image_root=images),
        make_run(tmp_path, "beta", offset=0.05, image_root=images, answer_text="Son of Odin."),
    ]
    return write_reports(runs, tmp_path / "out")["html"]


def _dom(tmp_path: Path, url: str) -> str:
    done = _run_chromium(tmp_path, "--dump-dom", url)
    assert "<article" in done.stdout or "sample-count" in done.stdout, done.stderr[-2000:]
    return done.stdout


def _cards(dom: str) -> dict[str, str]:
    return dict(re.findall(r'<article class="sample" id="sample-([^"]+)">(.*?)</article>', dom, re.DOTALL))


def _loaded(dom: str) -> list[str]:
    """The data files the page loaded (the script elements it added)."""
    return re.findall(r'<script[^>]*\bsrc="report_files/([a-z]+(?:-\d+)?)-[0-9a-f]+\.js"', dom)


def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "screenshot.png"
    done = _run_chromium(tmp_path, f"--screenshot={shot}", report.resolve().as_uri())
    assert shot.is_file(), f"no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
    with Image.open(shot) as img:
        assert img.size == (1280, 2000)
        page = img.convert("RGB")
        page.crop((0, 0, 640, 800)).save(tmp_path / "chart.png")  # the radar chart sits top left
        page.crop((0, 1000, 640, 2000)).save(tmp_path / "browser.png")  # the first sample card
    for colour in RUN_COLORS[:2]:
        # Each run's polygon is drawn: with the chart hidden, the run list's swatches give ~70 sampled pixels.
        points = _colour_pixels(tmp_path / "chart.png", colour)
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        assert len(points) > 200 and max(xs) - min(xs) > 120 and max(ys) - min(ys) > 120, colour
    # The first run opens by itself: its data and the samples came from report_files/, and the first
    # sample's thumbnail (a solid blue image) is drawn.
    assert len(_colour_pixels(tmp_path / "browser.png", "#283cc8", tolerance=30)) > 2000


def test_choosing_a_run_loads_its_file_and_shows_its_samples(report: Path, tmp_path: Path) -> None:
    url = report.resolve().as_uri()
    dom = _dom(tmp_path, url)
    assert _loaded(dom) == ["samples", "run-1"]  # only the first run's file until another is chosen
    assert len(_cards(dom)) == 6 and "<h4>alpha</h4>" in dom and "<h4>beta</h4>" not in dom

    dom = _dom(tmp_path, url + "#runs=2")
    assert _loaded(dom) == ["samples", "run-2"]
    cards = _cards(dom)
    assert len(cards) == 6 and 'id="sample-count" class="note">6 of 6 samples<' in dom
    assert "Son of Odin. (0)" in cards["Iron_Man_comment_0"] and "Genius" not in dom

    both = _cards(_dom(tmp_path, url + "#runs=1,2"))["Iron_Man_comment_0"]
    assert "Genius, billionaire. (0)" in both and "Son of Odin. (0)" in both  # side by side
    none = _dom(tmp_path, url + "#runs=")
    assert not _cards(none) and _loaded(none) == [] and "Choose one or more runs" in none


def test_cards_show_answers_reviews_scores_and_failures(report: Path, tmp_path: Path) -> None:
    cards = _cards(_dom(tmp_path, report.resolve().as_uri()))
    failed = cards["Iron_Man_inter-role_5"]
    assert "failed: HTTP 500: upstream exploded" in failed and "no answer: alpha" in failed
    assert "Thor" in failed and "inter-role" in failed
    first = cards["Iron_Man_comment_0"]
    assert "Genius, billionaire. (0)" in first and "Reference answer 0." in first
    assert "Review of Coherency for Iron_Man_comment_0." in first
    assert "error: no score pair found" in first and ">failed</td>" in first  # unparsed Fluency review
    assert f">{7 / 8:.3f}</td>" in first  # Instruction Adherence: 7 / 8
    assert 'src="data:image/jpeg;base64,' in first


def test_filters_from_the_url_hash_hide_other_samples(report: Path, tmp_path: Path) -> None:
    url = report.resolve().as_uri() + "#runs=1,2&type=inter-role&q=UPSTREAM"  # search is case-insensitive
    dom = _dom(tmp_path, url)
    assert 'id="sample-count" class="note">1 of 6 samples<' in dom
    assert list(_cards(dom)) == [
        "Iron_Man_inter-role_5"
    ]  # the one inter-role sample whose answer failed upstream


def test_long_runs_are_drawn_a_page_at_a_time(
    report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmrole.eval.report import html as report_html

    monkeypatch.setattr(report_html, "PAGE_SIZE", 4)
    page = write_reports([report.parent.parent / "alpha"], tmp_path / "paged")["html"]
    dom = _dom(tmp_path, page.resolve().as_uri())
    assert len(_cards(dom)) == 4 and 'id="sample-count" class="note">6 of 6 samples<' in dom
    assert re.search(r'<button type="button" id="show-more">Show 2 more \(2 not shown\)</button>', dom)


def test_user_text_is_escaped_when_drawn(tmp_path: Path) -> None:
    evil = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
    run = make_run(tmp_path, "evil <b>run</b>", answer_text=evil)
    reviews = (run / "reviews.jsonl").read_text().replace("Review of", evil.replace('"', '\\"'))
    (run / "reviews.jsonl").write_text(reviews)
    dom = _dom(tmp_path, write_reports([run])["html"].resolve().as_uri())
    assert len(_cards(dom)) == 6
    assert not re.search(r"<img[^>]*onerror", dom) and '<img src="x"' not in dom
    assert '&lt;script&gt;alert("pwned")&lt;/script&gt;' in dom and "<b>run</b>" not in dom
