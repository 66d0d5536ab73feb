"""From a run's samples and reviews to its score table and ``results.json`` body.

The arithmetic lives in :mod:`mmrole.eval.aggregate` and :mod:`mmrole.eval.stats` (pure);
the files are read and written through :class:`mmrole.runs.RunFolder`, which checks that
they are the ones run.json records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from mmrole.errors import DataError
from mmrole.eval import stats
from mmrole.eval.aggregate import Judgement, ScoreTable, aggregate, build_table
from mmrole.eval.provenance import Provenance, provenance_of
from mmrole.runs import REVIEWS, AnswerRecord, ReviewRecord, RunFolder, StageInputs
from mmrole.schema import METRICS, Sample


def review_record(
    *,
    sample_id: str,
    metric: str,
    text: str,
    score: tuple[float, float] | None,
    error: str | None = None,
    order: str = "AB",
    repeat: int = 0,
    **extra: Any,
) -> ReviewRecord:
    """One ``reviews.jsonl`` line: a :class:`mmrole.schema.Review` plus order, repeat and extras."""
    # The extras (attempts, scoring, source...) are keys ReviewRecord does not declare.
    return cast(
        ReviewRecord,
        {
            "sample_id": sample_id,
            "metric": metric,
            "text": text,
            "score": list(score) if score is not None else None,
            "error": error,
            "order": order,
            "repeat": repeat,
            **extra,
        },
    )


def _score(record: Mapping[str, Any], file: str) -> tuple[float, float] | None:
    score = record.get("score")
    if score is None or record.get("error"):
        return None
    if not (isinstance(score, list) and len(score) == 2 and all(isinstance(x, (int, float)) for x in score)):
        raise DataError(
            "score must be null or a pair of numbers",
            file=file,
            record=f"{record.get('sample_id')}/{record.get('metric')}",
            field="score",
        )
    return (float(score[0]), float(score[1]))


def judged_metrics(info: Mapping[str, Any], reviews: Iterable[Mapping[str, Any]]) -> list[str]:
    """The metrics a run was judged on: run.json's judge options, else those with reviews, in METRICS order."""
    chosen = (info.get("judge_options") or {}).get("metrics")
    if chosen:
        return [m for m in METRICS if m in chosen]
    present = {r.get("metric") for r in reviews}
    return [m for m in METRICS if m in present] or list(METRICS)


def score_table(
    samples: Sequence[Sample], reviews: Sequence[Mapping[str, Any]], metrics: Sequence[str], *, file: str = ""
) -> ScoreTable:
    """The samples x metrics score table of these reviews."""
    judgements = [
        Judgement(str(r.get("sample_id")), str(r.get("metric")), _score(r, file), str(r.get("order") or "AB"))
        for r in reviews
    ]
    rows = [{"id": s.id, "split": s.split, "type": s.type} for s in samples]
    return build_table(rows, judgements, list(metrics))


def load_table(run_dir: str | Path) -> ScoreTable:
    """A judged run's samples x metrics score table.

    Raises:
        DataError: The run is not judged, or its files are not those run.json records.
    """
    folder = RunFolder(run_dir)
    reviews = folder.reviews()
    metrics = judged_metrics(folder.info(), reviews)
    return score_table(folder.samples(), reviews, metrics, file=str(folder.file(REVIEWS)))


def read_provenance(run_dir: str | Path) -> Provenance:
    """What produced a run's scores (judge, its options, the samples and their splits), for
    :func:`mmrole.eval.provenance.provenance_warnings`; the run is labelled by its folder as given."""
    folder = RunFolder(run_dir)
    # Streamed: only each sample's id and split are kept, never the samples themselves.
    samples = folder.iter_samples() if folder.holds_run() else []
    return provenance_of(str(run_dir), folder.info(), samples)


def results_of(
    samples: Sequence[Sample],
    reviews: Sequence[Mapping[str, Any]],
    info: Mapping[str, Any],
    *,
    name: str,
    n_boot: int = stats.N_BOOT,
    seed: int = stats.SEED,
) -> dict[str, Any]:
    """The ``results.json`` body of these reviews; ``info`` is the run.json content (judge, options)."""
    table = score_table(samples, reviews, judged_metrics(info, reviews))
    results = aggregate(table, n_boot=n_boot, seed=seed)
    results["run"] = {
        "name": name,
        "agent": info.get("agent"),
        "judge": info.get("judge"),
        "judge_options": info.get("judge_options"),
    }
    return results


def current_results(run_dir: str | Path) -> dict[str, Any]:
    """A judged run's results: its results.json, or (an older folder without one) aggregated from its reviews.

    Raises:
        DataError: The run is not judged, or its files are not those run.json records.
    """
    folder = RunFolder(run_dir)
    if folder.file("results.json").exists() or not folder.holds_run():
        return folder.results()
    reviews = folder.reviews()
    if not reviews:
        raise DataError(
            "no results.json and no reviews: judge the run first (mmrole judge)", file=str(run_dir)
        )
    info = folder.info()
    return results_of(folder.samples(), reviews, info, name=folder.name(info))


def write_run(
    folder: RunFolder,
    samples: Sequence[Sample],
    answers: Sequence[AnswerRecord],
    *,
    inputs: StageInputs,
    summary: Mapping[str, Any],
    overwrite: bool = False,
    reviews: Sequence[ReviewRecord] | None = None,
    judge_inputs: StageInputs | None = None,
    judge_summary: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Write a run made elsewhere (imported answers and reviews, a policy's responses) through the
    same stages as ``mmrole answer`` and ``mmrole judge``; returns the results written, if judged.

    Args:
        folder: The run folder.
        samples, answers: The answer stage's records.
        inputs, summary: What made the answers, and run.json's top-level keys for them.
        overwrite: Start afresh whatever the folder holds.
        reviews, judge_inputs, judge_summary: The judging stage's records, when there are reviews.
    """
    with folder.lock():
        folder.begin_answer(inputs, samples, overwrite=overwrite, summary=summary)
        answered = sum(1 for a in answers if not a.get("error") and (a.get("answer") or "").strip())
        folder.finish_answer(answers, counts={"total": len(samples), "answered": answered})
        if reviews is None:
            return None
        folder.begin_judging(judge_inputs or StageInputs(""), overwrite=overwrite, summary=judge_summary)
        info = folder.info()
        results = results_of(samples, reviews, info, name=folder.name(info))
        return folder.finish_judging(reviews, results, counts={"reviews": len(reviews)})
