"""The micro-batcher behind HFBackend: batching, grouping, per-item errors, event loops."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mmrole.models.microbatch import ALONE, MicroBatcher


def doubling(items: list[int]) -> list[int]:
    return [item * 2 for item in items]


async def submit_all(batcher: MicroBatcher, items: list) -> list:
    return await asyncio.gather(*(batcher.submit(item) for item in items), return_exceptions=True)


def test_concurrent_submissions_run_as_batches_off_the_event_loop():
    threads: set[str] = set()

    def run_batch(items):
        threads.add(threading.current_thread().name)
        return doubling(items)

    batcher = MicroBatcher(run_batch, max_batch_size=4, wait_s=0.05)
    assert asyncio.run(submit_all(batcher, list(range(10)))) == [2 * i for i in range(10)]
    assert batcher.batch_sizes == [4, 4, 2]
    assert threading.main_thread().name not in threads


def test_items_with_different_keys_never_share_a_batch():
    seen: list[list[int]] = []

    def run_batch(items):
        seen.append(items)
        return doubling(items)

    batcher = MicroBatcher(run_batch, key=lambda item: ALONE if item == 0 else item % 2, wait_s=0.05)
    assert asyncio.run(submit_all(batcher, [0, 1, 2, 3, 4, 5])) == [0, 2, 4, 6, 8, 10]
    assert sorted(map(sorted, seen)) == [[0], [1, 3, 5], [2, 4]]


def test_an_exception_result_fails_only_its_item_and_a_crash_fails_its_batch():
    def run_batch(items):
        if 99 in items:
            raise RuntimeError("the whole batch broke")
        return [ValueError(f"bad {item}") if item < 0 else item for item in items]

    batcher = MicroBatcher(run_batch, wait_s=0.05)
    ok, failed = asyncio.run(submit_all(batcher, [1, -1]))
    assert ok == 1 and isinstance(failed, ValueError) and str(failed) == "bad -1"
    crashed = asyncio.run(submit_all(batcher, [99, 2]))
    assert all(isinstance(result, RuntimeError) for result in crashed)
    assert asyncio.run(batcher.submit(3)) == 3  # the worker survived


def test_wrong_number_of_results_is_an_error():
    batcher = MicroBatcher(lambda items: [], wait_s=0)
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        asyncio.run(batcher.submit(1))


def test_a_cancelled_request_is_skipped():
    ran: list[int] = []
    gate = threading.Event()

    def run_batch(items):
        gate.wait(2)
        ran.extend(items)
        return doubling(items)

    batcher = MicroBatcher(run_batch, max_batch_size=1, wait_s=0)

    async def scenario():
        first = asyncio.ensure_future(batcher.submit(1))
        await asyncio.sleep(0.01)  # 1 is now running in the worker thread
        second = asyncio.ensure_future(batcher.submit(2))
        await asyncio.sleep(0.01)
        second.cancel()
        gate.set()
        return await first, await batcher.submit(3)

    assert asyncio.run(scenario()) == (2, 6)
    assert ran == [1, 3]


def test_successive_event_loops_and_close():
    batcher = MicroBatcher(doubling, wait_s=0)
    assert asyncio.run(batcher.submit(1)) == 2
    assert asyncio.run(batcher.submit(2)) == 4

    async def close_then_submit():
        assert await batcher.submit(3) == 6
        await batcher.aclose()
        return await batcher.submit(4)  # a closed batcher restarts on demand

    assert asyncio.run(close_then_submit()) == 8
    with pytest.raises(ValueError):
        MicroBatcher(doubling, max_batch_size=0)
