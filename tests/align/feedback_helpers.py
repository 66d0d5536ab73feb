"""Scripted policies and judge responders for the feedback and align tests.

The judge side is always the real local OpenAI-compatible server (mmrole.testing.server),
so requests travel the same HTTP path as a real judge; responders read the MMRole-Eval
prompt the way a judge would (Model A's response, the metric asked about).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mmrole.models.base import last_user_text
from mmrole.schema import METRICS
from mmrole.testing import Call, ScriptedBackend

_A_START = "## **[Model A's Response Start]**\n\n"
_A_END = "\n\n## **[Model A's Response End]**"
_ASPECT = "Please evaluate the following aspect of each model's response:\n"


def model_a_response(messages: list[dict[str, Any]]) -> str:
    """Model A's response in an MMRole-Eval judge prompt."""
    text = last_user_text(messages)
    return text.split(_A_START, 1)[1].split(_A_END, 1)[0]


def judged_metric(messages: list[dict[str, Any]]) -> str:
    """The metric an MMRole-Eval judge prompt asks about."""
    aspect = last_user_text(messages).split(_ASPECT, 1)[1]
    return next(m for m in METRICS if aspect.startswith(m + ":"))


def scripted_policy(script: Callable[[str, int], str]) -> ScriptedBackend:
    """A policy whose response to sample S, draw k is ``script(S, k)``; its ``calls`` record what it was asked."""
    return ScriptedBackend(lambda call: script(sample_of(call), call.params.draw), spec="scripted-policy")


def sample_of(call: Call) -> str:
    """The sample a policy call answers (the engine's request id is ``<sample>#<draw>``)."""
    return (call.request_id or "").rpartition("#")[0]


def keyword_judge(word: str = "sparkle", reference_score: int = 8) -> Callable[[list[dict[str, Any]]], str]:
    """A judge scoring Model A ``1 + 2 * (occurrences of word)`` (at most 10), on every metric."""

    def respond(messages: list[dict[str, Any]]) -> str:
        a = min(10, 1 + 2 * model_a_response(messages).count(word))
        return f"Model A is fine. [Scores]: ({a}, {reference_score})"

    return respond
