"""The engine takes requests as it sends them: bounded lookahead, keyed lazily, nothing lost or repeated."""

from __future__ import annotations

import weakref

import pytest

from mmrole.engine import Request, Store, run_requests_sync, runner
from mmrole.errors import BackendError
from mmrole.testing import ScriptedBackend


class Live:
    """Counts the requests a generator built that are still alive (held by someone)."""

    def __init__(self) -> None:
        self.built = 0
        self.alive = 0
        self.peak_alive = 0

    def requests(self, n: int, text=lambda i: f"question {i}"):
        for i in range(n):
            request = Request(f"r{i}", [{"role": "user", "content": text(i)}])
            self.built += 1
            self.alive += 1
            weakref.finalize(request, self._died)
            yield request

    def _died(self) -> None:
        self.alive -= 1


def _watching(live: Live) -> ScriptedBackend:
    class Watching(ScriptedBackend):
        first_call_after: int | None = None

        async def generate(self, messages, params):
            if self.first_call_after is None:
                self.first_call_after = live.built
            live.peak_alive = max(live.peak_alive, live.alive)
            return await super().generate(messages, params)

    return Watching(default=lambda call: f"answer {call.request_id}")


def test_a_generator_is_consumed_as_calls_go_out(fast_backoff, monkeypatch):
    monkeypatch.setattr(runner, "CHUNK", 16, raising=False)
    live = Live()
    backend = _watching(live)
    results = run_requests_sync(
        backend, live.requests(2000), concurrency=4, progress=False, backoff=fast_backoff
    )
    assert [r.id for r in results] == [f"r{i}" for i in range(2000)]
    assert all(r.ok and r.completion.text == f"answer {r.id}" for r in results)
    # the first call went out after one chunk was keyed, not after all 2,000 were built
    assert backend.first_call_after == 16
    # built requests alive at once: one chunk, the queue and the calls in flight, whatever the job's size
    assert live.peak_alive <= 16 + 2 * 4 + 1


@pytest.mark.parametrize("with_store", [True, False])
def test_identical_requests_chunks_apart_share_one_call(
    scripted, fast_backoff, monkeypatch, tmp_path, with_store
):
    monkeypatch.setattr(runner, "CHUNK", 8, raising=False)
    live = Live()
    backend = scripted()
    store = Store(tmp_path / "store.sqlite") if with_store else None
    # 300 requests, 10 distinct questions: request i asks question i % 10
    results = run_requests_sync(
        backend,
        live.requests(300, lambda i: f"q{i % 10}"),
        store=store,
        concurrency=3,
        progress=False,
        backoff=fast_backoff,
    )
    assert len(backend.calls) == 10
    assert [r.id for r in results] == [f"r{i}" for i in range(300)]
    assert all(r.completion.text == f"answer r{i % 10}" for i, r in enumerate(results))
    assert [r.cached for r in results] == [i >= 10 for i in range(300)]
    if store is not None:
        assert store.counts() == {"ok": 10, "failed": 0}
        store.close()


def test_a_failed_request_is_shared_by_its_later_duplicates_not_called_again(
    scripted, fast_backoff, monkeypatch, tmp_path
):
    monkeypatch.setattr(runner, "CHUNK", 4, raising=False)
    backend = scripted(script={"r0": [BackendError("HTTP 400: too long")]})
    live = Live()
    with Store(tmp_path / "store.sqlite") as store:
        results = run_requests_sync(
            backend,
            live.requests(40, lambda i: f"q{i % 2}"),
            store=store,
            concurrency=2,
            progress=False,
            backoff=fast_backoff,
        )
    assert sorted(call.request_id for call in backend.calls) == ["r0", "r1"]
    assert all(r.error == "HTTP 400: too long" for r in results[0::2])
    assert all(r.ok for r in results[1::2])


def test_rerun_from_a_generator_makes_no_calls(scripted, fast_backoff, monkeypatch, tmp_path):
    monkeypatch.setattr(runner, "CHUNK", 32, raising=False)
    run_requests_sync(
        scripted(), Live().requests(500), store=tmp_path / "s.sqlite", progress=False, backoff=fast_backoff
    )
    again = scripted()
    results = run_requests_sync(
        again, Live().requests(500), store=tmp_path / "s.sqlite", progress=False, backoff=fast_backoff
    )
    assert again.calls == [] and all(r.cached and r.ok for r in results)


def test_bad_input_from_the_iterable_stops_the_job_and_keeps_finished_work(
    scripted, fast_backoff, monkeypatch, tmp_path
):
    monkeypatch.setattr(runner, "CHUNK", 4, raising=False)

    def requests():
        yield from Live().requests(20)
        raise ValueError("sample 20: unreadable image")

    with pytest.raises(ValueError, match="unreadable image"):
        run_requests_sync(
            scripted(),
            requests(),
            store=tmp_path / "s.sqlite",
            concurrency=2,
            progress=False,
            backoff=fast_backoff,
        )
    with Store(tmp_path / "s.sqlite") as store:
        assert 0 < store.counts()["ok"] <= 20 and store.counts()["failed"] == 0


def test_empty_iterable(scripted, fast_backoff):
    assert run_requests_sync(scripted(), iter(()), progress=False, backoff=fast_backoff) == []
