"""Options of ``mmrole train sft``: its defaults are MMRole-Agent's fine-tuning recipe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from mmrole.data.holdout import HoldoutOptions
from mmrole.options import option, required
from mmrole.train.base_config import TrainConfig


@dataclass
class SFTConfig(TrainConfig):
    """Supervised fine-tuning of a vision-language model into an MRPA.

    The defaults reproduce MMRole-Agent's recipe (Qwen-VL-Chat, 8 GPUs): 3 epochs, learning rate
    1e-5 with a cosine schedule and 1% warm-up, weight decay 0.05, Adam beta2 0.95, 3072 tokens,
    8 examples per GPU and 4 accumulation steps (256 per step on 8 GPUs), vision encoder frozen,
    loss on the assistant's tokens only.
    """

    data: str = required(
        "Training data: MMRole's Qwen-VL-format JSON (e.g. data/train/train_85k.json; multi-turn kept), "
        "a samples JSONL, an MMRole-Data root, or demo."
    )
    #: Presets ``--preset`` accepts besides the shared ones (``{}``: the defaults above).
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {"mmrole-agent": {}}

    default_system: str | None = option(
        None, "System text for examples that have none (MMRole's records carry their own)."
    )
    include_test: bool = option(
        False,
        "Keep the test samples (the data root's data/test/ and --test-data) and the other turns of their "
        "dialogues in the training data (left out by default; warned about).",
    )
    include_ood: bool = option(
        False,
        "Keep out-of-distribution characters' samples (left out by default: MMRole holds them out for the Out-Test).",
    )
    test_data: str | None = option(
        None,
        "More test sets to hold out of training (comma-separated), besides the data root's data/test/.",
    )

    def holdout_options(self) -> HoldoutOptions:
        """What training leaves out of each source (see :mod:`mmrole.data.holdout`)."""

        tests = tuple(part.strip() for part in (self.test_data or "").split(",") if part.strip())
        return HoldoutOptions(self.include_test, self.include_ood, tests)
