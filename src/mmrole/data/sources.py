"""Sources of samples: what ``"demo"``, an MMRole-Data root, a test folder or a file holds, and where
its images are.

``"demo"`` is the bundled demo dataset, a tiny MMRole-Data root shipped as package data (four
original characters, six drawings, dialogues of all three types, a test split of eight samples
and a small train split); ``scripts/make_demo_data.py`` in mmrole's repository writes it.

Every command that takes ``--data`` resolves it here; the samples themselves are built by
:mod:`mmrole.data.samples` (from dialogues) and :mod:`mmrole.data.qwen` (from Qwen-VL files).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from mmrole.data.paths import UnsafePathError, check_within
from mmrole.data.qwen import load_qwen_samples
from mmrole.data.samples import build_samples, read_samples_jsonl
from mmrole.errors import DataError
from mmrole.files import fresh_folder
from mmrole.schema import Sample

#: The source name of the bundled demo set.
DEMO = "demo"


def demo_root() -> Path:
    """The bundled demo dataset's root (an MMRole-Data layout, shipped as package data)."""
    return Path(__file__).resolve().parents[1] / "demo_data"


def copy_demo(target: str | Path, *, overwrite: bool = False) -> Path:
    """Copy the demo dataset (profiles, images, dialogues, test and train splits) into ``target``.

    Only the contents are copied, not the permissions: a copy of a read-only installation is
    still a folder to edit.

    Args:
        target: The folder to write.
        overwrite: Replace ``target`` when it exists and is not empty.

    Returns:
        The target path.

    Raises:
        ConfigError: ``target`` is not empty and ``overwrite`` is False.
    """
    target = fresh_folder(target, overwrite=overwrite)
    source = demo_root()
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            copy = target / path.relative_to(source)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
    return target


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
