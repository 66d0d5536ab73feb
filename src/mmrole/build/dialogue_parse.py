"""Reading a generator's dialogue reply, and writing a dialogue as MMRole-Data's files hold it.

A reply is refused (:class:`~mmrole.build.replies.ReplyError`, one short reason) when it is not the
JSON asked for, when a turn is spoken by someone else than the two speakers of the assignment or the
speakers do not alternate as asked, when a turn is empty or written in another language than the
character's, when there are fewer turns than asked, or when it stops mid-dialogue (cut off, or a
human-role dialogue ending with the human's unanswered turn). A dialogue longer than the most turns
asked is cut to that many (ending on the character's turn in human-role dialogues).
"""

from __future__ import annotations

from typing import Any

from mmrole.build.replies import ReplyError, json_object, language_problem, text_field
from mmrole.prompts.build_dialogues import HUMAN
from mmrole.schema import ImageAnnotation

#: What a reply may call the human (all read as ``human``, MMRole's speaker name).
HUMAN_ALIASES = frozenset(
    {"human", "a curious human", "the curious human", "curious human", "user", "人类", "好奇的人类"}
)
#: The keys a reply may put its turns under (``dialogue`` is the one asked for).
TURN_LISTS = ("dialogue", "conversation", "conversations", "turns")

Turns = list[tuple[str, str]]


def parse_comment(text: str, role: str, question: str, language: str) -> Turns:
    """The two turns of a comment dialogue: the human's question and ``role``'s commentary.

    Raises:
        ReplyError: Not JSON, no ``comment`` text, or the comment in another language.
    """
    comment = text_field(json_object(text), "comment")
    problem = language_problem(comment, language)
    if problem:
        raise ReplyError("switches language", f"the comment is {problem}")
    return [(HUMAN, question), (role, comment)]


def _turn_list(data: dict[str, Any]) -> list[Any]:
    for key in TURN_LISTS:
        if isinstance(data.get(key), list):
            return data[key]
    lists = [value for value in data.values() if isinstance(value, list)]
    if len(lists) == 1:
        return lists[0]
    raise ReplyError("no dialogue", 'the reply has no "dialogue" list of turns')


def _speaker(raw: str, speakers: tuple[str, str]) -> str | None:
    """The speaker a turn names, as the assignment spells it (None: someone else)."""
    name = raw.strip().strip("[]").strip()
    for speaker in speakers:
        if name == speaker or name.casefold() == speaker.casefold():
            return speaker
        if speaker == HUMAN and name.casefold() in HUMAN_ALIASES:
            return HUMAN
    return None


def parse_dialogue(
    text: str,
    speakers: tuple[str, str],
    language: str,
    *,
    min_turns: int,
    max_turns: int,
    last: str | None = None,
) -> Turns:
    """The turns of a human-role or inter-role dialogue reply.

    Args:
        text: The reply.
        speakers: Who speaks first and who answers (``("human", "Iron Man")``, ``("Ant-Man", "Iron Man")``).
        language: The character's language: every turn must be in it.
        min_turns: Fewest turns accepted.
        max_turns: Most turns kept (a longer dialogue is cut).
        last: Who must speak last (the character, in human-role dialogues), or None.

    Raises:
        ReplyError: See the module docstring.
    """
    raw_turns = _turn_list(json_object(text))
    if not raw_turns:
        raise ReplyError("no dialogue", "the list of turns is empty")
    turns: Turns = []
    for number, raw in enumerate(raw_turns):
        if not isinstance(raw, dict):
            raise ReplyError("malformed turn", f"turn {number} is not an object")
        speaker = raw.get("speaker", raw.get("role", raw.get("from")))
        said = raw.get("text", raw.get("value"))
        if not isinstance(speaker, str) or not isinstance(said, str):
            raise ReplyError("malformed turn", f'turn {number} lacks a "speaker" or a "text" string')
        name = _speaker(speaker, speakers)
        if name is None:
            raise ReplyError(
                "wrong speaker",
                f"turn {number} is spoken by {speaker!r}; the speakers are {speakers[0]!r} and {speakers[1]!r}",
            )
        expected = speakers[number % 2]
        if name != expected:
            raise ReplyError(
                "speakers do not alternate", f"turn {number} is {name!r}'s, where {expected!r} should speak"
            )
        if not any(ch.isalnum() for ch in said):  # "" or a copied placeholder ("...")
            raise ReplyError("empty turn", f"turn {number} ({name}) is empty: {said.strip()!r}")
        problem = language_problem(said, language)
        if problem:
            raise ReplyError("switches language", f"turn {number} ({name}) is {problem}")
        turns.append((name, said.strip()))
    if len(turns) > max_turns:
        turns = turns[:max_turns]
        if last is not None and turns[-1][0] != last:
            turns = turns[:-1]
    if last is not None and turns[-1][0] != last:
        raise ReplyError(
            "stopped mid-dialogue", f"the dialogue ends with {turns[-1][0]!r}'s turn, unanswered"
        )
    if len(turns) < min_turns:
        raise ReplyError("too few turns", f"{len(turns)} turns, at least {min_turns} asked for")
    return turns


def dialogue_record(
    record_id: str, image: str, turns: Turns, annotation: ImageAnnotation | None, *, comment: bool
) -> dict[str, Any]:
    """One dialogue as MMRole-Data writes it: ``id``, ``image``, the annotation of a still (when it has
    one), and ``conversations`` (a comment's question under ``from``, every other turn under ``role``)."""
    record: dict[str, Any] = {"id": record_id, "image": image}
    if annotation is not None and not annotation.is_empty():
        record.update(
            role_info=annotation.role_info, place_info=annotation.place_info, scene_info=annotation.scene_info
        )
    record["conversations"] = [
        {"from" if comment and number == 0 else "role": speaker, "value": said}
        for number, (speaker, said) in enumerate(turns)
    ]
    return record
