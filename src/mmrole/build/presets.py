"""The demo preset of the generating stages: how ``mmrole build`` writes with the bundled demo
model (SmolLM2-135M on a CPU). Pure data, no I/O.

A 135M model cannot write the JSON profiles and dialogues of ``generation = "whole"`` (it copies the
schema's ``"..."`` or rambles, and its speakers do not alternate), so the demo generator writes
stepwise: one short plain-text call per profile section or dialogue turn, the structure fixed by
the pipeline. Its replies still go through every rule of the filter, and some fail (an empty
section, a turn in the wrong language), which must not stop ``make demo``: the demo allows half
of the items to fail. The dataset it makes demonstrates the pipeline and is worth nothing.
"""

from __future__ import annotations

from typing import Any

from mmrole.eval.presets import is_demo

__all__ = ["DEMO_GENERATOR", "generator_preset"]

#: Settings of the generating stages with the demo generator, for the options not given.
DEMO_GENERATOR: dict[str, Any] = {
    "generation": "stepwise",
    "max_tokens": 48,
    "format_retries": 1,
    "engine": {"max_failures": "0.5"},
}


def generator_preset(generator: Any) -> dict[str, Any]:
    """The preset of a generator spec (or backend): the demo's settings, or none."""
    return DEMO_GENERATOR if is_demo(generator) else {}
