"""What training must not see: a data root's test samples, the rest of their dialogues, and its
out-of-distribution characters.

MMRole's test samples (``data/test/<split>/<type>_test.json``) are character turns of dialogues
that are also in ``dialogues/``: samples built from a whole data root contain them byte for byte,
and the other turns of a test dialogue carry the test answer (or the test question) in their
history. Out-of-distribution characters are held out of training so that the Out-Test measures
generalisation. Every training input (``mmrole train sft`` / ``train judge``, ``mmrole feedback``,
``mmrole align``) reads its samples or records through a :class:`TrainingSource`, which by default
leaves out:

* samples whose id is in the root's ``data/test/`` (or in the test sets named by ``test_data``);
* every other turn of a dialogue that has a test sample (sample ids are ``<dialogue id>_<turn>``);
* samples of out-of-distribution characters (``profiles/out-of-distribution``, or a sample's
  ``split``).

It counts what it left out and why, and says so; ``include_test`` / ``include_ood`` keep them
(with a warning).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.data.characters import file_stem
from mmrole.data.dialogues import role_from_id
from mmrole.data.jsonio import read_json
from mmrole.data.sources import DEMO, demo_root, is_data_root, load_samples, resolve_source
from mmrole.errors import DataError
from mmrole.schema import Sample

logger = logging.getLogger(__name__)

OOD = "out-of-distribution"
#: Why an item is held out of training, as the messages name it.
REASONS: dict[str, str] = {
    "test": "test samples",
    "test-dialogue": "other turns of test dialogues",
    "ood": "samples of out-of-distribution characters",
}
#: The demo set's training file, what ``demo`` means as a training source.
DEMO_TRAIN_FILE = Path("data") / "train" / "train_demo.json"


def demo_train_file() -> Path:
    """The bundled demo set's training split (``demo`` as a training source)."""
    return demo_root() / DEMO_TRAIN_FILE


def training_path(source: str | Path) -> Path:
    """The path a training source names (``demo``: the demo set's training file).

    Raises:
        DataError: The path does not exist.
    """
    if isinstance(source, str) and source == DEMO:
        return demo_train_file()
    return resolve_source(source)


def dialogue_id(sample_id: str) -> str:
    """The dialogue a sample id belongs to (``Iron_Man_comment_COCO_30_1`` -> ``Iron_Man_comment_COCO_30``)."""
    head, sep, tail = sample_id.rpartition("_")
    return head if sep and tail.isdigit() else sample_id


def data_root_of(path: Path) -> Path | None:
    """The MMRole-Data root a path is (or lies inside), or None."""
    start = path if path.is_dir() else path.parent
    for folder in (start, *start.parents):
        if is_data_root(folder) or ((folder / "data").is_dir() and (folder / "images").is_dir()):
            return folder
    return None


def default_test_set(source: str | Path) -> str | None:
    """The test set that goes with a training source: ``demo``'s, or its data root's ``data/test``."""
    if isinstance(source, str) and source == DEMO:
        return DEMO
    try:
        root = data_root_of(training_path(source))
    except DataError:
        return None
    test = root / "data" / "test" if root is not None else None
    return str(test) if test is not None and test.is_dir() else None


def is_test_set(path: Path) -> bool:
    """True for a path inside a ``data/test`` folder or a released ``in-test`` / ``out-test`` folder."""
    parts = path.resolve().parts
    return any(part in ("in-test", "out-test") for part in parts) or any(
        a == "data" and b == "test" for a, b in zip(parts, parts[1:], strict=False)
    )


def _ood_stems(root: Path) -> frozenset[str]:
    roles_file = root / "profiles" / OOD / "roles.json"
    if not roles_file.is_file():
        return frozenset()
    roles = read_json(roles_file)
    if not isinstance(roles, dict):
        raise DataError("roles.json must map each series to a list of names", file=str(roles_file))
    return frozenset(file_stem(name) for names in roles.values() if isinstance(names, list) for name in names)


