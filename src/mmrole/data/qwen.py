"""MMRole's formatted files, in Qwen-VL's conversation format.

* ``data/test/<split>/<type>_test.json`` (and the released ``<type>_test.reviews.json``):
  ``{"id", "system", "image", "conversations": [{"from": "user", "value": instruction},
  {"from": "assistant", "value": reference[, "answer": an MRPA's answer]}], "role", "script",
  "other_role"[, "rm_review"]}``.
* ``data/train/*.json`` and ``RM_data/**/*.json``: the same conversation lists; the image may be
  given as Qwen-VL's ``Picture 1: <img>PATH</img>`` prefix of the first user turn instead of an
  ``image`` field. These files are large: everything here streams them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mmrole import files
from mmrole.data.dialogues import type_from_id
from mmrole.data.jsonio import iter_json_array
from mmrole.errors import DataError
from mmrole.prompts.mrpa import MRPA_SYSTEM
from mmrole.schema import CURIOUS_HUMAN, DIALOGUE_TYPES, HYPOTHETICAL_SERIES, DialogueType, Sample, Split

_IMAGE_TAG = re.compile(r"^Picture \d+: <img>(.*?)</img>\n?", re.DOTALL)
_OPENING = re.compile(
    r"^Please step into the shoes of (?P<role>.+?)(?: from (?P<script>.+?)|, a person who is one of the "
    r"(?P<hypo>.+?))\. Imagine you are talking with (?P<other>.+?) about the given image\."
)
_CHINESE_REQUEST = re.compile(r" in Chinese using the distinctive tone, manner and vocabulary of ")


def iter_conversation_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """Stream the records of a Qwen-VL-format file (training data, RM_data), checking their shape.

    Raises:
        DataError: A record is not an object or has no ``conversations`` list.
    """
    for index, record in enumerate(iter_json_array(path)):
        record_id = record.get("id") if isinstance(record, dict) else None
        where = str(record_id) if record_id is not None else f"#{index}"
        if not isinstance(record, dict):
            raise DataError("a record must be a JSON object", file=str(path), record=where)
        conversations = record.get("conversations")
        if not isinstance(conversations, list) or not conversations:
            raise DataError(
                "conversations must be a non-empty list", file=str(path), record=where, field="conversations"
            )
        for number, turn in enumerate(conversations):
            if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
                raise DataError(
                    "a turn needs a text 'value'",
                    file=str(path),
                    record=where,
                    field=f"conversations[{number}]",
                )
        yield record


def split_image_tag(text: str) -> tuple[str | None, str]:
    """Split Qwen-VL's ``Picture 1: <img>PATH</img>\\n`` prefix off a user turn: (path or None, text)."""
    match = _IMAGE_TAG.match(text)
    if not match:
        return None, text
    return match.group(1), text[match.end() :]


#: Folder names that say a split: MMRole-Data's ``data/test/<split>/``, the release's ``in-test/``,
#: and the ``eval/in-test_answers/``, ``eval/out-test_reviews/``, ``..._results/`` of MMRole's repository.
_SPLIT_FOLDER = re.compile(
    r"^(?:(?P<in>in-distribution|in-test)|out-of-distribution|out-test)(?:_(?P<variant>answers|reviews|results))?$"
)


def split_folder(name: str) -> tuple[Split, str] | None:
    """The split and variant a folder name says, else None.

    ``out-test_reviews`` -> ``("out-of-distribution", "reviews")``; ``in-test`` ->
    ``("in-distribution", "")``.
    """
    match = _SPLIT_FOLDER.match(name.lower())
    if match is None:
        return None
    return ("in-distribution" if match.group("in") else "out-of-distribution", match.group("variant") or "")


def split_from_path(path: str | Path) -> Split | None:
    """``in-distribution`` / ``out-of-distribution`` when a folder of the path says so (the nearest wins)."""
    for part in reversed(Path(path).resolve().parts):
        named = split_folder(part)
        if named is not None:
            return named[0]
    return None


def type_from_name(name: str) -> DialogueType | None:
    """The dialogue type a file name starts with (``human-role_test.reviews.json`` -> ``human-role``)."""
    for dialogue_type in sorted(DIALOGUE_TYPES, key=len, reverse=True):
        if name.startswith(dialogue_type):
            return dialogue_type
    return None


def _parse_opening(instruction: str) -> dict[str, str]:
    """Role, script and other role from the instruction's first sentence (for records without them)."""
    match = _OPENING.match(instruction)
    if not match:
        return {}
    other = match.group("other")
    if other != CURIOUS_HUMAN:
        other = re.split(r", another person who is one of | from ", other, maxsplit=1)[0]
    return {
        "role": match.group("role"),
        "script": match.group("script") or HYPOTHETICAL_SERIES,
        "other_role": other,
    }


