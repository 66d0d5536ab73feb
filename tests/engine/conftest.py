"""The engine tests' scripted backend (mmrole.testing.ScriptedBackend) and a no-wait backoff."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from mmrole.engine import Backoff
from mmrole.testing import Call, ScriptedBackend


def engine_backend(script: dict[str, list[Exception]] | None = None, delay: float = 0.0) -> ScriptedBackend:
    """Answers ``answer <id>``; ``script[id]`` lists what its 1st, 2nd... attempts raise first."""
    return ScriptedBackend(script or {}, default=_answer, spec="scripted:test", delay=delay)


def _answer(call: Call) -> str:
    assert call.request_id is not None, "the engine must set the request id"
    return f"answer {call.request_id}"


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
def scripted() -> Callable[..., ScriptedBackend]:
    return engine_backend


@pytest.fixture
def recorded_sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def fast_backoff(recorded_sleep: RecordedSleep) -> Backoff:
    return Backoff(base_delay=0.5, max_delay=4.0, sleep=recorded_sleep, clock=recorded_sleep.clock)
