"""The benchmarks that no other test runs, each on its smallest workload, in its own process.

Their numbers mean nothing at this size; what is checked is that each still runs against the code
as it is now, makes its own correctness checks, and writes its RESULTS.md section (a benchmark
that rots is found when someone needs it, often with a GPU lent for a few minutes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_benchmark(name: str, *args: str | Path, cwd: Path) -> str:
    command = [sys.executable, str(BENCHMARKS / f"{name}.py"), *map(str, args)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def section(results: Path, marker: str) -> str:
    text = results.read_text()
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    assert start in text and end in text, text[:500]
    return text.split(start, 1)[1].split(end, 1)[0]


def test_train_data_memory_streams_a_small_file_into_arrow(tmp_path: Path):
    results = tmp_path / "RESULTS.md"
    out = run_benchmark(
        "train_data_memory", "--sizes", 300, "--tmp", tmp_path, "--results", results, cwd=tmp_path
    )
    rows = {row["case"]: row for row in map(json.loads, filter(None, out.splitlines())) if "case" in row}
    assert rows["prepare"]["samples"] == 300 and 0 < rows["prepare"]["rows"] <= 300
    assert rows["rerun"]["rows"] == rows["prepare"]["rows"] and rows["prepare"]["arrow_bytes"] > 0
    assert "| 300 |" in section(results, "train-data-memory").replace(",", "")


def test_image_request_cpu_answers_every_call(tmp_path: Path):
    # Without --before-src it prints its runs and writes no section (the section compares two trees).
    out = run_benchmark("image_request_cpu", "--samples", 4, "--repeats", 1, cwd=tmp_path)
    runs = [line for line in out.splitlines() if " run 1: " in line]
    assert [line.split()[1] for line in runs] == ["95kb", "tiny"], out[-2000:]
    assert all(line.endswith("32/32 ok") for line in runs), runs


def test_engine_memory_runs_its_small_cases(tmp_path: Path):
    results = tmp_path / "RESULTS.md"
    cases = "answer-text,engine-2352,judge-2352"
    run_benchmark("engine_memory", "--cases", cases, "--results", results, cwd=tmp_path)
    table = section(results, "engine-memory")
    assert "2000 ok" in table and table.count("2352 ok") == 2 and "first call after" in table


def test_hf_decode_times_a_tiny_model(tmp_path: Path):
    out_json = tmp_path / "decode.json"
    run_benchmark("hf_decode", "--tiny", "--new-tokens", 4, "--repeats", 1, "--json", out_json, cwd=tmp_path)
    (row,) = json.loads(out_json.read_text())["rows"]
    assert row["batch"] == 1 and row["step_ms"] > 0 and row["tokens_per_s"] > 0


def test_judge_prefix_matches_plain_generate_on_the_demo_model(tmp_path: Path):
    results = tmp_path / "RESULTS.md"
    run_benchmark("judge_prefix", "--new-tokens", 2, "--repeats", 1, "--results", results, cwd=tmp_path)
    # The benchmark raises when a path's ids differ from plain generate's; the section says it checked.
    assert "equal plain `generate`'s (checked)" in section(results, "judge-prefix")


def test_report_size_measures_the_published_runs(tmp_path: Path, in_test_root: Path):
    results = tmp_path / "RESULTS.md"
    run_benchmark("report_size", "--published", in_test_root, "--results", results, cwd=tmp_path)
    rows = [
        line for line in section(results, "report-size").splitlines() if line.startswith("| this checkout")
    ]
    assert [row.split("|")[2].strip() for row in rows] == ["1", "6", "11"]
