"""AutoRPEval's eight evaluation questions: the evaluator's prompt for a chat, and its answer parsed.

Each question is BeyondDialogue's ``AutoTest/<question>.py``: the same prompt, filled the same way
(:mod:`mmrole.autorpeval.texts`), sent as ``[system: "You are a helpful assistant.", user: prompt]``,
and the reply parsed as its ``extrct_*`` function parses it: the last ``{...}`` of the reply, read
with ``ast.literal_eval``, then the question's key. Where BeyondDialogue's parser raises (its
caller then records ``None``), :func:`parse_answer` raises :class:`Unparsed` with the reason.

A chat anchored in an image (multimodal AutoRPEval) gets a ninth question, ``grounding`` (mmrole's
own, :mod:`mmrole.prompts.autorpeval_image`: is what the role says faithful to the picture? true or
false, asked and parsed as Coherence is), and the evaluator is shown the image before the prompt
text of every question but Role Choice (the picture may show the role itself, and would give away
the identity the question masks).

Two checks are added where BeyondDialogue's parsers let a reply through that its metrics cannot
score: a Role Choice answer must be one of A-D (BeyondDialogue takes any single character), and a
Personality answer must have four letters (BeyondDialogue checks the letters it gets, not how many).

Pure: no I/O.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from typing import Any

from mmrole.autorpeval import texts
from mmrole.models.base import Message
from mmrole.prompts import autorpeval_image as image_texts
from mmrole.schema import EMOTIONS, EMOTIONS_ZH, MBTI_AXES

__all__ = [
    "ALL_QUESTIONS",
    "GROUNDING",
    "QUESTIONS",
    "QUESTION_NAMES",
    "SYSTEM",
    "Unparsed",
    "analysis_field",
    "eval_field",
    "parse_answer",
    "question_messages",
    "question_prompt",
]

#: The questions, in the order of BeyondDialogue's tables (the five CSERP ones first).
QUESTIONS: tuple[str, ...] = (
    "character",
    "style",
    "emotion",
    "relationship",
    "personality",
    "human_likeness",
    "rolechoice",
    "coherence",
)
#: How tables name them.
QUESTION_NAMES: dict[str, str] = {
    "character": "Character",
    "style": "Style",
    "emotion": "Emotion",
    "relationship": "Relationship",
    "personality": "Personality",
    "human_likeness": "Human-likeness",
    "rolechoice": "Role Choice",
    "coherence": "Coherence",
    "grounding": "Grounding",
}
#: The question asked only of chats anchored in an image (mmrole's own).
GROUNDING = "grounding"
#: Every question: BeyondDialogue's eight, then Grounding.
ALL_QUESTIONS: tuple[str, ...] = (*QUESTIONS, GROUNDING)
#: The questions whose requests do not show the chat's image.
_WITHOUT_IMAGE = frozenset({"rolechoice"})
#: The evaluator's system message in every AutoTest script.
SYSTEM = "You are a helpful assistant."
_LAST_OBJECT = re.compile(r"{[^}]*}", re.DOTALL)


class Unparsed(ValueError):
    """The evaluator's reply holds no answer BeyondDialogue's parser accepts."""


def eval_field(question: str) -> str:
    """The chat field holding the parsed answer (``character_eval``)."""
    return f"{question}_eval"


def analysis_field(question: str) -> str:
    """The chat field holding the evaluator's reply (``character_analysis_eval``)."""
    return f"{question}_analysis_eval"


def question_prompt(question: str, role: Any, chat: Mapping[str, Any]) -> str:
    """The evaluator's prompt for one chat (a BeyondDialogue chat dict holding ``dialogues``).

    Raises:
        KeyError: ``question`` is not one of :data:`QUESTIONS`.
    """
    language = role.language
    prompts = texts.prompts_of(language)
    scene, turns = chat["scene"], chat["dialogues"]
    dialogues = texts.dialogue_text(turns)
    joiner = "，" if language == "cn" else ", "
    character, style = texts.shown_labels(role.traits, language), texts.shown_labels(role.style, language)
    mbti = texts.mbti_text(role.mbti, language)
    if question == "character":
        candidates = joiner.join(texts.character_candidates(role.traits, language))
        return prompts.CHARACTER.format(
            role_name=role.name, dialogues=dialogues, scene=scene, character_candidates=candidates
        )
    if question == "style":
        candidates = joiner.join(texts.style_candidates(role.style, language))
        return prompts.STYLE.format(
            role_name=role.name, dialogues=dialogues, scene=scene, style_candidates=candidates
        )
    if question in ("emotion", "relationship", "human_likeness"):
        template = {"emotion": prompts.EMOTION, "relationship": prompts.RELATIONSHIP}.get(
            question, prompts.HUMAN_LIKENESS
        )
        return template.format(
            role_name=role.name,
            character=character,
            dialogues=dialogues,
            scene=scene,
            MBTI=mbti,
            style=style,
            chat_role=chat["chat_role"],
            relationship=chat["relationship_score"],
        )
    if question == "personality":
        return prompts.PERSONALITY.format(
            role_name=role.name, character=character, dialogues=dialogues, scene=scene, style=style
        )
    if question == "rolechoice":
        return prompts.ROLE_CHOICE.format(
            role_name=role.name,
            dialogues=texts.masked_dialogue(turns, language),
            role_candidates=role.candidates,
            scene=texts.masked_scene(scene, role.name, language),
            chat_role=chat["chat_role"],
        )
    if question == "coherence":
        return prompts.COHERENCE.format(dialogues=dialogues, scene=scene)
    if question == GROUNDING:
        cn = language == "cn"
        image = chat.get("image") or {}
        annotation = texts.annotation_text(image.get("annotation"), language) or (
            image_texts.NONE_CN if cn else image_texts.NONE_EN
        )
        return (image_texts.GROUNDING_CN if cn else image_texts.GROUNDING_EN).format(
            role_name=role.name,
            chat_role=chat["chat_role"],
            annotation=annotation,
            scene=scene,
            dialogues=dialogues,
        )
    raise KeyError(question)


