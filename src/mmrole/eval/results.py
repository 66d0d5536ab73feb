"""Run-folder I/O of the evaluation: ``reviews.jsonl`` in, ``results.json`` out.

The arithmetic lives in :mod:`mmrole.eval.aggregate` and :mod:`mmrole.eval.stats`
(pure); this module only reads and writes files. See docs/architecture.md for the layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mmrole.engine import runfolder
from mmrole.errors import DataError
from mmrole.eval import stats
from mmrole.eval.aggregate import Judgement, ScoreTable, aggregate, build_table
from mmrole.eval.provenance import Provenance, provenance_of
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


def read_json(path: Path) -> Any:
    """Read a JSON file; a missing or malformed file is a DataError naming it."""
    return runfolder.read_json(path)


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The objects of a JSONL file; a bad line is a DataError naming the file and the line."""
    yield from runfolder.read_jsonl(path)


def write_json(path: Path, data: Any) -> None:
    """Write one JSON document atomically."""
    runfolder.write_json(path, data)


def write_text(path: Path, text: str) -> None:
    """Write a text file (a board, a comparison) atomically: a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def write_run_files(
    run_dir: Path,
    *,
    info: dict[str, Any] | None = None,
    samples: Iterable[Sample] | None = None,
    answers: Iterable[dict[str, Any]] | None = None,
    reviews: Iterable[dict[str, Any]] | None = None,
) -> None:
    """Write the given parts of a run folder atomically (others are left alone); run.json is merged."""
    from mmrole.data import write_samples_jsonl

    run_dir.mkdir(parents=True, exist_ok=True)
    if info is not None:
        runfolder.update_run_info(run_dir, info)
    if samples is not None:
        write_samples_jsonl(samples, run_dir / SAMPLES_FILE)
    if answers is not None:
        runfolder.write_jsonl(run_dir / ANSWERS_FILE, answers)
    if reviews is not None:
        runfolder.write_jsonl(run_dir / REVIEWS_FILE, reviews)


def run_image_root(run_dir: Path, info: dict[str, Any] | None = None) -> Path | None:
    """Where a run's sample images are: run.json's ``image_root``, else the data source's image folder."""
    info = read_run_info(run_dir) if info is None else info
    data = info.get("data")
    explicit = info.get("image_root") or (data.get("image_root") if isinstance(data, dict) else None)
    if explicit:
        return Path(explicit)
    source = data.get("source") if isinstance(data, dict) else data
    if isinstance(source, str) and source:
        from mmrole.data import image_root
        from mmrole.data.paths import UnsafePathError

        try:
            return image_root(source)
        except UnsafePathError:
            raise  # an images/ folder linking out of its root is refused, never read from elsewhere
        except Exception:  # noqa: BLE001 - a moved or deleted source: judge without images or with --images
            return None
    return None


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """``run.json`` (empty when absent)."""
    return runfolder.read_run_info(run_dir)


def read_provenance(run_dir: str | Path) -> Provenance:
    """What produced a run's scores (judge, its options, the samples and their splits), for
    :func:`mmrole.eval.provenance.provenance_warnings`; the run is labelled by its folder as given."""
    run_dir = Path(run_dir)
    samples = read_samples(run_dir) if (run_dir / SAMPLES_FILE).exists() else []
    return provenance_of(str(run_dir), read_run_info(run_dir), samples)


def read_samples(run_dir: Path) -> list[Sample]:
    """The samples of a run.

    Raises:
        DataError: The folder has no samples.jsonl (not a run) or a line is not a sample.
    """
    path = Path(run_dir) / SAMPLES_FILE
    if not path.exists():
        raise DataError(
            "not a run folder (no samples.jsonl): run `mmrole answer` or `mmrole import` first",
            file=str(run_dir),
        )
    from mmrole.data import read_samples_jsonl

    return list(read_samples_jsonl(path))


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
        raise DataError(
            "score must be null or a pair of numbers",
            file=str(path),
            record=f"{record.get('sample_id')}/{record.get('metric')}",
            field="score",
        )
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
