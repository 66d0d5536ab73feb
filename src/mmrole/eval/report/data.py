"""Typed readers of a run folder, for reports.

A report reads five files of each run folder (see docs/architecture.md): ``run.json``
(what ran), ``results.json`` (the aggregated MMRole-Eval results, required) and the
per-sample ``samples.jsonl``, ``answers.jsonl`` and ``reviews.jsonl`` (optional: a run
without them still gets its tables, only the per-sample browser is empty). The per-sample
files are streamed, never held: :class:`RunData` keeps what the tables need and where the
sample browser streams its records from, one run at a time.

Readers are tolerant of missing optional sections (no ``by_split``, a metric without a
CI) because runs come from several versions of the aggregation, and strict about
malformed content: a bad record raises :class:`~mmrole.errors.DataError` naming the
file, the record and the field. File access goes through :class:`mmrole.runs.RunFolder`,
which refuses files that are not the ones run.json records; this module adds typed views
for the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mmrole.errors import DataError
from mmrole.eval.provenance import Provenance, provenance_of
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
class RunRecords:
    """Where a run's per-sample records come from: each call starts a fresh stream.

    From a run folder the records are read line by line; judging, which holds them in memory
    before it commits, hands its lists in.
    """

    samples: Callable[[], Iterable[Sample]] = lambda: ()
    answers: Callable[[], Iterable[Mapping[str, Any]]] = lambda: ()
    reviews: Callable[[], Iterable[Mapping[str, Any]]] = lambda: ()
    answers_file: Path = Path(ANSWERS)
    reviews_file: Path = Path(REVIEWS)


@dataclass
class RunData:
    """What a report keeps of one run: small, whatever the run's size."""

    path: Path
    info: RunInfo
    results: Results
    #: The judge, its options and each sample's split (id -> split, in file order).
    provenance: Provenance
    records: RunRecords = field(default_factory=RunRecords)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def sample_ids(self) -> list[str]:
        """The run's sample ids, in ``samples.jsonl`` order."""
        return list(self.provenance.samples)

    def iter_answers(self) -> Iterator[Answer]:
        """The run's answers, validated one at a time (a later one for a sample replaces an earlier one)."""
        for obj in self.records.answers():
            yield _validate(Answer, obj, self.records.answers_file, record=_record(obj))

    def iter_reviews(self) -> Iterator[Review]:
        """The run's reviews in file order, validated one at a time."""
        for obj in self.records.reviews():
            yield _validate(Review, obj, self.records.reviews_file, record=_record(obj))


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
    reviews: Sequence[Mapping[str, Any]],
    results: Mapping[str, Any],
) -> RunData:
    """A report's view of a run from its records (what judging holds in memory before it commits)."""
    records = RunRecords(
        samples=lambda: samples,
        answers=lambda: answers.values(),
        reviews=lambda: reviews,
        answers_file=folder.file(ANSWERS),
        reviews_file=folder.file(REVIEWS),
    )
    return _run_data(folder, info, results, records)


def _run_data(
    folder: RunFolder, info: dict[str, Any], results: Mapping[str, Any], records: RunRecords
) -> RunData:
    run = run_info(folder, info)
    return RunData(
        path=folder.path,
        info=run,
        results=_validate(Results, results, folder.file(RESULTS), record=None),
        # One pass over the samples, keeping each one's id and split only.
        provenance=provenance_of(str(folder.path), run.raw, records.samples()),
        records=records,
    )


def load_run(run_dir: str | Path) -> RunData:
    """Read what a report keeps of one judged run folder; its records stay on disk, streamed when needed.

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
    records = RunRecords(answers_file=folder.file(ANSWERS), reviews_file=folder.file(REVIEWS))
    if folder.holds_run():
        records.samples, records.answers, records.reviews = (
            folder.iter_samples,
            folder.iter_answers,
            folder.iter_reviews,
        )
    return _run_data(folder, folder.info(), results, records)


def _record(obj: Mapping[str, Any]) -> str | None:
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
