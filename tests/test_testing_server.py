"""The local OpenAI-compatible server's latency: from the request's arrival, so capacity / latency
is what it really sustains (its own parsing inside the latency, not added to it)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import mmrole.testing.server as server_module
from mmrole.testing.server import LocalOpenAIServer


def _ask(url: str, text: str) -> float:
    started = time.perf_counter()
    body = {"model": "test-model", "messages": [{"role": "user", "content": text}]}
    reply = httpx.post(f"{url}/chat/completions", json=body, timeout=10)
    assert reply.status_code == 200
    return time.perf_counter() - started


def test_the_servers_own_work_on_a_request_is_inside_its_latency(monkeypatch):
    reading = server_module.last_user_text

    def slow_reading(messages):
        time.sleep(0.3)  # the server busy with the request (a big body to parse) before its latency
        return reading(messages)

    monkeypatch.setattr(server_module, "last_user_text", slow_reading)
    with LocalOpenAIServer(latency=0.3) as server:
        took = _ask(server.base_url, "hello")
    assert 0.3 <= took < 0.5  # not 0.3 of work + 0.3 of latency


def test_a_request_waiting_for_a_slot_gets_its_whole_latency_once_one_frees():
    with LocalOpenAIServer(latency=0.2, capacity=1) as server, ThreadPoolExecutor(2) as pool:
        took = sorted(pool.map(lambda text: _ask(server.base_url, text), ["one", "two"]))
    assert took[0] >= 0.2 and took[1] >= 0.4


def test_wait_until_idle_returns_once_every_connection_has_closed():
    with LocalOpenAIServer(lambda messages: "fine") as server:
        server.wait_until_idle(timeout=1)  # no connection yet
        client = httpx.Client(base_url=server.base_url)  # keep-alive: the connection stays open
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        assert client.post("/chat/completions", json=body).status_code == 200
        with pytest.raises(TimeoutError, match="1 connection"):
            server.wait_until_idle(timeout=0.2)
        client.close()
        server.wait_until_idle(timeout=5)
        assert server.received == 1
