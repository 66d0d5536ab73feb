"""The run engine with an in-process scripted backend: retries, order, caching, limits, Ctrl-C."""

from __future__ import annotations

import asyncio
import gc
import sqlite3

import pytest

from mmrole.engine import Backoff, Request, Store, run_requests, run_requests_sync
from mmrole.errors import BackendError, StorageError
from mmrole.models.base import GenerationParams
from mmrole.testing import ScriptedBackend


def _requests(n: int, prefix: str = "r") -> list[Request]:
    return [Request(f"{prefix}{i}", [{"role": "user", "content": f"question {i}"}]) for i in range(n)]


def test_results_in_request_order_with_completions(scripted, fast_backoff):
    backend = scripted(delay=0.001)
    results = run_requests_sync(backend, _requests(40), concurrency=8, progress=False, backoff=fast_backoff)
    assert [r.id for r in results] == [f"r{i}" for i in range(40)]
    assert all(r.ok and r.completion.text == f"answer {r.id}" and r.attempts == 1 for r in results)
    assert not any(r.cached for r in results)


def test_concurrency_is_bounded(scripted, fast_backoff):
    backend = scripted(delay=0.005)
    run_requests_sync(backend, _requests(30), concurrency=5, progress=False, backoff=fast_backoff)
    assert backend.peak == 5


def test_backend_max_concurrency_caps_the_pool(scripted, fast_backoff):
    backend = scripted(delay=0.002)
    backend.max_concurrency = 2
    run_requests_sync(backend, _requests(10), concurrency=32, progress=False, backoff=fast_backoff)
    assert backend.peak == 2


def test_retryable_errors_are_retried_with_growing_backoff(scripted, recorded_sleep, fast_backoff):
    flaky = [BackendError("HTTP 500", retryable=True) for _ in range(3)]
    backend = scripted(script={"r0": flaky})
    [result] = run_requests_sync(backend, _requests(1), progress=False, backoff=fast_backoff, max_retries=5)
    assert result.ok and result.attempts == 4 and backend.attempts("r0") == 4
    # equal jitter: each delay lies in [cap/2, cap] with cap = 0.5 * 2**(retry-1)
    for retry, delay in enumerate(recorded_sleep.delays, start=1):
        cap = 0.5 * 2 ** (retry - 1)
        assert cap / 2 <= delay <= cap
    assert len(recorded_sleep.delays) == 3


def test_non_retryable_error_fails_at_once(scripted, recorded_sleep, fast_backoff):
    backend = scripted(script={"r1": [BackendError("HTTP 400: bad request")]})
    results = run_requests_sync(backend, _requests(3), progress=False, backoff=fast_backoff)
    assert results[1].error == "HTTP 400: bad request" and results[1].attempts == 1
    assert results[1].completion is None and not results[1].ok
    assert results[0].ok and results[2].ok and not recorded_sleep.delays


def test_retry_budget_exhausted_is_a_recorded_failure(scripted, fast_backoff, tmp_path):
    always = [BackendError(f"HTTP 503 try {i}", retryable=True) for i in range(10)]
    backend = scripted(script={"r0": always})
    with Store(tmp_path / "store.sqlite") as store:
        [result] = run_requests_sync(
            backend, _requests(1), store=store, max_retries=2, progress=False, backoff=fast_backoff
        )
        assert result.error == "HTTP 503 try 2" and result.attempts == 3
        [row] = store.rows()
        assert row.status == "failed" and row.error == "HTTP 503 try 2" and row.completion is None


def test_retry_after_is_honoured_and_pauses_other_workers(scripted, recorded_sleep, fast_backoff):
    backend = scripted(script={"r0": [BackendError("HTTP 429", retryable=True, retry_after=7.0)]})
    start = recorded_sleep.now
    results = run_requests_sync(backend, _requests(1), progress=False, backoff=fast_backoff)
    assert results[0].ok
    assert recorded_sleep.now - start >= 7.0  # waited at least Retry-After, not just the 0.5 s backoff
    assert max(recorded_sleep.delays) >= 7.0


def test_unexpected_exception_is_recorded_not_raised(scripted, fast_backoff):
    backend = scripted(script={"r0": [ValueError("backend bug")]})
    [result] = run_requests_sync(backend, _requests(1), progress=False, backoff=fast_backoff)
    assert result.error == "ValueError: backend bug" and result.attempts == 1


