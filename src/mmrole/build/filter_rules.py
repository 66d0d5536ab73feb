"""The rule checks of ``mmrole build filter``: what a generated dialogue must be before it may join
the dataset. Pure functions over one raw release-format record (no I/O, no model).

Each check returns :class:`RuleFailure` values: ``rule`` is a stable name (the summary table
counts by it), ``detail`` says what was found, ``turn`` the turn it was found in (None for the
dialogue as a whole). Failures of the :data:`REFINABLE` rules sit in single turns, so
``--refine`` can ask the generator to rewrite those turns; the others (structure, speakers,
turn count, near-duplicates) make a dialogue unusable as it is.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from mmrole.data.characters import file_stem
from mmrole.data.dialogues import ID_MARKERS
from mmrole.data.paths import is_safe_relative
from mmrole.schema import HUMAN_SPEAKER, Character

#: Rules whose failures lie in single turns: ``--refine`` rewrites those turns.
REFINABLE = frozenset({"language", "length", "refusal", "judge score"})

#: Phrases of a model breaking character: refusals and assistant talk (matched case-insensitively).
#: Kept to phrases a character would not say in a scene (Vision may be an android, never "an AI
#: language model").
AI_TONE_PATTERNS: tuple[str, ...] = (
    r"\bas an? (?:ai |artificial intelligence |large )?language model\b",
    r"\bas an ai\b",
    r"\bi(?:'m| am) an? (?:ai|artificial intelligence)(?: assistant| language model| model)?\b",
    r"\bas an ai(?:-powered)? assistant\b",
    r"\bi(?:'m| am) (?:sorry|afraid),? but i (?:can(?:no|')t|am unable to|won't) "
    r"(?:help|assist|comply|do that|provide|fulfil|fulfill|role-?play)",
    r"\bi can(?:no|')t (?:assist|help) with (?:that|this)\b",
    r"\bi(?:'m| am) (?:unable|not able) to (?:see|view|access|analy[sz]e) (?:the |this |any )?(?:image|picture|photo)",
    r"\bi (?:do not|don't) have (?:personal )?(?:feelings|opinions|emotions) as an\b",
    r"\bopenai\b",
    r"作为一个?(?:人工智能|ai|AI|语言模型|智能助手)",
    r"我是一个?(?:人工智能|AI|ai|语言模型)(?:助手)?",
    r"(?:抱歉|对不起)[，,]?\s*我(?:无法|不能)(?:协助|帮助|回答|提供|扮演)",
    r"我无法(?:查看|看到)(?:这张)?(?:图片|图像|照片)",
)
_AI_TONE = re.compile("|".join(f"(?:{p})" for p in AI_TONE_PATTERNS), re.IGNORECASE)


class RuleFailure(NamedTuple):
    """One failed check: the rule's name, what was found, and the turn (index) if it is one turn's."""

    rule: str
    detail: str
    turn: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "detail": self.detail, "turn": self.turn}


@dataclass(frozen=True)
class RuleLimits:
    """The bounds the rules check (defaults keep all but a few percent of MMRole's released dialogues).

    Attributes:
        min_turns / max_turns: Turns of a human-role or inter-role dialogue (a comment has 2).
        min_turn_chars / max_turn_chars: Characters of one turn (stripped).
        min_cjk_ratio: A Chinese character's turns: CJK ideographs among the letters, at least.
        max_cjk_ratio: An English character's turns: CJK ideographs among the letters, at most.
        duplicate_jaccard: Two dialogues of a character whose 5-character shingles overlap at
            least this much (Jaccard) are near-duplicates: the later one is rejected.
    """

    min_turns: int = 4
    max_turns: int = 30
    min_turn_chars: int = 2
    max_turn_chars: int = 4000
    min_cjk_ratio: float = 0.3
    max_cjk_ratio: float = 0.05
    duplicate_jaccard: float = 0.8


@dataclass(frozen=True)
class Turn:
    """A turn as read from a raw record (``role`` or ``from``, and ``value``)."""

    speaker: str
    text: str


def cjk_ratio(text: str) -> float | None:
    """The share of CJK ideographs among the letters of ``text`` (None without letters)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return None
    return sum(1 for ch in letters if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf") / len(letters)


def read_turns(raw: Any) -> tuple[list[Turn] | None, list[RuleFailure]]:
    """The turns of a record's ``conversations``, or None with the structure failures found."""
    conversations = raw.get("conversations") if isinstance(raw, dict) else None
    if not isinstance(conversations, list) or not conversations:
        return None, [RuleFailure("structure", "conversations must be a non-empty list of turns")]
    turns = []
    for index, turn in enumerate(conversations):
        speaker = turn.get("role", turn.get("from")) if isinstance(turn, dict) else None
        text = turn.get("value") if isinstance(turn, dict) else None
        if not isinstance(speaker, str) or not speaker or not isinstance(text, str):
            return None, [
                RuleFailure("structure", "a turn needs a speaker ('role') and a text ('value')", index)
            ]
        turns.append(Turn(speaker, text))
    return turns, []


def check_structure(raw: Any, *, stem: str, dialogue_type: str, kind: str | None) -> list[RuleFailure]:
    """The record is an object with an id naming the character's dialogue of this type, and a safe image.

    Args:
        stem: The file-name form of the character the record belongs to (``Iron_Man``).
        kind: The image kind of its file (``COCO``, ``script``), None when the file holds every
            character (``dialogues/out-of-distribution/<type>.json``).
    """
    if not isinstance(raw, dict):
        return [RuleFailure("structure", "a dialogue must be a JSON object")]
    failures = []
    record_id = raw.get("id")
    pattern = (
        re.escape(f"{stem}_{ID_MARKERS[dialogue_type]}_") + (re.escape(kind) if kind else r"[^_]+") + r"_\d+"
    )
    if not isinstance(record_id, str) or not re.fullmatch(pattern, record_id):
        failures.append(
            RuleFailure(
                "structure",
                f"id {record_id!r} is not {stem}_{ID_MARKERS[dialogue_type]}_{kind or '<kind>'}_<n>",
            )
        )
    image = raw.get("image")
    if not isinstance(image, str) or not image:
        failures.append(RuleFailure("structure", "no image path"))
    elif not is_safe_relative(image):
        failures.append(RuleFailure("structure", f"image path {image!r} escapes the image folder"))
    for name in ("role_info", "place_info", "scene_info"):
        if name in raw and not isinstance(raw[name], str):
            failures.append(RuleFailure("structure", f"{name} must be a string"))
    return failures


def check_speakers(
    turns: Sequence[Turn], role: Character, dialogue_type: str, characters: dict[str, Character]
) -> list[RuleFailure]:
    """Who speaks matches the assignment: the human and the character (comment, human-role, the human
    first), or the character and one other character of its series (inter-role); turns alternate."""
    speakers = {turn.speaker for turn in turns}
    if dialogue_type == "inter-role":
        others = sorted(speakers - {role.name})
        if role.name not in speakers or len(others) != 1:
            return [
                RuleFailure(
                    "speakers", f"needs {role.name} and one other character, found {sorted(speakers)}"
                )
            ]
        partner = characters.get(others[0])
        if partner is None:
            return [RuleFailure("speakers", f"{others[0]!r} is not in any roles.json")]
        if partner.series != role.series:
            return [RuleFailure("speakers", f"{partner.name} is not of {role.name}'s series ({role.series})")]
    else:
        strangers = sorted(speakers - {role.name, HUMAN_SPEAKER})
        if strangers:
            return [
                RuleFailure("speakers", f"unexpected speaker(s) {strangers} (expected human and {role.name})")
            ]
        if turns[0].speaker != HUMAN_SPEAKER:
            return [RuleFailure("speakers", "the human must speak first", 0)]
        if role.name not in speakers:
            return [RuleFailure("speakers", f"{role.name} never speaks")]
    for index in range(1, len(turns)):
        if turns[index].speaker == turns[index - 1].speaker:
            return [RuleFailure("speakers", f"{turns[index].speaker} speaks twice in a row", index)]
    return []


def check_turn_count(turns: Sequence[Turn], dialogue_type: str, limits: RuleLimits) -> list[RuleFailure]:
    """A comment is one question and one answer; a dialogue has min..max turns and a human-role one
    ends on the character (a last human turn is a dialogue stopped mid-way)."""
    count = len(turns)
    if dialogue_type == "comment":
        return [] if count == 2 else [RuleFailure("turn count", f"a comment has 2 turns, not {count}")]
    if not limits.min_turns <= count <= limits.max_turns:
        return [
            RuleFailure("turn count", f"{count} turns (allowed: {limits.min_turns} to {limits.max_turns})")
        ]
    if dialogue_type == "human-role" and turns[-1].speaker == HUMAN_SPEAKER:
        return [RuleFailure("turn count", "ends on the human's turn (stopped mid-dialogue)", count - 1)]
    return []


def check_language(turns: Sequence[Turn], language: str, limits: RuleLimits) -> list[RuleFailure]:
    """Every turn is in the character's language (a CJK-ratio check; turns without letters pass)."""
    failures = []
    for index, turn in enumerate(turns):
        ratio = cjk_ratio(turn.text)
        if ratio is None:
            continue
        if language == "Chinese" and ratio < limits.min_cjk_ratio:
            failures.append(RuleFailure("language", f"not Chinese ({ratio:.0%} CJK)", index))
        elif language != "Chinese" and ratio > limits.max_cjk_ratio:
            failures.append(RuleFailure("language", f"not English ({ratio:.0%} CJK)", index))
    return failures


def check_lengths(turns: Sequence[Turn], limits: RuleLimits) -> list[RuleFailure]:
    """Every turn's stripped text has min..max characters."""
    failures = []
    for index, turn in enumerate(turns):
        size = len(turn.text.strip())
        if size < limits.min_turn_chars:
            failures.append(
                RuleFailure("length", f"{size} characters (at least {limits.min_turn_chars})", index)
            )
        elif size > limits.max_turn_chars:
            failures.append(
                RuleFailure("length", f"{size} characters (at most {limits.max_turn_chars})", index)
            )
    return failures


def check_tone(turns: Sequence[Turn]) -> list[RuleFailure]:
    """No character turn refuses or talks like an AI assistant (the human's turns may ask anything)."""
    failures = []
    for index, turn in enumerate(turns):
        if turn.speaker == HUMAN_SPEAKER:
            continue
        found = _AI_TONE.search(unicodedata.normalize("NFKC", turn.text).replace("’", "'"))
        if found:
            failures.append(RuleFailure("refusal", f"breaks character: {found.group(0)!r}", index))
    return failures


def check_record(
    raw: Any,
    *,
    role: Character,
    dialogue_type: str,
    kind: str | None,
    characters: dict[str, Character],
    limits: RuleLimits,
) -> list[RuleFailure]:
    """Every rule but near-duplicates (which compare dialogues) over one raw record."""
    failures = check_structure(raw, stem=file_stem(role.name), dialogue_type=dialogue_type, kind=kind)
    turns, broken = read_turns(raw)
    if turns is None:
        return failures + broken
    failures += check_speakers(turns, role, dialogue_type, characters)
    failures += check_turn_count(turns, dialogue_type, limits)
    failures += check_language(turns, role.language, limits)
    failures += check_lengths(turns, limits)
    failures += check_tone(turns)
    return failures


def shingles(text: str, size: int = 5) -> frozenset[int]:
    """Hashes of the ``size``-character shingles of ``text`` (case and whitespace folded)."""
    folded = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    if len(folded) <= size:
        return frozenset({hash(folded)})
    return frozenset(hash(folded[i : i + size]) for i in range(len(folded) - size + 1))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """|a ∩ b| / |a ∪ b| (0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


#: Shingles kept per dialogue to find candidate near-duplicates (a bottom-k sketch).
SKETCH_SIZE = 64


def near_duplicates(texts: Iterable[tuple[str, str]], threshold: float) -> dict[str, tuple[str, float]]:
    """Among one character's dialogues, ``(id, text)`` in order: id -> (the earlier id it repeats,
    similarity) for each dialogue at least ``threshold`` similar (Jaccard of shingles) to an earlier
    kept one; the first of a group is kept.

    Comparing every pair exactly costs minutes on a character's few hundred long dialogues, so
    candidates come from a bottom-k sketch (each text's :data:`SKETCH_SIZE` smallest shingle
    hashes, an unbiased sample of its shingles): two texts with Jaccard J share about
    2J/(1+J) of their sketches (0.89 at J = 0.8), and only pairs sharing at least half the
    threshold's share are compared exactly.
    """
    kept: dict[str, frozenset[int]] = {}
    index: dict[int, list[str]] = {}
    found: dict[str, tuple[str, float]] = {}
    needed = max(1, int(SKETCH_SIZE * threshold / 2))
    for record_id, text in texts:
        mine = shingles(text)
        sketch = heapq.nsmallest(SKETCH_SIZE, mine)
        shared: Counter[str] = Counter(other for value in sketch for other in index.get(value, ()))
        match = None
        for other_id, count in shared.most_common():
            if count < min(needed, len(sketch)):
                break
            similarity = jaccard(mine, kept[other_id])
            if similarity >= threshold:
                match = (other_id, similarity)
                break
        if match is not None:
            found[record_id] = match
            continue
        kept[record_id] = mine
        for value in sketch:
            index.setdefault(value, []).append(record_id)
    return found


def dialogue_text(turns: Sequence[Turn]) -> str:
    """The text near-duplicates are measured on: every turn, in order."""
    return "\n".join(turn.text for turn in turns)
