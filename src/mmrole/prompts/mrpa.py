"""The MRPA prompt: the system text and the instruction MMRole builds for one character turn.

Pure text, no I/O. The instruction is a list of parts joined by three newlines:

1. the role-play request (who to play, who the other party is);
2. the profile of the character (and of the other character in inter-role dialogues);
3. the image's auxiliary information, when the image is annotated;
4. the conversation history, when the answered turn is not the first one answered;
5. the final request: respond to the other party's last words, or open the conversation.

The wording matches the released MMRole-Data test sets byte for byte (tests/data check it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mmrole.schema import CURIOUS_HUMAN, HUMAN_SPEAKER, HYPOTHETICAL_SERIES

#: The system prompt of every MMRole sample.
MRPA_SYSTEM = "You are a dedicated role-playing assistant designed to immerse yourself fully in the character you are portraying."

PART_SEPARATOR = "\n\n\n"


@dataclass(frozen=True)
class Persona:
    """What the prompt needs to know about one character."""

    name: str
    series: str
    profile: str


def describe_role(name: str, series: str) -> str:
    """``Iron Man from The Avengers``, or the hypothetical form ``Maya Patel, a person who is one of ...``."""
    if series == HYPOTHETICAL_SERIES:
        return f"{name}, a person who is one of the {series}"
    return f"{name} from {series}"


def describe_partner(partner: Persona | None) -> str:
    """The other party as the opening sentence names it.

    A hypothetical partner reads ``X, another person who is one of the Hypothetical Characters,``:
    the trailing comma is MMRole's, since the sentence goes on with "about the given image".
    """
    if partner is None:
        return CURIOUS_HUMAN
    if partner.series == HYPOTHETICAL_SERIES:
        return f"{partner.name}, another person who is one of the {partner.series},"
    return describe_role(partner.name, partner.series)


def partner_label(partner: Persona | None) -> str:
    """How the history header and the final request name the other party."""
    return "the curious human" if partner is None else partner.name


def format_annotation(role_info: str = "", place_info: str = "", scene_info: str = "") -> str | None:
    """The auxiliary-information part, or None when the image has no annotation.

    MMRole strips each item, and always ends the place with a period (so a place that already
    ends with one reads ``..``); the character and scene items are kept as written.
    """
    items = []
    if role_info.strip():
        items.append(f" - Character information: {role_info.strip()}")
    if place_info.strip():
        items.append(f" - Place information: {place_info.strip()}.")
    if scene_info.strip():
        items.append(f" - Scene information: {scene_info.strip()}")
    if not items:
        return None
    return "The auxiliary information of the image is as follows:\n" + "\n".join(items)


def format_history(role: str, partner: Persona | None, history: Sequence[tuple[str, str]]) -> str | None:
    """The conversation-history part (``[speaker]: text`` lines), or None without history."""
    if not history:
        return None
    lines = [f"[{speaker}]: {text}" for speaker, text in history]
    return (
        f"The conversation history between {role} and {partner_label(partner)} is as follows:\n"
        + "\n".join(lines)
    )


def build_instruction(
    role: Persona,
    partner: Persona | None,
    language: str,
    history: Sequence[tuple[str, str]],
    annotation: tuple[str, str, str] | None = None,
) -> str:
    """Build MMRole's MRPA instruction for one character turn.

    Args:
        role: The character who answers.
        partner: The other character, or None for the curious human (comment and human-role dialogues).
        language: ``English`` or ``Chinese``.
        history: Every earlier turn as (speaker, text), speaker being a character name or ``human``.
            The last one is the words to respond to; empty when the character opens the conversation.
        annotation: (role_info, place_info, scene_info) of an annotated image.

    Returns:
        The instruction text.
    """
    parts = [
        f"Please step into the shoes of {describe_role(role.name, role.series)}. "
        f"Imagine you are talking with {describe_partner(partner)} about the given image. "
        "This requires a deep understanding of the character's background, including their personality, "
        "experiences, abilities, and relationships.",
        f"The description of {role.name} is as follows:\n{role.profile}",
    ]
    if partner is not None:
        parts.append(f"The description of {partner.name} is as follows:\n{partner.profile}")
    if annotation is not None and (aux := format_annotation(*annotation)):
        parts.append(aux)
    manner = f"in {language} using the distinctive tone, manner and vocabulary of {role.name}"
    if not history:
        parts.append(
            f"Please initiate the conversation with {partner_label(partner)} {manner}, "
            "raising questions or commenting about the image."
        )
    else:
        if earlier := format_history(role.name, partner, history[:-1]):
            parts.append(earlier)
        parts.append(
            f"Please respond to the following words of {partner_label(partner)} about the image {manner}:\n"
            f"{history[-1][1]}"
        )
    return PART_SEPARATOR.join(parts)


__all__ = [
    "HUMAN_SPEAKER",
    "MRPA_SYSTEM",
    "PART_SEPARATOR",
    "Persona",
    "build_instruction",
    "describe_partner",
    "describe_role",
    "format_annotation",
    "format_history",
    "partner_label",
]
