"""Options shared by every trainer; each field's help text is also its ``mmrole train`` option help.

The configs are plain dataclasses with no torch import, so ``mmrole train sft --help`` is instant.
Each method's config (``sft_config.py``, ``judge_config.py``, ``dpo_config.py``) subclasses
:class:`TrainConfig`, and its field defaults *are* its default preset (MMRole's recipes).
Other presets (:data:`PRESETS`) override some fields; options given explicitly override both.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

from mmrole.errors import ConfigError
from mmrole.options import option, required


@dataclass
class TrainConfig:
    """What every ``mmrole train`` method needs: the model, the data, the run folder and the optimiser."""

    model: str = required(
        "Model to start from: a Hugging Face model id, a local folder, or demo (the offline "
        "SmolLM2-135M demo model, text-only: images are left out)."
    )
    data: str = required("Training data (see the method's help for the formats it reads).")
    output_dir: str = required(
        "Run folder: checkpoints, logs and the final model (loadable as hf:OUTPUT_DIR)."
    )
    preset: str | None = option(
        None,
        "Named preset applied before the options given here: smoke (a quick CPU check); sft also takes "
        "mmrole-agent, judge mmrole-eval-rm (their defaults).",
    )
    image_root: str | None = option(
        None,
        "Folder image paths are relative to (default: found from the data, e.g. MMRole-Data's images/).",
        flag="--images",
        aliases=("--image-root",),
    )
    max_samples: int | None = option(
        None, "Use only the first N training examples.", flag="--limit", aliases=("--max-samples",), min=1
    )
    missing_images: str = option(
        "error",
        "An example whose image file is missing: error (stop), skip (leave it out) or drop (train it without).",
    )
    # Optimisation.
    num_train_epochs: float = option(3.0, "Epochs over the training data.")
    max_steps: int = option(-1, "Stop after this many optimiser steps (overrides epochs when > 0).")
    learning_rate: float = option(1e-5, "Peak learning rate.")
    lr_scheduler_type: str = option(
        "cosine", "Learning-rate schedule (transformers' names: cosine, linear, constant...)."
    )
    warmup_ratio: float = option(0.01, "Fraction of the steps spent warming the learning rate up.")
    weight_decay: float = option(0.05, "AdamW weight decay.")
    adam_beta2: float = option(0.95, "AdamW beta2.")
    max_grad_norm: float = option(1.0, "Gradient clipping norm.")
    max_length: int | None = option(
        3072, "Maximum tokens per example (image tokens included); longer ones are cut at the end."
    )
    per_device_train_batch_size: int = option(8, "Examples per device per step.")
    gradient_accumulation_steps: int = option(4, "Micro-batches accumulated per optimiser step.")
    gradient_checkpointing: bool = option(True, "Recompute activations in the backward pass to save memory.")
    bf16: bool | None = option(None, "Train in bfloat16 (default: when the GPU supports it; never on CPU).")
    seed: int = option(42, "Random seed.")
    # Model.
    freeze_vision_tower: bool = option(
        True, "Keep the vision encoder frozen, as MMRole did (its vision-language adapter still trains)."
    )
    use_lora: bool = option(False, "Train LoRA adapters instead of all weights.")
    qlora: bool = option(
        False, "Load the base model in 4 bits for LoRA (QLoRA; needs CUDA and bitsandbytes)."
    )
    lora_r: int = option(64, "LoRA rank.")
    lora_alpha: int = option(16, "LoRA alpha.")
    lora_dropout: float = option(0.05, "LoRA dropout.")
    lora_target_modules: str = option(
        "all-linear",
        "Comma-separated module names LoRA adapts, or all-linear (the vision encoder is left out when frozen).",
    )
    merge_lora: bool = option(
        True, "Merge the LoRA adapters into the saved model (the adapter is kept in OUTPUT_DIR/adapter)."
    )
    attn_implementation: str | None = option(
        None, "Attention kernel: sdpa, flash_attention_2, eager (default: the model's)."
    )
    trust_remote_code: bool = option(False, "Allow models that ship their own Python code.")
    # Run folder.
    logging_steps: int = option(10, "Log the loss every N steps.")
    save_strategy: str = option("epoch", "When to write checkpoints: epoch, steps or no.")
    save_steps: int = option(500, "Checkpoint every N steps (with --save-strategy steps).")
    save_total_limit: int | None = option(None, "Keep only the newest N checkpoints.")
    resume: bool = option(False, "Continue from the newest checkpoint in OUTPUT_DIR.")
    resume_from_checkpoint: str | None = option(None, "Continue from this checkpoint folder.")
    dataloader_num_workers: int = option(
        0, "Worker processes loading images and tokenising (4-8 on GPU machines)."
    )
    report_to: str = option("none", "Experiment trackers to log to: none, tensorboard, wandb, trackio...")
    progress: bool = option(True, "Show a progress bar.")
    trainer_args: str | None = option(
        None,
        "More TRL/transformers training arguments as k=v pairs separated by commas (e.g. optim=adamw_8bit).",
    )

    def lora_targets(self) -> str | list[str]:
        """``all-linear`` or the list of module names."""
        names = [name.strip() for name in self.lora_target_modules.split(",") if name.strip()]
        return "all-linear" if names in ([], ["all-linear"]) else names

    def extra_trainer_args(self) -> dict[str, Any]:
        """``--trainer-args`` as a dict, values read as JSON where they parse (numbers, booleans)."""
        import json

        extra: dict[str, Any] = {}
        for pair in (self.trainer_args or "").split(","):
            if not pair.strip():
                continue
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"--trainer-args: {pair!r} is not key=value")
            try:
                extra[key.strip()] = json.loads(value)
            except json.JSONDecodeError:
                extra[key.strip()] = value.strip()
        return extra


#: Presets shared by all methods: field overrides applied before explicit options.
PRESETS: dict[str, dict[str, Any]] = {
    # A laptop/CI check that the whole pipeline runs: tiny batches, short sequences, fp32, no checkpoints.
    "smoke": {
        "num_train_epochs": 1.0,
        "max_length": 2048,
        "per_device_train_batch_size": 2,
        "gradient_accumulation_steps": 1,
        "gradient_checkpointing": False,
        "bf16": False,
        "learning_rate": 1e-4,
        "warmup_ratio": 0.0,
        "logging_steps": 1,
        "save_strategy": "no",
    },
}

ConfigT = TypeVar("ConfigT", bound=TrainConfig)


def build_config(cls: type[ConfigT], preset: str | None = None, **given: Any) -> ConfigT:
    """Make a config: the class defaults, then the preset, then the options given (``None`` = not given).

    Raises:
        ConfigError: Unknown preset or option, or a required option missing.
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(given) - names)
    if unknown:
        raise ConfigError(f"unknown option(s) for {cls.__name__}: {', '.join(unknown)}")
    presets = {**PRESETS, **getattr(cls, "PRESETS", {})}
    values: dict[str, Any] = {}
    if preset is not None:
        if preset not in presets:
            raise ConfigError(f"unknown preset {preset!r}; choose from {', '.join(sorted(presets))}")
        values.update(presets[preset])
        values["preset"] = preset
    values.update({key: value for key, value in given.items() if value is not None})
    missing = [f.name for f in dataclasses.fields(cls) if f.metadata.get("required") and f.name not in values]
    if missing:
        raise ConfigError(
            "missing required option(s): " + ", ".join("--" + n.replace("_", "-") for n in missing)
        )
    return cls(**values)
