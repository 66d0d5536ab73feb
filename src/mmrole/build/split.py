"""``mmrole build split``: hold out the test dialogues and write MMRole's formatted test and training files.

As MMRole-Data does it:

* **In-Test**: for each seen (in-distribution) character and dialogue type, ``in_test_per_type``
  dialogues are held out, and one of the character's turns in each (``test_turns="all"``: every
  one) becomes a test sample: ``data/test/in-distribution/<type>_test.json``;
* **Out-Test**: the characters of ``profiles/out-of-distribution`` are held out entirely:
  ``out_test_per_type`` of their dialogues per type give ``data/test/out-of-distribution/<type>_test.json``
  and none of their dialogues reaches training;
* **training**: every turn of every other dialogue, ``data/train/<type>_train.json``, leaving out
  the test dialogues whole (their other turns carry the test answer in their history) and any
  dialogue a held-out character speaks in.

The samples are built by :func:`mmrole.data.samples.samples_of_dialogue`, the builder evaluation
uses, and written in Qwen-VL's conversation format (:func:`mmrole.data.qwen.sample_to_qwen`), so a
test file's prompts are byte-identical to what ``mmrole answer`` sends for the same turns, and the
contamination guard (:mod:`mmrole.data.holdout`) finds nothing of the test sets in training files.
The choice is seeded per character and type: the same data and seed give the same split.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mmrole.build.filter_items import load_built_characters
from mmrole.build.generate import BuildFolder
from mmrole.build.stage import StageSummary
from mmrole.data.dialogues import load_dialogues
from mmrole.data.qwen import sample_to_qwen
from mmrole.data.samples import samples_of_dialogue
from mmrole.errors import ConfigError, DataError
from mmrole.files import write_text
from mmrole.schema import DIALOGUE_TYPES, SPLITS, Character, Dialogue, Sample

OOD = "out-of-distribution"
#: Why a dialogue is not in training, as the summary counts it.
LEFT_OUT = {
    "test": "test dialogues",
    "held-out": "dialogues of held-out characters",
    "no-turn": "dialogues without a turn to answer",
}


@dataclass(frozen=True)
class SplitOptions:
    """Options of ``mmrole build split`` (each field is a ``--flag``)."""

    root: Path = field(
        metadata={"help": "The MMRole-Data root to split.", "required": True, "argument": True}
    )
    in_test_per_type: int = field(
        default=1, metadata={"help": "In-Test dialogues held out per seen character and dialogue type."}
    )
    out_test_per_type: int = field(
        default=2, metadata={"help": "Out-Test dialogues per held-out character and dialogue type."}
    )
    test_turns: Literal["one", "all"] = field(
        default="one",
        metadata={"help": "Test samples per test dialogue: one (a random turn, as MMRole) or all."},
    )
    seed: int = field(default=0, metadata={"help": "Seed of the choice of test dialogues and turns."})
    overwrite: bool = field(
        default=False, metadata={"help": "Replace test and training files that hold something else."}
    )

    def check(self) -> None:
        """Refuse impossible settings before any work."""
        if self.test_turns not in ("one", "all"):
            raise ConfigError(f"--test-turns {self.test_turns}: choose one or all")
        if self.in_test_per_type < 0 or self.out_test_per_type < 0:
            raise ConfigError("--in-test-per-type and --out-test-per-type must be 0 or more")


@dataclass
class SplitSummary(StageSummary):
    """A :class:`StageSummary` of the split: samples per file, and what training left out (dialogues)."""

    tests: dict[str, dict[str, int]] = field(default_factory=dict)
    train: dict[str, int] = field(default_factory=dict)
    left_out: Counter[str] = field(default_factory=Counter)


def _order(dialogue: Dialogue) -> tuple[str, int, str]:
    """Ids in their natural order (``..._COCO_2`` before ``..._COCO_10``)."""
    head, _, tail = dialogue.id.rpartition("_")
    return (head, int(tail), "") if tail.isdigit() else (dialogue.id, -1, dialogue.id)


def _answerable(dialogue: Dialogue) -> bool:
    return any(turn.speaker == dialogue.role for turn in dialogue.turns)


def _involves_ood(dialogue: Dialogue, characters: dict[str, Character]) -> bool:
    speakers = {dialogue.role, dialogue.other_role} & characters.keys()
    return any(characters[name].split == OOD for name in speakers)


@dataclass
class _Plan:
    tests: dict[tuple[str, str], list[Sample]] = field(default_factory=dict)
    train: dict[str, list[Sample]] = field(default_factory=dict)
    left_out: Counter[str] = field(default_factory=Counter)


def plan_split(dialogues: list[Dialogue], characters: dict[str, Character], options: SplitOptions) -> _Plan:
    """Which samples go to which test file and which to training (pure: no I/O)."""
    plan = _Plan()
    groups: dict[tuple[str, str], list[Dialogue]] = {}
    for dialogue in dialogues:
        groups.setdefault((dialogue.role, dialogue.type), []).append(dialogue)
    test_ids: set[str] = set()
    for (role, dialogue_type), group in sorted(groups.items()):
        character = characters[role]
        wanted = options.out_test_per_type if character.split == OOD else options.in_test_per_type
        # In-Test is of seen characters: a dialogue with a held-out partner belongs to neither split
        eligible = sorted(
            (
                d
                for d in group
                if _answerable(d) and (character.split == OOD or not _involves_ood(d, characters))
            ),
            key=_order,
        )
        rng = random.Random(f"{options.seed}|{role}|{dialogue_type}")
        for dialogue in sorted(rng.sample(eligible, min(wanted, len(eligible))), key=_order):
            test_ids.add(dialogue.id)
            own = [s for s in samples_of_dialogue(dialogue, characters) if s.role == role]
            chosen = own if options.test_turns == "all" else [rng.choice(own)]
            key = (character.split, dialogue_type)
            plan.tests.setdefault(key, []).extend(
                s.model_copy(update={"split": character.split}) for s in chosen
            )
    for dialogue in dialogues:
        if dialogue.id in test_ids:
            plan.left_out["test"] += 1
        elif _involves_ood(dialogue, characters):
            plan.left_out["held-out"] += 1
        elif not _answerable(dialogue):
            plan.left_out["no-turn"] += 1
        else:
            plan.train.setdefault(dialogue.type, []).extend(samples_of_dialogue(dialogue, characters))
    return plan


def test_set_path(root: Path, split: str, dialogue_type: str) -> Path:
    """``data/test/<split>/<type>_test.json`` of a root."""
    return root / "data" / "test" / split / f"{dialogue_type}_test.json"


def train_set_path(root: Path, dialogue_type: str) -> Path:
    """``data/train/<type>_train.json`` of a root."""
    return root / "data" / "train" / f"{dialogue_type}_train.json"


_OWN_NAME = re.compile(rf"^(?:{'|'.join(map(re.escape, DIALOGUE_TYPES))})_(?:test|train)\.json$")


def _stale_files(root: Path, keep: set[Path]) -> list[Path]:
    """Test and training files of this stage's naming that this split does not write."""
    folders = [root / "data" / "test" / split for split in SPLITS] + [root / "data" / "train"]
    return sorted(
        path
        for folder in folders
        if folder.is_dir()
        for path in folder.glob("*.json")
        if _OWN_NAME.match(path.name) and path not in keep
    )


