"""Samples: one character turn for an MRPA to answer, built as MMRole builds them, and loaded
from whatever source a user points at.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from mmrole.data.characters import load_characters
from mmrole.data.dialogues import load_dialogues
from mmrole.data.jsonio import iter_jsonl
from mmrole.data.paths import UnsafePathError, check_within
from mmrole.data.problems import Reporter
from mmrole.data.qwen import load_qwen_samples
from mmrole.errors import DataError
from mmrole.prompts.mrpa import MRPA_SYSTEM, Persona, build_instruction
from mmrole.schema import DIALOGUE_TYPES, HUMAN_SPEAKER, SPLITS, Character, Dialogue, Sample

DEMO = "demo"


def _persona(character: Character) -> Persona:
    return Persona(name=character.name, series=character.series, profile=character.summary)


def samples_of_dialogue(dialogue: Dialogue, characters: dict[str, Character]) -> Iterator[Sample]:
    """Every character turn of a dialogue as a sample, with the turns before it as history.

    In inter-role dialogues both characters' turns are answered; the sample id is
    ``<dialogue id>_<index of the answered turn>``.
    """
    annotation = dialogue.image.annotation
    aux = (annotation.role_info, annotation.place_info, annotation.scene_info) if annotation else None
    history = [(turn.speaker, turn.text) for turn in dialogue.turns]
    for index, turn in enumerate(dialogue.turns):
        if turn.speaker == HUMAN_SPEAKER:
            continue
        role = characters[turn.speaker]
        partner: Character | None = None  # the curious human
        if dialogue.type == "inter-role":
            partner = characters[dialogue.other_role if turn.speaker == dialogue.role else dialogue.role]
        instruction = build_instruction(
            _persona(role), partner and _persona(partner), dialogue.language, history[:index], aux
        )
        yield Sample(
            id=f"{dialogue.id}_{index}",
            image=dialogue.image.path,
            system=MRPA_SYSTEM,
            instruction=instruction,
            reference=turn.text,
            role=role.name,
            script=role.series,
            other_role=partner.name if partner else dialogue.other_role,
            type=dialogue.type,
            split=dialogue.split,
            language=dialogue.language,
        )


def build_samples(
    data_root: str | Path,
    *,
    characters: dict[str, Character] | None = None,
    report: Reporter | None = None,
    splits: Iterable[str] = SPLITS,
    types: Iterable[str] = DIALOGUE_TYPES,
) -> Iterator[Sample]:
    """Build the samples of every dialogue of an MMRole-Data root (streamed, file by file).

    Args:
        data_root: The MMRole-Data root.
        characters: Already loaded characters.
        report: Called with each data problem (bad dialogues are skipped); without it the first
            problem raises DataError.
        splits: Only the dialogues of these splits.
        types: Only the dialogues of these types.
    """
    if characters is None:
        characters = load_characters(data_root, report=report)
    for dialogue in load_dialogues(
        data_root, characters=characters, report=report, splits=splits, types=types
    ):
        yield from samples_of_dialogue(dialogue, characters)


def is_data_root(path: Path) -> bool:
    """True for an MMRole-Data root (``profiles/`` and ``dialogues/``)."""
    return (path / "profiles").is_dir() and (path / "dialogues").is_dir()


def _data_root_above(path: Path) -> Path | None:
    for folder in (path, *path.parents):
        if (folder / "images").is_dir() and ((folder / "profiles").is_dir() or (folder / "data").is_dir()):
            return folder
    return None


def resolve_source(source: str | Path) -> Path:
    """The path of a source (``"demo"`` is the bundled demo root).

    Raises:
        DataError: The path does not exist.
    """
    if isinstance(source, str) and source == DEMO:
        from mmrole.data.demo import demo_root

        return demo_root()
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError("no such file or folder", file=str(path))
    return path


def _test_files(folder: Path) -> list[Path]:
    """The Qwen-VL test files under a test folder (``data/test`` or one split of it).

    Raises:
        DataError: A file is a link resolving outside the folder.
    """
    files = sorted(p for p in folder.rglob("*.json") if p.is_file())
    for file in files:
        check_within(file, folder)
    return files


def load_samples(source: str | Path) -> Iterator[Sample]:
    """Load the samples of a source.

    Args:
        source: A samples JSONL file; a Qwen-VL-format test file or a folder of them (e.g.
            ``data/test/in-distribution`` or a released ``in-test/<model>`` folder); an MMRole-Data
            root (samples built from all its dialogues); or ``"demo"`` (the bundled demo set's
            test split, ``data/test`` of :func:`~mmrole.data.demo_root`).

    Raises:
        DataError: The source does not exist or is malformed.
    """
    path = resolve_source(source)
    if isinstance(source, str) and source == DEMO:
        path = path / "data" / "test"
    if path.is_file():
        if path.suffix == ".jsonl":
            yield from read_samples_jsonl(path)
        else:
            yield from load_qwen_samples(path)
    elif is_data_root(path):
        yield from build_samples(path)
    elif files := _test_files(path):
        for file in files:
            yield from load_qwen_samples(file)
    else:
        raise DataError("neither an MMRole-Data root, a test folder nor a samples file", file=str(path))


def image_root(source: str | Path) -> Path | None:
    """The folder that ``Sample.image`` paths of a source are relative to, or None if unknown.

    For a data root (or anything inside one, like its ``data/test`` files) it is ``<root>/images``;
    for a samples JSONL, an ``images/`` folder beside it, else its own folder. Image paths are
    then resolved inside it (:func:`mmrole.data.paths.resolve_under`).

    Raises:
        DataError: The source does not exist, or the ``images/`` folder found is a link resolving
            outside the folder holding it (name the real folder explicitly: ``--images``).
    """
    path = resolve_source(source)
    root = _data_root_above(path if path.is_dir() else path.parent)
    if root is not None:
        return _images_within(root / "images", root)
    if path.is_file() and path.suffix == ".jsonl":
        beside = path.parent / "images"
        return _images_within(beside, path.parent) if beside.is_dir() else path.parent
    return None


def _images_within(images: Path, root: Path) -> Path:
    try:
        check_within(images, root, what="image folder")
    except UnsafePathError as err:
        raise UnsafePathError(
            f"{err.reason}; to use it, name the real folder with --images (--image-root)", file=err.file
        ) from None
    return images


def read_samples_jsonl(path: str | Path) -> Iterator[Sample]:
    """Stream the samples of a JSONL file (one Sample per line).

    Raises:
        DataError: A line is not valid JSON or not a valid sample (with the line number and field).
    """
    from pydantic import ValidationError

    path = Path(path)
    for number, raw in iter_jsonl(path):
        try:
            yield Sample.model_validate(raw)
        except ValidationError as err:
            first = err.errors()[0]
            record = raw.get("id")
            raise DataError(
                f"line {number}: {first['msg']}",
                file=str(path),
                record=str(record) if record else None,
                field=".".join(str(p) for p in first["loc"]) or None,
            ) from None


def write_samples_jsonl(samples: Iterable[Sample], path: str | Path) -> int:
    """Write samples as JSONL (atomically: a temp file renamed at the end, removed on a failure);
    returns how many.

    Raises:
        StorageError: The disk is full or the folder cannot be written (no partial file is left).
    """
    from mmrole.data.output import atomic_output

    count = 0
    with atomic_output(path) as handle:
        for sample in samples:
            handle.write(sample.model_dump_json() + "\n")
            count += 1
    return count
