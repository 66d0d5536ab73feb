"""Options of ``mmrole train dpo``."""

from __future__ import annotations

from dataclasses import dataclass

from mmrole.options import option, required
from mmrole.train.base_config import TrainConfig


@dataclass
class DPOConfig(TrainConfig):
    """Direct preference optimisation on preference pairs (see :mod:`mmrole.train.preference_format`).

    Defaults: sigmoid loss with beta 0.1 (the DPO paper's), a small learning rate (5e-7, as
    RLAIF-V-style alignment of 7B VLMs uses), 2 epochs, cosine schedule with 10% warm-up; the
    reference model is the starting model. ``--sft-weight`` adds an SFT term on the chosen
    answers (RPO's alpha; TRL's ``loss_type=[sigmoid, sft]``).
    """

    data: str = required(
        "Preference pairs: a JSONL of {id, images, prompt, chosen, rejected} (mmrole feedback writes it)."
    )
    num_train_epochs: float = option(2.0, "Epochs over the preference pairs.")
    learning_rate: float = option(5e-7, "Peak learning rate.")
    warmup_ratio: float = option(0.1, "Fraction of the steps spent warming the learning rate up.")
    weight_decay: float = option(0.0, "AdamW weight decay.")
    adam_beta2: float = option(0.999, "AdamW beta2.")
    per_device_train_batch_size: int = option(4, "Preference pairs per device per step.")
    gradient_accumulation_steps: int = option(4, "Micro-batches accumulated per optimiser step.")
    beta: float = option(0.1, "DPO beta: how far the policy may move from the reference (higher = less).")
    loss_type: str = option(
        "sigmoid", "TRL DPO loss(es), comma-separated: sigmoid, ipo, hinge, robust, bco_pair..."
    )
    sft_weight: float = option(
        0.0, "Weight of an added SFT loss on the chosen answers (RPO alpha; 0 = none)."
    )
    precompute_ref_log_probs: bool = option(
        False, "Compute the reference log-probs once before training (frees the reference model's memory)."
    )
