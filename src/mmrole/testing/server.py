"""A real, local OpenAI-compatible HTTP server that injects faults, for tests and benchmarks.

It speaks just enough HTTP/1.1 (keep-alive, ``Content-Length`` bodies, server-sent events
for streaming) over ``asyncio.start_server`` to stay light: a few hundred microseconds of
CPU per call, so it sustains far more than 320 calls/s with 200 ms latency.

    with LocalOpenAIServer(latency=0.05, faults=Faults(rate_limit=0.1), seed=1) as server:
        backend = load_backend(f"openai:test-model@{server.base_url}")
        ...
        assert server.received == expected_calls

Endpoints: ``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /stats`` (the counters as
JSON, for a server run in another process: ``python -m mmrole.testing.server --latency 0.2``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import threading
from collections import Counter
from typing import Any

from mmrole.models.base import last_user_text
from mmrole.testing.http_wire import (
    Request,
    completion_body,
    error_body,
    read_request,
    respond,
    respond_raw,
    retry_after,
    stream_reply,
)
from mmrole.testing.responders import BODY_FAULTS, Faults, InjectedError, Reply, Responder, echo_responder

#: Responders, replies and faults live in :mod:`mmrole.testing.responders`.
__all__ = ["LocalOpenAIServer", "main"]


class LocalOpenAIServer:
    """An OpenAI-compatible chat server on 127.0.0.1 in a background thread (a context manager).

    Args:
        responder: ``messages -> str | Reply``; defaults to :func:`echo_responder`. It may raise
            :class:`InjectedError` to answer with an HTTP error.
        latency: Seconds each answer takes, or a ``(low, high)`` range drawn uniformly: from the
            moment the request's head arrived (or a slot freed up for it), so the server's own
            parsing is inside it and ``capacity / latency`` is the rate it really sustains.
        capacity: At most this many requests are served at once; the rest wait
            (``overflow="wait"``) or get a 429 (``overflow="reject"``).
        faults: Which faults to inject, and how often.
        seed: Seed of the fault and latency draws (reproducible runs).
        model: The model name ``/v1/models`` lists.
        require_api_key: When set, requests without ``Authorization: Bearer <key>`` get a 401
            whose message quotes the key they sent (as real providers do: tests check redaction).
        port: 0 picks a free port.

    Counters (read them after the calls you are checking have returned):
        received: chat requests received; ``outcomes``: a Counter of ok/429/500/hang/drop/garbage/empty/...;
        ``by_prompt`` / ``served_by_prompt``: requests received / answered successfully, keyed by the
        last user message's text.
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        latency: float | tuple[float, float] = 0.0,
        capacity: int | None = None,
        overflow: str = "wait",
        faults: Faults | None = None,
        seed: int = 0,
        model: str = "test-model",
        require_api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        if overflow not in ("wait", "reject"):
            raise ValueError("overflow must be 'wait' or 'reject'")
        self.responder = responder or echo_responder
        self.latency = latency
        self.capacity = capacity
        self.overflow = overflow
        self.faults = faults or Faults()
        if self.faults.total() > 1.0:
            raise ValueError("fault probabilities sum to more than 1")
        self.model = model
        self.require_api_key = require_api_key
        self.host, self.port = host, port
        self._rng = random.Random(seed)
        self.reset_counts()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._slots: asyncio.Semaphore | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        #: Notified (from the server's thread) whenever a connection closes: see wait_until_idle.
        self._closed = threading.Condition()
        #: The body of the last chat request received (tests check what a client sent).
        self.last_payload: dict[str, Any] | None = None

    # -- counters ---------------------------------------------------------------------------
    def reset_counts(self) -> None:
        """Zero the counters (see the class docstring)."""
        self.received = 0
        self.outcomes: Counter[str] = Counter()
        self.by_prompt: Counter[str] = Counter()
        self.served_by_prompt: Counter[str] = Counter()
        self.active = self.peak_active = 0

    def stats(self) -> dict[str, Any]:
        """The counters as plain data (what ``GET /stats`` returns)."""
        return {"received": self.received, "outcomes": dict(self.outcomes), "peak_active": self.peak_active}

    def wait_until_idle(self, timeout: float = 10.0) -> None:
        """Block until no client connection is open, so the counters hold every request sent.

        A client that stops at an error has often sent more requests than it waits for: they
        reach the server (and its counters) a little later, as their connections close.
        """
        with self._closed:
            if not self._closed.wait_for(lambda: not self._handlers, timeout):
                raise TimeoutError(f"{len(self._handlers)} connection(s) still open after {timeout} s")

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: what an ``openai:MODEL@URL`` spec takes."""
        return f"http://{self.host}:{self.port}/v1"

    async def start_async(self) -> None:
        """Start serving on the running loop (use :meth:`start` for a background thread)."""
        self._loop = asyncio.get_running_loop()
        self._slots = asyncio.Semaphore(self.capacity) if self.capacity else None
        self._server = await asyncio.start_server(self._on_connection, self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop_async(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    def start(self) -> LocalOpenAIServer:
        """Serve from a background thread; returns once the port is bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:  # surface bind errors in the caller's thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop_async())
            loop.close()

        self._thread = threading.Thread(target=serve, name="mmrole-test-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> LocalOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving ----------------------------------------------------------------------------
    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while (request := await read_request(reader)) is not None:
                keep_open = await self._dispatch(request, writer)
                if not keep_open or request.closes:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with self._closed:
                self._handlers.discard(task)
                self._closed.notify_all()

    async def _dispatch(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must close afterwards."""
        method, path, headers, arrived = request.method, request.path, request.headers, request.arrived
        if method == "GET" and path.rstrip("/").endswith("/models"):
            data = {"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "mmrole"}]}
            return await respond(writer, 200, data)
        if method == "GET" and path.rstrip("/") == "/stats":
            return await respond(writer, 200, self.stats())
        if method != "POST" or not path.rstrip("/").endswith("/chat/completions"):
            return await respond(writer, 404, error_body(f"no route {method} {path}"))
        self.received += 1
        try:
            payload = json.loads(request.body)
            messages = payload["messages"]
            prompt = last_user_text(messages)
        except (ValueError, KeyError, TypeError, AttributeError):
            self.outcomes["bad_request"] += 1
            return await respond(writer, 400, error_body("body is not a chat completion request"))
        self.by_prompt[prompt] += 1
        self.last_payload = payload
        if self.require_api_key is not None:
            sent = headers.get("authorization", "").removeprefix("Bearer ").strip()
            if sent != self.require_api_key:
                self.outcomes["401"] += 1
                return await respond(writer, 401, error_body(f"Incorrect API key provided: {sent}"))
        fault = self._draw_fault()
        if fault == "429":
            self.outcomes["429"] += 1
            extra = retry_after(self.faults.retry_after)
            return await respond(writer, 429, error_body("rate limit reached"), extra)
        if self._slots is not None and self.overflow == "reject" and self._slots.locked():
            self.outcomes["429_capacity"] += 1
            extra = retry_after(self.faults.retry_after)
            return await respond(writer, 429, error_body("server at capacity"), extra)
        loop = asyncio.get_running_loop()
        if self._slots is not None:
            queued = self._slots.locked()
            await self._slots.acquire()
            if queued:  # waited for a slot: its latency starts now
                arrived = loop.time()
        self.active += 1
        self.peak_active = max(self.peak_active, self.active)
        try:
            if fault == "hang":
                self.outcomes["hang"] += 1
                await asyncio.sleep(self.faults.hang_seconds)
                return False
            await asyncio.sleep(max(0.0, arrived + self._draw_latency() - loop.time()))
            if fault == "drop":
                self.outcomes["drop"] += 1
                return False
            if fault == "500":
                self.outcomes["500"] += 1
                return await respond(writer, 500, error_body("internal error (injected)"))
            if fault in BODY_FAULTS:  # a 200 whose body is no usable chat completion
                self.outcomes[fault] += 1
                garbage = self._rng.choice(BODY_FAULTS[fault])
                return await respond_raw(writer, 200, garbage, "application/json")
            try:
                reply = self.responder(messages)
            except InjectedError as exc:
                self.outcomes[f"{exc.status}_responder"] += 1
                headers_out = retry_after(exc.retry_after) if exc.retry_after is not None else None
                return await respond(writer, exc.status, error_body(exc.message), headers_out)
            if isinstance(reply, str):
                reply = Reply(text=reply)
            self.outcomes["ok"] += 1
            self.served_by_prompt[prompt] += 1
            if payload.get("stream"):
                await stream_reply(writer, reply)
                return False
            return await respond(writer, 200, completion_body(payload, messages, reply, self.model))
        finally:
            self.active -= 1
            if self._slots is not None:
                self._slots.release()

    def _draw_fault(self) -> str | None:
        f = self.faults
        if f.total() <= 0:
            return None
        draw = self._rng.random()
        chances = {"429": f.rate_limit, "500": f.server_error, "hang": f.hang, "drop": f.drop}
        for name, p in {**chances, "garbage": f.garbage, "empty": f.empty}.items():
            if draw < p:
                return name
            draw -= p
        return None

    def _draw_latency(self) -> float:
        if isinstance(self.latency, tuple):
            return self._rng.uniform(*self.latency)
        return self.latency


def main(argv: list[str] | None = None) -> None:
    """Serve until stdin closes or the process is killed: ``python -m mmrole.testing.server``.

    Prints ``listening on URL`` once ready, so a parent process can read the port.
    """
    parser = argparse.ArgumentParser(description="Local OpenAI-compatible server with fault injection.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--capacity", type=int, default=None)
    parser.add_argument("--overflow", choices=("wait", "reject"), default="wait")
    parser.add_argument("--seed", type=int, default=0)
    for name in ("rate-limit", "server-error", "hang", "drop", "garbage", "empty"):
        parser.add_argument(f"--{name}", type=float, default=0.0, help=f"probability of {name} faults")
    args = parser.parse_args(argv)
    faults = Faults(args.rate_limit, args.server_error, args.hang, args.drop, args.garbage, empty=args.empty)

    async def serve() -> None:
        server = LocalOpenAIServer(
            latency=args.latency,
            capacity=args.capacity,
            overflow=args.overflow,
            faults=faults,
            seed=args.seed,
            port=args.port,
        )
        await server.start_async()
        print(f"listening on {server.base_url}", flush=True)
        # Stop when the parent closes our stdin (or kills us).
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await server.stop_async()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
