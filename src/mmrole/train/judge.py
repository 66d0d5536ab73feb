"""``mmrole train judge``: train a judge model on MMRole-Eval trajectories (SFT on reviews).

A trajectory is one judgement: the prompt is MMRole-Eval's judge system text plus the image and
the user text comparing Model A with Model B on one metric (:mod:`mmrole.prompts.judge`), the
target the judge's review ending in ``[Scores]: (a, b)``. Two sources:

* an ``mmrole judge`` run folder: prompts are rebuilt from ``samples.jsonl`` and
  ``answers.jsonl`` exactly as the judge saw them (including swapped ``BA`` orders), targets
  are the reviews in ``reviews.jsonl`` (failed or unscored ones are left out);
* MMRole's RM_data files (Qwen-VL format, user turn = judge prompt, assistant turn = review).

Training is :func:`mmrole.train.sft.train_sft` on these examples; the defaults are MMRole-Eval's
reward-model recipe (:class:`mmrole.train.judge_config.JudgeTrainConfig`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from mmrole.data.holdout import Holdout
from mmrole.data.qwen import iter_conversation_records, split_from_path, split_image_tag
from mmrole.errors import DataError
from mmrole.eval.parse import locate_scores
from mmrole.prompts.judge import JUDGE_SYSTEM, judge_user_text
from mmrole.runs import REVIEWS, RunFolder
from mmrole.schema import METRICS
from mmrole.train.checkpoints import checkpoint_to_resume
from mmrole.train.common import TrainResult
from mmrole.train.examples import (
    Example,
    ExampleTally,
    conversation_files,
    iter_examples,
    sft_features,
    sft_row,
    source_image_root,
    split_sources,
)
from mmrole.train.formatting import conversation_example, message_text, prompt_completion_example
from mmrole.train.judge_config import JudgeTrainConfig
from mmrole.train.prepared import PreparedData, example_options, prepare_dataset
from mmrole.train.sft import sft_inputs, train_sft

if TYPE_CHECKING:
    from mmrole.data.holdout import HoldoutOptions, TrainingSource

logger = logging.getLogger(__name__)

_ASPECT_LINE = re.compile(r"Please evaluate the following aspect of each model's response:\n([^:\n]+):")


def is_run_folder(source: str) -> bool:
    """Whether ``source`` is an ``mmrole judge`` run folder (it has a reviews.jsonl)."""
    return (Path(source) / "reviews.jsonl").is_file()


def metric_of_prompt(text: str) -> str | None:
    """The metric a judge prompt asks about (``Fluency``...), read from its aspect line."""
    match = _ASPECT_LINE.search(text)
    return match.group(1).strip() if match else None


def _wanted_metrics(metrics: str | None) -> set[str] | None:
    if not metrics:
        return None
    wanted = {name.strip() for name in metrics.split(",") if name.strip()}
    unknown = wanted - set(METRICS)
    if unknown:
        raise DataError(f"unknown metric(s) {', '.join(sorted(unknown))}; choose from {', '.join(METRICS)}")
    return wanted


def run_data_source(run_dir: str | Path) -> str | None:
    """The data source a run's samples came from (run.json), when it still exists."""
    data = RunFolder(run_dir).info().get("data")
    source = data.get("source") if isinstance(data, dict) else data
    if isinstance(source, list):  # an import: the released files, side by side
        source = source[0] if source else None
    if source == "demo" or (isinstance(source, str) and source and Path(source).expanduser().exists()):
        return source
    return None


def run_guard(run_dir: str | Path, options: HoldoutOptions) -> TrainingSource:
    """What judge training leaves out of a run: the test samples of the data source it answered."""
    source = run_data_source(run_dir)
    if source is None:
        logger.warning(
            "%s: warning: the run's data source is not found, so its test samples cannot be recognised "
            "(only out-of-distribution ones are left out); name the test set with --test-data",
            run_dir,
        )
    return options.guard(source if source is not None else run_dir)


def run_folder_examples(
    run_dir: str | Path,
    *,
    system: str,
    metrics: set[str] | None = None,
    require_score: bool = True,
    guard: TrainingSource | None = None,
) -> Iterator[Example]:
    """The judge trajectories of an ``mmrole judge`` run folder (of the samples ``guard`` keeps).

    Raises:
        DataError: A review names a sample or answer the run does not have.
    """

    folder = RunFolder(run_dir)
    all_samples = folder.samples()
    samples = {s.id: s for s in all_samples if guard is None or guard.keep_sample(s)}
    held_out = {s.id for s in all_samples} - set(samples)
    answers = folder.answers()
    reviews_file = str(folder.file(REVIEWS))
    left_out = 0
    for review in folder.reviews():
        sample_id, metric, text = review.get("sample_id"), review.get("metric"), review.get("text")
        if str(sample_id) in held_out:  # counted by the guard
            continue
        if review.get("error") or not isinstance(text, str) or not text.strip():
            left_out += 1
            continue
        if metrics is not None and metric not in metrics:
            continue
        if require_score and locate_scores(text) is None:
            left_out += 1
            continue
        sample = samples.get(str(sample_id))
        if sample is None:
            raise DataError(
                "review of a sample not in samples.jsonl", file=reviews_file, record=str(sample_id)
            )
        record = answers.get(sample.id)
        answer = record.get("answer") if record is not None else None
        if not isinstance(answer, str):
            raise DataError(
                "review of a sample with no answer in answers.jsonl", file=reviews_file, record=sample.id
            )
        order = review.get("order") or "AB"
        answer_a, answer_b = (answer, sample.reference) if order == "AB" else (sample.reference, answer)
        prompt = judge_user_text(
            question=sample.instruction,
            answer_a=answer_a,
            answer_b=answer_b,
            role=sample.role,
            script=sample.script,
            other_role=sample.other_role,
            metric=str(metric),
        )
        yield prompt_completion_example(
            f"{sample.id}::{metric}::{order}::{review.get('repeat', 0)}",
            system=system,
            prompt=prompt,
            completion=text,
            images=[sample.image] if sample.image else [],
        )
    if left_out:
        logger.warning("%s: %d failed or unscored reviews left out", reviews_file, left_out)


