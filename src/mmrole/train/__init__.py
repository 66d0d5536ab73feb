"""mmrole.train: supervised fine-tuning (MRPAs, judges) and preference alignment with TRL.

Importing this package is cheap: torch, transformers and TRL load when a trainer runs.

    >>> from mmrole.train import SFTConfig, build_config, train_sft
    >>> config = build_config(SFTConfig, model="Qwen/Qwen2-VL-7B-Instruct",
    ...                       data="data/train/train_85k.json", output_dir="runs/mrpa")
    >>> train_sft(config)                                               # doctest: +SKIP
"""

from __future__ import annotations

import typing

from mmrole import _lazy

if typing.TYPE_CHECKING:
    from mmrole.train.base_config import PRESETS, TrainConfig, build_config
    from mmrole.train.common import TrainResult
    from mmrole.train.dpo import train_dpo
    from mmrole.train.dpo_config import DPOConfig
    from mmrole.train.judge import train_judge
    from mmrole.train.judge_config import JudgeTrainConfig
    from mmrole.train.preference_format import (
        PreferenceRecord,
        preference_record,
        read_preferences,
        write_preferences,
    )
    from mmrole.train.sft import train_sft
    from mmrole.train.sft_config import SFTConfig

__all__ = [
    "PRESETS",
    "DPOConfig",
    "JudgeTrainConfig",
    "PreferenceRecord",
    "SFTConfig",
    "TrainConfig",
    "TrainResult",
    "build_config",
    "preference_record",
    "read_preferences",
    "train_dpo",
    "train_judge",
    "train_sft",
    "write_preferences",
]

# The names load on first use: importing a light submodule (an options dataclass) stays light.
_lazy.lazy_names(
    __name__,
    {
        "base_config": (
            "PRESETS",
            "TrainConfig",
            "build_config",
        ),
        "common": ("TrainResult",),
        "dpo": ("train_dpo",),
        "dpo_config": ("DPOConfig",),
        "judge": ("train_judge",),
        "judge_config": ("JudgeTrainConfig",),
        "preference_format": (
            "PreferenceRecord",
            "preference_record",
            "read_preferences",
            "write_preferences",
        ),
        "sft": ("train_sft",),
        "sft_config": ("SFTConfig",),
    },
)
