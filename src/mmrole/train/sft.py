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
from collections.abc import Callable, Iterable
from typing import Any

from mmrole.train.arguments import trainer_arguments
from mmrole.train.checkpoints import checkpoint_to_resume, keep_checkpoint_weights, weights_checkpoint
from mmrole.train.common import TrainResult, callbacks, prepare_model, train_and_save, with_model_folder
from mmrole.train.examples import Example, load_examples, sft_examples, to_dataset
from mmrole.train.sft_config import SFTConfig

logger = logging.getLogger(__name__)


def read_sft_data(config: SFTConfig) -> list[Example]:
    """The training examples of ``config.data`` (images resolved and checked, held-out samples left out)."""
    return load_examples(
        config.data,
        lambda source, guard: sft_examples(source, default_system=config.default_system, guard=guard),
        image_root=config.image_root,
        missing_images=config.missing_images,
        max_samples=config.max_samples,
        guard_of=config.holdout_options().guard,
    )


def build_sft_trainer(
    config: SFTConfig, examples: Iterable[Example], *, resume_from: str | None = None
) -> Any:
    """An ``SFTTrainer`` ready to train ``examples`` (also used by ``mmrole train judge``)."""
    import trl

    from mmrole.train.collators import ChatCollator

    args = trainer_arguments(
        config,
        trl.SFTConfig,
        # The collator tokenises on the fly (images make upfront tokenisation too costly).
        dataset_kwargs={"skip_prepare_dataset": True},
    )
    checkpoint = weights_checkpoint(config, args, resume_from)
    model, processor, peft_config = prepare_model(config, args, weights_from=checkpoint)
    vision = hasattr(processor, "tokenizer")
    examples = list(examples)
    if not vision and any(example.get("images") for example in examples):
        logger.warning("%s is a text-only model: the examples' images are left out", config.model)
    trainer = trl.SFTTrainer(
        model=model,
        args=args,
        train_dataset=to_dataset(examples, with_images=vision),
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
    method: str = "sft",
    on_trainer: Callable[[Any], None] | None = None,
) -> TrainResult:
    """Fine-tune ``config.model`` on ``config.data`` and save it to ``config.output_dir``.

    Args:
        config: What to train and how.
        examples: Ready examples instead of reading ``config.data`` (``mmrole train judge`` passes its own).
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
    if examples is None:
        examples = read_sft_data(config)
    trainer = build_sft_trainer(config, examples, resume_from=resume_from)
    if on_trainer is not None:
        on_trainer(trainer)
    return train_and_save(trainer, config, resume_from=resume_from, method=method)
