"""``mmrole data validate``: every problem of a data root, test folder or samples file.

Problems are collected, never raised: one report lists them all, grouped by kind. COCO images,
which MMRole-Data releases do not include, are summed up in one explained line instead of one
error per dialogue.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.data.characters import load_characters
from mmrole.data.dialogues import load_dialogues
from mmrole.data.jsonio import iter_json_array, not_utf8
from mmrole.data.paths import UnsafePathError, check_within, is_safe_relative, resolve_under
from mmrole.data.problems import PROBLEM_KINDS, WARNING_KINDS, Problem, problem_from_error
from mmrole.data.qwen import sample_from_qwen, split_from_path, type_from_name
from mmrole.data.sources import image_root, is_data_root, resolve_source
from mmrole.errors import DataError
from mmrole.images import check_image_file
from mmrole.schema import Character, Sample

#: Problems kept per kind (counts are always exact): a broken 85k-sample file must not fill memory.
MAX_KEPT_PER_KIND = 10_000
COCO_PREFIX = "COCO/"


@dataclass
class ValidationReport:
    """What validation found."""

    path: str
    checked: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    problems: dict[str, list[Problem]] = field(default_factory=dict)

    def add(self, problem: Problem) -> None:
        self.counts[problem.kind] += 1
        kept = self.problems.setdefault(problem.kind, [])
        if len(kept) < MAX_KEPT_PER_KIND:
            kept.append(problem)

    @property
    def ok(self) -> bool:
        """True when nothing but expected warnings (empty dialogues, absent COCO images) was found."""
        return not any(kind not in WARNING_KINDS for kind in self.counts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "checked": dict(self.checked),
            "problems": {
                kind: {
                    "severity": "warning" if kind in WARNING_KINDS else "error",
                    "explanation": PROBLEM_KINDS.get(kind, ""),
                    "count": count,
                    "items": [p.to_dict() for p in self.problems.get(kind, [])],
                }
                for kind, count in sorted(self.counts.items())
            },
        }


class _ImageChecker:
    """Checks image paths once each; absent COCO images are only counted."""

    def __init__(self, report: ValidationReport, root: Path | None):
        self.report, self.root = report, root
        #: Per image path: whether the file exists, or why its path is unsafe.
        self.exists: dict[str, bool | str] = {}
        self.undecodable: dict[str, str | None] = {}  # image -> why it cannot be decoded (None: fine)
        self.coco_users = 0
        self.coco_missing: set[str] = set()

    def check(self, image: str, file: str | None, record: str) -> None:
        if not is_safe_relative(image):
            self.report.add(
                Problem(
                    "unsafe-image-path", f"image path {image!r} escapes the data root", file, record, "image"
                )
            )
            return
        if self.root is None:
            return
        if image not in self.exists:
            self.report.checked["images"] += 1
            try:
                self.exists[image] = resolve_under(self.root, image).is_file()
            except UnsafePathError as err:
                self.exists[image] = err.reason
        found = self.exists[image]
        if isinstance(found, str):  # the reason the path is unsafe
            self.report.add(Problem("unsafe-image-path", found, file, record, "image"))
            return
        if found:
            self._check_decodes(image, file, record)
            return
        if image.startswith(COCO_PREFIX):
            self.coco_users += 1
            self.coco_missing.add(image)
        else:
            self.report.add(Problem("missing-image", f"no file {self.root / image}", file, record, "image"))

    def _check_decodes(self, image: str, file: str | None, record: str) -> None:
        assert self.root is not None
        if image not in self.undecodable:
            try:
                check_image_file(self.root / image)
            except DataError as err:
                self.undecodable[image] = err.reason
            else:
                self.undecodable[image] = None
        reason = self.undecodable[image]
        if reason is not None:
            self.report.add(Problem("bad-image", f"{self.root / image}: {reason}", file, record, "image"))

    def summarize(self, users: str) -> None:
        if self.coco_users:
            self.report.add(
                Problem(
                    "coco-images-absent",
                    f"{self.coco_users} {users} refer to {len(self.coco_missing)} COCO images not included in this "
                    f"release; put COCO train2017 in {self.root}/COCO/train2017 to use them",
                )
            )
            # Count the dialogues (or samples), not the one summary line.
            self.report.counts["coco-images-absent"] += self.coco_users - 1


def validate(source: str | Path) -> ValidationReport:
    """Validate a data root, a test folder or file, or a samples JSONL; never raises on bad data.

    Raises:
        DataError: Only when the path does not exist.
    """
    path = resolve_source(source)
    report = ValidationReport(path=str(path))
    try:
        images_folder = image_root(path)
    except UnsafePathError as err:
        report.add(problem_from_error(err, "unsafe-path"))
        images_folder = None
    images = _ImageChecker(report, images_folder)
    if path.is_dir() and is_data_root(path):
        characters = _validate_root(path, report, images)
        images.summarize("dialogues")
        images = _ImageChecker(report, images_folder)
        for file in _qwen_files(path / "data", path, report):
            _validate_qwen_file(file, report, images, characters)
        images.summarize("samples")
    else:
        files = [path] if path.is_file() else list(_qwen_files(path, path, report))
        if not files:
            report.add(Problem("bad-structure", "no .json or .jsonl files found", str(path)))
        for file in files:
            _validate_qwen_file(file, report, images, None)
        images.summarize("samples")
    return report


def _qwen_files(folder: Path, root: Path, report: ValidationReport) -> Iterator[Path]:
    """The test files under ``folder``; files linking outside ``root`` are reported, not read."""
    if not folder.is_dir():
        return
    for file in sorted(p for p in folder.rglob("*") if p.suffix in (".json", ".jsonl") and p.is_file()):
        try:
            check_within(file, root)
        except UnsafePathError as err:
            report.add(problem_from_error(err, "unsafe-path"))
            continue
        yield file


def _validate_root(root: Path, report: ValidationReport, images: _ImageChecker) -> dict[str, Character]:
    characters = load_characters(root, report=report.add)
    report.checked["characters"] = len(characters)
    for dialogue in load_dialogues(root, characters=characters, report=report.add):
        report.checked["dialogues"] += 1
        images.check(dialogue.image.path, dialogue.source, dialogue.id)
    return characters


def _records(file: Path, report: ValidationReport) -> Iterator[tuple[str, Any]]:
    """(where, record) of a JSON array or JSONL file; malformed JSON becomes a problem."""
    if file.suffix == ".jsonl":
        with file.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    report.add(Problem("malformed-json", not_utf8(err, number, err.start + 1), str(file)))
                    continue
                if not line.strip():
                    continue
                try:
                    yield f"line {number}", json.loads(line)
                except json.JSONDecodeError as err:
                    message = f"malformed JSON at line {number}, column {err.colno}: {err.msg}"
                    report.add(Problem("malformed-json", message, str(file)))
        return
    try:
        for index, record in enumerate(iter_json_array(file)):
            yield f"#{index}", record
    except DataError as err:
        report.add(problem_from_error(err))


def _sample_of(file: Path, where: str, record: Any, report: ValidationReport) -> Sample | None:
    from pydantic import ValidationError

    record_id = record.get("id") if isinstance(record, dict) else None
    label = str(record_id) if record_id else where
    if not isinstance(record, dict):
        report.add(Problem("bad-structure", "a record must be a JSON object", str(file), label))
        return None
    try:
        if file.suffix == ".jsonl":
            return Sample.model_validate(record)
        split = split_from_path(file.parent)
        return sample_from_qwen(record, file=file, split=split, dialogue_type=type_from_name(file.name))
    except DataError as err:
        report.add(problem_from_error(err, "missing-field"))
    except ValidationError as err:
        for error in err.errors():
            loc = ".".join(str(p) for p in error["loc"])
            kind = "unknown-type" if error["type"] == "literal_error" else "missing-field"
            report.add(Problem(kind, f"{error['msg']} ({where})", str(file), label, loc))
    return None


def _validate_qwen_file(
    file: Path, report: ValidationReport, images: _ImageChecker, characters: dict[str, Character] | None
) -> None:
    seen: dict[str, str] = {}
    report.checked["files"] += 1
    for where, record in _records(file, report):
        sample = _sample_of(file, where, record, report)
        if sample is None:
            continue
        report.checked["samples"] += 1
        if sample.id in seen:
            report.add(
                Problem("duplicate-id", f"id already used at {seen[sample.id]}", str(file), sample.id, "id")
            )
        seen.setdefault(sample.id, where)
        for name in ("instruction", "reference"):
            if not getattr(sample, name).strip():
                report.add(Problem("empty-turn", f"empty {name}", str(file), sample.id, name))
        if characters is not None and sample.role not in characters:
            report.add(
                Problem(
                    "unknown-character",
                    f"{sample.role!r} is not in any roles.json",
                    str(file),
                    sample.id,
                    "role",
                )
            )
        images.check(sample.image, str(file), sample.id)