@dataclass(frozen=True)
class Holdout:
    """The ids, dialogues and characters a training source must leave out.

    Attributes:
        root: The data root of the source, if any.
        test_sets: Where the test ids came from.
        test_ids: Ids of test samples.
        test_dialogues: Dialogues with a test sample.
        ood_stems: Out-of-distribution characters (file-name form, ``Iron_Man``).
    """

    root: Path | None = None
    test_sets: tuple[str, ...] = ()
    test_ids: frozenset[str] = frozenset()
    test_dialogues: frozenset[str] = frozenset()
    ood_stems: frozenset[str] = frozenset()

    @classmethod
    def of(cls, source: str | Path, test_data: Iterable[str] = ()) -> Holdout:
        """The holdout of a training source: its root's ``data/test`` and OOD characters, plus ``test_data``.

        A source that is itself a test set (inside ``data/test``, ``in-test`` or ``out-test``) is
        held out whole.

        Raises:
            DataError: The source or a test set does not exist or is malformed.
        """
        path = training_path(source)
        root = data_root_of(path)
        test_sets = [str(root / "data" / "test")] if root and (root / "data" / "test").is_dir() else []
        if is_test_set(path) and not any(path.resolve().is_relative_to(Path(t).resolve()) for t in test_sets):
            test_sets.append(str(source))
        test_sets += [str(t) for t in test_data if str(t) not in test_sets]
        ids = frozenset(sample.id for test_set in test_sets for sample in load_samples(test_set))
        return cls(
            root=root,
            test_sets=tuple(test_sets),
            test_ids=ids,
            test_dialogues=frozenset(dialogue_id(i) for i in ids),
            ood_stems=_ood_stems(root) if root else frozenset(),
        )

    def inputs(self) -> list[Path]:
        """The files and folders this holdout was read from (its test sets and OOD list): what a
        cache of training data prepared with it must be keyed on."""
        found = [demo_root() / "data" / "test" if t == DEMO else Path(t) for t in self.test_sets]
        if self.root is not None and (self.root / "profiles" / OOD / "roles.json").is_file():
            found.append(self.root / "profiles" / OOD / "roles.json")
        return found

    def reason(
        self, record_id: str | None, *, roles: Iterable[str | None] = (), split: str | None = None
    ) -> str | None:
        """Why an item is held out (a key of :data:`REASONS`), or None when training may use it."""
        if record_id:
            if record_id in self.test_ids:
                return "test"
            if record_id in self.test_dialogues or dialogue_id(record_id) in self.test_dialogues:
                return "test-dialogue"
        if split == OOD:
            return "ood"
        stems = {file_stem(role) for role in roles if role}
        if record_id and (owner := role_from_id(record_id)):
            stems.add(owner)
        return "ood" if stems & self.ood_stems else None


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{counter[key]:,} {REASONS[key]}" for key in REASONS if counter[key])


