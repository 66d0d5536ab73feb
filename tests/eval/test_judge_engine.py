"""Judging keeps the engine's guarantees: faults end scored or failed, reruns make no calls,
a kill -9 mid-judge resumes without repeating finished calls."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eval_spec_prompt import ReviewServer, answers_run, read_spec

from mmrole.engine import Backoff
from mmrole.engine.options import EngineOptions
from mmrole.eval.judge import judge_run_sync
from mmrole.eval.judge_plan import JudgeOptions
from mmrole.models.registry import load_backend
from mmrole.schema import METRICS
from mmrole.testing.responders import Faults
from mmrole.testing.server import LocalOpenAIServer

FAST = Backoff(base_delay=0.001, max_delay=0.005, max_retry_after=0.005)
OPTIONS = JudgeOptions(missing_image="omit")


@pytest.fixture()
def comment_run(reference_root: Path, in_test_root: Path, tmp_path: Path) -> tuple[Path, ReviewServer, int]:
    """Claude 3 Opus's 72 comment samples as an answers run, and a server serving their reviews."""
    responder = ReviewServer(read_spec(reference_root / "mmrole-eval" / "JUDGE_PROMPT.md"))
    run, records = answers_run(in_test_root / "claude-3-opus", tmp_path, types=("comment",))
    responder.add_model(records)
    return run, responder, len(records) * len(METRICS)


def _assert_csv(run: Path, in_test_root: Path) -> None:
    with (in_test_root / "claude-3-opus" / "comment_test.results.csv").open() as handle:
        expected = {k: float(v) for k, v in next(csv.DictReader(handle)).items()}
    results = json.loads((run / "results.json").read_text())
    for metric in METRICS:
        assert results["metrics"][metric]["mean"] == pytest.approx(expected[metric], abs=1e-9, rel=0)


def _ok_rows(run: Path) -> int:
    """Finished calls in the run's store (0 while the store is still being created)."""
    db = sqlite3.connect(run / "store.sqlite", timeout=30)
    try:
        return db.execute("SELECT COUNT(*) FROM requests WHERE status = 'ok'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def test_faults_end_scored_or_failed_then_reruns_finish_and_make_no_calls(
    comment_run: tuple[Path, ReviewServer, int], in_test_root: Path
) -> None:
    run, responder, n_tasks = comment_run
    faults = Faults(
        rate_limit=0.15,
        server_error=0.15,
        drop=0.05,
        garbage=0.1,
        hang=0.02,
        hang_seconds=5,
        retry_after=0.001,
    )
    with LocalOpenAIServer(responder, faults=faults, seed=7) as server:
        judge = load_backend(f"openai:rm@{server.base_url}", timeout=0.5)
        first = judge_run_sync(
            run, judge, OPTIONS, engine=EngineOptions(progress=False, max_retries=2), n_boot=50, backoff=FAST
        )
        assert sum(server.outcomes[k] for k in ("429", "500", "drop", "garbage", "hang")) > 50
        reviews = [json.loads(line) for line in (run / "reviews.jsonl").read_text().splitlines()]
        # Every (sample, metric) is accounted for: a score, or a recorded error.
        assert len(reviews) == n_tasks == first.n_tasks
        assert {(r["sample_id"], r["metric"]) for r in reviews} == {
            (s, m) for s in {r["sample_id"] for r in reviews} for m in METRICS
        }
        assert all((r["score"] is None) != (r["error"] is None) for r in reviews)
        failed = sum(r["score"] is None for r in reviews)
        assert failed == first.n_failed and first.n_scored + first.n_failed == n_tasks
        assert failed > 0  # with 2 retries and ~45% faults some requests exhaust their budget
        results = json.loads((run / "results.json").read_text())
        assert results["n_failed_judgements"] == failed
        assert sum(results["metrics"][m]["n_failed"] for m in METRICS) == failed

        # Faults off: the rerun only asks again what failed, then everything is scored.
        server.faults = Faults()
        before = server.received
        second = judge_run_sync(
            run, judge, OPTIONS, engine=EngineOptions(progress=False), n_boot=50, backoff=FAST
        )
        assert server.received - before == failed == second.n_calls
        assert second.n_failed == 0
        _assert_csv(run, in_test_root)

        before = server.received
        third = judge_run_sync(run, judge, OPTIONS, engine=EngineOptions(progress=False), n_boot=50)
        assert server.received == before and third.n_calls == 0


_CHILD = """
import sys
from mmrole.engine.options import EngineOptions
from mmrole.eval.judge import judge_run_sync
from mmrole.eval.judge_plan import JudgeOptions
judge_run_sync(sys.argv[1], sys.argv[2], JudgeOptions(missing_image="omit"), engine=EngineOptions(progress=False, concurrency=2))
"""


def test_kill_9_mid_judge_then_resume_repeats_no_finished_call(
    comment_run: tuple[Path, ReviewServer, int], in_test_root: Path
) -> None:
    run, responder, n_tasks = comment_run
    with LocalOpenAIServer(responder, latency=0.01) as server:
        spec = f"openai:rm@{server.base_url}"
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(run), spec],
            env={**os.environ},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and child.poll() is None:
                if (run / "store.sqlite").exists() and _ok_rows(run) >= 100:
                    break
                time.sleep(0.02)
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait(timeout=30)
        finished = _ok_rows(run)
        assert 100 <= finished < n_tasks
        assert not (run / "reviews.jsonl").exists()  # killed before the end: nothing half-written

        before = server.received
        summary = judge_run_sync(run, spec, OPTIONS, engine=EngineOptions(progress=False), n_boot=50)
        assert server.received - before == n_tasks - finished == summary.n_calls
        assert summary.n_scored == n_tasks
        # No prompt was served twice, except calls that were in flight (unrecorded) at the kill.
        repeated = sum(count - 1 for count in server.served_by_prompt.values() if count > 1)
        assert repeated <= 2
        _assert_csv(run, in_test_root)


def test_judge_requests_are_built_as_the_engine_sends_them(
    comment_run: tuple[Path, ReviewServer, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """576 judge requests, never more than a chunk and the calls in flight built at once."""
    import weakref

    import mmrole.eval.judge
    from mmrole.engine import Request, runner
    from mmrole.testing import Call, ScriptedBackend

    run, _, n_tasks = comment_run
    live = {"now": 0, "peak": 0}

    class Counted(Request):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            live["now"] += 1
            weakref.finalize(self, lambda: live.__setitem__("now", live["now"] - 1))

    def judge(call: Call) -> str:
        live["peak"] = max(live["peak"], live["now"])
        return "Fine. [Scores]: (6, 8)"

    monkeypatch.setattr(mmrole.eval.judge, "Request", Counted)  # the name the judge builds requests with
    monkeypatch.setattr(runner, "CHUNK", 16, raising=False)
    summary = judge_run_sync(
        run,
        ScriptedBackend(judge, spec="scripted:judge"),
        OPTIONS,
        engine=EngineOptions(progress=False, concurrency=4),
        n_boot=20,
    )
    assert summary.n_scored == n_tasks == 576
    assert 0 < live["peak"] <= 16 + 3 * 4 + 1
