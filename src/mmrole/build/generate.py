"""The generator layer every build stage shares: options, calls through the engine, format
retries and the failures file (reading a reply is :mod:`mmrole.build.replies`).

A stage turns its work into :class:`Task` objects (a key naming the item, the chat messages, a parser
of the reply) and hands them to :func:`run_tasks`, which sends them through
:func:`mmrole.engine.run_requests` with the data root's store (``<root>/.build/store.sqlite``): a
finished call is never made again, so a stage killed at any point (``kill -9`` included) and run
again makes only the calls it had not finished. A reply its parser refuses
(:class:`~mmrole.build.replies.ReplyError`, with a short reason such as ``"not valid JSON"``) is
asked again as a *new* request whose user text ends with a format reminder naming the reason (as
:mod:`mmrole.eval.judge` does), up to ``format_retries`` times; after that the item is failed.
Failed items are written with their reason and last reply to
``<root>/.build/failures/<stage>.jsonl`` and never to the dataset.

Because every reply is kept in the store, a rerun reproduces the same replies, the same refusals and
the same failures without calls; ``--format-retries`` higher than before asks the failed items again
(new attempts), and a call that failed on the transport (no reply) is retried on every rerun.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from mmrole.build.replies import ReplyError
from mmrole.build.stage import StageSummary
from mmrole.engine.options import EngineOptions
from mmrole.models.base import Backend, Completion, GenerationParams, Message
from mmrole.prompts.build_common import format_reminder
from mmrole.prompts.build_steps import plain_reminder

T = TypeVar("T")

#: Where a data root keeps what building it needs besides the dataset (store, failures, lock).
BUILD_FOLDER = ".build"
#: Characters of a refused reply kept in the failures file (enough to see what went wrong).
REPLY_KEPT = 4000
#: ``--generation``: the whole item in one JSON reply, or one plain-text call per section or turn.
GENERATION_MODES: tuple[str, ...] = ("whole", "stepwise")


@dataclass
class GeneratorOptions:
    """Options every generating stage takes (its own options dataclass adds the stage's)."""

    root: Path = field(
        metadata={"help": "The MMRole-Data root to build (read and written).", "argument": True}
    )
    generator: str = field(
        metadata={
            "help": "Generator model spec: openai:MODEL, openai:MODEL@URL, hf:PATH or demo (in Python also a Backend).",
            "required": True,
        }
    )
    overwrite: bool = field(
        default=False,
        metadata={"help": "Rebuild items already built (replies cached in the store are reused)."},
    )
    limit: int | None = field(default=None, metadata={"help": "Build only the first N items of the stage."})
    seed: int = field(
        default=0, metadata={"help": "Seed of every random choice of the stage (and the sampling seed)."}
    )
    max_tokens: int = field(default=2048, metadata={"help": "Longest reply, in tokens."})
    temperature: float = field(default=0.7, metadata={"help": "Sampling temperature of the generator."})
    prefill: str | None = field(
        default=None,
        metadata={"help": "Text the generator's reply is made to start with (for small models)."},
    )
    format_retries: int = field(
        default=2, metadata={"help": "Re-asks, with a format reminder, of a reply that cannot be used."}
    )
    generation: Literal["whole", "stepwise"] = field(
        default="whole",
        metadata={
            "help": "whole: one call writes a profile or a dialogue as JSON; stepwise: one call per "
            "profile section or dialogue turn, as plain text, the structure fixed by the pipeline "
            "(for small local models that cannot write the JSON). Profiles and dialogues only.",
        },
    )
    engine: EngineOptions = field(
        default_factory=EngineOptions,
        metadata={
            "help": "How the model calls run.",
            "only": ("concurrency", "max_retries", "rpm", "max_failures", "progress"),
        },
    )

    @staticmethod
    def preset(given: dict[str, Any]) -> dict[str, Any]:
        """The values the options not in ``given`` take (by field name, nested dicts for nested
        options): the demo generator's settings (:mod:`mmrole.build.presets`), else none."""
        from mmrole.build.presets import generator_preset

        return generator_preset(given.get("generator"))

    @property
    def stepwise(self) -> bool:
        return self.generation == "stepwise"

    def params(self, attempt: int) -> GenerationParams:
        """Sampling parameters of one attempt (the draw keeps repeated reminders' cache keys apart)."""
        return GenerationParams(
            max_tokens=self.max_tokens, temperature=self.temperature, seed=self.seed, draw=attempt
        )

    def check(self) -> None:
        """Refuse impossible settings before any work (one line each)."""
        from mmrole.errors import ConfigError

        if self.max_tokens < 1:
            raise ConfigError("--max-tokens must be at least 1")
        if self.format_retries < 0:
            raise ConfigError("--format-retries must be 0 or more")
        if self.limit is not None and self.limit < 1:
            raise ConfigError("--limit must be at least 1")
        if self.generation not in GENERATION_MODES:
            raise ConfigError(f"--generation {self.generation!r}: choose from {', '.join(GENERATION_MODES)}")
        self.engine.allowed_failures()


@dataclass(frozen=True)
class Task(Generic[T]):
    """One item to generate.

    Attributes:
        key: The item's stable name (``Iron Man``, ``The_Avengers/01.jpg``, a dialogue id).
        messages: The chat messages of its first request.
        parse: Reads a reply's text (prefill included) into the item; raises :class:`ReplyError`.
        language: The language of the format reminder.
        plain: A plain-text step (stepwise generation): its reminder asks for plain text and goes
            first, so the request still ends with the label the reply continues (``Name:``).
    """

    key: str
    messages: list[Message]
    parse: Callable[[str], T]
    language: str = "English"
    plain: bool = False


@dataclass
class Outcome(Generic[T]):
    """What became of one task: its value, or why it failed."""

    key: str
    value: T | None = None
    reason: str | None = None
    detail: str = ""
    reply: str = ""
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.value is not None

    def failure_record(self, stage: str) -> dict[str, Any]:
        return {
            "stage": stage,
            "key": self.key,
            "reason": self.reason,
            "detail": self.detail,
            "attempts": self.attempts,
            "reply": self.reply[:REPLY_KEPT],
        }


class BuildFolder:
    """``<root>/.build/``: the store, the failures files and the lock of a data root's build."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.path = self.root / BUILD_FOLDER

    @property
    def store_path(self) -> Path:
        return self.path / "store.sqlite"

    def failures_path(self, stage: str) -> Path:
        return self.path / "failures" / f"{stage}.jsonl"

    def lock(self) -> Any:
        """Hold the root for this process (a second build of the same root is refused)."""
        from mmrole.run_lock import FolderLock

        return FolderLock(self.path, self.path / ".lock")

    def record_failures(self, stage: str, processed: Iterable[str], failed: Iterable[Outcome[Any]]) -> Path:
        """Rewrite the stage's failures file: entries of the items processed now are replaced by
        this run's failures; entries of other items (an earlier run with other filters) are kept."""
        from mmrole.data.jsonio import iter_jsonl
        from mmrole.files import write_jsonl

        path = self.failures_path(stage)
        done = set(processed)
        kept = [record for _, record in iter_jsonl(path)] if path.exists() else []
        records = [r for r in kept if r.get("key") not in done] + [o.failure_record(stage) for o in failed]
        if records or path.exists():
            write_jsonl(path, records)
        return path


def with_reminder(messages: list[Message], reminder: str, *, first: bool = False) -> list[Message]:
    """``messages`` with ``reminder`` appended to (``first``: put before) the last user message's
    text (a new request)."""
    copied = [dict(message) for message in messages]
    for message in reversed(copied):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            message["content"] = f"{reminder}\n\n{content}" if first else f"{content}\n\n{reminder}"
        elif first:
            parts = list(content or [])
            where = next((n for n, part in enumerate(parts) if part.get("type") == "text"), len(parts))
            message["content"] = [*parts[:where], {"type": "text", "text": reminder}, *parts[where:]]
        else:
            message["content"] = [*(content or []), {"type": "text", "text": reminder}]
        break
    return copied


def _attempt_messages(
    task: Task[Any], attempt: int, reason: str | None, prefill: str | None
) -> list[Message]:
    messages = task.messages
    if attempt and reason and task.plain:
        messages = with_reminder(messages, plain_reminder(reason, task.language), first=True)
    elif attempt and reason:
        messages = with_reminder(messages, format_reminder(reason, task.language))
    if prefill:
        messages = [*messages, {"role": "assistant", "content": prefill}]
    return messages


def _read(task: Task[T], completion: Completion, prefill: str | None, outcome: Outcome[T]) -> bool:
    """Fill ``outcome`` from a reply; False when the parser refused it.

    A reply that reached the token limit is used when it parses all the same (a whole JSON object
    followed by rambling); when it does not, the limit is the reason given.
    """
    text = (prefill or "") + completion.text
    outcome.reply = text
    try:
        outcome.value, outcome.reason, outcome.detail = task.parse(text), None, ""
        return True
    except ReplyError as err:
        outcome.value, outcome.reason, outcome.detail = None, err.reason, err.detail
        if completion.finish_reason == "length":
            outcome.reason = "cut off at the token limit"
            outcome.detail = f"the reply reached --max-tokens ({err})"
        return False


@asynccontextmanager
async def open_generator(spec: Backend | str) -> AsyncIterator[Backend]:
    """The generator backend; one loaded from a spec is closed at the end."""
    from mmrole.models.registry import load_backend

    backend = load_backend(spec)
    try:
        yield backend
    finally:
        if isinstance(spec, str):
            await backend.aclose()


async def run_tasks(
    backend: Backend,
    tasks: Sequence[Task[T]],
    *,
    folder: BuildFolder,
    stage: str,
    options: GeneratorOptions,
    summary: StageSummary,
) -> dict[str, Outcome[T]]:
    """Generate every task through the engine, with format retries; returns outcomes by key.

    ``summary.calls`` grows by the calls made (store hits excluded). The failures file is not
    written here (a stage may run several rounds of tasks): see :meth:`BuildFolder.record_failures`.

    Raises:
        EndpointUnavailable: The generator cannot be reached or rejects the key (finished calls are kept).
    """
    from mmrole.engine import Request, Store, run_requests

    outcomes = {task.key: Outcome[T](task.key) for task in tasks}
    pending = list(tasks)
    with Store(folder.store_path) as store:
        for attempt in range(options.format_retries + 1):
            if not pending:
                break
            requests = (
                Request(
                    f"{stage}:{task.key}" + (f"#retry{attempt}" if attempt else ""),
                    _attempt_messages(task, attempt, outcomes[task.key].reason, options.prefill),
                    options.params(attempt),
                )
                for task in pending
            )
            results = await run_requests(
                backend,
                requests,
                store,
                **options.engine.run_kwargs(),
                description=stage if attempt == 0 else f"{stage}: format reminder {attempt}",
                total=len(pending),
            )
            retry = []
            for task, result in zip(pending, results, strict=True):
                outcome = outcomes[task.key]
                outcome.attempts += 1
                summary.calls += 0 if result.cached else 1
                if result.completion is None:  # the engine already retried the transport
                    outcome.reason, outcome.detail = "request failed", result.error or ""
                elif not _read(task, result.completion, options.prefill, outcome):
                    retry.append(task)
            pending = retry
    return outcomes


def tally(summary: StageSummary, outcomes: Iterable[Outcome[Any]]) -> list[Outcome[Any]]:
    """Count the failed outcomes into ``summary`` (failed, reasons); returns them."""
    failed = [outcome for outcome in outcomes if not outcome.ok]
    summary.failed += len(failed)
    summary.reasons.update(outcome.reason or "failed" for outcome in failed)
    return failed


def check_failures(options: GeneratorOptions, summary: StageSummary, where: Path) -> None:
    """Raise TooManyFailures (exit 1) when the stage failed more of the items it generated (kept
    or failed) than ``--max-failures`` allows; ``where`` is the failures file named in the message."""
    total = summary.kept + summary.failed
    options.engine.allowed_failures().check(summary.failed, total, f"{summary.stage} items", str(where))


def run_sync(coroutine: Any) -> Any:
    """Run a stage's coroutine from synchronous code."""
    return asyncio.run(coroutine)
