"""The preference-pair file ``mmrole train dpo`` reads (and ``mmrole feedback`` writes).

One JSON object per line, in TRL's conversational preference format with images::

    {"id": "Iron_Man_comment_COCO_30_1#0",
     "images": ["/data/MMRole/images/COCO/train2017/000000224155.jpg"],
     "prompt": [{"role": "system", "content": "You are a dedicated role-playing assistant ..."},
                {"role": "user", "content": "Please step into the shoes of Iron Man ..."}],
     "chosen": [{"role": "assistant", "content": "Well, would you look at that..."}],
     "rejected": [{"role": "assistant", "content": "As an AI, I see a man..."}],
     "meta": {"sample_id": "Iron_Man_comment_COCO_30_1", "chosen_score": 8.1, "rejected_score": 5.4}}

* ``id``: unique in the file (a sample may give several pairs: suffix ``#k``).
* ``images``: image paths, shown in order at the start of the first user turn. Absolute, or
  relative to ``mmrole train dpo --image-root`` when given, else to the JSONL file's folder.
  ``[]`` for a text-only prompt.
* ``prompt``: the conversation up to the answer: an optional system message, then user (and
  earlier assistant) messages. ``content`` is a string (images are placed as said above), or a
  list of parts with one ``{"type": "image"}`` per image.
* ``chosen`` / ``rejected``: one assistant message each, the preferred and the dispreferred answer
  to the same prompt (they must differ).
* ``meta``: free-form provenance (scores, judge, sampling), ignored by training.

:func:`preference_record` builds a record from an MMRole sample and two answers;
:func:`write_preferences` / :func:`read_preferences` write and check files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mmrole.data.jsonio import iter_jsonl
from mmrole.errors import DataError

__all__ = ["ChatMessage", "PreferenceRecord", "preference_record", "read_preferences", "write_preferences"]


class ChatMessage(BaseModel):
    """One chat message; ``content`` is text or a list of parts (``{"type": "text"|"image", ...}``)."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str | list[dict[str, Any]]

    def image_count(self) -> int:
        if isinstance(self.content, str):
            return 0
        return sum(1 for part in self.content if part.get("type") == "image")

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(str(part.get("text") or "") for part in self.content if part.get("type") == "text")


class PreferenceRecord(BaseModel):
    """One preference pair (one line of the file)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    images: list[str] = Field(default_factory=list)
    prompt: list[ChatMessage] = Field(min_length=1)
    chosen: list[ChatMessage] = Field(min_length=1, max_length=1)
    rejected: list[ChatMessage] = Field(min_length=1, max_length=1)
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> PreferenceRecord:
        if not any(m.role == "user" for m in self.prompt):
            raise ValueError("prompt: needs a user message")
        if self.prompt[-1].role == "assistant":
            raise ValueError("prompt: must not end with an assistant message")
        for name in ("chosen", "rejected"):
            if getattr(self, name)[0].role != "assistant":
                raise ValueError(f"{name}: must be one assistant message")
        if self.chosen[0].text() == self.rejected[0].text():
            raise ValueError("chosen and rejected answers are identical")
        placeholders = sum(m.image_count() for m in self.prompt)
        if placeholders and placeholders != len(self.images):
            raise ValueError(f"prompt has {placeholders} image parts but images lists {len(self.images)}")
        return self

    def to_trl(self, image_dir: Path | None = None) -> dict[str, Any]:
        """The record as a TRL DPO example: string/list contents kept, image paths made absolute."""
        images = [str(_resolve(path, image_dir)) for path in self.images]
        return {
            "id": self.id,
            "images": images,
            "prompt": [m.model_dump() for m in self.prompt],
            "chosen": [m.model_dump() for m in self.chosen],
            "rejected": [m.model_dump() for m in self.rejected],
        }


def _resolve(path: str, image_dir: Path | None) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() or image_dir is None else image_dir / candidate


def preference_record(
    record_id: str,
    *,
    system: str | None,
    instruction: str,
    chosen: str,
    rejected: str,
    images: Iterable[str | Path] = (),
    meta: dict[str, Any] | None = None,
) -> PreferenceRecord:
    """A single-turn pair: ``system`` + ``instruction`` (with ``images``) answered ``chosen`` > ``rejected``.

    Raises:
        DataError: The record is invalid (e.g. the two answers are identical).
    """
    prompt = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": instruction}
    ]
    data = {
        "id": record_id,
        "images": [str(path) for path in images],
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
        "meta": meta or {},
    }
    try:
        return PreferenceRecord.model_validate(data)
    except ValidationError as err:
        raise DataError(_first_error(err), record=record_id) from None


def write_preferences(path: str | Path, records: Iterable[PreferenceRecord]) -> int:
    """Write records as JSONL (UTF-8, one per line); returns how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.model_dump(), ensure_ascii=False) + "\n")
            count += 1
    return count


def read_preferences(path: str | Path) -> Iterator[PreferenceRecord]:
    """Read and check a preference JSONL file.

    Raises:
        DataError: A line is not JSON or not a valid record (naming the file, the line or id, the field),
            or two records share an id.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", file=str(path))
    seen: set[str] = set()
    for number, data in iter_jsonl(path):
        where = str(data["id"]) if data.get("id") else f"line {number}"
        try:
            record = PreferenceRecord.model_validate(data)
        except ValidationError as err:
            location = ".".join(str(part) for part in err.errors()[0]["loc"]) or None
            raise DataError(_first_error(err), file=str(path), record=where, field=location) from None
        if record.id in seen:
            raise DataError("duplicate id", file=str(path), record=record.id, field="id")
        seen.add(record.id)
        yield record


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    return str(first["msg"]).removeprefix("Value error, ")
