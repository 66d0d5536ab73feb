"""The engine throughput benchmark (benchmarks/engine_throughput.py) on a tiny workload, so it cannot rot.

Its quick mode's functions run every client row against the local test server (its own process,
10 ms latency) on a few dozen calls: each row must answer all its calls, and its share of the
server's capacity must be a ratio no client can exceed (up to timing noise).
"""

from __future__ import annotations

import importlib
import io
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
LATENCY = 0.01
SIZES = (4, 8, 32, 32)  # one at a time, VLMEvalKit's 4 threads, at 8 and at 16 in flight
CONCURRENCIES = (8, 16)


@pytest.fixture
def bench(benchmark_module):
    return benchmark_module("engine_throughput")


def check_rows(rows, specs):
    assert [(r["client"], r["concurrency"], r["calls"]) for r in rows] == [
        (s.client, s.concurrency, s.calls) for s in specs
    ]
    for row in rows:
        assert row["ok"] == row["calls"], row
        assert 0 < row["of_capacity"] <= 1.2, row
        assert row["capacity"] == row["slots"] / LATENCY
        assert 0 < row["cpu_seconds"] and row["server_cpu_seconds"] >= 0


def test_every_client_row_answers_all_its_calls_within_the_servers_capacity(bench, tmp_path):
    specs = bench.plan(SIZES, CONCURRENCIES)
    assert {s.client for s in specs} == {"sequential", "vlmevalkit", "plain-async", "ceiling", "mmrole"}
    rows = bench.run_rows(specs, "tiny", tmp_path, LATENCY, fresh_process=False, repeats=2)
    check_rows(rows, specs)
    for row in rows:  # the goal rows and the ceiling are measured twice, the others once
        assert len(row["runs"]) == (2 if row["client"] in ("ceiling", "mmrole") else 1)
        assert row["of_capacity"] in row["runs"]
    section = bench.markdown(rows, (0.5, 0.7))
    for spec in specs:
        assert bench.label(spec) in section
    assert "its default" in section and "--api-nproc 4" in section
    assert section.count("\n| ") == 2 + len(specs)  # header, rule, one line per row
    assert "of this rig's ceiling" in section


def test_the_mmrole_row_runs_in_a_fresh_process_with_the_real_size_image(bench, tmp_path):
    specs = [s for s in bench.plan(SIZES, CONCURRENCIES) if s.client == "mmrole" and s.concurrency == 8]
    rows = bench.run_rows(specs, "real", tmp_path, LATENCY, fresh_process=True, repeats=1)
    check_rows(rows, specs)
    assert 90_000 <= rows[0]["image_bytes"] <= 100_000
    section = bench.markdown(rows, (0.5, 0.7))
    assert "95 KB image: calls/s" in section


def test_the_real_size_image_is_a_deterministic_95_kb_jpeg_and_each_sample_gets_its_own(bench, tmp_path):
    from PIL import Image

    workload = importlib.import_module("engine_workload")
    data = workload.real_size_jpeg()
    assert data == workload.real_size_jpeg()
    assert abs(len(data) - 95_000) <= 95_000 * 0.05
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (1532, 812)
    workload.write_images(tmp_path, 2, "real")
    first, second = (tmp_path / "0.jpg").read_bytes(), (tmp_path / "1.jpg").read_bytes()
    assert first != second
    for raw in (first, second):
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            assert image.tobytes() == Image.open(io.BytesIO(data)).tobytes()


def test_rows_run_with_other_sources_are_named_and_kept_out_of_the_goals(bench):
    specs = bench.plan(SIZES, (64, 256), before="/elsewhere/src", before_label="main at abc1234")
    before = [s for s in specs if s.src]
    assert [(s.client, s.concurrency, s.src_label) for s in before] == [
        ("mmrole", 64, "main at abc1234"),
        ("mmrole", 256, "main at abc1234"),
    ]
    rows = []
    for spec, share in ((specs[-2], 0.97), (before[-1], 0.5)):  # this code's row at 256, the old one's
        rows.append(
            {
                **bench.asdict(spec),
                "kind": "real",
                "image_bytes": 95_000,
                "latency": LATENCY,
                "calls_per_s": share * spec.slots / LATENCY,
                "of_capacity": share,
                "capacity": spec.slots / LATENCY,
                "runs": [share],
                "ok": spec.calls,
                "seconds": 1.0,
                "cpu_seconds": 0.01,
                "server_cpu_seconds": 0.01,
                "load_1min": 0.1,
            }
        )
    section = bench.markdown(rows, (0.1, 0.1))
    assert "SQLite store (**before**: main at abc1234) |" in section
    assert "  - before (main at abc1234), 256 in flight, 95 KB image: runs 0.500." in section
    assert "mmrole at 256 in flight: 0.970 (95 KB image) of capacity; goal >= 0.9: **met**" in section
