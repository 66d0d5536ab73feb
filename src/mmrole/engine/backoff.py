"""Retry delays and call pacing: exponential backoff with jitter, requests per minute, Retry-After."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["Backoff", "Pacer", "Sleep"]

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Backoff:
    """Retry delays: ``base * 2**(retry-1)`` capped at ``max_delay``, with equal jitter.

    ``sleep`` and ``clock`` are injectable so tests run without real waiting.
    """

    base_delay: float = 1.0
    max_delay: float = 60.0
    #: Longest Retry-After honoured (a server asking for hours is treated as asking for this).
    max_retry_after: float = 300.0
    sleep: Sleep = asyncio.sleep
    clock: Callable[[], float] | None = None
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, retry: int, retry_after: float | None) -> float:
        cap = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        delay = cap / 2 + self.rng.uniform(0, cap / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay

    def now(self) -> float:
        return self.clock() if self.clock is not None else asyncio.get_running_loop().time()


class Pacer:
    """Spaces call starts: at most ``rpm`` per minute, and none while a Retry-After pause holds."""

    def __init__(self, rpm: float | None, backoff: Backoff):
        self.interval = 60.0 / rpm if rpm else 0.0
        self.backoff = backoff
        self.next_slot = 0.0
        self.paused_until = 0.0

    async def wait(self) -> None:
        if self.interval:
            now = self.backoff.now()
            slot = max(now, self.next_slot)
            self.next_slot = (
                slot + self.interval
            )  # reserve before sleeping: concurrent waiters get later slots
            if slot > now:
                await self.backoff.sleep(slot - now)
        while self.paused_until and self.paused_until > (now := self.backoff.now()):
            await self.backoff.sleep(self.paused_until - now)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.backoff.now() + seconds)
