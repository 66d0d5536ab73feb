"""Run-folder I/O of the evaluation: ``reviews.jsonl`` in, ``results.json`` out.

The arithmetic lives in :mod:`mmrole.eval.aggregate` and :mod:`mmrole.eval.stats`
(pure); this module only reads and writes files. See docs/architecture.md for the layout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mmrole.errors import DataError
from mmrole.eval import stats
from mmrole.eval.aggregate import Judgement, ScoreTable, aggregate, build_table
from mmrole.schema import METRICS, Sample

RUN_FILE, RESULTS_FILE = "run.json", "results.json"
SAMPLES_FILE, ANSWERS_FILE, REVIEWS_FILE = "samples.jsonl", "answers.jsonl", "reviews.jsonl"


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
) -> dict[str, Any]:
    """One ``reviews.jsonl`` line: a :class:`mmrole.schema.Review` plus order, repeat and extras."""
    return {
        "sample_id": sample_id,
        "metric": metric,
        "text": text,
        "score": list(score) if score is not None else None,
        "error": error,
        "order": order,
        "repeat": repeat,
        **extra,
    }


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records atomically (temp file + rename), so a crash never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    os.replace(tmp, path)
    return count


def write_json(path: Path, data: Any) -> None:
    """Write one JSON document atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    """Read a JSON file; a missing or malformed file is a DataError naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"cannot read: {err}", file=str(path)) from None


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The objects of a JSONL file; a bad line is a DataError naming the file and the line."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"malformed JSON: {err.msg}", file=str(path), record=f"line {number}") from None
            if not isinstance(obj, dict):
                raise DataError("expected a JSON object", file=str(path), record=f"line {number}")
            yield obj


def write_run_files(
    run_dir: Path,
    *,
    info: dict[str, Any] | None = None,
    samples: Iterable[Sample] | None = None,
    answers: Iterable[dict[str, Any]] | None = None,
    reviews: Iterable[dict[str, Any]] | None = None,
) -> None:
    """Write the given parts of a run folder (others are left alone); run.json is merged, not replaced."""
    from mmrole import __version__

    run_dir.mkdir(parents=True, exist_ok=True)
    if info is not None:
        path = run_dir / RUN_FILE
        merged = read_json(path) if path.exists() else {}
        merged.update(info)
        merged.setdefault("mmrole_version", __version__)
        write_json(path, merged)
    if samples is not None:
        write_jsonl(run_dir / SAMPLES_FILE, (s.model_dump(mode="json", exclude_none=True) for s in samples))
    if answers is not None:
        write_jsonl(run_dir / ANSWERS_FILE, answers)
    if reviews is not None:
        write_jsonl(run_dir / REVIEWS_FILE, reviews)


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """``run.json`` (empty when absent)."""
    path = Path(run_dir) / RUN_FILE
    return read_json(path) if path.exists() else {}


def read_samples(run_dir: Path) -> list[Sample]:
    """The samples of a run.

    Raises:
        DataError: The folder has no samples.jsonl (not a run) or a line is not a sample.
    """
    path = Path(run_dir) / SAMPLES_FILE
    if not path.exists():
        raise DataError("not a run folder (no samples.jsonl): run `mmrole answer` or `mmrole import` first",
                        file=str(run_dir))
    samples = []
    for number, obj in enumerate(iter_jsonl(path), 1):
        try:
            samples.append(Sample.model_validate(obj))
        except ValueError as err:
            raise DataError(f"not a sample: {err}", file=str(path), record=f"line {number}") from None
    return samples


def read_answers(run_dir: Path) -> dict[str, dict[str, Any]]:
    """``answers.jsonl`` by sample id (empty when absent)."""
    path = Path(run_dir) / ANSWERS_FILE
    return {str(a.get("id")): a for a in iter_jsonl(path)} if path.exists() else {}


def read_reviews(run_dir: Path) -> list[dict[str, Any]]:
    """``reviews.jsonl`` records (empty when absent)."""
    path = Path(run_dir) / REVIEWS_FILE
    return list(iter_jsonl(path)) if path.exists() else []


def _score(record: dict[str, Any], path: Path) -> tuple[float, float] | None:
    score = record.get("score")
    if score is None or record.get("error"):
        return None
    if not (isinstance(score, list) and len(score) == 2 and all(isinstance(x, (int, float)) for x in score)):
        raise DataError("score must be null or a pair of numbers", file=str(path),
                        record=f"{record.get('sample_id')}/{record.get('metric')}", field="score")
    return (float(score[0]), float(score[1]))


def judged_metrics(run_dir: Path, reviews: list[dict[str, Any]] | None = None) -> list[str]:
    """The metrics a run was judged on: run.json's judge options, else those with reviews, in METRICS order."""
    info = read_run_info(run_dir)
    chosen = (info.get("judge_options") or {}).get("metrics")
    if chosen:
        return [m for m in METRICS if m in chosen]
    reviews = read_reviews(run_dir) if reviews is None else reviews
    present = {r.get("metric") for r in reviews}
    return [m for m in METRICS if m in present] or list(METRICS)


def load_table(run_dir: str | Path) -> ScoreTable:
    """The run's samples x metrics score table (from samples.jsonl and reviews.jsonl)."""
    run_dir = Path(run_dir)
    samples = read_samples(run_dir)
    reviews = read_reviews(run_dir)
    path = run_dir / REVIEWS_FILE
    judgements = [
        Judgement(str(r.get("sample_id")), str(r.get("metric")), _score(r, path), str(r.get("order") or "AB"))
        for r in reviews
    ]
    rows = [{"id": s.id, "split": s.split, "type": s.type} for s in samples]
    return build_table(rows, judgements, judged_metrics(run_dir, reviews))


def write_results(
    run_dir: str | Path, *, n_boot: int = stats.N_BOOT, seed: int = stats.SEED
) -> dict[str, Any]:
    """Aggregate a run's reviews and write ``results.json``; returns what was written."""
    run_dir = Path(run_dir)
    results = aggregate(load_table(run_dir), n_boot=n_boot, seed=seed)
    info = read_run_info(run_dir)
    results["run"] = {
        "name": info.get("name") or run_dir.resolve().name,
        "agent": info.get("agent"),
        "judge": info.get("judge"),
        "judge_options": info.get("judge_options"),
    }
    write_json(run_dir / RESULTS_FILE, results)
    return results
