"""How a job's model calls run: one object, the same on every command that calls models.

    engine = EngineOptions(concurrency=8, rpm=500, progress=False)
    summary = await answer_dataset("openai:gpt-4o", "demo", "runs/x", engine=engine)

Every field is also an option of ``mmrole answer``, ``judge``, ``eval``, ``feedback`` and ``align``
(``--concurrency``, ``--max-retries``, ``--rpm``, ``--timeout``, ``--max-failures``,
``--progress/--no-progress``). None of them changes an answer, so none enters a cache key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mmrole.engine.failures import MaxFailures
from mmrole.errors import ConfigError
from mmrole.options import option

__all__ = ["MAX_FAILURES_HELP", "EngineOptions"]

#: ``--max-failures``, the same on every command that runs model calls through the engine.
MAX_FAILURES_HELP = (
    "Exit 1 when more than N items failed (an integer), or more than this share of them (a fraction "
    "between 0 and 1, e.g. 0.05). Default 0: any failure. The job always finishes and keeps everything."
)


@dataclass(frozen=True)
class EngineOptions:
    """Concurrency, retries, rate limit, timeout, allowed failures and progress bars of a job.

    Attributes:
        concurrency: Calls in flight at most (also capped by the backend's ``max_concurrency``).
        max_retries: Retries per call after its first attempt, on 429, 5xx, timeouts and dropped
            connections.
        rpm: At most this many call starts per minute (retries included); None: no limit.
        timeout: Give up on one attempt after this many seconds (retried like any timeout); None
            leaves it to the backend's own timeout (``openai:``: 120 s, ``--agent-arg timeout=...``).
        max_failures: Failed items the job may have and still succeed: a count (``"3"``) or a share
            (``"0.05"``); None: the command's default (0 on the command line; ``align`` from Python
            never stops). Checked by the commands at the end of each stage, never inside the engine.
        progress: Show progress bars (on stderr).
    """

    concurrency: int = option(32, "Calls in flight at most.", min=1)
    max_retries: int = option(5, "Retries per call on 429, 5xx, timeouts, dropped connections.", min=0)
    rpm: float | None = option(None, "At most this many requests per minute.", min=0.1)
    timeout: float | None = option(
        None,
        "Give up on one attempt of a call after this many seconds (it is retried); default: the "
        "backend's own timeout (openai: 120 s; set it with --agent-arg/--judge-arg timeout=SECONDS).",
        min=0.001,
    )
    max_failures: str | None = option("0", MAX_FAILURES_HELP, metavar="N|FRACTION")
    progress: bool = option(True, "Show progress bars.")

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.max_retries < 0:
            raise ConfigError("--concurrency must be at least 1 and --max-retries at least 0")
        if (self.rpm is not None and self.rpm <= 0) or (self.timeout is not None and self.timeout <= 0):
            raise ConfigError("--rpm and --timeout must be positive")
        self.allowed_failures()  # a bad --max-failures is one line before the job starts

    def allowed_failures(self) -> MaxFailures:
        """``max_failures`` parsed (None allows none)."""
        return MaxFailures.parse(self.max_failures)

    def run_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`mmrole.engine.run_requests` these options set."""
        return {
            "concurrency": self.concurrency,
            "max_retries": self.max_retries,
            "rpm": self.rpm,
            "request_timeout": self.timeout,
            "progress": self.progress,
        }

    def to_dict(self) -> dict[str, Any]:
        """What run.json records (operational settings: recorded, never compared)."""
        return {
            "concurrency": self.concurrency,
            "max_retries": self.max_retries,
            "rpm": self.rpm,
            "timeout": self.timeout,
        }
