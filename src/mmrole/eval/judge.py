"""MMRole-Eval judging of a run's answers through the engine.

For each answered sample and each chosen metric the judge gets the sample's image and
MMRole's reward-model texts (:mod:`mmrole.prompts.judge`) comparing Model A (the MRPA's
answer) with Model B (the reference), and replies ``..., [Scores]: (a, b)``.

Requests go through :func:`mmrole.engine.run_requests` with the run's ``store.sqlite``,
so judging inherits the engine's guarantees: transport faults are retried, failures are
recorded (never cached as successes), a rerun answers from the store and makes no calls,
and a killed run resumes without repeating finished calls.

A reply without a usable score pair is asked again, up to ``format_retries`` times, as a
*new* request whose user text ends with a format reminder (different messages, so a
different cache key); after that it is recorded as failed. Samples without an answer are
not judged (MMRole leaves empty answers unreviewed) and count as missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from mmrole.errors import ConfigError
from mmrole.eval import results as run_results
from mmrole.eval.logprob import expected_pair
from mmrole.eval.parse import locate_scores
from mmrole.models.base import Backend, GenerationParams, Message
from mmrole.prompts.judge import JUDGE_SYSTEM, judge_user_text, with_format_reminder
from mmrole.schema import METRICS, Sample

Scoring = Literal["sampled", "logprob"]
#: Orders: ``AB`` puts the MRPA as Model A (MMRole's setting); ``BA`` swaps the two.
ORDERS_DEFAULT, ORDERS_SWAP = ("AB",), ("AB", "BA")
#: Retries beyond the first reminder reuse its messages; the draw index keeps their cache keys apart.
_RETRY_DRAW_STRIDE = 1000


@dataclass(frozen=True)
class JudgeOptions:
    """How to judge. The defaults reproduce MMRole-Eval.

    Attributes:
        metrics: The metrics to judge (default: all eight).
        swap: Also judge with the answers swapped (reference as Model A) and combine both
            orders, so a position bias adds the same to both sides.
        repeats: Judge each (sample, metric, order) this many times (distinct draws).
        scoring: ``sampled`` reads the written scores (MMRole); ``logprob`` takes the
            expected score over the judge's top alternatives 1..10 at each score token.
        max_tokens: Judge reply length cap.
        temperature: Judge sampling temperature.
        top_logprobs: Alternatives per token asked for in logprob scoring.
        format_retries: Re-asks (with a format reminder) of a reply without a score pair.
        missing_image: ``error`` stops on a sample whose image file is absent; ``omit``
            judges it without the image (MMRole's released test images are not shipped).
        max_image_side: Downscale images so their longer side is at most this.
        prefill: Text the judge's reply is made to start with (an assistant message the
            backend continues), e.g. ``[Scores]: (`` for tiny judges; not MMRole's setting.
    """

    metrics: tuple[str, ...] = METRICS
    swap: bool = False
    repeats: int = 1
    scoring: Scoring = "sampled"
    max_tokens: int = 512
    temperature: float = 0.0
    top_logprobs: int = 20
    format_retries: int = 2
    missing_image: Literal["error", "omit"] = "error"
    max_image_side: int | None = None
    prefill: str | None = None

    def __post_init__(self) -> None:
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown or not self.metrics:
            raise ConfigError(f"unknown metric(s) {unknown}; choose from: {', '.join(METRICS)}")
        if self.repeats < 1:
            raise ConfigError("--repeats must be at least 1")
        if self.scoring not in ("sampled", "logprob"):
            raise ConfigError("--scoring must be 'sampled' or 'logprob'")
        if self.format_retries < 0:
            raise ConfigError("format retries must be >= 0")
        if self.missing_image not in ("error", "omit"):
            raise ConfigError("--missing-image must be 'error' or 'omit'")
        # Keep the metrics in the paper's order whatever order they were given in.
        object.__setattr__(self, "metrics", tuple(m for m in METRICS if m in self.metrics))

    @property
    def orders(self) -> tuple[str, ...]:
        return ORDERS_SWAP if self.swap else ORDERS_DEFAULT

    def params(self, repeat: int, attempt: int) -> GenerationParams:
        logprob = self.scoring == "logprob"
        return GenerationParams(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            logprobs=logprob,
            top_logprobs=self.top_logprobs if logprob else 0,
            draw=repeat + _RETRY_DRAW_STRIDE * max(0, attempt - 1),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["metrics"] = list(self.metrics)
        return data


@dataclass(frozen=True)
class JudgeTask:
    """One judgement to obtain: a sample, a metric, an order and a repeat."""

    sample: Sample
    answer: str
    metric: str
    order: str = "AB"
    repeat: int = 0

    @property
    def key(self) -> str:
        return f"{self.sample.id}::{self.metric}::{self.order}::{self.repeat}"

    def user_text(self) -> str:
        a, b = (
            (self.answer, self.sample.reference)
            if self.order == "AB"
            else (self.sample.reference, self.answer)
        )
        return judge_user_text(
            question=self.sample.instruction,
            answer_a=a,
            answer_b=b,
            role=self.sample.role,
            script=self.sample.script,
            other_role=self.sample.other_role,
            metric=self.metric,
        )


def judge_messages(
    task: JudgeTask, image_parts: Sequence[dict[str, Any]], *, attempt: int = 0, prefill: str | None = None
) -> list[Message]:
    """The chat messages of one judge request: system text, then the image and the user text."""
    text = task.user_text()
    if attempt > 0:
        text = with_format_reminder(text)
    messages: list[Message] = [
        {"role": "system", "content": JUDGE_SYSTEM},
        {"role": "user", "content": [*image_parts, {"type": "text", "text": text}]},
    ]
    if prefill:
        messages.append({"role": "assistant", "content": prefill})
    return messages


def image_parts(sample: Sample, image_root: str | Path | None, options: JudgeOptions) -> list[dict[str, Any]]:
    """The sample's image as OpenAI ``image_url`` parts ([] when omitted because the file is absent).

    Without downscaling the part names the local file (backends read it when they send it,
    and the cache key hashes its bytes), so a run's images are not all held in memory as
    data URLs; with ``max_image_side`` it is the downscaled image's data URL.

    Raises:
        DataError: The image file is absent and ``missing_image`` is ``error``.
    """
    from mmrole.data.convert import resolve_image, to_openai_messages
    from mmrole.errors import DataError

    if options.max_image_side is None:
        try:
            path = resolve_image(sample, image_root)
        except DataError as err:
            if options.missing_image == "omit":
                return []
            raise DataError(
                f"{err.reason}; judge without images with --missing-image omit, or point --images at them",
                record=sample.id,
                field="image",
            ) from None
        return [{"type": "image_url", "image_url": {"url": str(path.resolve())}}]
    messages = to_openai_messages(
        sample, image_root, max_image_side=options.max_image_side, missing_image=options.missing_image
    )
    parts: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, list):
            parts.extend(p for p in content if p.get("type") == "image_url")
    return parts


def plan_tasks(
    samples: Sequence[Sample], answers: dict[str, dict[str, Any]], options: JudgeOptions
) -> tuple[list[JudgeTask], list[str]]:
    """The judgements to obtain, and the ids of samples left unjudged (no or empty answer)."""
    tasks, unjudged = [], []
    for sample in samples:
        record = answers.get(sample.id) or {}
        answer = record.get("answer")
        if record.get("error") or not isinstance(answer, str) or not answer.strip():
            unjudged.append(sample.id)
            continue
        for metric in options.metrics:
            for order in options.orders:
                for repeat in range(options.repeats):
                    tasks.append(JudgeTask(sample, answer, metric, order, repeat))
    return tasks, unjudged


@dataclass
class Outcome:
    """What became of one task: its review record and how many requests it took."""

    task: JudgeTask
    attempts: int = 0
    text: str = ""
    score: tuple[float, float] | None = None
    sampled: tuple[float, float] | None = None
    scoring: str = "sampled"
    error: str | None = None
    cached: bool = True

    def record(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"attempts": self.attempts, "scoring": self.scoring}
        if self.sampled is not None and self.sampled != self.score:
            extra["sampled_score"] = list(self.sampled)
        return run_results.review_record(
            sample_id=self.task.sample.id,
            metric=self.task.metric,
            text=self.text,
            score=self.score,
            error=self.error,
            order=self.task.order,
            repeat=self.task.repeat,
            **extra,
        )


def read_outcome(outcome: Outcome, completion: Any, options: JudgeOptions) -> bool:
    """Fill ``outcome`` from a completion; False when the reply holds no usable score pair."""
    prefill = options.prefill or ""
    text = prefill + completion.text
    outcome.text = text
    found = locate_scores(text)
    if found is None:
        outcome.score, outcome.error = None, "no score pair in the judge's reply"
        return False
    outcome.sampled, outcome.score, outcome.error, outcome.scoring = found.pair, found.pair, None, "sampled"
    if options.scoring == "logprob":
        expected = expected_pair(completion.logprobs, text, found, prefix_chars=len(prefill))
        if expected is not None and expected[1] > 0:
            outcome.score, outcome.scoring = expected, "logprob"
        else:
            outcome.scoring = "sampled (no usable logprobs)"
    return True


@dataclass
class JudgeSummary:
    """What a judge run did.

    Attributes:
        run_dir: The run judged.
        n_tasks: Judgements planned.
        n_scored: Judgements with a score pair.
        n_failed: Judgements recorded as failed (request error or no pair after retries).
        n_unjudged: Samples not judged (no answer).
        n_calls: Requests actually sent (not answered from the store).
        n_retries: Format-reminder requests made.
        n_logprob_fallbacks: Logprob-scored judgements that fell back to the sampled score.
        results: The ``results.json`` written.
    """

    run_dir: Path
    n_tasks: int = 0
    n_scored: int = 0
    n_failed: int = 0
    n_unjudged: int = 0
    n_calls: int = 0
    n_retries: int = 0
    n_logprob_fallbacks: int = 0
    results: dict[str, Any] = field(default_factory=dict)


async def judge_run(
    run_dir: str | Path,
    judge: Backend | str,
    options: JudgeOptions | None = None,
    *,
    image_root: str | Path | None = None,
    concurrency: int = 32,
    progress: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
    **engine_options: Any,
) -> JudgeSummary:
    """Judge every answered sample of a run; write ``reviews.jsonl`` and ``results.json``.

    Args:
        run_dir: A run folder with ``samples.jsonl`` and ``answers.jsonl``.
        judge: The judge model: a Backend or a spec (``openai:MODEL@URL``, ``hf:PATH``, ``demo``).
        options: What and how to judge (defaults reproduce MMRole-Eval).
        image_root: Where the samples' images are; default: run.json's ``image_root``.
        concurrency: Judge calls in flight at most.
        progress: Show progress bars.
        n_boot: Bootstrap replicates of the confidence intervals.
        seed: Bootstrap seed.
        **engine_options: Passed to :func:`mmrole.engine.run_requests` (``max_retries``, ``rpm``...).
    """
    from mmrole.engine import Request, Store, run_requests
    from mmrole.models.registry import load_backend

    options = options or JudgeOptions()
    run_dir = Path(run_dir)
    samples = run_results.read_samples(run_dir)
    answers = run_results.read_answers(run_dir)
    info = run_results.read_run_info(run_dir)
    if image_root is None:
        image_root = run_results.run_image_root(run_dir, info)
    tasks, unjudged = plan_tasks(samples, answers, options)
    images: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        if task.sample.id not in images:
            images[task.sample.id] = image_parts(task.sample, image_root, options)

    owned = isinstance(judge, str)
    backend = load_backend(judge)
    outcomes = {task.key: Outcome(task) for task in tasks}
    summary = JudgeSummary(run_dir=run_dir, n_tasks=len(tasks), n_unjudged=len(unjudged))
    try:
        with Store.in_run(run_dir) as store:
            pending = list(tasks)
            for attempt in range(options.format_retries + 1):
                if not pending:
                    break
                requests = [
                    Request(
                        f"judge:{task.key}" + (f"::retry{attempt}" if attempt else ""),
                        judge_messages(
                            task, images[task.sample.id], attempt=attempt, prefill=options.prefill
                        ),
                        options.params(task.repeat, attempt),
                    )
                    for task in pending
                ]
                label = "judging" if attempt == 0 else f"judging: format reminder {attempt}"
                results = await run_requests(
                    backend,
                    requests,
                    store,
                    concurrency=concurrency,
                    progress=progress,
                    description=label,
                    **engine_options,
                )
                retry = []
                for task, result in zip(pending, results, strict=True):
                    outcome = outcomes[task.key]
                    outcome.attempts += 1
                    outcome.cached = outcome.cached and result.cached
                    summary.n_calls += 0 if result.cached else 1
                    summary.n_retries += 1 if attempt else 0
                    if result.completion is None:
                        outcome.error, outcome.score = f"request failed: {result.error}", None
                    elif not read_outcome(outcome, result.completion, options):
                        retry.append(task)
                pending = retry
    finally:
        if owned:
            await backend.aclose()

    records = [outcomes[task.key].record() for task in tasks]
    summary.n_scored = sum(1 for r in records if r["score"] is not None)
    summary.n_failed = len(records) - summary.n_scored
    summary.n_logprob_fallbacks = sum(
        1 for r in records if str(r.get("scoring", "")).startswith("sampled (no")
    )
    judge_spec = backend.spec or type(backend).__name__
    run_results.write_run_files(
        run_dir,
        info={"judge": judge_spec, "judge_options": options.to_dict()},
        reviews=records,
    )
    summary.results = run_results.write_results(run_dir, n_boot=n_boot, seed=seed)
    return summary


def judge_run_sync(
    run_dir: str | Path, judge: Backend | str, options: JudgeOptions | None = None, **kwargs: Any
) -> JudgeSummary:
    """:func:`judge_run` from synchronous code."""
    import asyncio

    return asyncio.run(judge_run(run_dir, judge, options, **kwargs))