def rm_data_examples(
    source: str,
    *,
    system: str,
    metrics: set[str] | None = None,
    require_score: bool = True,
    guard: TrainingSource | None = None,
) -> Iterator[Example]:
    """The judge trajectories of MMRole's RM_data files (Qwen-VL format), the records ``guard`` keeps."""

    for file in conversation_files(source) or []:
        split = split_from_path(file.parent)
        for record in iter_conversation_records(file):
            if guard is not None and not guard.keep_record(record, split=split):
                continue
            example = conversation_example(
                record, file=file, default_system=system, split_image_tag=split_image_tag
            )
            turns = example["messages"]
            if metrics is not None:
                prompt = next((message_text(m) for m in turns if m["role"] == "user"), "")
                if metric_of_prompt(prompt) not in metrics:
                    continue
            if require_score and locate_scores(message_text(turns[-1])) is None:
                continue
            yield example


def judge_examples(config: JudgeTrainConfig) -> list[Example]:
    """Every trajectory of ``config.data`` (run folders and RM_data, comma-separated), in a list;
    training streams them with :func:`prepare_judge_data` instead."""
    return list(_judge_examples(config))


def _judge_examples(config: JudgeTrainConfig, tally: ExampleTally | None = None) -> Iterator[Example]:
    system = config.default_system or JUDGE_SYSTEM
    metrics = _wanted_metrics(config.metrics)

    def read(source: str, guard: TrainingSource | None) -> Iterator[Example]:
        reader = run_folder_examples if is_run_folder(source) else rm_data_examples
        return reader(source, system=system, metrics=metrics, require_score=config.require_score, guard=guard)

    def guard_of(source: str) -> TrainingSource:
        holdout = config.holdout_options()
        return run_guard(source, holdout) if is_run_folder(source) else holdout.guard(source)

    return iter_examples(
        config.data,
        read,
        image_root_of=lambda source: judge_image_root(source, config.image_root),
        missing_images=config.missing_images,
        max_samples=config.max_samples,
        guard_of=guard_of,
        tally=tally,
    )


def judge_image_root(source: str, explicit: str | None) -> Path | None:
    """What a judge source's image paths are relative to: a run folder's image root, else as for SFT."""
    if explicit or not is_run_folder(source):
        return source_image_root(source, explicit)
    return RunFolder(source).image_root() or Path(source)


def judge_inputs(source: str, holdout: HoldoutOptions) -> list[Path]:
    """What a judge source's trajectories are read from: the run folder (and the test sets of the data
    it answered) or the RM_data files (and their root's test sets)."""

    if not is_run_folder(source):
        return sft_inputs(source, holdout)
    data_source = run_data_source(source)
    return [Path(source), *Holdout.of(data_source or source, holdout.test_data).inputs()]


def prepare_judge_data(config: JudgeTrainConfig, *, cache_dir: Path | None = None) -> PreparedData:
    """The trajectories of :func:`judge_examples` streamed into a memory-mapped dataset, once per node
    (:func:`mmrole.train.prepared.prepare_dataset`; rows as :func:`mmrole.train.examples.sft_row`)."""
    sources = split_sources(config.data)
    holdout = config.holdout_options()
    options = example_options(
        config,
        sources,
        lambda source: judge_image_root(source, config.image_root),
        default_system=config.default_system,
        metrics=sorted(_wanted_metrics(config.metrics) or []),
        require_score=config.require_score,
    )
    return prepare_dataset(
        "judge",
        lambda tally: map(sft_row, _judge_examples(config, tally)),
        features=sft_features(),
        options=options,
        inputs=[path for source in sources for path in judge_inputs(source, holdout)],
        progress=config.progress,
        cache_dir=cache_dir,
    )


def train_judge(config: JudgeTrainConfig) -> TrainResult:
    """Train a judge on the trajectories of ``config.data``; the result loads as ``hf:OUTPUT_DIR``.

    Raises:
        DataError: Bad trajectories, a missing image, or no trajectory at all.
        ConfigError: Bad options.
    """

    checkpoint_to_resume(config)  # fail fast, before reading the data
    return train_sft(config, prepare=lambda: prepare_judge_data(config), method="judge")
