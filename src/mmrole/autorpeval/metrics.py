"""AutoRPEval's numbers from evaluated chats, as BeyondDialogue's metric scripts compute them.

Per chat (the chat's ``*_eval`` fields against the role's labels):

=============== ====================================================================== =====
metric          score of one chat                                                      unit
=============== ====================================================================== =====
Character       recall: share of the role's traits (``character`` split on ``,``/``，``) chat
                named in ``character_eval``
Style           recall of the role's ``style`` labels (split on ``,``/``、``)           chat
Emotion ↓       NMAPE: mean over the six emotions of abs(label - eval) / 10            chat
Relationship ↓  abs(relationship_score - relationship_eval) / 10                       chat
Personality     share of the four MBTI letters equal, position by position             role
Human-likeness  ``human_likeness_eval == 1``                                           role
Role Choice     ``rolechoice_eval == role_answer``                                     role
Coherence       ``coherence_eval == 1``                                                role
Grounding       ``grounding_eval == 1`` (chats with an image only; mmrole's own)       role
=============== ====================================================================== =====

A *chat* metric averages over chats; a *role* metric first averages each role's chats, then
over roles. The ± is the standard error of the mean over those units, ``std(ddof=1) / sqrt(n)``
(undefined, None, for fewer than two units). **Avg** is the mean of the five CSERP metrics with
Emotion and Relationship taken as ``1 - NMAPE``; its ± is the mean of their five SEMs. Tables are
per language (``cn``, ``en``) and for all roles pooled (``all``). English labels are compared
lower-cased, as BeyondDialogue's English parser lower-cases the evaluator's answers.

A chat whose answer failed (no dialogue, a failed request, a reply that did not parse: ``None``
in its ``*_eval`` field) is left out of that metric and counted in ``failed``. Grounding is scored
only where some chat has an image (multimodal AutoRPEval), over those chats alone; tables of runs
without images have BeyondDialogue's eight metrics, as they always had.

Numbers are fractions (0-1); tables show them x100. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mmrole.autorpeval.questions import ALL_QUESTIONS, GROUNDING, QUESTIONS, eval_field
from mmrole.autorpeval.texts import labels
from mmrole.autorpeval.ttest import TTest, ttest_ind

__all__ = [
    "AVG",
    "AVG_PARTS",
    "CHAT_METRICS",
    "LOWER_IS_BETTER",
    "POOLED",
    "EvaluatedRole",
    "LanguageScores",
    "MetricScore",
    "chat_score",
    "compare_scores",
    "mean_sem",
    "score_roles",
]

#: The metrics averaged over chats; the others are averaged per role first.
CHAT_METRICS = frozenset({"character", "style", "emotion", "relationship"})
#: Errors, where lower is better (Avg takes ``1 - value``).
LOWER_IS_BETTER = frozenset({"emotion", "relationship"})
#: The five CSERP metrics Avg is the mean of.
AVG_PARTS: tuple[str, ...] = QUESTIONS[:5]
AVG = "avg"
#: The table over all roles of every language.
POOLED = "all"


@dataclass(frozen=True)
class EvaluatedRole:
    """What the metrics need of one evaluated role.

    Attributes:
        name, language: The role (``en`` or ``cn``).
        traits, style, mbti, answer: Its ``character``, ``style``, ``personality``, ``role_answer``.
        chats: BeyondDialogue chat dicts: ``emotions``, ``relationship_score`` and the ``*_eval`` fields.
    """

    name: str
    language: str
    traits: str
    style: str
    mbti: str
    answer: str | None
    chats: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class MetricScore:
    """One metric over some units: mean, SEM, the units, and the chats whose answer failed."""

    mean: float | None
    sem: float | None
    unit: str
    values: tuple[float, ...] = ()
    failed: int = 0

    @property
    def n(self) -> int:
        return len(self.values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "sem": self.sem,
            "n": self.n,
            "unit": self.unit,
            "failed": self.failed,
            "values": list(self.values),
        }


@dataclass(frozen=True)
class LanguageScores:
    """The eight metrics and Avg over one language's roles (or all of them)."""

    language: str
    n_roles: int
    n_chats: int
    metrics: dict[str, MetricScore] = field(default_factory=dict)
    avg: MetricScore | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_roles": self.n_roles,
            "n_chats": self.n_chats,
            "metrics": {name: score.to_dict() for name, score in self.metrics.items()},
            AVG: None if self.avg is None else {"mean": self.avg.mean, "sem": self.avg.sem},
        }


