"""Scripted AutoRPEval models: a partner, a role and an evaluator whose answers are known in advance.

The evaluator answers each question the same way for every chat, so the expected scores follow
from the role files alone (:func:`expected`): the first candidate trait, every candidate style,
all emotions 0, intimacy 5, personality INTJ, human-like, role B, not coherent.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from typing import Any

from mmrole.models.base import last_user_text


def question_of(text: str) -> str:
    """Which of the eight questions a prompt asks (by the answer format it shows)."""
    if "is_real_dialogue" in text:
        return "human_likeness"
    if "is_coherent" in text:
        return "coherence"
    markers = {
        "rolechoice": ('{"answer": "A"}', '"answer"'),
        "character": ("[Candidate Character Set]", "[候选性格集合]"),
        "style": ("[Candidate Speaking Styles]", "[候选说话风格集合]"),
        "emotion": ('"happiness": happiness score', '"快乐": 快乐评分'),
        "relationship": ('{"relationship": intimacy score}', '{"relationship": 亲密度评分}'),
        "personality": ('{"personality": "MBTI type"}', '{"personality": "MBTI类型"}'),
    }
    for question, found in markers.items():
        if any(marker in text for marker in found):
            return question
    return "unknown"


def _candidates(text: str, marker_en: str, marker_cn: str) -> list[str]:
    marker = marker_en if marker_en in text else marker_cn
    line = text.split(marker + "\n", 1)[1].split("\n", 1)[0]
    return [c for c in line.replace("，", ", ").split(", ") if c]


def evaluator_reply(messages: list[dict[str, Any]]) -> str:
    text = last_user_text(messages)
    question = question_of(text)
    chinese = "[角色信息]" in text or "[场景]" in text
    if question == "character":
        first = _candidates(text, "[Candidate Character Set]", "[候选性格集合]")[0]
        return "Thinking... " + json.dumps({"character": first}, ensure_ascii=False)
    if question == "style":
        styles = _candidates(text, "[Candidate Speaking Styles]", "[候选说话风格集合]")
        return json.dumps({"style": "，".join(styles) if chinese else ", ".join(styles)}, ensure_ascii=False)
    if question == "emotion":
        keys = (
            ("快乐", "悲伤", "厌恶", "恐惧", "惊讶", "愤怒")
            if chinese
            else ("happiness", "sadness", "disgust", "fear", "surprise", "anger")
        )
        return "Scores: {" + ", ".join(f'"{key}": 0' for key in keys) + "}"
    return {
        "relationship": 'close enough {"relationship": 5}',
        "personality": '{"personality": "INTJ"}',
        "human_likeness": 'real {"is_real_dialogue": "true"}',
        "rolechoice": 'It is B. {"answer": "B"}',
        "coherence": '{"is_coherent": "false"}',
    }.get(question, "I do not know.")


def partner_reply(messages: list[dict[str, Any]]) -> str:
    return f"Partner line {len(messages)}: what brings you here?\n(stage direction)"


def role_reply(messages: list[dict[str, Any]]) -> str:
    return f"Role line {len(messages)}: I came for the truth."


def _mean_sem(units: Sequence[float]) -> tuple[float, float]:
    return statistics.fmean(units), statistics.stdev(units) / math.sqrt(len(units))


def expected(roles: Sequence[dict[str, Any]], metric: str) -> tuple[float, float]:
    """The mean and SEM the scripted evaluator's answers give, from the role files alone."""
    chat_units: list[float] = []
    role_units: list[float] = []
    for role in roles:
        chats = list(role["chats"].values())
        traits = role["character"].replace("，", ",").split(",")
        if metric == "character":
            chat_units += [1 / len(traits)] * len(chats)
        elif metric == "style":
            chat_units += [1.0] * len(chats)
        elif metric == "emotion":
            chat_units += [sum(chat["emotions"].values()) / 10 / 6 for chat in chats]
        elif metric == "relationship":
            chat_units += [abs(chat["relationship_score"] - 5) / 10 for chat in chats]
        elif metric == "personality":
            role_units.append(sum(a == b for a, b in zip(role["personality"], "INTJ", strict=True)) / 4)
        elif metric == "rolechoice":
            role_units.append(1.0 if role["role_answer"] == "B" else 0.0)
        elif metric in ("human_likeness", "coherence"):
            role_units.append(1.0 if metric == "human_likeness" else 0.0)
    return _mean_sem(chat_units or role_units)
