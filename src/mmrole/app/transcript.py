"""Chats on disk: mmrole's transcript JSON (to resume a chat) and MMRole-format dialogue records.

A transcript holds everything needed to pick a conversation up again without the data root:

    {"format": "mmrole-chat", "version": 1, "saved_at": "...",
     "character": {Character}, "other": {Character} | null, "language": "English",
     "agent": "openai:gpt-4o", "other_agent": "...", "params": {GenerationParams},
     "image_root": "/data/images" | null, "image": "/data/images/x.png" | null, "annotation": {...} | null,
     "dialogues": [{Dialogue}, ...]}        # the archived ones, then the current one (possibly empty)

MMRole records are what ``dialogues/<split>/<type>/<Name>_<tag>.json`` files of MMRole-Data hold:
``{"id", "image", "conversations": [{"role", "value"}], "role_info", "place_info", "scene_info"}``,
so chats become training or test data with :func:`mmrole.data.build_samples`.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from mmrole.app.session import ChatSession
from mmrole.data.dialogues import ANNOTATION_FIELDS
from mmrole.errors import DataError
from mmrole.models.base import Backend, GenerationParams
from mmrole.schema import HUMAN_SPEAKER, Character, Dialogue, ImageAnnotation, Language

__all__ = [
    "TRANSCRIPT_FORMAT",
    "load_transcript",
    "save_mmrole_records",
    "save_transcript",
    "to_mmrole_records",
    "to_transcript",
    "write_json_atomic",
]

TRANSCRIPT_FORMAT = "mmrole-chat"
TRANSCRIPT_VERSION = 1


def write_json_atomic(data: Any, path: str | Path) -> Path:
    """Write JSON through a temporary file renamed into place, so a crash never leaves half a file."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def to_transcript(session: ChatSession) -> dict[str, Any]:
    """The session as a transcript dict (see the module docstring)."""
    current = session.dialogue()
    return {
        "format": TRANSCRIPT_FORMAT,
        "version": TRANSCRIPT_VERSION,
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "character": session.character.model_dump(mode="json"),
        "other": session.other.model_dump(mode="json") if session.other else None,
        "language": session.language,
        "agent": session.backend.spec,
        "other_agent": session.other_backend.spec,
        "params": session.params.to_dict(),
        "tag": session.tag,
        "image_root": str(session.image_root) if session.image_root else None,
        "image": str(session.image) if session.image else None,
        "annotation": session.annotation.model_dump(mode="json") if session.annotation else None,
        "dialogues": [d.model_dump(mode="json", exclude_none=True) for d in (*session.archive, current)],
    }


def save_transcript(session: ChatSession, path: str | Path) -> Path:
    """Write the session's transcript JSON (atomically); returns the path."""
    return write_json_atomic(to_transcript(session), path)


def load_transcript(
    path: str | Path, backend: Backend, *, other_backend: Backend | None = None
) -> ChatSession:
    """Resume a chat from its transcript: the same characters, image, history and archive.

    Args:
        path: A transcript written by :func:`save_transcript`.
        backend: The model to go on with (the transcript's ``agent`` names the one used before).
        other_backend: The model playing the other character, if any.

    Raises:
        DataError: The file is missing, not a transcript, or a record in it is invalid (names the field).
    """
    path = Path(path).expanduser()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise DataError(f"cannot read transcript: {err.strerror or err}", file=str(path)) from None
    except ValueError as err:
        raise DataError(f"not JSON: {err}", file=str(path)) from None
    if not isinstance(raw, dict) or raw.get("format") != TRANSCRIPT_FORMAT:
        raise DataError(f"not an mmrole chat transcript (format {TRANSCRIPT_FORMAT!r})", file=str(path))
    try:
        character = Character.model_validate(raw.get("character"))
        other = Character.model_validate(raw["other"]) if raw.get("other") else None
        dialogues = [Dialogue.model_validate(d) for d in raw.get("dialogues") or []]
        annotation = ImageAnnotation.model_validate(raw["annotation"]) if raw.get("annotation") else None
        params = dict(raw.get("params") or {})
        if params.get("stop") is not None:
            params["stop"] = tuple(params["stop"])
        generation = GenerationParams(**params)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise DataError(f"invalid transcript: {first['msg']}", file=str(path), field=field) from None
    except TypeError as err:
        raise DataError(f"invalid transcript: {err}", file=str(path), field="params") from None
    image = raw.get("image")
    if image and not Path(image).is_file():
        raise DataError(f"the chat's image is gone: {image}", file=str(path), field="image")
    language = raw.get("language")
    if language is not None and language not in get_args(Language):
        raise DataError(
            f"invalid transcript: unknown language {language!r}", file=str(path), field="language"
        )
    session = ChatSession(
        character,
        backend,
        image,
        other=other,
        other_backend=other_backend,
        annotation=annotation,
        image_root=raw.get("image_root"),
        language=language,
        params=generation,
        tag=str(raw.get("tag") or "chat"),
    )
    if dialogues:
        session.archive = [d for d in dialogues[:-1] if d.turns]
        session.turns = list(dialogues[-1].turns)
    return session


def dialogue_record(dialogue: Dialogue) -> dict[str, Any]:
    """One dialogue as MMRole-Data writes it (human-role and inter-role: every turn keyed ``role``)."""
    record: dict[str, Any] = {"id": dialogue.id, "image": dialogue.image.path, "conversations": []}
    for turn in dialogue.turns:
        # MMRole's comment dialogues mark the human's question with "from"; everything else uses "role".
        key = "from" if dialogue.type == "comment" and turn.speaker == HUMAN_SPEAKER else "role"
        record["conversations"].append({key: turn.speaker, "value": turn.text})
    annotation = dialogue.image.annotation
    if annotation is not None and not annotation.is_empty():
        record.update({field: getattr(annotation, field) for field in ANNOTATION_FIELDS})
    return record


def to_mmrole_records(session: ChatSession) -> list[dict[str, Any]]:
    """The session's dialogues (with turns) as MMRole-Data records.

    Images under the session's image root are named relative to it, as MMRole-Data does; other
    images keep their absolute path (copy them under the data root's ``images/`` and edit the
    path before building samples from the records).
    """
    return [dialogue_record(d) for d in session.dialogues()]


def save_mmrole_records(session: ChatSession, path: str | Path) -> Path:
    """Write the session's dialogues as an MMRole-Data dialogue file (a JSON array, atomically)."""
    return write_json_atomic(to_mmrole_records(session), path)