def mean_sem(values: Sequence[float]) -> tuple[float | None, float | None]:
    """The mean and its standard error ``std(ddof=1) / sqrt(n)`` (None where undefined)."""
    n = len(values)
    if n == 0:
        return None, None
    mean = math.fsum(values) / n
    if n < 2:
        return mean, None
    variance = math.fsum((value - mean) ** 2 for value in values) / (n - 1)
    return mean, math.sqrt(variance) / math.sqrt(n)


def _recall(expected: list[str], found: Any, lower: bool) -> float | None:
    if not isinstance(found, list) or not expected:
        return None
    named = {str(item).strip().lower() if lower else str(item).strip() for item in found}
    return sum(1 for label in expected if label in named) / len(expected)


def chat_score(metric: str, role: EvaluatedRole, chat: Mapping[str, Any]) -> float | None:
    """One chat's score on one metric (a fraction; None when the chat has no usable answer)."""
    if not chat.get("dialogues"):
        return None
    found = chat.get(eval_field(metric))
    if found is None:
        return None
    english = role.language != "cn"
    if metric == "character":
        return _recall(labels(role.traits, ",，", lower=english), found, english)
    if metric == "style":
        return _recall(labels(role.style, ",、", lower=english), found, english)
    if metric == "emotion":
        expected = chat.get("emotions") or {}
        if not isinstance(found, Mapping) or not expected or any(key not in found for key in expected):
            return None
        return math.fsum(abs(float(expected[key]) - float(found[key])) / 10 for key in expected) / len(
            expected
        )
    if metric == "relationship":
        return abs(float(chat["relationship_score"]) - float(found)) / 10
    if metric == "personality":
        if not isinstance(found, str) or len(found) != len(role.mbti):
            return None
        return sum(1 for a, b in zip(role.mbti, found, strict=True) if a == b) / len(role.mbti)
    if metric in ("human_likeness", "coherence", GROUNDING):
        return 1.0 if found == 1 else 0.0
    if metric == "rolechoice":
        return 1.0 if found == role.answer else 0.0
    raise KeyError(metric)


def _metric(metric: str, roles: Sequence[EvaluatedRole]) -> MetricScore:
    failed, units = 0, []
    for role in roles:
        chats = [c for c in role.chats if c.get("image")] if metric == GROUNDING else role.chats
        scores = [chat_score(metric, role, chat) for chat in chats]
        failed += sum(1 for score in scores if score is None)
        kept = [score for score in scores if score is not None]
        if metric in CHAT_METRICS:
            units += kept
        elif kept:
            units.append(math.fsum(kept) / len(kept))
    mean, sem = mean_sem(units)
    return MetricScore(mean, sem, "chat" if metric in CHAT_METRICS else "role", tuple(units), failed)


def _avg(metrics: Mapping[str, MetricScore]) -> MetricScore:
    means, sems = [], []
    for name in AVG_PARTS:
        mean, sem = metrics[name].mean, metrics[name].sem
        if mean is None:
            return MetricScore(None, None, "avg")
        means.append(1 - mean if name in LOWER_IS_BETTER else mean)
        sems.append(sem)
    known = [sem for sem in sems if sem is not None]
    sem = math.fsum(known) / len(known) if len(known) == len(sems) else None
    return MetricScore(math.fsum(means) / len(means), sem, "avg")


def _scores(language: str, roles: Sequence[EvaluatedRole], questions: Sequence[str]) -> LanguageScores:
    metrics = {metric: _metric(metric, roles) for metric in questions}
    return LanguageScores(
        language=language,
        n_roles=len(roles),
        n_chats=sum(len(role.chats) for role in roles),
        metrics=metrics,
        avg=_avg(metrics),
    )


def score_roles(roles: Iterable[EvaluatedRole]) -> dict[str, LanguageScores]:
    """The scores per language present (``cn``, ``en``) and over all roles pooled (``all``); Grounding
    in every table when some chat has an image."""
    roles = list(roles)
    found = sorted({role.language for role in roles})
    images = any(chat.get("image") for role in roles for chat in role.chats)
    questions = ALL_QUESTIONS if images else QUESTIONS
    tables = {
        language: _scores(language, [r for r in roles if r.language == language], questions)
        for language in found
    }
    tables[POOLED] = _scores(POOLED, roles, questions)
    return tables


def compare_scores(a: LanguageScores, b: LanguageScores) -> dict[str, TTest | None]:
    """Per metric both have, the independent two-sample t-test of A's units against B's (None: too few
    units)."""
    return {
        metric: ttest_ind(a.metrics[metric].values, b.metrics[metric].values)
        for metric in ALL_QUESTIONS
        if metric in a.metrics and metric in b.metrics
    }
