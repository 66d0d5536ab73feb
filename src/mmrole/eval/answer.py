"""The MRPA answers a test set: samples -> chat requests -> engine -> ``answers.jsonl``.

What ``mmrole answer`` (and the answer half of ``mmrole eval``) runs. The run folder
(:class:`mmrole.runs.RunFolder`) gets ``samples.jsonl``, ``answers.jsonl`` (``{"id", "answer",
"error", "meta"}`` per sample, in sample order, rebuilt from the store on every run), ``run.json``
and the engine's ``store.sqlite``; rerunning the same command makes no call for samples already
answered. A folder answered with another agent, other data or other generation options is
refused unless ``overwrite`` starts it afresh (its reviews, results and reports are dropped).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmrole.data import image_root as image_root_of
from mmrole.data import load_samples
from mmrole.data.convert import locate_image, to_openai_messages
from mmrole.engine.options import EngineOptions
from mmrole.engine.runner import Backoff, Request, Result, run_requests
from mmrole.engine.store import Store
from mmrole.errors import DataError
from mmrole.models.base import Backend, GenerationParams, display_spec
from mmrole.models.registry import load_backend
from mmrole.runs import ANSWERS, AnswerRecord, RunFolder, StageInputs, data_source
from mmrole.schema import MissingImage, Sample


@dataclass
class AnswerSummary:
    """What an answer run did (with the samples and answers it wrote, for a caller that goes on to judge)."""

    run_dir: Path
    agent: str
    total: int
    answered: int
    failed: int
    cached: int
    calls: int
    samples: list[Sample] = field(default_factory=list, repr=False)
    answers: list[AnswerRecord] = field(default_factory=list, repr=False)

    def line(self) -> str:
        return (
            f"{self.answered}/{self.total} answered ({self.cached} from the store, {self.calls} calls), "
            f"{self.failed} failed -> {self.run_dir / ANSWERS}"
        )


def load_test_samples(data: str | Path, limit: int | None = None) -> list[Sample]:
    """The samples of a data source (first ``limit``), with unique ids.

    Raises:
        DataError: no samples, or two samples share an id.
    """

    samples: list[Sample] = []
    seen: set[str] = set()
    for sample in load_samples(data):
        if limit is not None and len(samples) >= limit:
            break
        if sample.id in seen:
            raise DataError(
                "duplicate sample id (answers are keyed by id)", file=str(data), record=sample.id, field="id"
            )
        seen.add(sample.id)
        samples.append(sample)
    if not samples:
        raise DataError("no samples found", file=str(data))
    return samples


def sample_requests(
    samples: Iterable[Sample],
    image_root: Path | None,
    params: GenerationParams,
    *,
    max_image_side: int | None = None,
    missing_image: MissingImage = "error",
) -> Iterator[Request]:
    """One engine request per sample (id = sample id), the image as a data URL, built when taken.

    The engine takes requests as it sends them, so only the few in flight exist at once, and
    samples sharing an image share one encoded copy (:func:`mmrole.images.file_data_url`).
    """

    for s in samples:
        messages = to_openai_messages(
            s, image_root, max_image_side=max_image_side, missing_image=missing_image
        )
        yield Request(s.id, messages, params)


def check_images(
    samples: Iterable[Sample], image_root: Path | None, missing_image: MissingImage = "error"
) -> None:
    """Raise the first missing or escaping image path before any call (requests are built lazily).

    Raises:
        DataError: A sample's image file is absent (unless ``missing_image`` is ``omit``) or its
            path escapes the image root.
    """

    for s in samples:  # what to_openai_messages raises, found by a stat each
        locate_image(s, image_root, missing_image)


def answer_record(result: Result) -> AnswerRecord:
    """The ``answers.jsonl`` line of one result."""
    meta: dict[str, Any] = {"attempts": result.attempts, "cached": result.cached}
    if result.completion is not None:
        completion = result.completion
        meta.update(
            finish_reason=completion.finish_reason, usage=asdict(completion.usage), **completion.metadata
        )
    return {
        "id": result.id,
        "answer": result.completion.text if result.completion else None,
        "error": result.error,
        "meta": meta,
    }


async def answer_dataset(
    agent: Backend | str,
    data: str | Path,
    run_dir: str | Path,
    *,
    params: GenerationParams | None = None,
    limit: int | None = None,
    max_image_side: int | None = None,
    missing_image: MissingImage = "error",
    image_root: str | Path | None = None,
    engine: EngineOptions | None = None,
    backoff: Backoff | None = None,
    backend_options: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> AnswerSummary:
    """Answer every sample of ``data`` with ``agent`` into ``run_dir``.

    Args:
        agent: A model spec or a Backend.
        data: A samples JSONL, an MMRole test folder or file, a data root, or ``"demo"``.
        run_dir: The run folder (created when missing).
        params: Sampling parameters (defaults: GenerationParams()).
        engine: Concurrency, retries, rate limit, timeout and progress of the calls.
        backoff: Retry delays (tests inject a clock): see :func:`mmrole.engine.run_requests`.
        limit: Answer only the first N samples.
        max_image_side: Downscale images whose longer side exceeds this many pixels.
        missing_image: ``"error"`` stops on a missing image file; ``"omit"`` sends the text alone.
        image_root: The folder sample image paths are relative to, when ``data`` does not say
            (e.g. MMRole's test files used apart from MMRole-Data: its ``images/`` folder).
        backend_options: The backend's options when ``agent`` is a spec (``--agent-arg``: see
            :func:`mmrole.models.registry.load_backend`).
        overwrite: Start afresh when the folder was answered with another agent, other data or
            other options (otherwise that is refused); drops its reviews, results and reports.

    Raises:
        ConfigError: The folder was answered with other inputs (and ``overwrite`` is not set),
            or another process is using it.
        DataError: Bad samples or images.
    """

    folder = RunFolder(run_dir)
    params = params or GenerationParams()
    engine = engine or EngineOptions()
    with folder.lock():
        samples = load_test_samples(data, limit)
        root = Path(image_root) if image_root is not None else image_root_of(data)
        check_images(samples, root, missing_image)
        requests = sample_requests(
            samples, root, params, max_image_side=max_image_side, missing_image=missing_image
        )
        owned = isinstance(agent, str)
        backend = load_backend(agent, **(backend_options or {}))
        try:
            # What changes the answers is compared with what the folder holds; the rest is recorded.
            inputs = StageInputs(
                display_spec(backend),
                {
                    "params": params.to_dict(),
                    "limit": limit,
                    "max_image_side": max_image_side,
                    "missing_image": missing_image,
                },
                data=data_source(data),
            )
            options = {
                **inputs.options,
                "concurrency": engine.concurrency,
                "image_root": str(root) if root is not None else None,
                "max_retries": engine.max_retries,
                "rpm": engine.rpm,
            }
            folder.begin_answer(
                inputs,
                samples,
                overwrite=overwrite,
                summary={"agent": display_spec(backend), "data": str(data)},
                options=options,
            )
            with Store(folder.store_path) as store:
                results = await run_requests(
                    backend,
                    requests,
                    store,
                    description="answering",
                    backoff=backoff,
                    total=len(samples),
                    **engine.run_kwargs(),
                )
        finally:
            if owned:
                await backend.aclose()
        summary = AnswerSummary(
            run_dir=folder.path,
            agent=display_spec(backend),
            total=len(results),
            answered=sum(r.ok for r in results),
            failed=sum(not r.ok for r in results),
            cached=sum(r.cached for r in results),
            calls=sum(r.attempts for r in results),
            samples=samples,
            answers=[answer_record(r) for r in results],
        )
        counts = {k: getattr(summary, k) for k in ("total", "answered", "failed", "cached", "calls")}
        folder.finish_answer(summary.answers, counts=counts)
    return summary


def answer_dataset_sync(
    agent: Backend | str, data: str | Path, run_dir: str | Path, **kwargs: Any
) -> AnswerSummary:
    """:func:`answer_dataset` from synchronous code."""
    return asyncio.run(answer_dataset(agent, data, run_dir, **kwargs))
