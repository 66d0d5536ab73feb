"""How AutoRPEval's stages call models: every call through the engine, with the run's store.

:class:`Calls` sends one batch of requests with :func:`mmrole.engine.run_requests` (concurrency,
retries, rate limit, progress; the store serves finished calls, so a rerun or a resumed run makes
no call twice) and counts the calls made. :class:`Seats` loads each model spec once, so one model
in several seats (``demo`` as agent, simulator and evaluator) is loaded once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mmrole.engine import Request, Result, Store, run_requests
from mmrole.models.base import Backend

__all__ = ["Calls", "Seats"]


@dataclass
class Calls:
    """Batches of requests through the engine.

    Attributes:
        store: The run's store (None keeps nothing).
        engine: ``run_requests`` options: concurrency, max_retries, rpm, progress.
        made: Calls made so far (not served from the store).
    """

    store: Store | None
    engine: dict[str, Any] = field(default_factory=dict)
    made: int = 0

    async def run(self, backend: Backend, requests: Sequence[Request], description: str) -> list[Result]:
        if not requests:
            return []
        results = await run_requests(
            backend, list(requests), self.store, description=description, total=len(requests), **self.engine
        )
        self.made += sum(1 for result in results if not result.cached)
        return results


class Seats:
    """The models of a job, each spec loaded once (instances are used as given, never closed here)."""

    def __init__(self) -> None:
        self._owned: dict[str, Backend] = {}

    def get(self, model: str | Backend, options: Mapping[str, Any] | None = None) -> Backend:
        """The backend of a spec (with these backend options), loaded on first use."""
        if not isinstance(model, str):
            return model
        key = json.dumps([model, sorted((options or {}).items())], default=str)
        if key not in self._owned:
            from mmrole.models.registry import load_backend

            self._owned[key] = load_backend(model, **dict(options or {}))
        return self._owned[key]

    async def aclose(self) -> None:
        for backend in self._owned.values():
            await backend.aclose()
        self._owned.clear()
