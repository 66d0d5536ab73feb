"""A dead endpoint stops the job early with one clear error; finished work stays in the store."""

from __future__ import annotations

import logging
import socket

import pytest

from mmrole.engine import Request, Store, run_requests_sync
from mmrole.engine.failures import FAIL_FAST_AFTER, EndpointUnavailable
from mmrole.engine.runner import LOGGED_FAILURES, Backoff
from mmrole.errors import AUTH, CONNECT, BackendError
from mmrole.models.registry import load_backend
from mmrole.testing import Call, ScriptedBackend, ScriptedReply
from mmrole.testing.responders import InjectedError
from mmrole.testing.server import LocalOpenAIServer

SECRET = "sk-mmrole-test-SECRET-77ab"
FAST = Backoff(base_delay=0.001, max_delay=0.004)


def _requests(n: int) -> list[Request]:
    return [Request(f"r{i}", [{"role": "user", "content": f"question {i}"}]) for i in range(n)]


def _refused() -> BackendError:
    return BackendError("could not connect to 127.0.0.1:9: Connection refused", retryable=True, kind=CONNECT)


def _dead_port() -> int:
    with socket.socket() as probe:  # bound, then closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def failing_backend(error, after: int = 0) -> ScriptedBackend:
    """A scripted backend failing every call from call number ``after`` on with ``error()``."""

    def reply(call: Call) -> ScriptedReply:
        return error() if len(backend.calls) > after else f"answer {call.request_id}"

    backend = ScriptedBackend(reply, spec="scripted:test")
    return backend


def test_authentication_failure_stops_at_once_keeping_finished_work(fast_backoff, tmp_path):
    def rejected() -> BackendError:
        return BackendError("HTTP 401 from http://h/v1: bad key ***", kind=AUTH, hint="set JUDGE_API_KEY")

    failing = failing_backend(rejected, after=10)
    with Store(tmp_path / "s.sqlite") as store, pytest.raises(EndpointUnavailable) as stopped:
        run_requests_sync(
            failing, _requests(500), store=store, concurrency=1, progress=False, backoff=fast_backoff
        )
    assert len(failing.calls) == 11  # ten answered, the first 401 ends it
    message = str(stopped.value)
    assert "HTTP 401" in message and "set JUDGE_API_KEY" in message and "scripted:test" in message
    assert "\n" not in message and stopped.value.kind == AUTH and stopped.value.calls == 11
    with Store(tmp_path / "s.sqlite") as store:
        assert store.counts() == {"ok": 10, "failed": 0}  # the 401 is not stored: a rerun tries it


def test_an_endpoint_never_reached_stops_after_a_run_of_connection_failures(fast_backoff):
    failing = failing_backend(_refused)
    with pytest.raises(EndpointUnavailable) as stopped:
        run_requests_sync(failing, _requests(2000), concurrency=4, progress=False, backoff=fast_backoff)
    assert FAIL_FAST_AFTER <= len(failing.calls) <= FAIL_FAST_AFTER + 4
    assert "cannot be reached" in str(stopped.value) and "Connection refused" in str(stopped.value)
    assert stopped.value.kind == CONNECT


def test_one_worker_stops_once_its_request_used_up_its_retries(fast_backoff):
    failing = failing_backend(_refused)
    with pytest.raises(EndpointUnavailable):
        run_requests_sync(
            failing,
            _requests(2000),
            concurrency=1,
            max_retries=3,
            progress=False,
            backoff=fast_backoff,
        )
    assert len(failing.calls) == 4  # 1 + 3 retries of the first request, not 2,000 x 4


def test_an_endpoint_that_dies_mid_job_gets_its_retries_then_stops(fast_backoff, tmp_path):
    failing = failing_backend(_refused, after=30)
    with Store(tmp_path / "s.sqlite") as store, pytest.raises(EndpointUnavailable) as stopped:
        run_requests_sync(
            failing,
            _requests(2000),
            store=store,
            concurrency=4,
            max_retries=2,
            progress=False,
            backoff=fast_backoff,
        )
    # after it answered, each request first uses its retries: FAIL_FAST_AFTER of them in a row stop the job
    assert 30 + FAIL_FAST_AFTER * 3 <= len(failing.calls) <= 30 + (FAIL_FAST_AFTER + 4) * 3
    assert "used up their retries" in str(stopped.value)
    with Store(tmp_path / "s.sqlite") as store:
        assert store.counts()["ok"] == 30


