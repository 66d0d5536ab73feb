"""``mmrole train sft``: fine-tune a vision-language model into an MRPA with TRL's SFTTrainer.

    >>> from mmrole.train import SFTConfig, train_sft
    >>> result = train_sft(SFTConfig(model="Qwen/Qwen2-VL-7B-Instruct", data="data/train/train_85k.json",
    ...                              output_dir="runs/mrpa"))            # doctest: +SKIP
    >>> result.model_dir                                                 # doctest: +SKIP
    PosixPath('runs/mrpa')      # loads as hf:runs/mrpa

The loss is on the assistant's tokens only (:class:`mmrole.train.collators.ChatCollator`), the
vision encoder is frozen by default, and full, LoRA or QLoRA training is one option away.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmrole.data.holdout import Holdout, training_path
from mmrole.train.arguments import trainer_arguments
from mmrole.train.checkpoints import checkpoint_to_resume, keep_checkpoint_weights, weights_checkpoint
from mmrole.train.collators import ChatCollator
from mmrole.train.common import TrainResult, callbacks, prepare_model, train_and_save, with_model_folder
from mmrole.train.examples import (
    Example,
    ExampleTally,
    iter_examples,
    load_examples,
    sft_examples,
    sft_features,
    sft_row,
    source_image_root,
    split_sources,
    to_dataset,
)
from mmrole.train.prepared import PreparedData, example_options, prepare_dataset
from mmrole.train.sft_config import SFTConfig

if TYPE_CHECKING:
    from mmrole.data.holdout import HoldoutOptions, TrainingSource

logger = logging.getLogger(__name__)


def _read(config: SFTConfig) -> Callable[[str, TrainingSource | None], Iterator[Example]]:
    return lambda source, guard: sft_examples(source, default_system=config.default_system, guard=guard)


def read_sft_data(config: SFTConfig) -> list[Example]:
    """The training examples of ``config.data`` in a list (images resolved and checked, held-out
    samples left out); training streams them with :func:`prepare_sft_data` instead."""
    return load_examples(
        config.data,
        _read(config),
        image_root=config.image_root,
        missing_images=config.missing_images,
        max_samples=config.max_samples,
        guard_of=config.holdout_options().guard,
    )


def prepare_sft_data(config: SFTConfig, *, cache_dir: Path | None = None) -> PreparedData:
    """The examples of :func:`read_sft_data` streamed into a memory-mapped dataset, once per node
    (:func:`mmrole.train.prepared.prepare_dataset`; rows as :func:`mmrole.train.examples.sft_row`)."""
    sources = split_sources(config.data)
    holdout = config.holdout_options()

    def rows(tally: ExampleTally) -> Iterator[dict[str, Any]]:
        examples = iter_examples(
            config.data,
            _read(config),
            image_root=config.image_root,
            missing_images=config.missing_images,
            max_samples=config.max_samples,
            guard_of=holdout.guard,
            tally=tally,
        )
        return map(sft_row, examples)

    inputs = [path for source in sources for path in sft_inputs(source, holdout)]
    return prepare_dataset(
        "sft",
        rows,
        features=sft_features(),
        options=example_options(
            config,
            sources,
            lambda s: source_image_root(s, config.image_root),
            default_system=config.default_system,
        ),
        inputs=inputs,
        progress=config.progress,
        cache_dir=cache_dir,
    )


def sft_inputs(source: str, holdout: HoldoutOptions) -> list[Path]:
    """What a source's examples are read from: its files and the test sets its guard holds out."""

    return [training_path(source), *Holdout.of(source, holdout.test_data).inputs()]


def build_sft_trainer(
    config: SFTConfig,
    examples: Iterable[Example] | None = None,
    *,
    prepare: Callable[[], PreparedData] | None = None,
    resume_from: str | None = None,
) -> Any:
    """An ``SFTTrainer`` ready to train (also used by ``mmrole train judge``).

    Args:
        config: What to train and how.
        examples: Ready examples (a dataset is built of them in memory); else ``prepare`` is called.
        prepare: Makes the memory-mapped dataset (default :func:`prepare_sft_data`), once the
            launch's processes are known and before the model loads.
        resume_from: The checkpoint training resumes from.
    """
    import trl

    args = trainer_arguments(
        config,
        trl.SFTConfig,
        # The collator tokenises on the fly (images make upfront tokenisation too costly).
        dataset_kwargs={"skip_prepare_dataset": True},
    )
    if examples is not None:
        examples = list(examples)
        data = PreparedData(
            to_dataset(examples, with_images=True),
            len(examples),
            sum(1 for example in examples if example.get("images")),
        )
    else:
        data = (prepare or (lambda: prepare_sft_data(config)))()
    checkpoint = weights_checkpoint(config, args, resume_from)
    model, processor, peft_config = prepare_model(config, args, weights_from=checkpoint)
    vision = hasattr(processor, "tokenizer")
    if not vision and data.with_images:
        logger.warning("%s is a text-only model: the examples' images are left out", config.model)
    trainer = trl.SFTTrainer(
        model=model,
        args=args,
        train_dataset=data.for_model(vision=vision),
        processing_class=processor,
        data_collator=ChatCollator(processor, max_length=config.max_length),
        peft_config=peft_config,
        callbacks=callbacks(config),
    )
    keep_checkpoint_weights(trainer, checkpoint)
    return trainer


def train_sft(
    config: SFTConfig,
    *,
    examples: Iterable[Example] | None = None,
    prepare: Callable[[], PreparedData] | None = None,
    method: str = "sft",
    on_trainer: Callable[[Any], None] | None = None,
) -> TrainResult:
    """Fine-tune ``config.model`` on ``config.data`` and save it to ``config.output_dir``.

    Args:
        config: What to train and how.
        examples: Ready examples instead of reading ``config.data``.
        prepare: Makes the memory-mapped dataset instead of :func:`prepare_sft_data`
            (``mmrole train judge`` passes its own).
        method: Name recorded in the run summary.
        on_trainer: Called with the trainer before training (tests use it to snapshot weights).

    Returns:
        The run folder, the model folder (``hf:`` loadable) and the losses.

    Raises:
        DataError: Bad training data or a missing image (before any training).
        ConfigError: Bad options, or a run folder holding checkpoints without ``--resume``.
    """
    config = with_model_folder(config)
    resume_from = checkpoint_to_resume(config)
    trainer = build_sft_trainer(config, examples, prepare=prepare, resume_from=resume_from)
    if on_trainer is not None:
        on_trainer(trainer)
    return train_and_save(trainer, config, resume_from=resume_from, method=method)
