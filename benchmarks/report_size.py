"""Report size: how big is `mmrole report` over MMRole's 11 published MRPAs, and how much memory does it take?

A benchmark, not a test. The 11 released In-Test runs (216 samples each, with 1,728 judge reviews)
are imported with `mmrole import --published`, then `mmrole report` is run over the first 1, 6 and
11 of them, each in a fresh process, recording

* the page (report.html) and its data folder (report_files/, loaded by the page per run on demand);
* the process's peak resident memory, and its growth per added run;
* wall time.

With --before-src (another checkout's src/, e.g. the main branch before a change) the same
measurements are made with that code too, so before and after sit side by side from one run.

    .venv/bin/python benchmarks/report_size.py --results benchmarks/RESULTS.md \\
        [--published ../shared/reference/mmrole-eval/in-test] [--before-src /path/to/old/src]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import results_file  # benchmarks/results_file.py (scripts run from benchmarks/)

MARK_START, MARK_END = "<!-- report-size:start -->", "<!-- report-size:end -->"
REPO = Path(__file__).resolve().parent.parent
RUN_COUNTS = (1, 6, 11)

#: Runs in a fresh process so each peak is its own: the report, then the peak RSS in KiB.
_CHILD = """
import json, resource, sys, time
from mmrole.eval.report import write_reports
started = time.perf_counter()
write_reports(sys.argv[2:], sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - started,
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def import_published(published: Path, out: Path) -> list[Path]:
    command = [sys.executable, "-m", "mmrole.cli", "import", "--published", str(published), "--out", str(out)]
    subprocess.run(command, check=True, env=_env(REPO / "src"), capture_output=True, text=True)
    runs = sorted(p for p in out.iterdir() if (p / "results.json").exists())
    if len(runs) < max(RUN_COUNTS):
        raise SystemExit(f"expected {max(RUN_COUNTS)} published runs under {published}, found {len(runs)}")
    return runs


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def measure(src: Path, runs: list[Path], out: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(out), *map(str, runs)],
        check=True,
        env=_env(src),
        capture_output=True,
        text=True,
    )
    child = json.loads(done.stdout.strip().splitlines()[-1])
    files = out / "report_files"
    return {
        "runs": len(runs),
        "html_bytes": _size(out / "report.html"),
        "data_bytes": _size(files),
        "data_files": sum(1 for p in files.iterdir() if p.suffix == ".js") if files.is_dir() else 0,
        "largest_data_file": max((_size(p) for p in files.iterdir()), default=0) if files.is_dir() else 0,
        "peak_mib": child["peak_kib"] / 1024,
        "seconds": child["seconds"],
    }


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.0f} KB"


def results_section(rows: dict[str, list[dict[str, Any]]], when: str) -> str:
    lines = [
        MARK_START,
        "## Report size",
        "",
        f"`benchmarks/report_size.py`, measured {when}: `mmrole report` over the first 1, 6 and 11 of "
        "MMRole's 11 published In-Test MRPAs (216 samples, 1,728 reviews each; no images), each report "
        "in a fresh process. *Page*: report.html; *data*: report_files/, which the page loads one run at a "
        "time when that run is opened.",
        "",
        "| code | runs | page | data (files, largest) | peak RSS | RSS per added run | s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, measured in rows.items():
        first = measured[0]
        for row in measured:
            growth = (
                f"{(row['peak_mib'] - first['peak_mib']) / (row['runs'] - first['runs']):.1f} MiB"
                if row["runs"] > first["runs"]
                else "—"
            )
            data = (
                f"{_mb(row['data_bytes'])} ({row['data_files']}, {_mb(row['largest_data_file'])})"
                if row["data_files"]
                else "— (all in the page)"
            )
            lines.append(
                f"| {label} | {row['runs']} | {_mb(row['html_bytes'])} | {data} | {row['peak_mib']:.0f} MiB | "
                f"{growth} | {row['seconds']:.2f} |"
            )
    lines.append(MARK_END)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--published",
        type=Path,
        default=REPO.parent / "shared" / "reference" / "mmrole-eval" / "in-test",
        help="MMRole's released In-Test folder (one folder per model).",
    )
    parser.add_argument("--before-src", type=Path, help="Also measure this src/ folder (the code before).")
    parser.add_argument("--before-label", default="before", help="How the table names --before-src.")
    parser.add_argument("--results", type=Path, help="Write the report-size section of this RESULTS.md.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="report-size-") as tmp:
        runs = import_published(args.published, Path(tmp) / "published")
        trees = {"this checkout": REPO / "src"}
        if args.before_src:
            trees = {args.before_label: args.before_src.resolve(), **trees}
        rows = {
            label: [measure(src, runs[:n], Path(tmp) / f"{index}-{n}") for n in RUN_COUNTS]
            for index, (label, src) in enumerate(trees.items())
        }
    print(json.dumps(rows, indent=2))
    when = f"{time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    if args.results:
        results_file.write_section(args.results, results_section(rows, when), MARK_START, MARK_END)


if __name__ == "__main__":
    main()
