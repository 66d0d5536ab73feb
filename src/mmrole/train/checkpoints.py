"""Resuming a training run: which checkpoint to continue from, and loading its weights right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmrole.errors import ConfigError
from mmrole.train.base_config import TrainConfig


def checkpoint_to_resume(config: TrainConfig) -> str | None:
    """The checkpoint to continue from, checking the run folder is not silently overwritten.

    Raises:
        ConfigError: The run folder already holds checkpoints and no resume was asked for,
            or ``--resume`` was given and there is none.
    """
    from transformers.trainer_utils import get_last_checkpoint

    if config.resume_from_checkpoint:
        if not Path(config.resume_from_checkpoint).is_dir():
            raise ConfigError(f"checkpoint not found: {config.resume_from_checkpoint}")
        return config.resume_from_checkpoint
    output_dir = Path(config.output_dir)
    last = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    if config.resume:
        if last is None:
            raise ConfigError(f"--resume: no checkpoint-* folder in {output_dir}")
        return last
    if last is not None:
        raise ConfigError(
            f"{output_dir} already holds checkpoints ({Path(last).name}): pass --resume to continue that run, "
            "or choose another --output-dir"
        )
    return None


def weights_checkpoint(config: TrainConfig, args: Any, resume_from: str | None) -> str | None:
    """The checkpoint to load the weights from with ``from_pretrained`` when resuming, else None.

    transformers' Trainer restores full-weight checkpoints with a raw ``load_state_dict`` that
    skips keys the model class renames on load (Qwen2-VL, LLaVA... save ``model.layers.*``
    and load ``model.language_model.layers.*``), silently resuming from the *base* weights. So
    a full-weight resume loads the model from the checkpoint folder instead (which maps the
    names) and :func:`keep_checkpoint_weights` stops the raw load. LoRA adapters and DeepSpeed
    checkpoints restore correctly through their own paths.
    """
    deepspeed = getattr(args, "deepspeed_plugin", None) is not None or bool(getattr(args, "deepspeed", None))
    if resume_from is None or config.use_lora or deepspeed or getattr(args, "fsdp", None):
        return None
    return resume_from


def keep_checkpoint_weights(trainer: Any, checkpoint: str | None) -> None:
    """Make ``trainer`` skip its raw weight load for ``checkpoint`` (see :func:`weights_checkpoint`)."""
    if checkpoint is None:
        return
    load = trainer._load_from_checkpoint

    def load_all_but_weights(resume_from_checkpoint: str, model: Any = None) -> None:
        if Path(resume_from_checkpoint) != Path(checkpoint):
            load(resume_from_checkpoint, model)

    trainer._load_from_checkpoint = load_all_but_weights
