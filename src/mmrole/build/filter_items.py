"""The dialogues ``mmrole build filter`` reads, checks by rule and writes back, and its audit file.

An :class:`Item` is one record of a dialogue file with what the filter found about it. The audit
file (the sidecar, ``<root>/.build/filter.jsonl``) holds one line per dialogue ever filtered: later
runs replace the lines of the dialogues they saw again and keep the others (earlier rejections).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.build.filter_judge import Judgement
from mmrole.build.filter_options import FilterSummary
from mmrole.build.filter_rules import (
    REFINABLE,
    RuleFailure,
    RuleLimits,
    check_record,
    dialogue_text,
    near_duplicates,
    read_turns,
)
from mmrole.build.generate import BuildFolder
from mmrole.build.stage import StageSummary
from mmrole.data.characters import file_stem
from mmrole.data.dialogues import dialogue_files, role_from_id
from mmrole.data.jsonio import iter_jsonl, read_json
from mmrole.data.paths import check_within
from mmrole.errors import DataError
from mmrole.files import write_json, write_jsonl
from mmrole.schema import Character

#: The filter's audit file, in the root's ``.build/`` (beside the store and the failures files).
SIDECAR = "filter.jsonl"


def load_built_characters(root: Path) -> dict[str, Character]:
    """The characters of a root being built. A character roles.json lists but without a profile yet
    (its profile stage failed, or has not run) stops nothing unless it has dialogues; any other
    problem is one DataError, as loading always is."""
    from mmrole.data.characters import load_characters
    from mmrole.data.problems import Problem

    problems: list[Problem] = []
    characters = load_characters(root, report=problems.append)
    owners = {
        path.stem.rsplit("_", 1)[0] for path, _, kind in dialogue_files(root) if path.parent.name == kind
    }
    for problem in problems:
        idle = problem.kind == "missing-profile" and file_stem(problem.record or "") not in owners
        if problem.is_error and not idle:
            raise problem.to_error()
    return characters


@dataclass
class Item:
    """One dialogue record being filtered."""

    file: Path
    key: str  # the record's id, or FILE#INDEX when it has none
    raw: Any
    dialogue_type: str
    kind: str | None
    role: Character | None
    failures: list[RuleFailure] = field(default_factory=list)
    judgement: Judgement | None = None
    judge_error: str | None = None
    refined: int = 0
    rewritten: dict[int, str] = field(default_factory=dict)  # turn -> its text before the first rewrite
    refine_error: str | None = None
    image_url: str | None = None

    @property
    def kept(self) -> bool:
        return not self.failures

    def refinable(self) -> bool:
        return (
            bool(self.failures) and self.refine_error is None and {f.rule for f in self.failures} <= REFINABLE
        )


def read_items(root: Path, characters: dict[str, Character]) -> list[Item]:
    """Every record of every dialogue file (a file must be a JSON array; a per-character file must name
    a character of roles.json)."""
    by_stem = {file_stem(name): character for name, character in characters.items()}
    items = []
    for path, _, dialogue_type in dialogue_files(root):
        check_within(path, root)
        per_character = path.parent.name == dialogue_type
        stem, kind = path.stem.rsplit("_", 1) if per_character and "_" in path.stem else (None, None)
        if per_character and (stem is None or stem not in by_stem):
            raise DataError(
                f"no character {str(stem or path.stem).replace('_', ' ')!r} in any roles.json", file=str(path)
            )
        records = read_json(path)
        if not isinstance(records, list):
            raise DataError("a dialogue file must be a JSON array", file=str(path))
        for index, raw in enumerate(records):
            record_id = raw.get("id") if isinstance(raw, dict) else None
            key = record_id if isinstance(record_id, str) and record_id else f"{path.name}#{index}"
            owner = stem if stem is not None else role_from_id(key)
            items.append(Item(path, key, raw, dialogue_type, kind, by_stem.get(owner or "")))
    return items


def check_item(item: Item, characters: dict[str, Character], limits: RuleLimits) -> list[RuleFailure]:
    """The rule failures of one item as it is now (near-duplicates aside)."""
    if item.role is None:
        return [RuleFailure("structure", f"id {item.key!r} names no character of roles.json")]
    return check_record(
        item.raw,
        role=item.role,
        dialogue_type=item.dialogue_type,
        kind=item.kind,
        characters=characters,
        limits=limits,
    )


def check_rules(items: list[Item], characters: dict[str, Character], limits: RuleLimits) -> None:
    """Every rule but near-duplicates over every item, and ids used twice in the root."""
    seen: dict[str, Path] = {}
    for item in items:
        item.failures = check_item(item, characters, limits)
        if item.key in seen:
            item.failures.append(RuleFailure("structure", f"id already used in {seen[item.key].name}"))
        seen.setdefault(item.key, item.file)


def mark_duplicates(items: list[Item], threshold: float) -> None:
    """Near-duplicates within each character, among the dialogues that passed every rule so far."""
    by_role: dict[str, list[Item]] = {}
    for item in items:
        if item.kept and item.role is not None:
            by_role.setdefault(item.role.name, []).append(item)
    for group in by_role.values():
        texts = [(item.key, dialogue_text(read_turns(item.raw)[0] or [])) for item in group]
        repeats = near_duplicates(texts, threshold)
        for item in group:
            if item.key in repeats:
                other, similarity = repeats[item.key]
                item.failures.append(RuleFailure("near-duplicate", f"{similarity:.0%} like {other}"))


def item_record(item: Item, root: Path) -> dict[str, Any]:
    return {
        "id": item.key,
        "file": item.file.relative_to(root).as_posix(),
        "type": item.dialogue_type,
        "role": item.role.name if item.role else None,
        "kept": item.kept,
        "failures": [failure.to_dict() for failure in item.failures],
        "judge": item.judgement.to_dict() if item.judgement else None,
        "judge_error": item.judge_error,
        "refined": item.refined,
        "rewritten": {str(index): text for index, text in sorted(item.rewritten.items())},
    }


def sidecar_path(root: str | Path) -> Path:
    """The filter's audit file of a root."""
    return BuildFolder(root).path / SIDECAR


