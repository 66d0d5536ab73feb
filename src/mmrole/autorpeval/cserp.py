"""CSERP alignment: BeyondDialogue's five alignment tasks, derived from a dialogue and scored.

From one chat of a role (its scene and ``dialogues``) and the role's profile, :func:`cserp_tasks`
derives the five tasks of BeyondDialogue's DerivedTask step (character, style, emotion,
relationship, personality): the prompt of ``CESRP_test.json`` (``DerivedTask/prompts*.py``, filled
as that set is filled: labels shown as Python lists, MBTI named letter by letter) and the label.
:func:`task_answer` writes the label as the JSON the prompt asks for, the training target.

:func:`parse_cserp` parses a model's answer as ``CESRPExp/parse_uitls.py`` does (the last ``{...}``
read with ``ast.literal_eval``; character and style answers keep only the labels' items);
:func:`item_score` and :func:`cserp_scores` are its metric, as the reference README states:
Character/Style recall of the label list (empty answer 0), Emotion NMAPE over the label's keys
(empty 1), Relationship abs error / 10 (empty 1), Personality letter-wise accuracy (empty 0);
mean ± SEM (ddof=1) per type, ×100; Avg of the five with Emotion and Relationship as 100 − value.

Pure: no I/O.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from mmrole.autorpeval.metrics import mean_sem
from mmrole.autorpeval.texts import character_candidates, dialogue_text, mbti_text, style_candidates
from mmrole.schema import EMOTIONS, EMOTIONS_ZH, MBTI_AXES

__all__ = [
    "CSERP_SYSTEM",
    "CSERP_TYPES",
    "LOWER_IS_BETTER",
    "cserp_scores",
    "cserp_tasks",
    "empty_score",
    "item_score",
    "parse_cserp",
    "task_answer",
    "unlabelled",
]

#: The five tasks, in BeyondDialogue's order.
CSERP_TYPES: tuple[str, ...] = ("character", "style", "emotion", "relationship", "personality")
#: Errors, not accuracies: shown as they are, taken as 100 − value in Avg.
LOWER_IS_BETTER = frozenset({"emotion", "relationship"})
#: The system message of every ``CESRP_test.json`` item.
CSERP_SYSTEM = "You are a helpful assistant."
#: What the Emotion and Relationship prompts say of a label the role lacks (an MMRole character has
#: no traits, style or MBTI), where BeyondDialogue's template would print ``[]`` or nothing.
UNKNOWN_LABEL = {"en": "unknown", "cn": "未知"}
_LAST_OBJECT = re.compile(r"{[^}]*}", re.DOTALL)


def _prompts(language: str) -> Any:
    from mmrole.prompts import cserp_cn, cserp_en

    return cserp_cn if language == "cn" else cserp_en


def cserp_tasks(
    role: Any, chat: Mapping[str, Any], *, distractors: Sequence[str] = (), seed: int = 0
) -> list[dict[str, Any]]:
    """The five alignment tasks of one chat: ``{"type", "language", "Q", "A"}`` each, as in
    ``CESRP_test.json``; those whose label the role lacks (Character without traits, Style
    without a speaking style, Personality without an MBTI: an MMRole character's profile) are
    left out, never given an empty label to learn; the other prompts call such a label
    ``unknown`` (:data:`UNKNOWN_LABEL`).

    Args:
        role: A :class:`mmrole.autorpeval.roles.Role`.
        chat: One of its chats with ``dialogues`` (``[{"role", "dialogue"}, ...]``) and ``scene``.
        distractors: Traits of other roles, some of which join the Character candidates (the test
            set offers the role's traits and one other, shuffled).
        seed: Seeds the choice of distractor and the candidates' order.
    """
    language = role.language
    prompts = _prompts(language)
    traits = [t.strip() for t in character_candidates(role.traits, language) if t.strip()]
    styles = [s.strip() for s in style_candidates(role.style, language) if s.strip()]
    emotions = {key: chat["emotions"][key] for key in (EMOTIONS_ZH if language == "cn" else EMOTIONS)}
    rng = random.Random(f"{seed}/{role.language}/{role.name}/{chat.get('chat_role', '')}")
    others = sorted({d for d in distractors if d not in traits})
    offered = traits + (rng.sample(others, 1) if others else [])
    rng.shuffle(offered)
    shown_styles = list(styles)
    rng.shuffle(shown_styles)
    unknown = UNKNOWN_LABEL[language]
    fill = {
        "role_name": role.name,
        "scene": chat["scene"],
        "dialogues": dialogue_text(chat["dialogues"]),
        "character": str(traits) if traits else unknown,
        "style": str(styles) if styles else unknown,
        "MBTI": mbti_text(role.mbti, language) if role.mbti else unknown,
    }
    prompts_of = {
        "character": prompts.CHARACTER.format(**fill, character_candidates=", ".join(offered)),
        "style": prompts.STYLE.format(**fill, style_candidates=", ".join(shown_styles)),
        "emotion": prompts.EMOTION.format(**fill),
        "relationship": prompts.RELATIONSHIP.format(**fill, target_name=chat["chat_role"]),
        "personality": prompts.PERSONALITY.format(**fill),
    }
    labels: dict[str, Any] = {
        "character": traits,
        "style": styles,
        "emotion": emotions,
        "relationship": float(chat["relationship_score"]),
        "personality": role.mbti,
    }
    return [
        {
            "type": kind,
            "language": language,
            "Q": [{"role": "system", "content": CSERP_SYSTEM}, {"role": "user", "content": prompts_of[kind]}],
            "A": labels[kind],
        }
        for kind in CSERP_TYPES
        if kind not in unlabelled(role)
    ]


def unlabelled(role: Any) -> frozenset[str]:
    """The tasks a role has no label for (see :func:`cserp_tasks`)."""
    language = role.language
    missing = set()
    if not [t for t in character_candidates(role.traits, language) if t.strip()]:
        missing.add("character")
    if not [s for s in style_candidates(role.style, language) if s.strip()]:
        missing.add("style")
    if not role.mbti:
        missing.add("personality")
    return frozenset(missing)


def task_answer(kind: str, label: Any, language: str) -> str:
    """The training target of a task: its label in the JSON format the prompt asks for."""
    import json

    comma = "，" if language == "cn" else ", "
    if kind in ("character", "style"):
        value: Any = {kind: comma.join(label)}
    elif kind == "emotion":
        value = dict(label)
    elif kind == "relationship":
        value = {"relationship": label}
    else:
        value = {"personality": label}
    return json.dumps(value, ensure_ascii=False)


def _last_object(reply: str) -> Any:
    found = _LAST_OBJECT.findall(reply)
    if not found:
        raise ValueError("no {...} in the answer")
    try:
        return ast.literal_eval(found[-1])
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as err:
        raise ValueError(f"the last {{...}} does not parse: {err}") from None


def _text_of(found: Any, key: str) -> str:
    if not isinstance(found, dict) or key not in found:
        raise ValueError(f"no {key!r} in the answer")
    if not isinstance(found[key], str):
        raise ValueError(f"{key!r} is not a string")
    return found[key]


def parse_cserp(kind: str, reply: str, label: Any, language: str) -> Any:
    """A model's answer to a task, parsed as ``CESRPExp/parse_uitls.py`` parses it.

    Raises:
        ValueError: Where BeyondDialogue's parser raises (the caller asks again).
    """
    found = _last_object(reply)
    if kind in ("character", "style"):
        items = _text_of(found, kind).lower().replace("，", ",").split(",")
        return [item.strip() for item in items if item.strip() in label]
    if kind == "emotion":
        keys = EMOTIONS_ZH if language == "cn" else EMOTIONS
        if not isinstance(found, dict):
            raise ValueError("the answer is not an object")
        scores = {}
        for key in found:
            if key in keys:
                try:
                    scores[key] = int(found[key])
                except (TypeError, ValueError):
                    raise ValueError(f"{key!r} is not a whole number") from None
        if len(scores) != 6:
            raise ValueError("not the six emotions")
        return scores
    if kind == "relationship":
        if not isinstance(found, dict) or "relationship" not in found:
            raise ValueError("no 'relationship' in the answer")
        try:
            return float(found["relationship"])
        except (TypeError, ValueError):
            raise ValueError("'relationship' is not a number") from None
    if kind == "personality":
        letters = _text_of(found, "personality").strip()
        for index, letter in enumerate(letters):
            if index >= len(MBTI_AXES) or letter not in MBTI_AXES[index]:
                raise ValueError(f"{letter!r} is not an MBTI letter at position {index + 1}")
        return letters
    raise ValueError(f"unknown task type {kind!r}")


def empty_score(kind: str) -> float:
    """The score of an empty (failed) answer: 0 for accuracies, 1 for errors."""
    return 1.0 if kind in LOWER_IS_BETTER else 0.0


def item_score(kind: str, label: Any, answer: Any) -> float:
    """One item's score (0-1); ``answer`` is the parsed answer, or ``""``/None when it failed."""
    if answer in ("", None) or (isinstance(answer, (list, dict)) and not answer):
        return empty_score(kind)
    if kind in ("character", "style"):
        return sum(1 for item in label if item in answer) / len(label)
    if kind == "emotion":
        return sum(abs(float(label[key]) - float(answer.get(key, 0))) / 10 for key in label) / len(label)
    if kind == "relationship":
        return abs(float(label) - float(answer)) / 10
    if kind == "personality":
        return sum(1 for mine, theirs in zip(label, answer, strict=False) if mine == theirs) / len(label)
    raise ValueError(f"unknown task type {kind!r}")


def _table(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for kind in CSERP_TYPES:
        values = [
            item_score(kind, item["A"], item.get("eval_result")) for item in items if item["type"] == kind
        ]
        mean, sem = mean_sem(values)
        metrics[kind] = {
            "n": len(values),
            "failed": sum(
                1 for item in items if item["type"] == kind and item.get("eval_result") in ("", None)
            ),
            "mean": None if mean is None else 100 * mean,
            "sem": None if sem is None else 100 * sem,
        }
    means = [metrics[kind]["mean"] for kind in CSERP_TYPES]
    avg = None
    if all(mean is not None for mean in means):
        avg = (
            sum(100 - m if kind in LOWER_IS_BETTER else m for kind, m in zip(CSERP_TYPES, means, strict=True))
            / 5
        )
    return {"n": len(items), "metrics": metrics, "avg": avg}


def cserp_scores(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean ± SEM per type (×100) and Avg, per language (``cn``, ``en``) and pooled (``all``), of
    items carrying ``type``, ``language``, ``A`` and ``eval_result`` (the parsed answer or ``""``)."""
    scores = {"all": _table(items)}
    for language in ("cn", "en"):
        mine = [item for item in items if item.get("language") == language]
        if mine:
            scores[language] = _table(mine)
    return scores
