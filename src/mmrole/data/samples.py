"""Samples: one character turn for an MRPA to answer, built as MMRole builds them, and their JSONL
files. Which source (``"demo"``, a data root, a test folder, a file) holds which samples is
:mod:`mmrole.data.sources`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from mmrole import files
from mmrole.data.characters import load_characters
from mmrole.data.dialogues import load_dialogues
from mmrole.data.jsonio import iter_jsonl
from mmrole.data.problems import Reporter
from mmrole.errors import DataError
from mmrole.prompts.mrpa import MRPA_SYSTEM, Persona, build_instruction
from mmrole.schema import (
    CURIOUS_HUMAN,
    DIALOGUE_TYPES,
    HUMAN_SPEAKER,
    SPLITS,
    Character,
    Dialogue,
    DialogueType,
    ImageAnnotation,
    Language,
    Sample,
    Split,
)


def _persona(character: Character) -> Persona:
    return Persona(name=character.name, series=character.series, profile=character.summary)


def turn_sample(
    sample_id: str,
    *,
    role: Character,
    partner: Character | None,
    history: Sequence[tuple[str, str]],
    image: str,
    annotation: ImageAnnotation | None,
    language: Language,
    dialogue_type: DialogueType,
    split: Split,
    other_role: str = CURIOUS_HUMAN,
    reference: str = "",
) -> Sample:
    """The sample of one character turn, its instruction built as MMRole builds it.

    The one builder of a turn's sample: dialogues of MMRole-Data (:func:`samples_of_dialogue`) and
    live chats (:meth:`mmrole.app.ChatSession.sample`) both go through it, so a chat is prompted
    exactly as the same dialogue's samples are.

    Args:
        sample_id: The sample's id (``<dialogue id>_<index of the answered turn>``).
        role: The character answering.
        partner: The other character (inter-role dialogues); None for the curious human.
        history: The ``(speaker, text)`` turns before the answered one.
        image: The image as samples name it (relative to the image root).
        annotation: The image's auxiliary information (character, place, scene), if any.
        language: ``English`` or ``Chinese``.
        dialogue_type: The dialogue type (comment, human-role, inter-role).
        split: The split the sample belongs to.
        other_role: The other party when there is no ``partner`` (``a curious human``).
        reference: The reference answer (the turn's text in MMRole-Data; empty for a live chat).
    """
    aux = (
        (annotation.role_info, annotation.place_info, annotation.scene_info)
        if annotation is not None
        else None
    )
    instruction = build_instruction(
        _persona(role), _persona(partner) if partner is not None else None, language, history, aux
    )
    return Sample(
        id=sample_id,
        image=image,
        system=MRPA_SYSTEM,
        instruction=instruction,
        reference=reference,
        role=role.name,
        script=role.series,
        other_role=partner.name if partner else other_role,
        type=dialogue_type,
        split=split,
        language=language,
    )


def samples_of_dialogue(dialogue: Dialogue, characters: dict[str, Character]) -> Iterator[Sample]:
    """Every character turn of a dialogue as a sample, with the turns before it as history.

    In inter-role dialogues both characters' turns are answered; the sample id is
    ``<dialogue id>_<index of the answered turn>``.
    """
    history = [(turn.speaker, turn.text) for turn in dialogue.turns]
    for index, turn in enumerate(dialogue.turns):
        if turn.speaker == HUMAN_SPEAKER:
            continue
        role = characters[turn.speaker]
        partner: Character | None = None  # the curious human
        if dialogue.type == "inter-role":
            partner = characters[dialogue.other_role if turn.speaker == dialogue.role else dialogue.role]
        yield turn_sample(
            f"{dialogue.id}_{index}",
            role=role,
            partner=partner,
            history=history[:index],
            image=dialogue.image.path,
            annotation=dialogue.image.annotation,
            language=dialogue.language,
            dialogue_type=dialogue.type,
            split=dialogue.split,
            other_role=dialogue.other_role,
            reference=turn.text,
        )


def build_samples(
    data_root: str | Path,
    *,
    characters: dict[str, Character] | None = None,
    report: Reporter | None = None,
    splits: Iterable[str] = SPLITS,
    types: Iterable[str] = DIALOGUE_TYPES,
) -> Iterator[Sample]:
    """Build the samples of every dialogue of an MMRole-Data root (streamed, file by file).

    Args:
        data_root: The MMRole-Data root.
        characters: Already loaded characters.
        report: Called with each data problem (bad dialogues are skipped); without it the first
            problem raises DataError.
        splits: Only the dialogues of these splits.
        types: Only the dialogues of these types.
    """
    if characters is None:
        characters = load_characters(data_root, report=report)
    for dialogue in load_dialogues(
        data_root, characters=characters, report=report, splits=splits, types=types
    ):
        yield from samples_of_dialogue(dialogue, characters)


def read_samples_jsonl(path: str | Path) -> Iterator[Sample]:
    """Stream the samples of a JSONL file (one Sample per line).

    Raises:
        DataError: A line is not valid JSON or not a valid sample (with the line number and field).
    """
    from pydantic import ValidationError

    path = Path(path)
    for number, raw in iter_jsonl(path):
        try:
            yield Sample.model_validate(raw)
        except ValidationError as err:
            first = err.errors()[0]
            record = raw.get("id")
            raise DataError(
                f"line {number}: {first['msg']}",
                file=str(path),
                record=str(record) if record else None,
                field=".".join(str(p) for p in first["loc"]) or None,
            ) from None


def write_samples_jsonl(samples: Iterable[Sample], path: str | Path) -> int:
    """Write samples as JSONL (atomically: a temp file renamed at the end, removed on a failure);
    returns how many.

    Raises:
        StorageError: The disk is full or the folder cannot be written (no partial file is left).
    """
    count = 0

    def lines() -> Iterator[str]:
        nonlocal count
        for sample in samples:
            count += 1
            yield sample.model_dump_json() + "\n"

    files.write_text(path, lines())
    return count
