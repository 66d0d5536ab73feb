"""``mmrole data stats``: what a data root or a set of samples holds."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.data.characters import load_characters
from mmrole.data.dialogues import load_dialogues
from mmrole.data.problems import Problem
from mmrole.data.sources import image_root, is_data_root, load_samples, resolve_source
from mmrole.schema import HUMAN_SPEAKER


@dataclass
class DataStats:
    """Counts over a data root (characters, dialogues, turns, images) or a set of samples.

    Counters are keyed by tuples so they print as table rows: ``characters[(series, split)]``,
    ``dialogues[(type, split)]``, ``turns[type]``, ``samples[(type, split)]``, ``languages[language]``.
    """

    path: str
    kind: str  # "data root" or "samples"
    characters: Counter[tuple[str, str]] = field(default_factory=Counter)
    dialogues: Counter[tuple[str, str]] = field(default_factory=Counter)
    turns: Counter[str] = field(default_factory=Counter)
    samples: Counter[tuple[str, str]] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    images: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        def flat(counter: Counter) -> dict[str, int]:
            return {" / ".join(k) if isinstance(k, tuple) else k: v for k, v in sorted(counter.items())}

        return {
            "path": self.path,
            "kind": self.kind,
            "characters": flat(self.characters),
            "dialogues": flat(self.dialogues),
            "turns": flat(self.turns),
            "samples": flat(self.samples),
            "languages": flat(self.languages),
            "images": flat(self.images),
            "problems": flat(self.problems),
        }


def compute_stats(source: str | Path) -> DataStats:
    """Count what a data root, test folder, samples file or ``"demo"`` holds.

    A data root's bad records are skipped and counted in ``problems`` (``mmrole data validate``
    lists them).

    Raises:
        DataError: The source is missing, or a samples source is malformed.
    """
    path = resolve_source(source)
    if path.is_dir() and is_data_root(path):
        return _root_stats(path)
    stats = DataStats(path=str(path), kind="samples")
    seen_roles: set[tuple[str, str, str]] = set()
    images: set[str] = set()
    for sample in load_samples(source):
        stats.samples[(sample.type, sample.split)] += 1
        stats.languages[sample.language] += 1
        seen_roles.add((sample.role, sample.script, sample.split))
        images.add(sample.image)
    for _, series, split in seen_roles:
        stats.characters[(series, split)] += 1
    stats.images["distinct images"] = len(images)
    return stats


def _root_stats(root: Path) -> DataStats:
    stats = DataStats(path=str(root), kind="data root")

    def count(problem: Problem) -> None:
        stats.problems[problem.kind] += 1

    characters = load_characters(root, report=count)
    for character in characters.values():
        stats.characters[(character.series, character.split)] += 1
    images_dir = image_root(root)
    referenced: dict[str, bool] = {}
    annotated: set[str] = set()
    for dialogue in load_dialogues(root, characters=characters, report=count):
        stats.dialogues[(dialogue.type, dialogue.split)] += 1
        stats.turns[dialogue.type] += len(dialogue.turns)
        answered = sum(1 for turn in dialogue.turns if turn.speaker != HUMAN_SPEAKER)
        stats.samples[(dialogue.type, dialogue.split)] += answered
        stats.languages[dialogue.language] += 1
        image = dialogue.image.path
        if image not in referenced:
            referenced[image] = images_dir is not None and (images_dir / image).is_file()
        if dialogue.image.annotation is not None:
            annotated.add(image)
    coco = [image for image in referenced if image.startswith("COCO/")]
    stats.images.update(
        {
            "referenced": len(referenced),
            "present": sum(referenced.values()),
            "COCO referenced": len(coco),
            "COCO present": sum(referenced[image] for image in coco),
            "character (script) images": len(referenced) - len(coco),
            "annotated": len(annotated),
        }
    )
    return stats
