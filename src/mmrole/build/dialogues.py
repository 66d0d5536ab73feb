"""`mmrole build dialogues --type comment|human-role|inter-role`: image-centred dialogues, written by
a vision-language model, one call per dialogue, as MMRole-Data's were.

The assignments (:mod:`mmrole.build.dialogue_plan`) pair each character with generic images and
with its series' stills. The generator sees the image and a request (:mod:`mmrole.prompts.build_dialogues`)
holding the character's profile (and the partner's, in inter-role dialogues), the still's
annotation, the number of turns and the reply's JSON shape, in the character's language. Replies
are checked (:mod:`mmrole.build.dialogue_parse`), asked again with a format reminder, then failed
(``.build/failures/dialogues-<type>.jsonl``); the dialogues kept go to
``dialogues/<split>/<type>/<Name>_<COCO|script>.json`` with MMRole's ids, which ``mmrole data
samples`` turns into training samples unchanged. A dialogue already in its file is kept as it is
(never asked for again) unless ``overwrite``; so is one ``mmrole build filter`` removed (its audit
file says so), which is never written back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.build.dialogue_parse import Turns, dialogue_record, parse_comment, parse_dialogue
from mmrole.build.dialogue_plan import Assignment, PlanSettings, plan_assignments
from mmrole.build.filter_items import rejected_ids
from mmrole.build.generate import (
    BuildFolder,
    GeneratorOptions,
    Task,
    open_generator,
    run_sync,
    run_tasks,
    tally,
)
from mmrole.build.root import check_splits, image_folder, image_part
from mmrole.build.stage import StageSummary
from mmrole.build.stepwise import plain_reply, run_turns, speaker_label, step_messages
from mmrole.data.characters import load_characters
from mmrole.data.dialogues import load_annotations
from mmrole.data.jsonio import read_json
from mmrole.data.paths import check_within
from mmrole.data.problems import Problem
from mmrole.errors import ConfigError, DataError
from mmrole.files import write_json
from mmrole.models.base import Message
from mmrole.prompts.build_common import LANGUAGES
from mmrole.prompts.build_dialogues import (
    DIALOGUE_SYSTEM,
    HUMAN,
    ImageNotes,
    Speaker,
    comment_request,
    human_role_request,
    inter_role_request,
)
from mmrole.prompts.build_steps import turn_request
from mmrole.schema import DIALOGUE_TYPES, Character

__all__ = [
    "DialogueOptions",
    "build_dialogues",
    "build_dialogues_async",
    "dialogue_task",
    "turn_plan",
    "turn_task",
]


@dataclass
class DialogueOptions(GeneratorOptions):
    """Options of `mmrole build dialogues` (the generator's, plus what to write)."""

    type: str = field(
        default="human-role",
        metadata={"help": "The dialogue type: comment, human-role or inter-role.", "required": True},
    )
    characters: list[str] = field(
        default_factory=list, metadata={"help": "Only this character (repeatable); default: every character."}
    )
    languages: list[str] = field(
        default_factory=list,
        metadata={"help": "Only characters of this language: English or Chinese (repeatable)."},
    )
    splits: list[str] = field(
        default_factory=list, metadata={"help": "Only characters of this split (repeatable; default both)."}
    )
    coco_count: int = field(
        default=50, metadata={"help": "Dialogues per character about generic (COCO) images."}
    )
    script_count: int = field(
        default=30, metadata={"help": "Dialogues per character about its series' stills."}
    )
    generic_images: str = field(
        default="COCO",
        metadata={"help": "The folder of generic images, under the image folder (searched recursively)."},
    )
    min_turns: int = field(
        default=8, metadata={"help": "Fewest turns of a human-role or inter-role dialogue."}
    )
    max_turns: int = field(
        default=16, metadata={"help": "Most turns of a human-role or inter-role dialogue."}
    )
    images: Path | None = field(
        default=None, metadata={"help": "The image folder (default: the root's images/)."}
    )
    max_tokens: int = field(default=4096, metadata={"help": "Longest reply, in tokens."})

    def check(self) -> None:
        super().check()
        if self.type not in DIALOGUE_TYPES:
            raise ConfigError(f"--type {self.type!r}: choose from {', '.join(DIALOGUE_TYPES)}")
        if self.coco_count < 0 or self.script_count < 0:
            raise ConfigError("--coco-count and --script-count must be 0 or more")
        if not 2 <= self.min_turns <= self.max_turns:
            raise ConfigError(
                f"turns: need 2 <= --min-turns <= --max-turns (got {self.min_turns}, {self.max_turns})"
            )
        if self.type == "human-role" and self.max_turns < 2 * ((self.min_turns + 1) // 2):
            raise ConfigError(
                "human-role dialogues have an even number of turns: widen --min-turns/--max-turns"
            )
        unknown = [language for language in self.languages if language not in LANGUAGES]
        if unknown:
            raise ConfigError(f"--languages: unknown {unknown}; choose from {', '.join(LANGUAGES)}")

    @property
    def stage(self) -> str:
        return f"dialogues-{self.type}"


def _speaker(character: Character) -> Speaker:
    return Speaker(character.name, character.series, character.summary)


def dialogue_task(assignment: Assignment, part: dict[str, Any], options: DialogueOptions) -> Task[Turns]:
    """The generator request of one assignment (``part``: its image's ``image_url`` part, from
    :func:`mmrole.build.root.image_part`) and the parser of its reply."""
    role, language = assignment.role, assignment.role.language
    notes = assignment.annotation
    image_notes = ImageNotes(notes.role_info, notes.place_info, notes.scene_info) if notes else None
    low, high = options.min_turns, options.max_turns
    if assignment.type == "comment":
        question = assignment.question or ""
        text = comment_request(_speaker(role), question, image_notes, language)

        def parse(reply: str) -> Turns:
            return parse_comment(reply, role.name, question, language)

    elif assignment.type == "human-role":
        text = human_role_request(_speaker(role), assignment.turns, image_notes, language)

        def parse(reply: str) -> Turns:
            return parse_dialogue(
                reply, (HUMAN, role.name), language, last=role.name, min_turns=low, max_turns=high
            )

    else:
        assert assignment.partner is not None
        partner = assignment.partner
        text = inter_role_request(_speaker(role), _speaker(partner), assignment.turns, image_notes, language)

        def parse(reply: str) -> Turns:
            return parse_dialogue(reply, (partner.name, role.name), language, min_turns=low, max_turns=high)

    messages: list[Message] = [
        {"role": "system", "content": DIALOGUE_SYSTEM[language]},
        {"role": "user", "content": [part, {"type": "text", "text": text}]},
    ]
    return Task(assignment.id, messages, parse, language)


def turn_plan(assignment: Assignment) -> tuple[Turns, list[str]]:
    """Stepwise generation: a dialogue's given turns (a comment's question) and the speakers of the
    turns the generator writes, one call each (the pipeline fixes who speaks: they alternate)."""
    role = assignment.role.name
    if assignment.type == "comment":
        return [(HUMAN, assignment.question or "")], [role]
    first = HUMAN if assignment.type == "human-role" else (assignment.partner or assignment.role).name
    return [], [(first, role)[number % 2] for number in range(assignment.turns)]


def turn_task(
    assignment: Assignment, part: dict[str, Any], number: int, speaker: str, history: Turns
) -> Task[str]:
    """Stepwise generation: the request for turn ``number`` (spoken by ``speaker``) after ``history``."""
    language = assignment.role.language
    notes = assignment.annotation
    image_notes = ImageNotes(notes.role_info, notes.place_info, notes.scene_info) if notes else None
    speakers = [_speaker(c) for c in (assignment.partner, assignment.role) if c is not None]
    text = turn_request(speakers, image_notes, history, speaker, language)
    names = {HUMAN, assignment.role.name, *(c.name for c in [assignment.partner] if c is not None)}
    labels = [speaker_label(name, language) for name in sorted(names)]
    echo = speaker_label(speaker, language)

    def parse(reply: str) -> str:
        return plain_reply(reply, language, what="turn", echo=echo, others=labels)

    return Task(
        f"{assignment.id}#turn{number}", step_messages(text, language, part), parse, language, plain=True
    )


def _characters(root: Path, options: DialogueOptions) -> tuple[list[Character], dict[str, Character]]:
    """The characters to write for, and every character; problems of a chosen one stop the stage."""
    problems: list[Problem] = []
    everyone = load_characters(root, report=problems.append)
    for name in options.characters:
        if name not in everyone:
            raise DataError(
                f"character {name!r} is not in any roles.json",
                file=str(root / "profiles"),
                field="characters",
            )
    splits = check_splits(options.splits)
    chosen = [
        c
        for c in everyone.values()
        if (not options.characters or c.name in options.characters)
        and (not options.languages or c.language in options.languages)
        and c.split in splits
    ]
    names = {c.name for c in chosen}
    for problem in problems:
        if problem.is_error and (problem.record is None or problem.record in names):
            raise problem.to_error()
    return chosen, everyone


def _existing(path: Path, root: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    check_within(path, root)
    records = read_json(path)
    if not isinstance(records, list) or not all(
        isinstance(r, dict) and isinstance(r.get("id"), str) for r in records
    ):
        raise DataError("a dialogue file must be a list of records with ids", file=str(path))
    return records


def _order(record: dict[str, Any]) -> tuple[int, str]:
    tail = record["id"].rsplit("_", 1)[-1]
    return (int(tail) if tail.isdigit() else -1, record["id"])


async def build_dialogues_async(options: DialogueOptions) -> StageSummary:
    """:func:`build_dialogues` in a running event loop."""
    options.check()
    root = Path(options.root)
    build = BuildFolder(root)
    summary = StageSummary(options.stage)
    with build.lock():
        chosen, everyone = _characters(root, options)
        folder = image_folder(root, options.images)
        annotations = load_annotations(root)
        settings = PlanSettings(
            options.type,
            options.coco_count,
            options.script_count,
            options.generic_images,
            options.min_turns,
            options.max_turns,
            options.seed,
        )
        planned = plan_assignments(root, chosen, everyone, annotations, folder, settings)
        existing = {path: _existing(path, root) for path in dict.fromkeys(a.path for a in planned)}
        built = {record["id"] for records in existing.values() for record in records}
        built |= rejected_ids(root)  # removed by `build filter`: never written back (unless overwrite)
        todo = [a for a in planned if options.overwrite or a.id not in built]
        summary.skipped = len(planned) - len(todo)
        todo = todo[: options.limit] if options.limit else todo
        # Every image is checked (inside the folder, a decodable file) before the first call, once.
        parts: dict[str, dict[str, Any]] = {}
        for a in todo:
            if a.image not in parts:
                parts[a.image] = image_part(folder, a.image, file=str(a.path), record=a.id)
        kwargs: Any = {"folder": build, "stage": options.stage, "options": options, "summary": summary}
        async with open_generator(options.generator) as backend:
            if options.stepwise:
                by_id = {a.id: a for a in todo}
                outcomes = await run_turns(
                    backend,
                    {a.id: turn_plan(a) for a in todo},
                    lambda key, n, who, so_far: turn_task(
                        by_id[key], parts[by_id[key].image], n, who, so_far
                    ),
                    **kwargs,
                )
            else:
                tasks = [dialogue_task(a, parts[a.image], options) for a in todo]
                outcomes = await run_tasks(backend, tasks, **kwargs)
        new: dict[Path, dict[str, dict[str, Any]]] = defaultdict(dict)
        for assignment in todo:
            outcome = outcomes[assignment.id]
            if outcome.value is not None:
                record = dialogue_record(
                    assignment.id,
                    assignment.image,
                    outcome.value,
                    assignment.annotation,
                    comment=assignment.type == "comment",
                )
                new[assignment.path][assignment.id] = record
        for path, records in new.items():
            kept = [r for r in existing[path] if r["id"] not in records]
            write_json(path, sorted([*kept, *records.values()], key=_order))
            summary.outputs.append(str(path))
        summary.kept = sum(len(records) for records in new.values())
        build.record_failures(options.stage, outcomes, tally(summary, outcomes.values()))
    return summary


def build_dialogues(options: DialogueOptions) -> StageSummary:
    """Write the dialogues of one type for the chosen characters.

    Raises:
        ConfigError: Bad options (type, counts, turns).
        DataError: Bad input (a character not in roles.json or without a profile, an image outside the
            image folder or not an image, a dialogue file that is not MMRole's format); nothing is
            called or written then.
        EndpointUnavailable: The generator cannot be reached (finished calls are in the store).
    """
    return run_sync(build_dialogues_async(options))
