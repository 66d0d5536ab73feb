"""Which dialogues `mmrole build dialogues` writes: one assignment per (character, image).

Each character gets ``coco_count`` generic images (drawn from ``<images>/COCO/``, MMRole's COCO
train2017 images, or any folder ``generic_images`` names) and ``script_count`` of its series' own
stills (``<images>/<Series>/``), drawn without replacement. Every draw (images, the number of turns,
the comment question, the inter-role partner: another character of the same series) comes from a
generator seeded by ``seed``, the type, the character and the image kind, so a rerun plans exactly
the same assignments, and a character added later changes no other character's plan.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

from mmrole.build.root import list_images, stills_folder
from mmrole.data.characters import file_stem
from mmrole.data.dialogues import ID_MARKERS
from mmrole.errors import DataError
from mmrole.prompts.build_dialogues import COMMENT_QUESTIONS
from mmrole.schema import Character, ImageAnnotation

logger = logging.getLogger("mmrole.build")

#: The image kinds of MMRole-Data's dialogue files (``<Name>_COCO.json``, ``<Name>_script.json``).
KINDS = ("COCO", "script")


@dataclass(frozen=True)
class Assignment:
    """One dialogue to write.

    Attributes:
        id: MMRole's id (``Iron_Man_human-role-dialogue_COCO_3``).
        type: comment, human-role or inter-role.
        kind: ``COCO`` (a generic image) or ``script`` (a still of the character's series).
        role: The character the dialogue belongs to.
        partner: The other character (inter-role), else None.
        image: The image path, relative to the image folder.
        annotation: The still's annotation, when it has one.
        turns: The number of turns asked for (2 for a comment).
        question: The comment question (comment dialogues), else None.
        path: The dialogue file it goes to.
    """

    id: str
    type: str
    kind: str
    role: Character
    partner: Character | None
    image: str
    annotation: ImageAnnotation | None
    turns: int
    question: str | None
    path: Path


@dataclass(frozen=True)
class PlanSettings:
    """What the plan draws from (the stage's options, already checked)."""

    type: str
    coco_count: int
    script_count: int
    generic_images: str
    min_turns: int
    max_turns: int
    seed: int


def dialogue_file(root: Path, character: Character, dialogue_type: str, kind: str) -> Path:
    """``dialogues/<split>/<type>/<Name>_<COCO|script>.json``."""
    return root / "dialogues" / character.split / dialogue_type / f"{file_stem(character.name)}_{kind}.json"


def _turns(rng: random.Random, settings: PlanSettings) -> int:
    if settings.type == "comment":
        return 2
    turns = rng.randint(settings.min_turns, settings.max_turns)
    if settings.type == "human-role" and turns % 2:  # the human opens and the character ends
        turns = turns + 1 if turns + 1 <= settings.max_turns else turns - 1
    return turns


def plan_assignments(
    root: Path,
    chosen: list[Character],
    everyone: dict[str, Character],
    annotations: dict[str, ImageAnnotation],
    image_folder: Path,
    settings: PlanSettings,
) -> list[Assignment]:
    """Every assignment of the chosen characters, character by character, COCO before script.

    Args:
        root: The data root (where the dialogue files go).
        chosen: The characters to write dialogues for.
        everyone: Every character of the root (inter-role partners are drawn from it).
        annotations: ``images/annotations.json`` by image path.
        image_folder: The folder image paths are relative to.
        settings: Counts, turns, the seed.

    Raises:
        DataError: Generic images are asked for and the generic folder holds none.
    """
    generic: list[str] = []
    if settings.coco_count:
        generic = list_images(image_folder, settings.generic_images, recursive=True)
        if not generic:
            raise DataError(
                f"no images for the COCO dialogues: put COCO train2017 in {image_folder / settings.generic_images}"
                " (or name another folder with --generic-images, or give --coco-count 0)",
                file=str(image_folder / settings.generic_images),
                field="generic_images",
            )
    stills: dict[str, list[str]] = {}
    marker = ID_MARKERS[settings.type]
    assignments: list[Assignment] = []
    for character in chosen:
        partners = [
            other.name
            for other in everyone.values()
            if other.series == character.series and other.name != character.name and other.summary.strip()
        ]
        if settings.type == "inter-role" and not partners:
            logger.warning(
                "no inter-role dialogues for %s: no other character of %s", character.name, character.series
            )
            continue
        for kind in KINDS:
            if kind == "COCO":
                pool, count = generic, settings.coco_count
            else:
                if character.series not in stills:
                    stills[character.series] = list_images(image_folder, stills_folder(character.series))
                    if settings.script_count and not stills[character.series]:
                        logger.warning("no stills of %s in %s", character.series, image_folder)
                pool, count = stills[character.series], settings.script_count
            rng = random.Random(f"{settings.seed}|{settings.type}|{character.name}|{kind}")
            images = rng.sample(pool, min(count, len(pool)))
            questions = COMMENT_QUESTIONS[character.language]
            for index, image in enumerate(images):
                assignments.append(
                    Assignment(
                        id=f"{file_stem(character.name)}_{marker}_{kind}_{index}",
                        type=settings.type,
                        kind=kind,
                        role=character,
                        partner=everyone[rng.choice(partners)] if settings.type == "inter-role" else None,
                        image=image,
                        annotation=annotations.get(image) if kind == "script" else None,
                        turns=_turns(rng, settings),
                        question=rng.choice(questions) if settings.type == "comment" else None,
                        path=dialogue_file(root, character, settings.type, kind),
                    )
                )
    return assignments
