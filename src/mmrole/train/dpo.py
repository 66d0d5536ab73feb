"""``mmrole train dpo``: direct preference optimisation with TRL's DPOTrainer.

Reads the preference JSONL of :mod:`mmrole.train.preference_format` (what ``mmrole feedback``
writes). Sigmoid loss with beta 0.1 by default; ``--sft-weight`` adds an SFT term on the chosen
answers (RPO). Full or LoRA training; the reference model is the starting model (with LoRA, the
same weights with the adapter switched off, so no second copy is loaded).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mmrole.train.arguments import trainer_arguments
from mmrole.train.checkpoints import checkpoint_to_resume, keep_checkpoint_weights, weights_checkpoint
from mmrole.train.common import TrainResult, callbacks, prepare_model, train_and_save, with_model_folder
from mmrole.train.dpo_config import DPOConfig
from mmrole.train.examples import Example, load_examples

logger = logging.getLogger(__name__)


def _as_text_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Messages with string content (image parts dropped: images sit at the first user turn)."""
    from mmrole.train.formatting import message_text

    return [{"role": m["role"], "content": message_text(m)} for m in messages]


def preference_examples(source: str) -> list[Example]:
    """The pairs of one preference JSONL, as examples with ``images``, ``prompt``, ``chosen``, ``rejected``."""
    from mmrole.train.preference_format import read_preferences

    examples = []
    for record in read_preferences(source):
        data = record.to_trl()
        examples.append(
            {
                "id": data["id"],
                "images": data["images"],
                "prompt": _as_text_messages(data["prompt"]),
                "chosen": _as_text_messages(data["chosen"]),
                "rejected": _as_text_messages(data["rejected"]),
            }
        )
    return examples


def read_dpo_data(config: DPOConfig) -> list[Example]:
    """Every pair of ``config.data`` (comma-separated files), image paths resolved and checked."""

    def image_root_of(source: str) -> Path:
        return Path(config.image_root).expanduser() if config.image_root else Path(source).expanduser().parent

    return load_examples(
        config.data,
        lambda source, _guard: preference_examples(source),
        image_root_of=image_root_of,
        missing_images=config.missing_images,
        max_samples=config.max_samples,
    )


def preference_dataset(examples: list[Example], *, with_images: bool) -> Any:
    """A ``datasets.Dataset`` in TRL's conversational preference format."""
    from datasets import Dataset

    columns = (
        ("id", "images", "prompt", "chosen", "rejected")
        if with_images
        else ("id", "prompt", "chosen", "rejected")
    )
    return Dataset.from_list([{key: example[key] for key in columns} for example in examples])


def loss_settings(config: DPOConfig) -> dict[str, Any]:
    """TRL's ``loss_type``/``loss_weights`` for ``--loss-type`` and ``--sft-weight``."""
    losses = [name.strip() for name in config.loss_type.split(",") if name.strip()]
    weights = [1.0] * len(losses)
    if config.sft_weight > 0 and "sft" not in losses:
        losses.append("sft")
        weights.append(config.sft_weight)
    return {"loss_type": losses, "loss_weights": weights}


def train_dpo(config: DPOConfig, *, on_trainer: Any = None) -> TrainResult:
    """Align ``config.model`` on the preference pairs of ``config.data``; saves to ``config.output_dir``.

    Args:
        config: What to train and how.
        on_trainer: Called with the trainer before training (tests snapshot weights with it).

    Raises:
        DataError: Bad preference data or a missing image (before any training).
        ConfigError: Bad options, or a run folder holding checkpoints without ``--resume``.
    """
    import trl

    from mmrole.train.collators import VisionPreferenceCollator

    config = with_model_folder(config)
    resume_from = checkpoint_to_resume(config)
    examples = read_dpo_data(config)
    args = trainer_arguments(
        config,
        trl.DPOConfig,
        beta=config.beta,
        precompute_ref_log_probs=config.precompute_ref_log_probs,
        **loss_settings(config),
    )
    checkpoint = weights_checkpoint(config, args, resume_from)
    model, processor, peft_config = prepare_model(config, args, weights_from=checkpoint)
    vision = hasattr(processor, "tokenizer")
    if not vision and any(example["images"] for example in examples):
        logger.warning("%s is a text-only model: the pairs' images are left out", config.model)
    trainer = trl.DPOTrainer(
        model=model,
        args=args,
        train_dataset=preference_dataset(examples, with_images=vision),
        processing_class=processor,
        data_collator=VisionPreferenceCollator(processor, max_length=config.max_length) if vision else None,
        peft_config=peft_config,
        callbacks=callbacks(config),
    )
    keep_checkpoint_weights(trainer, checkpoint)
    if on_trainer is not None:
        on_trainer(trainer)
    return train_and_save(trainer, config, resume_from=resume_from, method="dpo")
