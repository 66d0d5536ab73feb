"""Prompts of stepwise generation (``generation = "stepwise"``; pure text, English and Chinese).

A weak generator (a small local model) cannot write a whole profile or dialogue as JSON, so the
pipeline asks for one piece at a time as plain text and builds the structure itself: one profile
section per call (:func:`section_request`), one dialogue turn per call, with the speaker fixed by the
pipeline (:func:`turn_request`). The requests are short on purpose (a small model's context is
short and its attention shorter); what they ask for is the same as the whole prompts'
(:mod:`mmrole.prompts.build_profiles`, :mod:`mmrole.prompts.build_dialogues`).
"""

from __future__ import annotations

from collections.abc import Sequence

from mmrole.prompts.build_common import check_language
from mmrole.prompts.build_dialogues import HUMAN, ImageNotes, Speaker
from mmrole.prompts.build_profiles import SUMMARY_HEADERS

__all__ = ["STEP_SYSTEM", "plain_reminder", "profile_material", "section_request", "turn_request"]

STEP_SYSTEM: dict[str, str] = {
    "English": "You write role-playing material. Answer with plain text only: no headings, no JSON, no notes.",
    "Chinese": "你为角色扮演撰写素材。只用纯文本作答：不要标题，不要 JSON，不要说明。",
}

_SECTION_ASK: dict[str, tuple[str, ...]] = {
    "English": (
        "who {name} is: identity, origin and what makes them notable",
        "{name}'s main personality traits, shown through what they do",
        "{name}'s life story: the key events in order",
        "the important people in {name}'s life and how {name} feels about them",
        "a few lines {name} says or would say, in their own voice",
    ),
    "Chinese": (
        "{name}是谁：身份、出身和最为人知之处",
        "{name}的主要性格特点，用其言行说明",
        "{name}的人物经历：按时间顺序的关键事件",
        "{name}生命中的重要人物，以及{name}对他们的感情",
        "{name}说过或会说的几句话，用其本人的口吻",
    ),
}


def plain_reminder(reason: str, language: str) -> str:
    """What a step's request says first when its last reply could not be used."""
    if check_language(language) == "English":
        return (
            f"(Your previous reply could not be used: {reason}. Write the text asked for below, in English.)"
        )
    return f"（你上一次的回答无法使用：{reason}。请用中文写出下面要求的内容。）"


def profile_material(name: str, series: str, text: str, language: str, kind: str) -> str:
    """What a section is written from: ``kind`` ``source`` (text about the character), ``meta`` (a
    hypothetical character's seed attributes, invented around) or ``profile`` (the detailed profile,
    condensed into the short one)."""
    titles = {
        "English": {
            "source": f"Source text about {name} from {series}:",
            "meta": f"{name} is an invented person. Their fixed attributes:",
            "profile": f"The detailed profile of {name} from {series}:",
        },
        "Chinese": {
            "source": f"关于{series}中{name}的资料：",
            "meta": f"{name}是一个虚构人物，其确定的属性：",
            "profile": f"{series}中{name}的详细人物档案：",
        },
    }
    return f"{titles[check_language(language)][kind]}\n{text.strip()}"


def section_request(name: str, number: int, material: str, language: str, *, short: bool) -> str:
    """The request for section ``number`` (0-4, MMRole's order) of ``name``'s profile.

    Args:
        material: What the section is written from: the source text or seed attributes (detailed
            profile), or the detailed profile (the short one).
        short: The short profile's section (a few sentences), else the detailed one's.
    """
    ask = _SECTION_ASK[check_language(language)][number].format(name=name)
    header = SUMMARY_HEADERS[language][number]
    if language == "English":
        size = "two or three sentences" if short else "one paragraph"
        return f"{material.strip()}\n\n{header} of {name}. Write {ask}, in {size}, in the third person."
    size = "两三句话" if short else "一段话"
    return f"{material.strip()}\n\n{name}的{header}。请用第三人称、{size}写出{ask}。"


def _label(speaker: str, language: str) -> str:
    if speaker == HUMAN:
        return "Human" if language == "English" else "人类"
    return speaker


def turn_request(
    speakers: Sequence[Speaker],
    notes: ImageNotes | None,
    history: Sequence[tuple[str, str]],
    speaker: str,
    language: str,
) -> str:
    """The request for ``speaker``'s next turn (``human`` for the curious human) of a dialogue about
    the image, after ``history`` ((speaker, text) turns), with the characters' profiles."""
    check_language(language)
    parts = [
        (f"The profile of {s.name}:\n" if language == "English" else f"{s.name}的人物档案：\n")
        + s.profile.strip()
        for s in speakers
    ]
    known = [v.strip() for v in (notes.role_info, notes.place_info, notes.scene_info)] if notes else []
    if any(known):
        head = "About the image:" if language == "English" else "关于图像："
        parts.append(head + " " + " ".join(v for v in known if v))
    lines = [f"{_label(who, language)}: {said}" for who, said in history]
    label = _label(speaker, language)
    if language == "English":
        parts.append("A conversation about the image." + ("\n" + "\n".join(lines) if lines else ""))
        who = "a curious human asking about the image" if speaker == HUMAN else f"{speaker}, in character"
        parts.append(f"Write only the next line, spoken by {who}, in one to three sentences.\n{label}:")
    else:
        parts.append("一段关于这张图像的对话。" + ("\n" + "\n".join(lines) if lines else ""))
        who = "一个对图像好奇、向角色提问的人" if speaker == HUMAN else f"{speaker}（不跳出角色）"
        parts.append(f"只写下一句，由{who}说，一到三句话。\n{label}：")
    return "\n\n".join(parts)
