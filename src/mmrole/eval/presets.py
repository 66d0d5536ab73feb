"""The demo preset: how ``mmrole eval`` answers and judges with the bundled demo model, and the
warning every report of such a run carries. Pure data, no I/O and no imports of mmrole.

The demo judge is SmolLM2-135M on a CPU. It cannot write MMRole-Eval reviews, so the demo
preset asks it for the scores only: its reply is made to start with ``[Scores]: (`` (an
assistant prefill the backend continues), it may write a few tokens, and the scores are read
from its logprobs (the expected value over 1..10) rather than from a long sampled review.
A reply without scores is not re-asked (a reminder doubles the CPU time and rarely helps a
135M model); it is counted as failed like any other.
That makes the whole pipeline run in minutes offline; the numbers demonstrate the pipeline
and measure nothing.
"""

from __future__ import annotations

from typing import Any

#: The model spec (agent or judge) of the bundled demo model.
DEMO_SPEC = "demo"
#: Judge settings for the 135M demo judge (see the module docstring).
DEMO_JUDGE = {"scoring": "logprob", "max_tokens": 10, "prefill": "[Scores]: (", "format_retries": 0}
#: The demo agent's answer length cap (tokens): a 135M model rambles, and CPU time is short.
DEMO_ANSWER_MAX_TOKENS = 48
#: ``--max-failures`` of judging with the demo judge unless given: a 135M judge misses the score
#: format now and then (the failures are counted and shown), which must not fail ``make demo``.
DEMO_MAX_FAILURES = "0.1"
#: What every report and summary of a run judged by the demo model says.
DEMO_DISCLAIMER = (
    "The judge is the 135M-parameter demo model: these scores demonstrate the pipeline, they are not a "
    "measurement. Use a capable judge (e.g. the MMRole-Eval reward model or a strong VLM) for real results."
)


def is_demo(spec: Any) -> bool:
    """Whether a model spec (or backend) is the bundled demo model."""
    return (spec if isinstance(spec, str) else getattr(spec, "spec", "")) == DEMO_SPEC
