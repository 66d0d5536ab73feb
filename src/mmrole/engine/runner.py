"""The run engine: many model calls, bounded, retried, rate-limited, cached, never lost.

    results = await run_requests(backend, requests, store=Store.in_run(run_dir), concurrency=64)

A fixed pool of ``concurrency`` worker coroutines pulls requests in order. Each call is
retried on retryable errors (429, 5xx, timeouts, dropped connections, garbage bodies) with
exponential backoff and jitter, waiting at least the server's ``Retry-After``, which also
pauses every worker (the server asked the client, not the request, to slow down). A
request that still fails after ``max_retries`` retries is returned and stored as failed with
its error text. Every result is committed to the store as it completes (those finishing in one
turn of the event loop in one transaction, on the next turn), so Ctrl-C (or a crash) keeps
finished work and a rerun continues where the last one stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections import deque
from collections.abc import Iterable, Iterator, Sized
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from mmrole.engine.backoff import Backoff, Pacer
from mmrole.engine.failures import FAIL_FAST_AFTER, EndpointHealth
from mmrole.engine.keys import request_key
from mmrole.engine.progress import Progress
from mmrole.engine.store import Store
from mmrole.errors import BackendError, StorageError
from mmrole.models.base import (
    Backend,
    Completion,
    GenerationParams,
    Message,
    current_request_id,
    display_spec,
)
from mmrole.models.registry import load_backend

logger = logging.getLogger("mmrole.engine")

#: Requests keyed and looked up in the store together (the first call waits for one chunk).
CHUNK = 256
#: Failures logged one by one in a job; the rest are counted in one line (and kept in the store).
LOGGED_FAILURES = 10


@dataclass(frozen=True)
class Request:
    """One model call: ``id`` names it in results, stores and logs (e.g. a sample id)."""

    id: str
    messages: list[Message]
    params: GenerationParams = field(default_factory=GenerationParams)


@dataclass(slots=True)
class Result:
    """The outcome of one request: a completion, or the error after the retry budget.

    ``attempts`` counts the calls made in this run (0 when served from the store or shared
    with an identical request); ``cached`` is True when no call was made for it.
    """

    id: str
    completion: Completion | None = None
    error: str | None = None
    attempts: int = 0
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.completion is not None


async def run_requests(
    backend: Backend | str,
    requests: Iterable[Request],
    store: Store | str | Path | None = None,
    *,
    concurrency: int = 32,
    max_retries: int = 5,
    rpm: float | None = None,
    progress: bool = True,
    description: str = "requests",
    backoff: Backoff | None = None,
    request_timeout: float | None = None,
    total: int | None = None,
    fail_fast_after: int | None = FAIL_FAST_AFTER,
) -> list[Result]:
    """Answer every request; results come back in request order.

    Args:
        backend: A Backend, or a spec string (then loaded, and closed at the end).
        requests: The calls to make: a list, or any iterable (a generator is consumed as the
            calls go out, a bounded number ahead, so requests are built only when needed).
        store: A Store, or a path to one: finished calls are served from it and new ones
            committed as they complete. None keeps nothing.
        concurrency: Calls in flight at most (also capped by ``backend.max_concurrency``).
        max_retries: Retries per request after its first attempt, for retryable errors.
        rpm: At most this many call starts per minute (retries included).
        progress: Show a rich progress bar on stderr.
        description: The progress bar's label.
        backoff: Retry delays (and the clock/sleep tests inject).
        request_timeout: Give up on one attempt after this many seconds (retryable); backends
            have their own timeouts, this is a guard for those that do not.
        total: How many requests there are, for the progress bar (default: ``len(requests)``
            when it has one).
        fail_fast_after: Connection failures in a row that stop the job (see
            :class:`mmrole.engine.failures.EndpointHealth`); None never stops early. An
            authentication failure (401/403) always stops it.

    Raises:
        EndpointUnavailable: The endpoint refused connections or credentials; the calls that
            finished before are in the store.
    """

    if total is None and isinstance(requests, Sized):
        total = len(requests)
    owned_backend = isinstance(backend, str)
    backend = load_backend(backend)
    store_obj = store if store is None or isinstance(store, Store) else Store(store)
    owned_store = store_obj is not store
    backoff = backoff or Backoff()
    try:
        engine = _Engine(
            backend, store_obj, max_retries, Pacer(rpm, backoff), backoff, request_timeout, fail_fast_after
        )
        with _old_objects_frozen():
            return await engine.run(iter(requests), total, concurrency, progress, description)
    finally:
        if owned_store and store_obj is not None:
            store_obj.close()
        if owned_backend:
            await backend.aclose()


_frozen_by_jobs = 0


@contextlib.contextmanager
def _old_objects_frozen() -> Iterator[None]:
    """Keep the objects that exist before the job out of the garbage collector's full passes.

    A full collection walks every object of the process (the samples, the loaded data, a model's
    modules): at hundreds of calls a second it stalls the event loop for tens of milliseconds
    while every call in flight waits (vLLM freezes its start-up heap for the same reason). Only
    where nobody else froze objects; the outermost job unfreezes them at its end.
    """
    global _frozen_by_jobs
    if _frozen_by_jobs == 0 and gc.get_freeze_count():
        yield  # frozen by the application: its business
        return
    if _frozen_by_jobs == 0:
        gc.freeze()
    _frozen_by_jobs += 1
    try:
        yield
    finally:
        _frozen_by_jobs -= 1
        if _frozen_by_jobs == 0:
            gc.unfreeze()


def run_requests_sync(backend: Backend | str, requests: Iterable[Request], **kwargs: Any) -> list[Result]:
    """:func:`run_requests` from synchronous code (it runs its own event loop)."""
    return asyncio.run(run_requests(backend, requests, **kwargs))


class _Engine:
    def __init__(
        self,
        backend: Backend,
        store: Store | None,
        max_retries: int,
        pacer: Pacer,
        backoff: Backoff,
        request_timeout: float | None,
        fail_fast_after: int | None,
    ):
        self.backend, self.store, self.max_retries = backend, store, max_retries
        self.pacer, self.backoff, self.request_timeout = pacer, backoff, request_timeout
        self.spec = display_spec(backend)  # enters store keys and rows: never a credential
        self.options = getattr(backend, "key_options", None) or None
        self.by_id = bool(getattr(backend, "key_includes_request_id", False))
        self.health = EndpointHealth(self.spec, fail_fast_after)
        self.failures_logged = 0

    def key(self, request: Request) -> str:
        request_id = request.id if self.by_id else None
        return request_key(
            self.spec, request.messages, request.params, backend_options=self.options, request_id=request_id
        )

    async def run(
        self,
        requests: Iterator[Request],
        total: int | None,
        concurrency: int,
        progress: bool,
        description: str,
    ) -> list[Result]:
        limit = max(1, min(concurrency, self.backend.max_concurrency or concurrency))
        if total is not None:
            limit = min(limit, max(total, 1))
        results: list[Result | None] = []
        # key -> (index, id) of the requests waiting for the call of that key (identical ones share it)
        waiting: dict[str, list[tuple[int, str]]] = {}
        # key -> index of its final result, for a later identical request to share. Only failures
        # (and everything when there is no store): a success is in the store, where the later
        # request finds it, so the job keeps no key per finished request.
        settled: dict[str, int] = {}
        queue: asyncio.Queue[tuple[str, Request] | None] = asyncio.Queue(maxsize=limit)

        async def produce() -> None:
            while chunk := list(islice(requests, CHUNK)):
                keyed = [(self.key(request), request) for request in chunk]
                del chunk
                fresh = [key for key, _ in keyed if key not in waiting and key not in settled]
                stored = self.store.lookup(fresh) if self.store is not None and fresh else {}
                # Sort the chunk out with no await in between, so no call can finish meanwhile: every
                # key is then waiting, settled, or (a success) in the store for the chunks after.
                calls: deque[tuple[str, Request]] = deque()
                served = 0
                for key, request in keyed:
                    index = len(results)
                    if key in waiting:
                        results.append(None)
                        waiting[key].append((index, request.id))
                    elif key in settled:
                        first = results[settled[key]]
                        assert first is not None
                        results.append(Result(request.id, first.completion, first.error, 0, True))
                        bar.advance(1, failed=0 if first.error is None else 1)
                    elif (row := stored.get(key)) is not None and row.ok:
                        results.append(Result(request.id, row.completion, None, 0, cached=True))
                        served += 1
                    else:
                        results.append(None)
                        waiting[key] = [(index, request.id)]
                        calls.append((key, request))
                del keyed
                if served:
                    bar.advance(served, cached=served)
                while calls:
                    await queue.put(calls.popleft())  # waits while `limit` calls are queued
                # A put into a queue with room does not yield: let the workers send this chunk's
                # calls before the next chunk is keyed (the first call goes out a chunk sooner).
                await asyncio.sleep(0)
            for _ in range(limit):
                await queue.put(None)

        # Results are recorded deferred and committed by `flush_store` on the loop's next turn:
        # the calls that finished in one turn (at 256 in flight, often dozens) share a transaction.
        # A worker takes its next request only once its result is committed, so a crash repeats
        # at most the calls in flight, as with a commit per call.
        flushing = asyncio.Event()
        working = [limit]
        committed = [asyncio.get_running_loop().create_future()]  # resolved by the next flush

        async def work() -> None:
            while (item := await queue.get()) is not None:
                key, request = item
                result = await self.call(request)
                self.record(key, request, result)
                flushing.set()
                sharing = waiting.pop(key)
                results[sharing[0][0]] = result
                for index, request_id in sharing[1:]:  # identical requests share the call
                    results[index] = Result(request_id, result.completion, result.error, 0, True)
                if self.store is None or result.error is not None:
                    settled[key] = sharing[0][0]
                bar.advance(len(sharing), failed=len(sharing) if result.error else 0)
                if self.store is not None:
                    await committed[0]
            working[0] -= 1
            flushing.set()

        async def flush_store(store: Store) -> None:
            while working[0]:
                await flushing.wait()
                flushing.clear()
                done, committed[0] = committed[0], asyncio.get_running_loop().create_future()
                store.flush()
                done.set_result(None)

        with Progress(total, description, enabled=progress) as bar:
            tasks = [asyncio.ensure_future(produce())] + [asyncio.ensure_future(work()) for _ in range(limit)]
            if self.store is not None:
                tasks.append(asyncio.ensure_future(flush_store(self.store)))
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                # A dead endpoint, bad input from the requests' iterable, or Ctrl-C: stop every call
                # in flight, and commit the finished ones (unless the store itself is what failed).
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                if self.store is not None:
                    with contextlib.suppress(StorageError):
                        self.store.flush()
                raise
        if self.failures_logged > LOGGED_FAILURES:
            logger.warning("%d more request(s) failed", self.failures_logged - LOGGED_FAILURES)
        # Every slot is filled by now: a call's result goes to each request that waited on it.
        finished = [result for result in results if result is not None]
        assert len(finished) == len(results), "a request was left without a result"
        return finished

    async def call(self, request: Request) -> Result:
        """One request with its retries."""
        attempts = 0
        while True:
            attempts += 1
            await self.pacer.wait()
            token = current_request_id.set(request.id)
            failure: BackendError | None = None
            self.health.calls += 1
            try:
                if self.request_timeout is None:
                    completion = await self.backend.generate(request.messages, request.params)
                else:
                    completion = await asyncio.wait_for(
                        self.backend.generate(request.messages, request.params), self.request_timeout
                    )
                if not isinstance(getattr(completion, "text", None), str):
                    # Never a success: a completion without text would be stored and served as an answer.
                    raise BackendError(f"{type(self.backend).__name__} returned no text", retryable=True)
                self.health.responded()
                return Result(request.id, completion, None, attempts)
            except BackendError as exc:
                error, retryable, retry_after = str(exc) or type(exc).__name__, exc.retryable, exc.retry_after
                failure = exc
            except asyncio.TimeoutError:
                error, retryable, retry_after = f"no answer within {self.request_timeout:g} s", True, None
            except Exception as exc:  # a backend bug or bad input: record it, keep the run going
                error, retryable, retry_after = f"{type(exc).__name__}: {exc}", False, None
            finally:
                current_request_id.reset(token)
            if failure is not None:
                self.health.attempt_failed(failure)  # raises EndpointUnavailable to stop the job
            if not retryable or attempts > self.max_retries:
                self.log_failure(request, attempts, error)
                if failure is not None:
                    self.health.request_failed(failure)
                return Result(request.id, None, error, attempts)
            if retry_after is not None:
                self.pacer.pause(min(retry_after, self.backoff.max_retry_after))
            delay = self.backoff.delay(attempts, retry_after)
            logger.debug("request %s: %s; retry %d in %.3f s", request.id, error, attempts, delay)
            await self.backoff.sleep(delay)

    def log_failure(self, request: Request, attempts: int, error: str) -> None:
        self.failures_logged += 1
        if self.failures_logged <= LOGGED_FAILURES:
            logger.warning("request %s failed after %d attempt(s): %s", request.id, attempts, error)
        if self.failures_logged == LOGGED_FAILURES:
            logger.warning("further failures are counted, not logged one by one (their errors are stored)")

    def record(self, key: str, request: Request, result: Result) -> None:
        if self.store is None:
            return
        if result.completion is not None:
            self.store.record_success(
                key, request.id, self.spec, result.completion, result.attempts, defer=True
            )
        else:
            self.store.record_failure(
                key, request.id, self.spec, result.error or "", result.attempts, defer=True
            )
