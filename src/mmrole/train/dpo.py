"""``mmrole train dpo``: direct preference optimisation with TRL's DPOTrainer.

Reads the preference JSONL of :mod:`mmrole.train.preference_format` (what ``mmrole feedback``
writes). Sigmoid loss with beta 0.1 by default; ``--sft-weight`` adds an SFT term on the chosen
answers (RPO). Full or LoRA training; the reference model is the starting model (with LoRA, the
same weights with the adapter switched off, so no second copy is loaded).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mmrole.train.arguments import trainer_arguments
from mmrole.train.checkpoints import checkpoint_to_resume, keep_checkpoint_weights, weights_checkpoint
from mmrole.train.collators import VisionPreferenceCollator
from mmrole.train.common import TrainResult, callbacks, prepare_model, train_and_save, with_model_folder
from mmrole.train.dpo_config import DPOConfig
from mmrole.train.examples import Example, ExampleTally, iter_examples, split_sources
from mmrole.train.formatting import message_text
from mmrole.train.preference_format import read_preferences
from mmrole.train.prepared import PreparedData, example_options, prepare_dataset

logger = logging.getLogger(__name__)


def _as_text_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Messages with string content (image parts dropped: images sit at the first user turn)."""

    return [{"role": m["role"], "content": message_text(m)} for m in messages]


def preference_examples(source: str) -> Iterator[Example]:
    """The pairs of one preference JSONL, as examples with ``images``, ``prompt``, ``chosen``, ``rejected``."""

    for record in read_preferences(source):
        data = record.to_trl()
        yield {
            "id": data["id"],
            "images": data["images"],
            "prompt": _as_text_messages(data["prompt"]),
            "chosen": _as_text_messages(data["chosen"]),
            "rejected": _as_text_messages(data["rejected"]),
        }


def _image_root_of(config: DPOConfig) -> Callable[[str], Path]:
    return lambda source: (
        Path(config.image_root).expanduser() if config.image_root else Path(source).expanduser().parent
    )


def read_dpo_data(config: DPOConfig) -> list[Example]:
    """Every pair of ``config.data`` (comma-separated files), image paths resolved and checked, in a
    list; training streams them with :func:`prepare_dpo_data` instead."""
    return list(_dpo_examples(config))


def _dpo_examples(config: DPOConfig, tally: ExampleTally | None = None) -> Iterator[Example]:
    return iter_examples(
        config.data,
        lambda source, _guard: preference_examples(source),
        image_root_of=_image_root_of(config),
        missing_images=config.missing_images,
        max_samples=config.max_samples,
        tally=tally,
    )


#: The columns of a preference dataset, in order.
PREFERENCE_COLUMNS = ("id", "images", "prompt", "chosen", "rejected")


def preference_features() -> Any:
    """The ``datasets.Features`` of a preference row (messages with string contents)."""
    from datasets import Features, List, Value

    message = List({"role": Value("string"), "content": Value("string")})
    return Features(
        {"id": Value("string"), "images": List(Value("string")), "prompt": message, "chosen": message,
         "rejected": message}
    )  # fmt: skip


def prepare_dpo_data(config: DPOConfig, *, cache_dir: Path | None = None) -> PreparedData:
    """The pairs of :func:`read_dpo_data` streamed into a memory-mapped dataset, once per node
    (:func:`mmrole.train.prepared.prepare_dataset`)."""
    sources = split_sources(config.data)
    return prepare_dataset(
        "dpo",
        lambda tally: ({key: e[key] for key in PREFERENCE_COLUMNS} for e in _dpo_examples(config, tally)),
        features=preference_features(),
        options=example_options(config, sources, _image_root_of(config)),
        inputs=[Path(source) for source in sources],
        progress=config.progress,
        cache_dir=cache_dir,
    )


def preference_dataset(examples: list[Example], *, with_images: bool) -> Any:
    """A ``datasets.Dataset`` in TRL's conversational preference format, built in memory."""
    from datasets import Dataset

    columns = PREFERENCE_COLUMNS if with_images else tuple(c for c in PREFERENCE_COLUMNS if c != "images")
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

    config = with_model_folder(config)
    resume_from = checkpoint_to_resume(config)
    args = trainer_arguments(
        config,
        trl.DPOConfig,
        beta=config.beta,
        precompute_ref_log_probs=config.precompute_ref_log_probs,
        **loss_settings(config),
    )
    data = prepare_dpo_data(config)  # once the launch's processes are known, before the model loads
    checkpoint = weights_checkpoint(config, args, resume_from)
    model, processor, peft_config = prepare_model(config, args, weights_from=checkpoint)
    vision = hasattr(processor, "tokenizer")
    if not vision and data.with_images:
        logger.warning("%s is a text-only model: the pairs' images are left out", config.model)
    trainer = trl.DPOTrainer(
        model=model,
        args=args,
        train_dataset=data.for_model(vision=vision),
        processing_class=processor,
        data_collator=VisionPreferenceCollator(processor, max_length=config.max_length) if vision else None,
        peft_config=peft_config,
        callbacks=callbacks(config),
    )
    keep_checkpoint_weights(trainer, checkpoint)
    if on_trainer is not None:
        on_trainer(trainer)
    return train_and_save(trainer, config, resume_from=resume_from, method="dpo")