def sample_from_qwen(
    record: dict[str, Any],
    *,
    file: str | Path,
    split: Split | None = None,
    dialogue_type: DialogueType | None = None,
) -> Sample:
    """Make a Sample of one Qwen-VL-format record (the first user turn and the assistant reply).

    Raises:
        DataError: The record lacks what a sample needs, naming the file, record and field.
    """
    record_id = record.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise DataError("missing sample id", file=str(file), field="id")
    conversations = record.get("conversations")
    if not isinstance(conversations, list) or len(conversations) < 2:
        raise DataError(
            "needs a user turn and a reply", file=str(file), record=record_id, field="conversations"
        )
    first, reply = conversations[0], conversations[1]
    if not (isinstance(first, dict) and isinstance(first.get("value"), str)):
        raise DataError(
            "no instruction text", file=str(file), record=record_id, field="conversations[0].value"
        )
    if not (isinstance(reply, dict) and isinstance(reply.get("value"), str)):
        raise DataError("no reference text", file=str(file), record=record_id, field="conversations[1].value")
    tagged_image, instruction = split_image_tag(first["value"])
    image = record.get("image") or tagged_image
    if not isinstance(image, str) or not image:
        raise DataError("missing image path", file=str(file), record=record_id, field="image")
    if image.startswith("images/"):
        image = image[len("images/") :]  # Qwen-VL tags name paths from the data root
    parsed = _parse_opening(instruction)
    fields: dict[str, str] = {}
    for name in ("role", "script", "other_role"):
        value = record.get(name) or parsed.get(name)
        if not isinstance(value, str):
            raise DataError(f"missing {name}", file=str(file), record=record_id, field=name)
        fields[name] = value
    sample_type = dialogue_type or type_from_id(record_id)
    if sample_type is None:
        raise DataError(
            "cannot tell the dialogue type from the id or file name", file=str(file), record=record_id
        )
    system = record.get("system")
    return Sample(
        id=record_id,
        image=image,
        system=system if isinstance(system, str) else MRPA_SYSTEM,
        instruction=instruction,
        reference=reply["value"],
        role=fields["role"],
        script=fields["script"],
        other_role=fields["other_role"],
        type=sample_type,
        split=split or "in-distribution",
        language="Chinese" if _CHINESE_REQUEST.search(instruction) else "English",
    )


def load_qwen_samples(path: str | Path) -> Iterator[Sample]:
    """Stream the samples of one Qwen-VL-format test file (``comment_test.json``, ``*_test.reviews.json``).

    The split comes from a folder named in/out-of-distribution (or in/out-test), the type from the
    id, else from the file name.
    """
    path = Path(path)
    split = split_from_path(path.parent)
    named_type = type_from_name(path.name)
    for index, record in enumerate(iter_json_array(path)):
        if not isinstance(record, dict):
            raise DataError("a record must be a JSON object", file=str(path), record=f"#{index}")
        record_id = record.get("id")
        dialogue_type = type_from_id(record_id) if isinstance(record_id, str) else None
        yield sample_from_qwen(record, file=path, split=split, dialogue_type=dialogue_type or named_type)


def sample_to_qwen(sample: Sample, *, answer: str | None = None) -> dict[str, Any]:
    """A Sample as a record of MMRole's test files (the inverse of :func:`sample_from_qwen`)."""
    reply: dict[str, Any] = {"from": "assistant", "value": sample.reference}
    if answer is not None:
        reply["answer"] = answer
    return {
        "id": sample.id,
        "system": sample.system,
        "image": sample.image,
        "conversations": [{"from": "user", "value": sample.instruction}, reply],
        "role": sample.role,
        "script": sample.script,
        "other_role": sample.other_role,
    }


def json_array_text(records: Iterable[Any], *, indent: int = 2) -> Iterator[str]:
    """``json.dump(list(records), indent=indent, ensure_ascii=False)``'s text, one record at a time.

    JSON strings hold no raw newline, so indenting each line of a record's own dump by one level
    gives exactly the text of the record inside the list.
    """
    pad = " " * indent
    first = True
    for record in records:
        text = json.dumps(record, ensure_ascii=False, indent=indent)
        yield ("[\n" if first else ",\n") + pad + text.replace("\n", "\n" + pad)
        first = False
    yield "[]" if first else "\n]"


def write_qwen_file(samples: Iterable[Sample], path: str | Path) -> int:
    """Write samples as one of MMRole's Qwen-VL test files, streaming (all or nothing: a failure
    leaves no file); returns how many.

    Raises:
        StorageError: The disk is full or the folder cannot be written.
    """
    count = 0

    def records() -> Iterator[dict[str, Any]]:
        nonlocal count
        for sample in samples:
            count += 1
            yield sample_to_qwen(sample)

    files.write_text(path, json_array_text(records()))
    return count
