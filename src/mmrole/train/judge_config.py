"""Options of ``mmrole train judge``: its defaults are MMRole-Eval's reward-model recipe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from mmrole.options import option, required
from mmrole.train.sft_config import SFTConfig


@dataclass
class JudgeTrainConfig(SFTConfig):
    """Fine-tuning a judge on MMRole-Eval trajectories (SFT on judge prompts -> reviews).

    The defaults reproduce MMRole-Eval's reward model (Qwen-VL-Chat, 8 GPUs): 10 epochs, learning
    rate 1e-5, cosine, 1% warm-up, weight decay 0.05, Adam beta2 0.95, 4096 tokens, 4 examples per
    GPU and 8 accumulation steps.
    """

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {"mmrole-eval-rm": {}}

    data: str = required(
        "Judge trajectories: an `mmrole judge` run folder (samples/answers/reviews.jsonl), or MMRole's "
        "RM_data JSON (Qwen-VL format: judge prompt -> review). Several, comma-separated."
    )
    num_train_epochs: float = option(10.0, "Epochs over the training data.")
    max_length: int | None = option(4096, "Maximum tokens per example (image tokens included).")
    per_device_train_batch_size: int = option(4, "Examples per device per step.")
    gradient_accumulation_steps: int = option(8, "Micro-batches accumulated per optimiser step.")
    metrics: str | None = option(
        None, "Train on these metrics only (comma-separated names; default all eight)."
    )
    require_score: bool = option(True, "Skip reviews whose text has no parseable [Scores]: (a, b) pair.")