def test_rerun_with_store_makes_no_calls(scripted, fast_backoff, tmp_path):
    store_path = tmp_path / "store.sqlite"
    first = scripted()
    run_requests_sync(first, _requests(25), store=store_path, progress=False, backoff=fast_backoff)
    assert len(first.calls) == 25
    again = scripted()
    results = run_requests_sync(again, _requests(25), store=store_path, progress=False, backoff=fast_backoff)
    assert again.calls == []
    assert all(r.cached and r.attempts == 0 and r.completion.text == f"answer {r.id}" for r in results)


def test_failures_are_retried_on_rerun_not_served(scripted, fast_backoff, tmp_path):
    store_path = tmp_path / "store.sqlite"
    broken = scripted(script={"r3": [BackendError("HTTP 401", retryable=False)]})
    first = run_requests_sync(broken, _requests(5), store=store_path, progress=False, backoff=fast_backoff)
    assert not first[3].ok
    healthy = scripted()
    second = run_requests_sync(healthy, _requests(5), store=store_path, progress=False, backoff=fast_backoff)
    assert [call.request_id for call in healthy.calls] == ["r3"]
    assert second[3].ok and not second[3].cached
    with Store(store_path) as store:
        assert store.counts() == {"ok": 5, "failed": 0}


def test_changed_params_are_a_new_request(scripted, fast_backoff, tmp_path):
    store_path = tmp_path / "store.sqlite"
    requests = _requests(3)
    run_requests_sync(scripted(), requests, store=store_path, progress=False, backoff=fast_backoff)
    other = [Request(r.id, r.messages, GenerationParams(temperature=0.7)) for r in requests]
    backend = scripted()
    run_requests_sync(backend, other, store=store_path, progress=False, backoff=fast_backoff)
    assert len(backend.calls) == 3


def test_identical_requests_share_one_call(scripted, fast_backoff):
    same = [{"role": "user", "content": "same question"}]
    requests = [Request("a", same), Request("b", same), Request("c", [{"role": "user", "content": "other"}])]
    backend = scripted()
    results = run_requests_sync(backend, requests, progress=False, backoff=fast_backoff)
    assert len(backend.calls) == 2
    assert [r.id for r in results] == ["a", "b", "c"]
    assert results[0].completion.text == results[1].completion.text and results[1].cached


def test_rpm_spaces_call_starts(scripted):
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)

    frozen = Backoff(sleep=record, clock=lambda: 50.0)  # all five workers start at the same instant
    backend = scripted()
    run_requests_sync(backend, _requests(5), concurrency=5, rpm=30, progress=False, backoff=frozen)
    # 30 rpm = one start every 2 s: the workers reserve slots 0, 2, 4, 6 and 8 s from now
    assert sorted(delays) == pytest.approx([2.0, 4.0, 6.0, 8.0])
    assert len(backend.calls) == 5


def test_cancel_keeps_finished_work(scripted, fast_backoff, tmp_path):
    """Ctrl-C cancels the run: what finished is in the store; the rerun only does the rest."""
    store_path = tmp_path / "store.sqlite"
    gate = asyncio.Event()

    class Stalling(ScriptedBackend):
        async def generate(self, messages, params):
            completion = await super().generate(messages, params)
            if int(completion.text.split("r")[-1]) >= 10:
                await gate.wait()  # never set: these calls are in flight when the user interrupts
            return completion

    async def interrupted() -> None:
        task = asyncio.create_task(
            run_requests(
                Stalling(default=lambda call: f"answer {call.request_id}", spec="scripted:test"),
                _requests(30),
                store=store_path,
                concurrency=4,
                progress=False,
                backoff=fast_backoff,
            )
        )
        for _ in range(2000):
            await asyncio.sleep(0.001)
            with Store(store_path) as store:
                if store.counts()["ok"] >= 10:
                    break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    with Store(store_path) as store:
        assert store.counts() == {"ok": 10, "failed": 0}
    rest = scripted()
    results = run_requests_sync(rest, _requests(30), store=store_path, progress=False, backoff=fast_backoff)
    assert len(rest.calls) == 20 and all(r.ok for r in results)
    assert sum(r.cached for r in results) == 10


def test_request_timeout_guard_is_retryable(scripted, fast_backoff):
    backend = scripted(delay=0.2)
    [result] = run_requests_sync(
        backend, _requests(1), progress=False, backoff=fast_backoff, request_timeout=0.01, max_retries=1
    )
    assert not result.ok and result.attempts == 2 and "no answer within" in result.error


