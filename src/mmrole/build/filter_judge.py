"""The model side of ``mmrole build filter``: review and rewrite requests, and reading their replies.

The review is one judge call per dialogue (:func:`mmrole.prompts.curation.judge_messages_text`);
its reply must be a JSON object with three 1-10 scores, the dialogue's score being the lowest
(falling short on any criterion is falling short). A reply that is not one raises
:class:`UnreadableReply` with a short reason, which the stage records: it never crashes the stage.
The rewrite (``--refine``) is one generator call per dialogue, naming the turns to rewrite.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from mmrole.engine.runner import Request
from mmrole.models.base import GenerationParams, Message
from mmrole.prompts.curation import JUDGE_CRITERIA, DialogueView, judge_messages_text, refine_messages_text

#: Scores a review may give.
SCORE_RANGE = (1.0, 10.0)
#: What the demo judge (135M parameters) is asked: its reply is made to start inside the JSON, and
#: a few tokens suffice to read a score (as ``mmrole eval``'s demo preset does).
DEMO_JUDGE_PREFILL = '{"in_character": '
DEMO_JUDGE_MAX_TOKENS = 24


class UnreadableReply(ValueError):
    """A review or rewrite reply that cannot be used (the message is the reason, one line)."""


@dataclass(frozen=True)
class Judgement:
    """A dialogue's review: the lowest of the criteria's scores, each score, the turns it faults (from
    0) and its reason."""

    score: float
    scores: dict[str, float]
    reason: str = ""
    bad_turns: tuple[int, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "scores": self.scores,
            "reason": self.reason,
            "bad_turns": list(self.bad_turns),
        }


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (code fences and prose around it are ignored)."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def parse_judgement(text: str, turns: int) -> Judgement:
    """Read a review reply.

    A JSON object with the three criteria is read as such; without one (a small judge that stops
    early), ``"criterion": N`` pairs found in the text are read, and all three must be there.

    Args:
        text: The reply (with any prefill in front).
        turns: How many turns the dialogue has (turn numbers outside it are dropped).

    Raises:
        UnreadableReply: No JSON object, a criterion missing or not a number, or a score outside 1-10.
    """
    found = _json_object(text) or {}
    scores: dict[str, float] = {}
    for name in JUDGE_CRITERIA:
        value = _number(found.get(name))
        if value is None:
            pair = re.search(rf'"?{name}"?\s*[:=]\s*"?(-?\d+(?:\.\d+)?)', text)
            value = float(pair.group(1)) if pair else None
        if value is None:
            raise UnreadableReply(f"no {name} score")
        if not SCORE_RANGE[0] <= value <= SCORE_RANGE[1]:
            raise UnreadableReply(f"{name} score {value:g} is outside 1-10")
        scores[name] = value
    bad = found.get("bad_turns")
    numbers = bad if isinstance(bad, list) else []
    bad_turns = tuple(
        sorted(
            {
                int(n) - 1
                for n in numbers
                if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= turns
            }
        )
    )
    reason = found.get("reason")
    return Judgement(
        min(scores.values()), scores, reason.strip() if isinstance(reason, str) else "", bad_turns
    )


def parse_rewrite(text: str, wanted: set[int]) -> dict[int, str]:
    """Read a rewrite reply: turn index (from 0) -> new text, for the turns asked for.

    Turns not asked for are ignored (the rest of the dialogue stays as it was); a turn asked for
    but not rewritten keeps its text and is checked again.

    Raises:
        UnreadableReply: No JSON object, or no usable new text for any turn asked for.
    """
    found = _json_object(text)
    if found is None:
        raise UnreadableReply("the rewrite is not a JSON object")
    rewritten: dict[int, str] = {}
    for key, value in found.items():
        try:
            index = int(str(key).strip().strip("[]")) - 1
        except ValueError:
            continue
        if index in wanted and isinstance(value, str) and value.strip():
            rewritten[index] = value.strip()
    if not rewritten:
        raise UnreadableReply("the rewrite holds no new text for the turns asked for")
    return rewritten


def _messages(system: str, user: str, image_url: str | None, prefill: str | None = None) -> list[Message]:
    content: list[dict[str, Any]] = []
    if image_url is not None:
        content.append({"type": "image_url", "image_url": {"url": image_url}})
    content.append({"type": "text", "text": user})
    messages: list[Message] = [{"role": "system", "content": system}, {"role": "user", "content": content}]
    if prefill:
        messages.append({"role": "assistant", "content": prefill})
    return messages


def judge_request(
    request_id: str,
    view: DialogueView,
    image_url: str | None,
    params: GenerationParams,
    *,
    attempt: int = 0,
    prefill: str | None = None,
) -> Request:
    """The review call of one dialogue (``attempt`` > 0: re-asked with a format reminder)."""
    system, user = judge_messages_text(view, attempt=attempt)
    return Request(request_id, _messages(system, user, image_url, prefill), params)


def refine_request(
    request_id: str,
    view: DialogueView,
    problems: list[tuple[int, str]],
    image_url: str | None,
    params: GenerationParams,
) -> Request:
    """The rewrite call of one dialogue's failing turns (``problems``: turn index, why)."""
    system, user = refine_messages_text(view, problems)
    return Request(request_id, _messages(system, user, image_url), params)