def question_messages(
    question: str,
    role: Any,
    chat: Mapping[str, Any],
    *,
    attempt: int = 0,
    image: Sequence[dict[str, Any]] | None = None,
) -> list[Message]:
    """The evaluator's messages; an answer asked again (``attempt`` > 0) ends with a format reminder.

    Args:
        image: The chat's image as ``image_url`` parts, shown before the prompt (not for Role Choice).
    """
    text = question_prompt(question, role, chat)
    if attempt:
        text = f"{text}\n\n{texts.prompts_of(role.language).FORMAT_REMINDER}"
    if image and question not in _WITHOUT_IMAGE:
        return [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": [*image, {"type": "text", "text": text}]},
        ]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]


def _last_object(reply: str) -> Any:
    matches = _LAST_OBJECT.findall(reply)
    if not matches:
        raise Unparsed("no {...} in the reply")
    try:
        return ast.literal_eval(matches[-1])
    except Exception:  # noqa: BLE001 - literal_eval raises many kinds; BeyondDialogue catches them all
        raise Unparsed("the last {...} of the reply is not a Python/JSON literal") from None


def _labels(found: Any, key: str, candidates: list[str], language: str) -> list[str]:
    if key not in found:
        raise Unparsed(f"no {key!r} key in the answer")
    if not isinstance(found[key], str):
        raise Unparsed(f"{key!r} is not a string")
    if language == "cn":
        items = found[key].replace(",", "，").split("，")
    else:
        items = found[key].lower().replace("，", ",").split(",")
    # BeyondDialogue keeps the candidates named (repeats too) and drops any other label.
    return [item.strip() for item in items if item.strip() in candidates]


def _flag(found: Any, key: str) -> int:
    if key not in found:
        raise Unparsed(f"no {key!r} key in the answer")
    if found[key] == "true":
        return 1
    if found[key] == "false":
        return 0
    raise Unparsed(f"{key!r} is {found[key]!r}, not 'true' or 'false'")


def _parse(question: str, found: Any, role: Any) -> Any:
    language = role.language
    if question == "character":
        return _labels(found, "character", texts.character_candidates(role.traits, language), language)
    if question == "style":
        return _labels(found, "style", texts.style_candidates(role.style, language), language)
    if question == "emotion":
        valid = EMOTIONS_ZH if language == "cn" else EMOTIONS
        scores = {}
        for key in found.keys():
            if key in valid:
                try:
                    scores[key] = int(found[key])
                except Exception:  # noqa: BLE001 - as BeyondDialogue: any value int() refuses
                    raise Unparsed(f"emotion {key!r} is not an integer: {found[key]!r}") from None
        if len(scores) != 6:
            raise Unparsed(f"{len(scores)} of the six emotions in the answer")
        return scores
    if question == "relationship":
        if "relationship" not in found:
            raise Unparsed("no 'relationship' key in the answer")
        try:
            return float(found["relationship"])
        except Exception:  # noqa: BLE001
            raise Unparsed(f"'relationship' is not a number: {found['relationship']!r}") from None
    if question == "personality":
        if "personality" not in found:
            raise Unparsed("no 'personality' key in the answer")
        if not isinstance(found["personality"], str):
            raise Unparsed("'personality' is not a string")
        mbti = found["personality"].strip()
        for index, letter in enumerate(mbti):
            if index >= len(MBTI_AXES) or letter not in MBTI_AXES[index]:
                raise Unparsed(f"{mbti!r} is not an MBTI type")
        if len(mbti) != len(MBTI_AXES):
            raise Unparsed(f"{mbti!r} is not four MBTI letters")
        return mbti
    if question == "human_likeness":
        return _flag(found, "is_real_dialogue")
    if question == "coherence":
        return _flag(found, "is_coherent")
    if question == GROUNDING:
        return _flag(found, "is_grounded")
    if question == "rolechoice":
        if "answer" not in found:
            raise Unparsed("no 'answer' key in the answer")
        if len(found["answer"]) != 1:
            raise Unparsed(f"the answer {found['answer']!r} is not one letter")
        letter = found["answer"].upper()
        if letter not in "ABCD":
            raise Unparsed(f"the answer {letter!r} is not one of A-D")
        return letter
    raise KeyError(question)


def parse_answer(question: str, reply: str, role: Any) -> Any:
    """The evaluator's answer to ``question``, as BeyondDialogue's parser reads ``reply``.

    Returns:
        character/style: the candidate labels named (a list, maybe empty); emotion: six ints by key;
        relationship: a float; personality: four MBTI letters; human_likeness/coherence: 1 or 0;
        rolechoice: a letter A-D; grounding: 1 or 0.

    Raises:
        Unparsed: The reply holds no such answer.
    """
    found = _last_object(reply)
    try:
        return _parse(question, found, role)
    except Unparsed:
        raise
    except KeyError:
        if question not in ALL_QUESTIONS:
            raise
        raise Unparsed("the last {...} of the reply is not an object with the answer") from None
    except Exception as exc:  # noqa: BLE001 - e.g. a set or a number where an object was asked for
        raise Unparsed(f"the answer cannot be read: {type(exc).__name__}") from None