def test_progress_bar_runs(scripted, fast_backoff, capsys):
    results = run_requests_sync(
        scripted(), _requests(5), progress=True, description="judging", backoff=fast_backoff
    )
    assert all(r.ok for r in results)
    assert "judging" in capsys.readouterr().err


def test_spec_string_backend_is_loaded_and_unknown_spec_is_a_config_error():
    from mmrole.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown model spec"):
        run_requests_sync("nope:thing", _requests(1), progress=False)


def test_default_backoff_delays_grow_and_cap():
    backoff = Backoff(base_delay=1.0, max_delay=8.0)
    assert all(0.5 <= backoff.delay(1, None) <= 1.0 for _ in range(20))
    assert all(4.0 <= backoff.delay(10, None) <= 8.0 for _ in range(20))
    assert backoff.delay(1, 30.0) == 30.0
    assert backoff.delay(1, 10_000.0) == backoff.max_retry_after


def test_calls_finishing_together_are_committed_in_one_transaction(
    scripted, fast_backoff, tmp_path, monkeypatch
):
    """The store commits what finished in one turn of the loop together, and everything by the end."""
    batches: list[int] = []
    flush = Store.flush

    def counted(self: Store) -> int:
        n = flush(self)
        if n:
            batches.append(n)
        return n

    monkeypatch.setattr(Store, "flush", counted)
    store_path = tmp_path / "store.sqlite"
    results = run_requests_sync(
        scripted(), _requests(64), store=store_path, concurrency=16, progress=False, backoff=fast_backoff
    )
    assert all(r.ok for r in results)
    assert sum(batches) == 64 and max(batches) > 1 and len(batches) < 64
    with Store(store_path) as store:
        assert store.counts() == {"ok": 64, "failed": 0}


def test_a_worker_takes_its_next_request_only_once_its_result_is_committed(fast_backoff, tmp_path):
    """A kill -9 then repeats at most `concurrency` calls: those in flight and those finished but not
    yet committed are never more than the workers."""
    store_path = tmp_path / "store.sqlite"
    at_risk: list[int] = []
    state = {"in_flight": 0, "returned": 0}

    class Checking(ScriptedBackend):
        async def generate(self, messages, params):
            with sqlite3.connect(store_path) as other:  # what a rerun after a kill -9 would find
                committed = other.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
            state["in_flight"] += 1
            at_risk.append(state["in_flight"] + state["returned"] - committed)
            try:
                return await super().generate(messages, params)
            finally:
                state["in_flight"] -= 1
                state["returned"] += 1

    backend = Checking(default=lambda call: "ok", spec="scripted:test", delay=0.001)  # calls overlap
    results = run_requests_sync(
        backend, _requests(12), store=store_path, concurrency=2, progress=False, backoff=fast_backoff
    )
    assert all(r.ok for r in results) and len(at_risk) == 12
    assert max(at_risk) <= 2, at_risk


def test_a_store_that_cannot_commit_stops_the_run(scripted, fast_backoff, tmp_path, monkeypatch):
    def full(self: Store) -> int:
        if self._pending:
            raise StorageError("no space left on device writing store.sqlite", file=self.path)
        return 0

    monkeypatch.setattr(Store, "flush", full)
    with pytest.raises(StorageError, match="no space left"):
        run_requests_sync(
            scripted(), _requests(20), store=tmp_path / "store.sqlite", progress=False, backoff=fast_backoff
        )


def test_a_job_keeps_older_objects_out_of_full_collections_and_then_lets_go(scripted, fast_backoff):
    seen: list[int] = []

    class Watching(ScriptedBackend):
        async def generate(self, messages, params):
            seen.append(gc.get_freeze_count())
            return await super().generate(messages, params)

    backend = Watching(default=lambda call: "ok", spec="scripted:test")
    assert gc.get_freeze_count() == 0
    run_requests_sync(backend, _requests(3), progress=False, backoff=fast_backoff)
    assert min(seen) > 0 and gc.get_freeze_count() == 0
    gc.freeze()  # the application froze its own objects: the job leaves that alone
    try:
        frozen = gc.get_freeze_count()
        seen.clear()
        run_requests_sync(backend, _requests(3, "again"), progress=False, backoff=fast_backoff)
        # Frozen objects can still die by reference counting, so the count may shrink; the job
        # neither froze the objects made since (no count above the application's) nor unfroze.
        assert len(seen) == 3 and max(seen) <= frozen
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
