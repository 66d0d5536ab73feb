"""MMRole-Eval judging of a run's answers through the engine.

For each answered sample and each chosen metric the judge gets the sample's image and
MMRole's reward-model texts (:mod:`mmrole.prompts.judge`) comparing Model A (the MRPA's
answer) with Model B (the reference), and replies ``..., [Scores]: (a, b)``.

Requests go through :func:`mmrole.engine.run_requests` with the run's ``store.sqlite``,
so judging inherits the engine's guarantees: transport faults are retried, failures are
recorded (never cached as successes), a rerun answers from the store and makes no calls,
and a killed run resumes without repeating finished calls. ``reviews.jsonl``, ``results.json``
and the folder's reports are rewritten from the store on every run and committed together
(:class:`mmrole.runs.RunFolder`); a folder judged by another judge or with other options is
refused unless ``overwrite`` starts the judging afresh.

A reply without a usable score pair is asked again, up to ``format_retries`` times, as a
*new* request whose user text ends with a format reminder (different messages, so a
different cache key); after that it is recorded as failed. Samples without an answer are
not judged (MMRole leaves empty answers unreviewed) and count as missing.

The core, :func:`judge_samples`, judges a plan of samples and answers held in memory
(:func:`mmrole.eval.judge_plan.plan_judging`) with any store and touches no run folder;
:func:`judge_run` reads a run folder's samples and answers (unless the caller hands them in),
runs the core on the folder's store and writes the reviews, results and reports back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.engine import Request, Store, run_requests
from mmrole.engine.options import EngineOptions
from mmrole.engine.runner import Backoff
from mmrole.eval import results as run_results
from mmrole.eval.judge_plan import JudgeOptions, JudgePlan, JudgeTask, judge_messages, plan_judging
from mmrole.eval.logprob import expected_pair
from mmrole.eval.parse import locate_scores, usable_pair
from mmrole.eval.report import write_run_reports
from mmrole.eval.report.data import run_data
from mmrole.models.base import Backend, display_spec
from mmrole.models.registry import load_backend
from mmrole.runs import ReviewRecord, RunFolder, StageInputs
from mmrole.schema import Sample

__all__ = [
    "JudgeSummary",
    "Judgements",
    "Outcome",
    "judge_run",
    "judge_run_sync",
    "judge_samples",
    "read_outcome",
]


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

    def record(self) -> ReviewRecord:
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
    found = locate_scores(text, scale=options.scale)
    if found is None:
        low, high = options.scale
        outcome.score = None
        outcome.error = f"no usable score pair in the judge's reply (scale {low:g}-{high:g})"
        return False
    outcome.sampled, outcome.score, outcome.error, outcome.scoring = found.pair, found.pair, None, "sampled"
    if options.scoring == "logprob":
        expected = expected_pair(completion.logprobs, text, found, prefix_chars=len(prefill))
        if expected is not None and usable_pair(*expected, options.scale):
            outcome.score, outcome.scoring = expected, "logprob"
        else:
            outcome.scoring = "sampled (no usable logprobs)"
    return True


@dataclass
class Judgements:
    """What judging a plan produced (:func:`judge_samples`).

    Attributes:
        reviews: One ``reviews.jsonl`` record per task, in task order.
        n_calls: Requests actually sent (not answered from the store).
        n_retries: Format-reminder requests made.
    """

    reviews: list[ReviewRecord] = field(default_factory=list)
    n_calls: int = 0
    n_retries: int = 0

    @property
    def n_scored(self) -> int:
        """Judgements with a score pair."""
        return sum(1 for r in self.reviews if r["score"] is not None)

    @property
    def n_logprob_fallbacks(self) -> int:
        """Logprob-scored judgements that fell back to the sampled score."""
        return sum(1 for r in self.reviews if str(r.get("scoring", "")).startswith("sampled (no"))


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
        reviews: The ``reviews.jsonl`` records written.
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
    reviews: list[ReviewRecord] = field(default_factory=list, repr=False)


async def judge_samples(
    plan: JudgePlan,
    judge: Backend | str,
    store: Store,
    *,
    engine: EngineOptions | None = None,
    backend_options: dict[str, Any] | None = None,
    backoff: Backoff | None = None,
) -> Judgements:
    """Judge a plan's answers in memory: the core of :func:`judge_run`, which no run folder is needed for.

        plan = plan_judging(samples, {"s1": {"answer": "Ahoy."}}, JudgeOptions(), image_root)
        with Store(path) as store:
            judged = await judge_samples(plan, "openai:gpt-4o", store)

    Args:
        plan: The samples, answers and options (:func:`~mmrole.eval.judge_plan.plan_judging`, which
            checks the images first).
        judge: The judge model: a Backend or a spec (loaded, and closed at the end).
        store: The engine's store: a rerun answers from it and makes no calls.
        engine: Concurrency, retries, rate limit, timeout and progress of the judge calls.
        backend_options: The judge backend's options when ``judge`` is a spec (``--judge-arg``).
        backoff: Retry delays (tests inject a clock): see :func:`mmrole.engine.run_requests`.
    """

    options, images = plan.options, plan.images
    engine = engine or EngineOptions()
    outcomes = {task.key: Outcome(task) for task in plan.tasks}
    judged = Judgements()
    owned = isinstance(judge, str)
    backend = load_backend(judge, **(backend_options or {}))
    try:
        pending = list(plan.tasks)
        for attempt in range(options.format_retries + 1):
            if not pending:
                break
            # Built as the engine sends them (a generator): memory stays flat in the number of tasks.
            requests = (
                Request(
                    f"judge:{task.key}" + (f"::retry{attempt}" if attempt else ""),
                    judge_messages(task, images(task.sample), attempt=attempt, prefill=options.prefill),
                    options.params(task.repeat, attempt),
                )
                for task in pending
            )
            label = "judging" if attempt == 0 else f"judging: format reminder {attempt}"
            results = await run_requests(
                backend,
                requests,
                store,
                description=label,
                total=len(pending),
                backoff=backoff,
                **engine.run_kwargs(),
            )
            retry = []
            for task, result in zip(pending, results, strict=True):
                outcome = outcomes[task.key]
                outcome.attempts += 1
                outcome.cached = outcome.cached and result.cached
                judged.n_calls += 0 if result.cached else 1
                judged.n_retries += 1 if attempt else 0
                if result.completion is None:
                    outcome.error, outcome.score = f"request failed: {result.error}", None
                elif not read_outcome(outcome, result.completion, options):
                    retry.append(task)
            pending = retry
    finally:
        if owned:
            await backend.aclose()
    judged.reviews = [outcomes[task.key].record() for task in plan.tasks]
    return judged


async def judge_run(
    run_dir: str | Path,
    judge: Backend | str,
    options: JudgeOptions | None = None,
    *,
    image_root: str | Path | None = None,
    engine: EngineOptions | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    overwrite: bool = False,
    limit: int | None = None,
    backend_options: dict[str, Any] | None = None,
    backoff: Backoff | None = None,
    records: tuple[Sequence[Sample], Mapping[str, Mapping[str, Any]]] | None = None,
) -> JudgeSummary:
    """Judge every answered sample of a run; write ``reviews.jsonl``, ``results.json`` (and the
    folder's reports, when it has some).

    Args:
        run_dir: A run folder with ``samples.jsonl`` and ``answers.jsonl``.
        judge: The judge model: a Backend or a spec (``openai:MODEL@URL``, ``hf:PATH``, ``demo``).
        options: What and how to judge (defaults reproduce MMRole-Eval).
        image_root: Where the samples' images are; default: run.json's ``image_root``.
        engine: Concurrency, retries, rate limit, timeout and progress of the judge calls.
        n_boot: Bootstrap replicates of the confidence intervals.
        seed: Bootstrap seed.
        overwrite: Judge afresh when the folder was judged by another judge or with other
            options (otherwise that is refused); drops its reviews, results and reports.
        limit: Judge only the run's first N samples (a judging option: compared like the others).
        backend_options: The judge backend's options when ``judge`` is a spec (``--judge-arg``).
        backoff: Retry delays (tests inject a clock): see :func:`mmrole.engine.run_requests`.
        records: The folder's samples and answers (by sample id) when the caller holds them, as
            ``mmrole eval`` does right after answering: they are not read back from the files (the
            folder still checks that its answering finished and its files are those run.json records).

    Raises:
        DataError: Not a run folder, or its answering did not finish (its answers may lag the store).
        ConfigError: The folder was judged with other inputs (and ``overwrite`` is not set), or
            another process is using it.
    """

    folder = RunFolder(run_dir)
    options, engine = options or JudgeOptions(), engine or EngineOptions()
    with folder.lock():
        samples, answers = records if records is not None else (folder.samples(), folder.answers())
        if limit is not None:
            samples = samples[:limit]
        if image_root is None:
            image_root = folder.image_root()
        plan = plan_judging(samples, answers, options, image_root)  # a missing image stops it here
        owned = isinstance(judge, str)
        backend = load_backend(judge, **(backend_options or {}))
        try:
            judge_spec = display_spec(backend)
            # A limit judges other samples: compared like the judge options (absent without one, as before).
            compared = {**options.to_dict(), **({"limit": limit} if limit is not None else {})}
            folder.begin_judging(
                StageInputs(judge_spec, compared),
                overwrite=overwrite,
                summary={"judge": judge_spec, "judge_options": options.to_dict()},
                options={
                    "image_root": str(image_root) if image_root else None,
                    "concurrency": engine.concurrency,
                },
            )
            with Store(folder.store_path) as store:
                judged = await judge_samples(plan, backend, store, engine=engine, backoff=backoff)
        finally:
            if owned:
                await backend.aclose()
        return _commit(folder, samples, answers, plan, judged, n_boot=n_boot, seed=seed)


def _commit(
    folder: RunFolder,
    samples: Sequence[Sample],
    answers: Mapping[str, Mapping[str, Any]],
    plan: JudgePlan,
    judged: Judgements,
    *,
    n_boot: int,
    seed: int,
) -> JudgeSummary:
    """Aggregate the reviews and commit them, the results and the folder's reports."""
    summary = JudgeSummary(
        run_dir=folder.path,
        n_tasks=len(plan.tasks),
        n_scored=judged.n_scored,
        n_failed=len(judged.reviews) - judged.n_scored,
        n_unjudged=len(plan.unjudged),
        n_calls=judged.n_calls,
        n_retries=judged.n_retries,
        n_logprob_fallbacks=judged.n_logprob_fallbacks,
        reviews=judged.reviews,
    )
    info = folder.info()
    results = run_results.results_of(
        samples, judged.reviews, info, name=folder.name(info), n_boot=n_boot, seed=seed
    )
    counts = {
        "tasks": summary.n_tasks,
        "scored": summary.n_scored,
        "failed": summary.n_failed,
        "unjudged": summary.n_unjudged,
        "calls": summary.n_calls,
    }

    def write_reports(info: dict[str, Any], written: dict[str, Any], paths: dict[str, Path]) -> None:
        write_run_reports([run_data(folder, info, samples, answers, judged.reviews, written)], paths)

    summary.results = folder.finish_judging(
        judged.reviews, results, counts=counts, write_reports=write_reports
    )
    return summary


def judge_run_sync(
    run_dir: str | Path, judge: Backend | str, options: JudgeOptions | None = None, **kwargs: Any
) -> JudgeSummary:
    """:func:`judge_run` from synchronous code."""
    import asyncio

    return asyncio.run(judge_run(run_dir, judge, options, **kwargs))