@dataclass
class TrainingSource:
    """One training source read with its :class:`Holdout` applied, counting what it left out.

    Args:
        source: The source (a data root, samples JSONL, Qwen-VL file or folder, run data, ``demo``).
        include_test: Keep test samples and the other turns of their dialogues (warned about).
        include_ood: Keep out-of-distribution characters' samples (warned about).
        test_data: More test sets to hold out besides the root's ``data/test``.

    Raises:
        DataError: The source or a test set does not exist or is malformed.
    """

    source: str
    include_test: bool = False
    include_ood: bool = False
    test_data: tuple[str, ...] = ()
    holdout: Holdout = field(init=False)
    excluded: Counter[str] = field(init=False, default_factory=Counter)
    included: Counter[str] = field(init=False, default_factory=Counter)

    def __post_init__(self) -> None:
        self.source = str(self.source)
        self.test_data = tuple(self.test_data)
        self.holdout = Holdout.of(self.source, self.test_data)

    def keep(
        self, record_id: str | None, *, roles: Iterable[str | None] = (), split: str | None = None
    ) -> bool:
        """Whether training may use an item; counts it when held out."""
        reason = self.holdout.reason(record_id, roles=roles, split=split)
        if reason is None:
            return True
        allowed = self.include_ood if reason == "ood" else self.include_test
        (self.included if allowed else self.excluded)[reason] += 1
        return allowed

    def keep_sample(self, sample: Sample) -> bool:
        """:meth:`keep` for a sample (its id, characters and split)."""
        return self.keep(sample.id, roles=(sample.role, sample.other_role), split=sample.split)

    def keep_record(self, record: dict[str, Any], *, split: str | None = None) -> bool:
        """:meth:`keep` for a Qwen-VL-format record (its id and ``role`` / ``other_role`` fields)."""
        record_id = record.get("id")
        roles = [record.get(key) for key in ("role", "other_role") if isinstance(record.get(key), str)]
        return self.keep(str(record_id) if record_id is not None else None, roles=roles, split=split)

    def samples(self) -> Iterator[Sample]:
        """The source's samples that training may use."""
        for sample in load_samples(training_path(self.source)):
            if self.keep_sample(sample):
                yield sample

    def summary(self) -> str:
        """What was left out and why (empty when nothing was)."""
        if not self.excluded:
            return ""
        test_kinds = self.excluded.keys() - {"ood"}
        flags = [
            flag
            for flag, wanted in (("--include-test", test_kinds), ("--include-ood", self.excluded["ood"]))
            if wanted
        ]
        where = f" (test set: {', '.join(self.holdout.test_sets)})" if test_kinds else ""
        return f"left out of training: {_counts(self.excluded)}{where}; {' / '.join(flags)} to keep them"

    def warnings(self) -> list[str]:
        """What the user should know: held-out items kept on request, a test set that cannot be found."""
        found = []
        test_kept = Counter({k: v for k, v in self.included.items() if k != "ood"})
        if test_kept:
            found.append(
                f"--include-test: {_counts(test_kept)} are in the training data; scores on "
                f"{', '.join(self.holdout.test_sets)} are contaminated"
            )
        if self.included["ood"]:
            found.append(
                f"--include-ood: {_counts(Counter(ood=self.included['ood']))} are in the training data; "
                "Out-Test scores no longer measure generalisation to unseen characters"
            )
        if self.holdout.root is not None and not self.holdout.test_sets:
            found.append(
                f"{self.holdout.root} has no data/test/: its test samples cannot be recognised and are not "
                "left out; name the test set with --test-data"
            )
        return found

    def report(self) -> None:
        """Say what was left out (and warn about what was kept), on the ``mmrole.data.holdout`` logger."""
        if summary := self.summary():
            logger.warning("%s: %s", self.source, summary)
        for warning in self.warnings():
            logger.warning("%s: warning: %s", self.source, warning)


@dataclass(frozen=True)
class HoldoutOptions:
    """What a training command holds out: ``--include-test``, ``--include-ood``, ``--test-data``."""

    include_test: bool = False
    include_ood: bool = False
    test_data: tuple[str, ...] = ()

    def guard(self, source: str | Path) -> TrainingSource:
        """A :class:`TrainingSource` for ``source`` with these options."""
        return TrainingSource(str(source), self.include_test, self.include_ood, self.test_data)


def training_samples(
    source: str | Path,
    *,
    include_test: bool = False,
    include_ood: bool = False,
    test_data: Iterable[str] = (),
) -> tuple[list[Sample], TrainingSource]:
    """Every sample of ``source`` training may use, and the :class:`TrainingSource` that counted the rest.

    Raises:
        DataError: The source or a test set does not exist or is malformed.
    """
    guard = TrainingSource(str(source), include_test, include_ood, tuple(test_data))
    return list(guard.samples()), guard
