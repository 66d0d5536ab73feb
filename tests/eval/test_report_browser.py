"""The HTML report in a real browser: headless Chromium draws the chart, runs the sample browser's script.

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
from mmrole.eval.report_chart import RUN_COLORS

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
        make_run(tmp_path, "beta", offset=0.05, image_root=images),
    ]
    return write_reports(runs, tmp_path / "out")["html"]


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
    # The browser script ran: it set the first sample's thumbnail (a solid blue image) from the JSON map.
    assert len(_colour_pixels(tmp_path / "browser.png", "#283cc8", tolerance=30)) > 2000


def test_filters_from_the_url_hash_hide_other_samples(report: Path, tmp_path: Path) -> None:
    url = report.resolve().as_uri() + "#type=inter-role&q=UPSTREAM"  # search is case-insensitive
    done = _run_chromium(tmp_path, "--dump-dom", url)
    dom = done.stdout
    assert 'id="sample-count" class="note">1 of 6 samples<' in dom, done.stderr[-2000:]
    shown = re.findall(r'<article class="sample" id="sample-([^"]+)"(?![^>]*\bhidden)[^>]*>', dom)
    assert shown == ["Iron_Man_inter-role_5"]  # the one inter-role sample whose answer failed upstream
