"""Micro-batching: concurrent async calls collected for a few milliseconds and run as one batch.

A local model answers a padded batch of prompts in about the time of one, so
:class:`MicroBatcher` queues the requests of concurrent ``generate()`` calls,
waits ``wait_s`` for more to arrive (up to ``max_batch_size``), groups them by a
key (requests whose parameters cannot share a ``generate()`` call go into
different groups) and hands each group to a blocking ``run_batch`` function in
a worker thread, so the event loop stays free.

``run_batch(items)`` returns one result per item, in order: a value, or an
exception instance to raise for that item alone. One batcher serves one event
loop at a time; used from a new loop (``asyncio.run`` twice), it starts afresh.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

__all__ = ["MicroBatcher"]

Item = TypeVar("Item")

#: Returned by a key function for items that must run alone.
ALONE = object()


class MicroBatcher(Generic[Item]):
    """Collect concurrent requests into batches for a blocking batch function.

    Args:
        run_batch: Blocking function answering a list of items, one result (or exception) per item.
        key: Items with equal keys may share a batch; return :data:`ALONE` for an item that must run alone.
        max_batch_size: Most items per batch.
        wait_s: How long the first item of a batch waits for company.
    """

    def __init__(
        self,
        run_batch: Callable[[list[Item]], Sequence[Any]],
        *,
        key: Callable[[Item], Hashable] = lambda item: None,
        max_batch_size: int = 8,
        wait_s: float = 0.005,
    ):
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self.run_batch = run_batch
        self.key = key
        self.max_batch_size = max_batch_size
        self.wait_s = wait_s
        self.batch_sizes: list[int] = []  # sizes of the batches run, for tests and diagnostics
        #: Held while a batch runs (one at a time, even across event loops); hold it to run anything
        #: else on the same model (HFBackend.stream does).
        self.lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Any]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._running: list[asyncio.Future[Any]] = []  # futures of the batch now in the worker thread

    async def submit(self, item: Item) -> Any:
        """Queue ``item`` and wait for its result (raising its exception, if it got one)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._worker is None or self._worker.done():
            self._loop, self._queue = loop, asyncio.Queue()
            self._worker = loop.create_task(self._work(), name="mmrole-microbatcher")
        future: asyncio.Future[Any] = loop.create_future()
        assert self._queue is not None
        self._queue.put_nowait((item, future))
        return await future

    async def aclose(self) -> None:
        """Stop the worker; requests still queued are cancelled."""
        worker, self._worker = self._worker, None
        if worker is not None and not worker.done():
            worker.cancel()
            try:
                await worker
            except asyncio.CancelledError:
                pass
        for future in self._running:
            future.cancel()
        if self._queue is not None:
            while not self._queue.empty():
                self._queue.get_nowait()[1].cancel()

    async def _collect(self) -> list[tuple[Item, asyncio.Future[Any]]]:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        batch = [await self._queue.get()]
        deadline = loop.time() + self.wait_s
        while len(batch) < self.max_batch_size:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except asyncio.TimeoutError:
                break
        return batch

    def _groups(
        self, batch: list[tuple[Item, asyncio.Future[Any]]]
    ) -> list[list[tuple[Item, asyncio.Future[Any]]]]:
        groups: dict[Hashable, list[tuple[Item, asyncio.Future[Any]]]] = {}
        alone: list[list[tuple[Item, asyncio.Future[Any]]]] = []
        for entry in batch:
            if entry[1].done():  # cancelled while queued
                continue
            group_key = self.key(entry[0])
            if group_key is ALONE:
                alone.append([entry])
            else:
                groups.setdefault(group_key, []).append(entry)
        return [*groups.values(), *alone]

    def _run_locked(self, items: list[Item]) -> Sequence[Any]:
        with self.lock:
            return self.run_batch(items)

    async def _work(self) -> None:
        while True:
            for group in self._groups(await self._collect()):
                items = [item for item, _ in group]
                self.batch_sizes.append(len(items))
                self._running = [future for _, future in group]
                try:
                    results: Sequence[Any] = await asyncio.to_thread(self._run_locked, items)
                    if len(results) != len(items):
                        raise RuntimeError(
                            f"batch function returned {len(results)} results for {len(items)} items"
                        )
                except Exception as exc:  # the worker must outlive any one batch
                    results = [exc] * len(items)
                for (_, future), result in zip(group, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