def read_sidecar(root: str | Path) -> list[dict[str, Any]]:
    """The filter's decisions recorded for a root (empty before the first run)."""
    path = sidecar_path(root)
    return [record for _, record in iter_jsonl(path)] if path.is_file() else []


def rejected_ids(root: str | Path) -> set[str]:
    """The dialogues the filter removed from a root (the generating stage does not write them again)."""
    return {str(record["id"]) for record in read_sidecar(root) if record.get("kept") is False}


def write_results(items: list[Item], root: Path) -> list[str]:
    """The sidecar (merged with earlier runs' decisions), then every dialogue file that changed."""
    records = [item_record(item, root) for item in items]
    current = {record["id"] for record in records}
    earlier = [record for record in read_sidecar(root) if record.get("id") not in current]
    write_jsonl(sidecar_path(root), earlier + records)
    written = []
    by_file: dict[Path, list[Item]] = {}
    for item in items:
        by_file.setdefault(item.file, []).append(item)
    for path, group in by_file.items():
        if all(item.kept and not item.refined for item in group):
            continue  # nothing removed or rewritten: the file stays as it is
        write_json(path, [item.raw for item in group if item.kept])
        written.append(str(path))
    return written


def summarize(items: Iterable[Item], calls: int, outputs: list[str]) -> FilterSummary:
    summary = FilterSummary("filter", calls=calls, outputs=outputs)
    for item in items:
        part = summary.by_type.setdefault(item.dialogue_type, StageSummary(f"filter {item.dialogue_type}"))
        for target in (summary, part):
            if item.kept:
                target.kept += 1
            else:
                target.failed += 1
                target.reasons.update({failure.rule for failure in item.failures})
    return summary