def test_a_server_restart_is_waited_for(scripted, fast_backoff):
    """Connection failures that end before the retries run out do not stop the job."""
    refusals = {f"r{i}": [_refused(), _refused()] for i in range(10, 20)}
    backend = scripted(script=refusals)
    results = run_requests_sync(
        backend, _requests(40), concurrency=4, max_retries=3, progress=False, backoff=fast_backoff
    )
    assert all(r.ok for r in results)


def test_other_errors_never_stop_the_job_and_are_logged_in_a_bounded_number_of_lines(
    scripted, fast_backoff, caplog
):
    backend = scripted(script={f"r{i}": [BackendError("HTTP 400: bad request")] for i in range(300)})
    caplog.set_level(logging.WARNING, logger="mmrole.engine")
    results = run_requests_sync(backend, _requests(300), concurrency=8, progress=False, backoff=fast_backoff)
    assert all(r.error == "HTTP 400: bad request" for r in results)
    assert len(caplog.records) <= LOGGED_FAILURES + 2
    assert "290 more request(s) failed" in caplog.text


def test_fail_fast_can_be_turned_off(fast_backoff):
    failing = failing_backend(_refused)
    results = run_requests_sync(
        failing,
        _requests(20),
        concurrency=4,
        max_retries=1,
        progress=False,
        backoff=fast_backoff,
        fail_fast_after=None,
    )
    assert all("Connection refused" in r.error for r in results) and len(failing.calls) == 40


def test_a_dead_port_stops_with_the_url_and_what_failed():
    port = _dead_port()
    backend = load_backend(f"openai:m@http://127.0.0.1:{port}/v1")
    with pytest.raises(EndpointUnavailable) as stopped:
        run_requests_sync(backend, _requests(3000), concurrency=16, progress=False, backoff=FAST)
    message = str(stopped.value)
    assert (
        f"openai:m@http://127.0.0.1:{port}/v1 cannot be reached" in message and "could not connect" in message
    )
    assert stopped.value.calls <= FAIL_FAST_AFTER + 16


def test_a_server_answering_401_stops_at_once_naming_the_variable(monkeypatch):
    monkeypatch.setenv("MMROLE_API_KEY", SECRET)
    with LocalOpenAIServer(require_api_key="the-right-key") as server:
        spec = f"openai:m@{server.base_url}"  # a spec, not a Backend: the engine closes what it opens
        with pytest.raises(EndpointUnavailable) as stopped:
            run_requests_sync(spec, _requests(3000), concurrency=8, progress=False, backoff=FAST)
        server.wait_until_idle()  # every request sent before the stop is counted
        assert server.received <= 8
    message = str(stopped.value)
    assert "HTTP 401" in message and "MMROLE_API_KEY" in message and "rejected" in message
    assert SECRET not in message and "***" in message


def test_a_403_stops_too_but_a_400_does_not():
    def responder(messages):
        raise InjectedError(403, "this key has no access to model m")

    with LocalOpenAIServer(responder) as server:
        with pytest.raises(EndpointUnavailable, match="HTTP 403"):
            run_requests_sync(
                f"openai:m@{server.base_url}", _requests(100), concurrency=4, progress=False, backoff=FAST
            )
        server.wait_until_idle()
        assert server.received <= 4
        server.responder = lambda messages: (_ for _ in ()).throw(InjectedError(400, "bad request"))
        results = run_requests_sync(
            f"openai:m@{server.base_url}", _requests(30), concurrency=4, progress=False, backoff=FAST
        )
        assert all("HTTP 400" in r.error for r in results) and server.received <= 4 + 30