def _encoded(records: list[dict[str, Any]]) -> str:
    import json

    return json.dumps(records, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def build_split(options: SplitOptions) -> SplitSummary:
    """Split ``options.root``'s dialogues into test and training files.

    A file that already holds exactly what this split writes is left alone (a rerun changes
    nothing); one that holds something else is replaced only with ``overwrite``.

    Raises:
        DataError: The root or one of its dialogues is malformed (run ``mmrole data validate``).
        ConfigError: A bad option, or a file holds another split and ``overwrite`` is not set.
    """
    options.check()
    root = Path(options.root)
    with BuildFolder(root).lock():
        return _split(root, options)


def _split(root: Path, options: SplitOptions) -> SplitSummary:
    characters = load_built_characters(root)
    dialogues = list(load_dialogues(root, characters=characters))
    if not dialogues:
        raise DataError("no dialogues to split", file=str(root / "dialogues"))
    plan = plan_split(dialogues, characters, options)
    files: dict[Path, str] = {}
    for (split, dialogue_type), samples in sorted(plan.tests.items()):
        files[test_set_path(root, split, dialogue_type)] = _encoded([sample_to_qwen(s) for s in samples])
    for dialogue_type, samples in sorted(plan.train.items()):
        files[train_set_path(root, dialogue_type)] = _encoded([sample_to_qwen(s) for s in samples])
    stale = _stale_files(root, set(files))
    changed = [path for path, text in files.items() if not path.is_file() or path.read_text("utf-8") != text]
    if (changed or stale) and not options.overwrite:
        clash = next((path for path in [*changed, *stale] if path.exists()), None)
        if clash is not None:
            raise ConfigError(f"{clash} holds another split; pass --overwrite to replace it")
    summary = SplitSummary("split", left_out=plan.left_out)
    for path in stale:
        path.unlink()
    for path, text in files.items():
        if path in changed:
            write_text(path, text)
        else:
            summary.skipped += 1
        summary.outputs.append(str(path))
    for (split, dialogue_type), samples in plan.tests.items():
        summary.tests.setdefault(split, {})[dialogue_type] = len(samples)
    summary.train = {dialogue_type: len(samples) for dialogue_type, samples in plan.train.items()}
    summary.kept = sum(summary.train.values()) + sum(n for t in summary.tests.values() for n in t.values())
    return summary
