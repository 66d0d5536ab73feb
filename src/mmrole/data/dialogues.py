"""Dialogues of an MMRole-Data root: ``dialogues/<split>/<type>/<Name>_<COCO|script>.json``
(in-distribution) or ``dialogues/<split>/<type>.json`` (out-of-distribution).

Each file is a JSON array of ``{"id", "image", "conversations": [{"role"|"from", "value"}],
["role_info", "place_info", "scene_info"]}``. Script (character) images are annotated either in
the record or in ``images/annotations.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mmrole.data.characters import file_stem, load_characters, looks_chinese
from mmrole.data.jsonio import iter_json_array, read_json
from mmrole.data.paths import UnsafePathError, check_within, is_safe_relative
from mmrole.data.problems import Problem, Reporter, problem_from_error, raise_problem
from mmrole.errors import DataError
from mmrole.schema import (
    CURIOUS_HUMAN,
    DIALOGUE_TYPES,
    HUMAN_SPEAKER,
    SPLITS,
    Character,
    Dialogue,
    DialogueType,
    Image,
    ImageAnnotation,
    Split,
    Turn,
)

#: How each dialogue type is spelled inside MMRole ids (``Iron_Man_role-role-dialogue_COCO_3``).
ID_MARKERS: dict[str, str] = {
    "comment": "comment",
    "human-role": "human-role-dialogue",
    "inter-role": "role-role-dialogue",
}
ANNOTATION_FIELDS = ("role_info", "place_info", "scene_info")


def type_from_id(record_id: str) -> DialogueType | None:
    """The dialogue type named inside an MMRole id, or None."""
    for dialogue_type in DIALOGUE_TYPES:
        if f"_{ID_MARKERS[dialogue_type]}_" in f"{record_id}_":
            return dialogue_type
    return None


def role_from_id(record_id: str) -> str | None:
    """The file-name form of the character an id belongs to (``Iron_Man``), or None."""
    for marker in ID_MARKERS.values():
        head, sep, _ = f"{record_id}_".partition(f"_{marker}_")
        if sep:
            return head
    return None


def safe_image_path(path: str) -> bool:
    """True when a relative image path stays inside the image root as text (links are checked on reading)."""
    return is_safe_relative(path)


def load_annotations(root: str | Path, *, report: Reporter | None = None) -> dict[str, ImageAnnotation]:
    """``images/annotations.json`` as image path -> annotation (empty when the file is absent)."""
    report = report or raise_problem
    path = Path(root) / "images" / "annotations.json"
    if not path.exists():
        return {}
    try:
        check_within(path, root)
        raw = read_json(path)
    except UnsafePathError as err:
        report(problem_from_error(err, "unsafe-path"))
        return {}
    except DataError as err:
        report(problem_from_error(err))
        return {}
    if not isinstance(raw, list):
        report(Problem("bad-structure", "annotations.json must be a list of records", file=str(path)))
        return {}
    annotations: dict[str, ImageAnnotation] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("image"), str):
            report(
                Problem("missing-field", "annotation without an image path", str(path), f"#{index}", "image")
            )
            continue
        annotations[item["image"]] = ImageAnnotation(**{k: str(item.get(k) or "") for k in ANNOTATION_FIELDS})
    return annotations


def dialogue_files(
    root: str | Path, splits: Iterable[str] = SPLITS, types: Iterable[str] = DIALOGUE_TYPES
) -> Iterator[tuple[Path, Split, DialogueType]]:
    """The dialogue files under ``dialogues/`` as (path, split, type), in a stable order."""
    base = Path(root) / "dialogues"
    wanted_splits, wanted_types = set(splits), set(types)
    for split in (s for s in SPLITS if s in wanted_splits):
        for dialogue_type in (t for t in DIALOGUE_TYPES if t in wanted_types):
            single = base / split / f"{dialogue_type}.json"
            if single.is_file():
                yield single, split, dialogue_type
            folder = base / split / dialogue_type
            if folder.is_dir():
                for path in sorted(folder.glob("*.json")):
                    yield path, split, dialogue_type


class _DialogueReader:
    """Turns raw dialogue records into :class:`Dialogue`, reporting every problem found."""

    def __init__(
        self, characters: dict[str, Character], annotations: dict[str, ImageAnnotation], report: Reporter
    ):
        self.characters, self.annotations, self.report = characters, annotations, report
        self.by_stem = {file_stem(name): name for name in characters}
        self.seen: dict[str, str] = {}

    def problem(
        self, kind: str, message: str, file: Path, record: str | None, field: str | None = None
    ) -> None:
        self.report(Problem(kind, message, file=str(file), record=record, field=field))

    def read(
        self, raw: Any, index: int, path: Path, split: Split, dialogue_type: DialogueType
    ) -> Dialogue | None:
        where = f"#{index}"
        if not isinstance(raw, dict):
            self.problem("bad-structure", "a dialogue must be a JSON object", path, where)
            return None
        record_id = raw.get("id")
        if not isinstance(record_id, str) or not record_id:
            self.problem("missing-field", "missing dialogue id", path, where, "id")
            return None
        if record_id in self.seen:
            self.problem("duplicate-id", f"id already used in {self.seen[record_id]}", path, record_id, "id")
            return None
        self.seen[record_id] = path.name
        image = raw.get("image")
        if not isinstance(image, str) or not image:
            self.problem("missing-field", "missing image path", path, record_id, "image")
            return None
        if not safe_image_path(image):
            self.problem(
                "unsafe-image-path", f"image path {image!r} escapes the data root", path, record_id, "image"
            )
            return None
        turns = self.read_turns(raw.get("conversations"), path, record_id)
        if turns is None:
            return None
        role = self.find_role(record_id, path, turns, dialogue_type)
        if role is None:
            return None
        other = self.check_speakers(turns, role, dialogue_type, path, record_id)
        if other is None:
            return None
        language = self.characters[role].language
        if language == "English" and looks_chinese("".join(t.text for t in turns[:2])):
            language = "Chinese"
        return Dialogue(
            id=record_id,
            type=dialogue_type,
            image=Image(path=image, annotation=self.annotation(raw, image)),
            language=language,
            split=split,
            role=role,
            other_role=other,
            turns=turns,
            source=str(path),
        )

    def read_turns(self, conversations: Any, path: Path, record_id: str) -> list[Turn] | None:
        if conversations == []:
            self.problem("empty-dialogue", "the dialogue has no turns", path, record_id, "conversations")
            return None
        if not isinstance(conversations, list):
            self.problem(
                "missing-field", "conversations must be a list of turns", path, record_id, "conversations"
            )
            return None
        turns: list[Turn] = []
        for number, turn in enumerate(conversations):
            field = f"conversations[{number}]"
            speaker = turn.get("role", turn.get("from")) if isinstance(turn, dict) else None
            text = turn.get("value") if isinstance(turn, dict) else None
            if not isinstance(speaker, str) or not speaker:
                self.problem(
                    "missing-field", "turn without a speaker ('role' or 'from')", path, record_id, field
                )
                return None
            if not isinstance(text, str):
                self.problem(
                    "missing-field", "turn without a text ('value')", path, record_id, f"{field}.value"
                )
                return None
            if not text.strip():
                self.problem("empty-turn", f"{speaker}'s turn is empty", path, record_id, f"{field}.value")
            turns.append(Turn(speaker=speaker, text=text))
        return turns

    def find_role(self, record_id: str, path: Path, turns: list[Turn], dialogue_type: str) -> str | None:
        stem = role_from_id(record_id)
        if stem is not None:
            role = self.by_stem.get(stem)
        else:
            # Not an MMRole id: fall back to the file name (<Name>_COCO.json), then to the speakers.
            stem = path.stem.rsplit("_", 1)[0] if path.parent.name == dialogue_type else ""
            role = self.by_stem.get(stem)
            speakers = {t.speaker for t in turns} - {HUMAN_SPEAKER}
            if role is None and dialogue_type != "inter-role" and len(speakers) == 1:
                role = next(iter(speakers)) if next(iter(speakers)) in self.characters else None
        if role is None:
            name = (stem or "?").replace("_", " ")
            self.problem(
                "unknown-character", f"character {name!r} is not in any roles.json", path, record_id, "id"
            )
        return role

    def check_speakers(
        self, turns: list[Turn], role: str, dialogue_type: str, path: Path, record_id: str
    ) -> str | None:
        """Check who speaks; return the other party (None when the dialogue is unusable)."""
        speakers = {t.speaker for t in turns}
        if dialogue_type == "inter-role":
            others = sorted(speakers - {role})
            if len(others) != 1:
                self.problem(
                    "broken-alternation",
                    f"an inter-role dialogue needs {role} and one other character, found {others}",
                    path,
                    record_id,
                    "conversations",
                )
                return None
            other = others[0]
            if other not in self.characters:
                self.problem(
                    "unknown-character",
                    f"speaker {other!r} is not in any roles.json",
                    path,
                    record_id,
                    "conversations",
                )
                return None
        else:
            other = CURIOUS_HUMAN
            strangers = sorted(speakers - {role, HUMAN_SPEAKER})
            if strangers:
                self.problem(
                    "unknown-character",
                    f"unexpected speaker(s) {strangers} in a {dialogue_type} dialogue of {role}",
                    path,
                    record_id,
                    "conversations",
                )
                return None
        for number in range(1, len(turns)):
            if turns[number].speaker == turns[number - 1].speaker:
                self.problem(
                    "broken-alternation",
                    f"{turns[number].speaker} speaks twice in a row",
                    path,
                    record_id,
                    f"conversations[{number}]",
                )
                break
        return other

    def annotation(self, raw: dict[str, Any], image: str) -> ImageAnnotation | None:
        annotation: ImageAnnotation | None
        if any(field in raw for field in ANNOTATION_FIELDS):
            annotation = ImageAnnotation(**{k: str(raw.get(k) or "") for k in ANNOTATION_FIELDS})
        else:
            annotation = self.annotations.get(image)
        return None if annotation is None or annotation.is_empty() else annotation


def load_dialogues(
    root: str | Path,
    *,
    characters: dict[str, Character] | None = None,
    report: Reporter | None = None,
    splits: Iterable[str] = SPLITS,
    types: Iterable[str] = DIALOGUE_TYPES,
) -> Iterator[Dialogue]:
    """Yield every dialogue of an MMRole-Data root, file by file (each file is streamed).

    Args:
        root: The MMRole-Data root.
        characters: Already loaded characters (loaded from ``root`` when not given).
        report: Called with each problem (bad records are then skipped); without it the first
            problem raises DataError.
        splits: Only these splits.
        types: Only these dialogue types.
    """
    root = Path(root)
    report = report or raise_problem
    if characters is None:
        characters = load_characters(root, report=report)
    reader = _DialogueReader(characters, load_annotations(root, report=report), report)
    for path, split, dialogue_type in dialogue_files(root, splits, types):
        try:
            check_within(path, root)
        except UnsafePathError as err:
            report(problem_from_error(err, "unsafe-path"))
            continue
        records = enumerate(iter_json_array(path))
        while True:
            # Only the file reader's errors are caught here: the reporter's own raise must pass.
            try:
                index, raw = next(records)
            except StopIteration:
                break
            except DataError as err:
                report(problem_from_error(err))
                break
            dialogue = reader.read(raw, index, path, split, dialogue_type)
            if dialogue is not None:
                yield dialogue
