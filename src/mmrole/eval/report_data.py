"""Typed readers of a run folder, for reports.

A report reads five files of each run folder (see docs/architecture.md): ``run.json``
(what ran), ``results.json`` (the aggregated MMRole-Eval results, required) and the
per-sample ``samples.jsonl``, ``answers.jsonl`` and ``reviews.jsonl`` (optional: a run
without them still gets its tables, only the per-sample browser is empty).

Readers are tolerant of missing optional sections (no ``by_split``, a metric without a
CI) because runs come from several versions of the aggregation, and strict about
malformed content: a bad record raises :class:`~mmrole.errors.DataError` naming the
file, the record and the field. File access goes through :class:`mmrole.runs.RunFolder`,
which refuses files that are not the ones run.json records; this module adds typed views
for the report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mmrole.errors import DataError
from mmrole.runs import ANSWERS, RESULTS, REVIEWS, RUN_INFO, RunFolder
from mmrole.schema import Review, Sample

_Model = TypeVar("_Model", bound=BaseModel)


class Stat(BaseModel):
    """One aggregated number: a mean, its confidence interval and how many values it covers."""

    model_config = ConfigDict(extra="allow")

    mean: float | None = None
    ci: tuple[float, float] | None = None
    n: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_number(cls, data: Any) -> Any:
        # An older or hand-written results.json may give a bare mean instead of {"mean": ...}.
        return {"mean": data} if isinstance(data, (int, float)) else data

    @property
    def has_mean(self) -> bool:
        return self.mean is not None and math.isfinite(self.mean)


class GroupResults(BaseModel):
    """The results of one group of samples: a whole run, one split or one dialogue type."""

    model_config = ConfigDict(extra="allow")

    overall: Stat | None = None
    metrics: dict[str, Stat] = Field(default_factory=dict)
    dimensions: dict[str, Stat] = Field(default_factory=dict)
    n_samples: int | None = None
    n_scored: int | None = None
    n_failed: int | None = None
    n_missing: int | None = None


class Results(GroupResults):
    """A run's ``results.json``: whole-run results plus per-split and per-type groups."""

    by_split: dict[str, GroupResults] = Field(default_factory=dict)
    by_type: dict[str, GroupResults] = Field(default_factory=dict)


class Answer(BaseModel):
    """One line of ``answers.jsonl``: the agent's answer to a sample, or why there is none."""

    model_config = ConfigDict(extra="allow")

    id: str
    answer: str | None = None
    error: str | None = None
    meta: dict[str, Any] | None = None

    @property
    def failed(self) -> bool:
        """No usable answer: the request failed, or the answer is empty (MMRole leaves those unjudged)."""
        return bool(self.error) or not (self.answer or "").strip()


@dataclass
class RunInfo:
    """What ``run.json`` says about a run, reduced to what a report shows."""

    name: str
    agent: str = ""
    judge: str = ""
    image_root: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunData:
    """Everything a report needs from one run folder."""

    path: Path
    info: RunInfo
    results: Results
    samples: list[Sample] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)
    reviews: dict[str, list[Review]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.info.name


def _spec_text(value: Any) -> str:
    """A model spec as text: run.json may hold a plain spec string or an object with a ``spec`` key."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return str(value.get("spec") or value.get("name") or "")
    return str(value)


def run_info(folder: RunFolder, raw: dict[str, Any]) -> RunInfo:
    """What a report shows of ``run.json``; a run folder without one is named after the folder."""
    if not isinstance(raw, dict):
        raise DataError("expected a JSON object", file=str(folder.file(RUN_INFO)))
    return RunInfo(
        name=folder.name(raw),
        agent=_spec_text(raw.get("agent")),
        judge=_spec_text(raw.get("judge")),
        # The same folder judging used, so the report shows the images the judge saw.
        image_root=folder.image_root(raw),
        raw=raw,
    )


def run_data(
    folder: RunFolder,
    info: dict[str, Any],
    samples: Sequence[Sample],
    answers: Mapping[str, Mapping[str, Any]],
    reviews: Iterable[Mapping[str, Any]],
    results: Mapping[str, Any],
) -> RunData:
    """A report's view of a run from its records (what judging holds in memory before it commits)."""
    answers_file, reviews_file = folder.file(ANSWERS), folder.file(REVIEWS)
    typed_answers = (_validate(Answer, obj, answers_file, record=_record(obj)) for obj in answers.values())
    grouped: dict[str, list[Review]] = {}
    for obj in reviews:
        review = _validate(Review, obj, reviews_file, record=_record(obj))
        grouped.setdefault(review.sample_id, []).append(review)
    return RunData(
        path=folder.path,
        info=run_info(folder, info),
        results=_validate(Results, results, folder.file(RESULTS), record=None),
        samples=list(samples),
        answers={answer.id: answer for answer in typed_answers},
        reviews=grouped,
    )


def load_run(run_dir: str | Path) -> RunData:
    """Read one judged run folder for a report.

    Raises:
        DataError: The folder does not exist, is not judged, a file is malformed or is not
            the one run.json records.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError("run folder not found", file=str(run_dir))
    folder = RunFolder(run_dir)
    results = folder.results()
    # A run without samples (a bare results.json) still gets its tables; only the browser is empty.
    judged = folder.holds_run()
    return run_data(
        folder,
        folder.info(),
        folder.samples() if judged else [],
        folder.answers() if judged else {},
        folder.reviews() if judged else [],
        results,
    )


def _record(obj: dict[str, Any]) -> str | None:
    """How error messages name a record: the sample id, and the metric for a review."""
    parts = [str(obj[key]) for key in ("id", "sample_id", "metric") if obj.get(key) is not None]
    return "/".join(parts) or None


def _validate(model: type[_Model], obj: Any, path: Path, record: str | None) -> _Model:
    try:
        return model.model_validate(obj)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or None
        raise DataError(first["msg"], file=str(path), record=record, field=where) from None
