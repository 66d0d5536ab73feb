"""``MMRoleDataset.evaluate``: MMRole-Eval of a VLMEvalKit prediction file through mmrole's engine.

Beside ``PRED = {model}_{dataset}.xlsx`` (VLMEvalKit's names, as its benchmarks do):

    {model}_{dataset}_{judge}_mmrole/   an mmrole run folder: samples, answers, the engine's store
                                        (a rerun makes no call already made: resumable), reviews,
                                        results.json; ``mmrole report`` / ``leaderboard`` read it
    {model}_{dataset}_{judge}.xlsx      the judge file: the predictions with each metric's review
                                        and score pair (.tsv when the prediction file is a .tsv)
    {model}_{dataset}_score.csv         the returned table

The table has one row per subset (``All``, then each split and dialogue type with samples) and
one column per metric, ``Overall`` (the mean of the metric means, as ``mmrole judge`` reports it)
and ``n`` (samples). Scores are MMRole's: the MRPA's score over the reference's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mmrole.engine.options import EngineOptions
from mmrole.errors import DataError
from mmrole.eval.judge import JudgeSummary, judge_run
from mmrole.integrations.vlmeval_judge import JudgeSetup, judge_setup
from mmrole.integrations.vlmeval_predictions import (
    PredictionTable,
    answer_record,
    read_prediction_table,
    write_prediction_file,
)
from mmrole.runs import RunFolder, StageInputs
from mmrole.schema import DIALOGUE_TYPES, METRICS, SPLIT_NAMES, SPLITS

#: An :class:`mmrole.integrations.vlmeval_dataset.MMRoleDataset` (which imports this module).
MMRoleDataset = Any


def results_frame(results: dict[str, Any]) -> pd.DataFrame:
    """The score table of a run's ``results.json`` body (see the module docstring)."""
    subsets = [("All", results)]
    subsets += [(SPLIT_NAMES.get(s, s), results["by_split"][s]) for s in SPLITS]
    subsets += [(t, results["by_type"][t]) for t in DIALOGUE_TYPES]
    rows = []
    for name, part in subsets:
        if not part.get("n_samples"):
            continue
        row: dict[str, Any] = {"subset": name}
        for metric in METRICS:
            stat = part["metrics"].get(metric)
            if stat is not None:
                row[metric] = stat.get("mean")
        row["Overall"] = part["overall"].get("mean")
        row["n"] = part["n_samples"]
        rows.append(row)
    return pd.DataFrame(rows)


def _model_name(eval_file: Path, dataset_name: str) -> str:
    stem = eval_file.stem
    return stem[: -len(dataset_name) - 1] if stem.endswith(f"_{dataset_name}") else stem


def _matched(dataset: MMRoleDataset, table: PredictionTable) -> list[tuple[dict[str, str], Any]]:
    """(prediction row, dataset row) pairs; every index must be the dataset's, every id its sample's."""
    by_index = {str(index): i for i, index in enumerate(dataset.data["index"])}
    pairs = []
    for line, row in enumerate(table.rows, start=2):
        position = by_index.get(row["index"])
        if position is None:
            raise DataError(
                f"row {line}: index {row['index']} is not in {dataset.dataset_name} ({dataset.data_path})",
                file=str(table.path),
                field="index",
            )
        line_data = dataset.data.iloc[position]
        if row.get("id") and row["id"] != str(line_data["id"]):
            raise DataError(
                f"row {line}: index {row['index']} is sample {line_data['id']!r} in {dataset.dataset_name} "
                f"but {row['id']!r} here",
                file=str(table.path),
                record=row["id"],
                field="id",
            )
        pairs.append((row, line_data))
    return pairs


async def _judge(run_dir: Path, setup: JudgeSetup, image_root: str, records: Any) -> JudgeSummary:
    engine = EngineOptions(
        concurrency=setup.concurrency, max_retries=setup.max_retries, progress=setup.progress
    )
    return await judge_run(
        run_dir,
        setup.spec,
        setup.options,
        image_root=image_root,
        engine=engine,
        overwrite=True,  # the answers were just rewritten: judge them (the store answers repeats)
        backend_options=setup.backend_options,
        records=records,  # just written: not read back
    )


def _judge_rows(
    table: PredictionTable, samples: list[Any], reviews: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The judge file's rows: each prediction row with every metric's review and score pair."""
    by_key = {(r["sample_id"], r["metric"]): r for r in reviews if r.get("order", "AB") == "AB"}
    rows = []
    for row, sample in zip(table.rows, samples, strict=True):
        out: dict[str, Any] = dict(row)
        for metric in METRICS:
            review = by_key.get((sample.id, metric))
            if review is None:
                continue
            out[f"{metric} review"] = review.get("error") or review.get("text", "")
            score = review.get("score")
            out[f"{metric} score"] = "" if score is None else f"{score[0]:g}, {score[1]:g}"
        rows.append(out)
    return rows


def evaluate_predictions(
    dataset: MMRoleDataset, eval_file: str | Path, judge_kwargs: dict[str, Any]
) -> pd.DataFrame:
    """Judge a prediction file of ``dataset`` (see the module docstring); returns the score table.

    Raises:
        DataError: A missing ``index`` or ``prediction`` column, an index not in the dataset, a row
            whose ``id`` is not the dataset's sample at that index.
        ConfigError: A judge argument MMRole's evaluation does not know.
    """
    from vlmeval.smp import dump, get_intermediate_file_path

    from mmrole.eval import results as run_results

    eval_path = Path(eval_file)
    setup = judge_setup(judge_kwargs)
    table = read_prediction_table(eval_path)
    pairs = _matched(dataset, table)
    samples = []
    for _, line in pairs:
        dataset.dump_image(line)  # the judge sees the image too
        samples.append(dataset.sample_of(line))
    answers = [
        answer_record(sample.id, row["prediction"], {"source": str(eval_path), "vlmeval_index": row["index"]})
        for (row, _), sample in zip(pairs, samples, strict=True)
    ]
    name = _model_name(eval_path, dataset.dataset_name)
    run_dir = eval_path.with_name(f"{eval_path.stem}_{setup.tag}_mmrole")
    agent = f"vlmeval:{name}"
    run_results.write_run(
        RunFolder(run_dir),
        samples,
        answers,
        inputs=StageInputs(agent, data=[str(eval_path)]),
        summary={"name": name, "agent": agent, "data": dataset.dataset_name},
        overwrite=True,
    )
    records = (samples, {a["id"]: a for a in answers})
    summary = asyncio.run(_judge(run_dir, setup, dataset.img_root, records))
    rows = _judge_rows(table, samples, RunFolder(run_dir).reviews())
    suffix = ".tsv" if eval_path.suffix.lower() == ".tsv" else ".xlsx"
    write_prediction_file(eval_path.with_name(f"{eval_path.stem}_{setup.tag}{suffix}"), rows)
    frame = results_frame(summary.results)
    dump(frame, get_intermediate_file_path(str(eval_path), "_score", "csv"))
    return frame
