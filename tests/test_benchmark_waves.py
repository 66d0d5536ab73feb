"""The engine waves benchmark (benchmarks/engine_waves.py): its reading of the server's log, by hand,
and one small run end to end through the logging server, so it cannot rot."""

from __future__ import annotations

import pytest


@pytest.fixture
def waves_bench(benchmark_module):
    return benchmark_module("engine_waves")


def test_wave_spreads_and_the_steady_share_from_a_hand_built_log(waves_bench):
    # 2 slots, 0.2 s latency (capacity 10 calls/s), 4 waves; slot 1 starts 0.05 s after slot 0 and
    # every cycle takes 0.25 s. A warm-up call before them is left out.
    slot0 = [(0.25 * k, 0.25 * k + 0.2) for k in range(4)]
    slot1 = [(0.05 + 0.25 * k, 0.05 + 0.25 * k + 0.2) for k in range(4)]
    log = [(-1.0, -0.8), *slot0, *slot1]
    got = waves_bench.waves(log, slots=2, latency=0.2)
    assert got["first_wave_ms"] == pytest.approx(50.0)
    assert got["last_wave_ms"] == pytest.approx(50.0)
    # Between the first wave's last answer (0.25) and the third's (0.75): 4 answers in 0.5 s = 8/s.
    assert got["steady"] == pytest.approx(0.8)
    assert got["server_span_s"] == pytest.approx(1.0)


def test_a_small_run_logs_every_call_of_both_clients(waves_bench, tmp_path, monkeypatch):
    monkeypatch.setattr(waves_bench, "LATENCY", 0.01)
    rows = waves_bench.run(((4, 32),), tmp_path, kind="tiny")
    assert [row["client"] for row in rows] == ["ceiling", "mmrole"]
    for row in rows:  # against a 10 ms server: a share computed for another latency would be far off
        assert 0.2 < row["window"] <= 1.2 and 0.2 < row["steady"] <= 1.5 and row["server_span_s"] > 0
    assert "| ceiling | 4 | 32 |" in waves_bench.markdown(
        rows
    ) and "| mmrole | 4 | 32 |" in waves_bench.markdown(rows)
