"""The MRPA answers a test set: samples -> chat requests -> engine -> ``answers.jsonl``.

What ``mmrole answer`` (and the answer half of ``mmrole eval``) runs. The run folder gets
``samples.jsonl``, ``answers.jsonl`` (``{"id", "answer", "error", "meta"}`` per sample, in
sample order), ``run.json`` and the engine's ``store.sqlite``; rerunning the same command
makes no call for samples already answered.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmrole.engine.runfolder import ANSWERS, SAMPLES, update_run_info, write_jsonl
from mmrole.engine.runner import Backoff, Request, Result, run_requests
from mmrole.engine.store import Store
from mmrole.errors import DataError
from mmrole.models.base import Backend, GenerationParams, display_spec
from mmrole.schema import Sample


@dataclass
class AnswerSummary:
    """What an answer run did."""

    run_dir: Path
    agent: str
    total: int
    answered: int
    failed: int
    cached: int
    calls: int

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
    from mmrole.data import load_samples

    samples = []
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
    samples: list[Sample],
    image_root: Path | None,
    params: GenerationParams,
    *,
    max_image_side: int | None = None,
    missing_image: str = "error",
) -> list[Request]:
    """One engine request per sample (id = sample id), the image as a data URL."""
    from mmrole.data.convert import to_openai_messages

    return [
        Request(
            s.id,
            to_openai_messages(s, image_root, max_image_side=max_image_side, missing_image=missing_image),
            params,
        )
        for s in samples
    ]


def answer_record(result: Result) -> dict[str, Any]:
    """The ``answers.jsonl`` line of one result."""
    meta: dict[str, Any] = {"attempts": result.attempts, "cached": result.cached}
    if result.completion is not None:
        completion = result.completion
        meta.update(
            finish_reason=completion.finish_reason, usage=vars(completion.usage), **completion.metadata
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
    concurrency: int = 32,
    limit: int | None = None,
    max_image_side: int | None = None,
    missing_image: str = "error",
    image_root: str | Path | None = None,
    max_retries: int = 5,
    rpm: float | None = None,
    progress: bool = True,
    backoff: Backoff | None = None,
    request_timeout: float | None = None,
    backend_options: dict[str, Any] | None = None,
) -> AnswerSummary:
    """Answer every sample of ``data`` with ``agent`` into ``run_dir``.

    Args:
        agent: A model spec or a Backend.
        data: A samples JSONL, an MMRole test folder or file, a data root, or ``"demo"``.
        run_dir: The run folder (created when missing).
        params: Sampling parameters (defaults: GenerationParams()).
        concurrency, max_retries, rpm, progress, backoff, request_timeout: See
            :func:`mmrole.engine.run_requests`.
        limit: Answer only the first N samples.
        max_image_side: Downscale images whose longer side exceeds this many pixels.
        missing_image: ``"error"`` stops on a missing image file; ``"omit"`` sends the text alone.
        image_root: The folder sample image paths are relative to, when ``data`` does not say
            (e.g. MMRole's test files used apart from MMRole-Data: its ``images/`` folder).
        backend_options: Passed to the backend's constructor when ``agent`` is a spec.
    """
    from mmrole.data import image_root as image_root_of
    from mmrole.data import write_samples_jsonl
    from mmrole.models.registry import load_backend

    run_dir = Path(run_dir)
    params = params or GenerationParams()
    samples = load_test_samples(data, limit)
    root = Path(image_root) if image_root is not None else image_root_of(data)
    requests = sample_requests(
        samples, root, params, max_image_side=max_image_side, missing_image=missing_image
    )
    owned = isinstance(agent, str)
    backend = load_backend(agent, **(backend_options or {}))
    run_dir.mkdir(parents=True, exist_ok=True)
    write_samples_jsonl(samples, run_dir / SAMPLES)
    options = {
        "params": params.to_dict(),
        "concurrency": concurrency,
        "limit": limit,
        "max_image_side": max_image_side,
        "missing_image": missing_image,
        "image_root": str(root) if root is not None else None,
        "max_retries": max_retries,
        "rpm": rpm,
    }
    started = _now()
    update_run_info(
        run_dir,
        {
            "agent": display_spec(backend),
            "data": str(data),
            "answer": {"options": options, "started": started},
        },
    )
    try:
        with Store.in_run(run_dir) as store:
            results = await run_requests(
                backend,
                requests,
                store,
                concurrency=concurrency,
                max_retries=max_retries,
                rpm=rpm,
                progress=progress,
                description="answering",
                backoff=backoff,
                request_timeout=request_timeout,
            )
    finally:
        if owned:
            await backend.aclose()
    write_jsonl(run_dir / ANSWERS, (answer_record(r) for r in results))
    summary = AnswerSummary(
        run_dir=run_dir,
        agent=display_spec(backend),
        total=len(results),
        answered=sum(r.ok for r in results),
        failed=sum(not r.ok for r in results),
        cached=sum(r.cached for r in results),
        calls=sum(r.attempts for r in results),
    )
    counts = {k: getattr(summary, k) for k in ("total", "answered", "failed", "cached", "calls")}
    update_run_info(
        run_dir, {"answer": {"options": options, "started": started, "finished": _now(), "counts": counts}}
    )
    return summary


def answer_dataset_sync(
    agent: Backend | str, data: str | Path, run_dir: str | Path, **kwargs: Any
) -> AnswerSummary:
    """:func:`answer_dataset` from synchronous code."""
    return asyncio.run(answer_dataset(agent, data, run_dir, **kwargs))


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
