"""The TRL arguments (``trl.SFTConfig``, ``trl.DPOConfig``) of an mmrole training config, and the
precision the weights load in."""

from __future__ import annotations

import dataclasses
from typing import Any

from mmrole.errors import ConfigError
from mmrole.train.base_config import TrainConfig


def use_bf16(config: TrainConfig) -> bool:
    """``--bf16`` as given, else whether a CUDA GPU with bfloat16 is present."""
    import torch

    if config.bf16 is not None:
        return config.bf16
    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def trainer_arguments(config: TrainConfig, config_class: type, **method_args: Any) -> Any:
    """The TRL config (``trl.SFTConfig``, ``trl.DPOConfig``) for an mmrole config.

    Raises:
        ConfigError: ``--trainer-args`` names an unknown argument or the values are invalid.
    """
    import torch

    bf16 = use_bf16(config)
    ratio = config.warmup_ratio
    args: dict[str, Any] = dict(
        output_dir=config.output_dir,
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=ratio if 0 < ratio < 1 else 0,
        weight_decay=config.weight_decay,
        adam_beta2=config.adam_beta2,
        max_grad_norm=config.max_grad_norm,
        per_device_train_batch_size=config.per_device_train_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        gradient_checkpointing=config.gradient_checkpointing,
        bf16=bf16,
        fp16=False,
        seed=config.seed,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy=config.save_strategy,
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        dataloader_num_workers=config.dataloader_num_workers,
        dataloader_pin_memory=torch.cuda.is_available(),
        report_to=[] if config.report_to in ("", "none") else config.report_to.split(","),
        disable_tqdm=True,  # RichProgressCallback instead
        max_length=config.max_length,
        trust_remote_code=config.trust_remote_code,
        # The collators read the raw columns (messages, images): keep them.
        remove_unused_columns=False,
    )
    args.update(method_args)
    known = {f.name for f in dataclasses.fields(config_class)}
    if "activation_checkpointing" in known:  # transformers >= 5 renamed it; the old name only warns
        args["activation_checkpointing"] = args.pop("gradient_checkpointing")
    extra = config.extra_trainer_args()
    unknown = sorted(set(extra) - known)
    if unknown:
        raise ConfigError(f"--trainer-args: unknown argument(s) {', '.join(unknown)}")
    args.update(extra)
    try:
        return config_class(**args)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"invalid training arguments: {err}") from None


def model_dtype(config: TrainConfig, args: Any) -> Any:
    """The dtype to load the weights in.

    bfloat16 weights when training in bf16 with DeepSpeed (which keeps fp32 master weights) or
    LoRA (the base is frozen; adapters train in fp32); otherwise fp32 weights with bf16 autocast,
    since plain AdamW updates at lr 1e-5 would vanish in bfloat16 weights.
    """
    import torch

    if not args.bf16:
        return torch.float32
    deepspeed = getattr(args, "deepspeed_plugin", None) is not None or bool(getattr(args, "deepspeed", None))
    return torch.bfloat16 if (deepspeed or config.use_lora) else torch.float32
