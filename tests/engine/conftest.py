"""A scripted in-process backend and a no-wait backoff for engine tests."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from mmrole.engine import Backoff
from mmrole.models.base import Backend, Completion, GenerationParams, Message, current_request_id


class ScriptedBackend(Backend):
    """Answers ``answer <id>``; ``script[id]`` lists what its 1st, 2nd... attempts raise first.

    Counts calls per request id and the peak number of calls in flight.
    """

    spec = "scripted:test"

    def __init__(self, script: dict[str, list[Exception]] | None = None, delay: float = 0.0):
        self.script = script or {}
        self.delay = delay
        self.calls: Counter[str] = Counter()
        self.in_flight = 0
        self.peak = 0

    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        request_id = current_request_id.get()
        assert request_id is not None, "the engine must set the request id"
        self.calls[request_id] += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        planned = self.script.get(request_id, [])
        attempt = self.calls[request_id]
        if attempt <= len(planned):
            raise planned[attempt - 1]
        return Completion(text=f"answer {request_id}")


class RecordedSleep:
    """An injectable sleep and clock: sleeping records the delay and moves virtual time, at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@pytest.fixture
def scripted() -> type[ScriptedBackend]:
    return ScriptedBackend


@pytest.fixture
def recorded_sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def fast_backoff(recorded_sleep: RecordedSleep) -> Backoff:
    return Backoff(base_delay=0.5, max_delay=4.0, sleep=recorded_sleep, clock=recorded_sleep.clock)
