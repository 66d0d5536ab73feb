"""mmrole.align: the RLAIF-V loop, preference pairs from a policy's own responses and iterative DPO.

``feedback`` samples K responses per prompt, scores them (MMRole-Eval rewards in ``feedback_judge``
or claim checks in ``claims``) and draws length-balanced preference pairs (``pairs``); ``loop``
(``mmrole align``) alternates feedback, ``mmrole train dpo`` and an MMRole-Eval evaluation. This
package sits above :mod:`mmrole.train` (it calls the DPO trainer), which never imports it.
Importing it is cheap: torch, transformers and TRL load when a model is trained or sampled.

    >>> from mmrole.align import AlignConfig, align
    >>> config = AlignConfig(model="runs/mrpa", data="MMRole_dataset", judge="openai:gpt-4o",
    ...                      output_dir="runs/align")                     # doctest: +SKIP
    >>> align(config)                                                      # doctest: +SKIP
"""

from __future__ import annotations

import typing

from mmrole import _lazy

if typing.TYPE_CHECKING:
    from mmrole.align.feedback import FeedbackSummary, generate_feedback, generate_feedback_sync
    from mmrole.align.feedback_config import FeedbackOptions
    from mmrole.align.loop import align
    from mmrole.align.loop_config import AlignConfig

__all__ = [
    "AlignConfig",
    "FeedbackOptions",
    "FeedbackSummary",
    "align",
    "generate_feedback",
    "generate_feedback_sync",
]

# The names load on first use: importing a light submodule (an options dataclass) stays light.
_lazy.lazy_names(
    __name__,
    {
        "feedback": (
            "FeedbackSummary",
            "generate_feedback",
            "generate_feedback_sync",
        ),
        "feedback_config": ("FeedbackOptions",),
        "loop": ("align",),
        "loop_config": ("AlignConfig",),
    },
)
