"""The engine against a real local HTTP server injecting faults: nothing lost, nothing duplicated."""

from __future__ import annotations

from collections import Counter

from mmrole.engine import Backoff, Request, Store, run_requests_sync
from mmrole.models.openai_compat import OpenAICompatBackend
from mmrole.testing.responders import Faults, InjectedError, echo_responder
from mmrole.testing.server import LocalOpenAIServer

N = 600
FAULTS = Faults(
    rate_limit=0.08,
    server_error=0.06,
    hang=0.02,
    drop=0.05,
    garbage=0.05,
    empty=0.04,
    retry_after=0.01,
    hang_seconds=3.0,  # well past the client timeout below
)


#: These prompts always get a 503 from the first server: they must end up recorded as failed.
POISONED = {f"question number {i}" for i in range(42, N, 100)}


def _poisoned_responder(messages):
    if messages[-1]["content"] in POISONED:
        raise InjectedError(503, "overloaded (this prompt always fails)")
    return echo_responder(messages)


def _requests() -> list[Request]:
    return [Request(f"q{i}", [{"role": "user", "content": f"question number {i}"}]) for i in range(N)]


def test_fault_injection_every_request_answered_or_failed_once(tmp_path):
    store_path = tmp_path / "store.sqlite"
    backoff = Backoff(base_delay=0.001, max_delay=0.004)
    with LocalOpenAIServer(_poisoned_responder, latency=(0.0, 0.004), faults=FAULTS, seed=11) as server:
        # 1 s: a loaded CI machine must not time out a served answer (it would be served twice)
        backend = OpenAICompatBackend("test-model", server.base_url, timeout=1.0)
        results = run_requests_sync(
            backend,
            _requests(),
            store=store_path,
            concurrency=32,
            max_retries=3,
            progress=False,
            backoff=backoff,
            # This test is about faults, not a dead endpoint: a loaded CPU can time out the first calls.
            fail_fast_after=None,
        )
        outcomes = Counter(server.outcomes)
        faults = server.received - outcomes["ok"] - outcomes["503_responder"]
        assert faults / server.received >= 0.2, outcomes
        assert {"429", "500", "hang", "drop", "garbage", "empty"} <= set(outcomes)

        # every request comes back once, in order, answered xor failed
        assert [r.id for r in results] == [f"q{i}" for i in range(N)]
        assert all((r.completion is None) != (r.error is None) for r in results)
        # each attempt the engine counted reached the server, and nothing else did
        assert server.received == sum(r.attempts for r in results)
        for i, result in enumerate(results):
            prompt = f"question number {i}"
            assert server.by_prompt[prompt] == result.attempts
            if result.ok:  # answered exactly once by the server, with that prompt's answer
                assert server.served_by_prompt[prompt] == 1
                assert result.completion.text == echo_responder([{"role": "user", "content": prompt}]).text
            else:
                assert server.served_by_prompt[prompt] == 0 and result.attempts == 4
        failed = [r for r in results if not r.ok]
        assert {f"question number {int(r.id[1:])}" for r in failed} >= POISONED
        # the error kept is the last attempt's, whichever fault that was
        signatures = (
            "HTTP 503",
            "HTTP 429",
            "HTTP 500",
            "timed out",
            "closed the connection",
            "unparsable response",
            "no choices",
            "null message content",
        )
        assert all(any(sig in r.error for sig in signatures) for r in failed), [r.error for r in failed]

        with Store(store_path) as store:
            rows = list(store.rows())
            assert len(rows) == N and len({row.request_id for row in rows}) == N
            assert store.counts() == {"ok": N - len(failed), "failed": len(failed)}
            stored_errors = {row.request_id: row.error for row in store.rows("failed")}
            assert stored_errors == {r.id: r.error for r in failed}

        # rerun on a healthy server: only the failures are sent again
        server.faults, server.responder = Faults(), echo_responder
        before = server.received
        again = run_requests_sync(
            backend, _requests(), store=store_path, concurrency=32, progress=False, backoff=backoff
        )
        assert server.received - before == len(failed)
        assert all(r.ok for r in again)
        assert sum(not r.cached for r in again) == len(failed)
        with Store(store_path) as store:
            assert store.counts() == {"ok": N, "failed": 0}


def test_empty_completions_are_retried_and_never_cached(tmp_path):
    """A 200 with null content or no choices is a retryable failure: never stored as an (empty) answer."""
    store_path = tmp_path / "store.sqlite"
    backoff = Backoff(base_delay=0.001, max_delay=0.002)
    requests = _requests()[:20]
    with LocalOpenAIServer(faults=Faults(empty=1.0), seed=5) as server:
        backend = OpenAICompatBackend("test-model", server.base_url, timeout=2.0)
        results = run_requests_sync(
            backend, requests, store=store_path, max_retries=2, progress=False, backoff=backoff
        )
        assert server.received == 20 * 3 == server.outcomes["empty"]  # each asked three times
        assert all(not r.ok and r.attempts == 3 for r in results)
        assert all("null message content" in r.error or "no choices" in r.error for r in results)
        with Store(store_path) as store:
            assert store.counts() == {"ok": 0, "failed": 20}

        # Half the answers empty: retried until a real answer comes, and only that is stored.
        server.faults = Faults(empty=0.5)
        before = server.received
        again = run_requests_sync(
            backend, requests, store=store_path, max_retries=30, progress=False, backoff=backoff
        )
        assert server.received - before == sum(r.attempts for r in again) > 20  # a rerun calls again
        assert all(r.ok and not r.cached for r in again)
        for request, result in zip(requests, again, strict=True):
            assert result.completion.text == echo_responder(request.messages).text
        with Store(store_path) as store:
            assert store.counts() == {"ok": 20, "failed": 0}
            assert all(row.completion.text for row in store.rows("ok"))


def test_a_backend_completion_without_text_is_a_failure_not_a_stored_answer(tmp_path):
    from mmrole.models.base import Completion
    from mmrole.testing import ScriptedBackend

    no_text = ScriptedBackend(default=Completion(text=None), spec="test:no-text")  # type: ignore[arg-type]
    store_path = tmp_path / "store.sqlite"
    fast = Backoff(base_delay=0.001, max_delay=0.001)
    first = run_requests_sync(
        no_text, _requests()[:3], store=store_path, max_retries=1, progress=False, backoff=fast
    )
    assert all(not r.ok and "returned no text" in r.error and r.attempts == 2 for r in first)
    again = run_requests_sync(
        no_text, _requests()[:3], store=store_path, max_retries=0, progress=False, backoff=fast
    )
    assert len(no_text.calls) == 3 * 2 + 3 and not any(r.cached for r in again)  # the rerun calls again
    with Store(store_path) as store:
        assert store.counts() == {"ok": 0, "failed": 3}
