"""The parts of an MMRole-Data root the build stages read and write, each checked where it is read.

``profiles/<split>/roles.json`` and ``profiles.json`` are read strictly (a bad file is one line
naming it) and written atomically; images are listed under the image folder (``<root>/images``
or ``--images``) and every path is resolved inside it (:mod:`mmrole.data.paths`), so a still that
is a link leading out of the folder is refused, never read or sent.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from mmrole.data.characters import file_stem
from mmrole.data.jsonio import read_json
from mmrole.data.paths import check_within, resolve_under
from mmrole.errors import ConfigError, DataError
from mmrole.files import write_json
from mmrole.schema import SPLITS

#: The files a still can be (what MMRole-Data's images are, plus the usual others).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"})


def split_folder(root: Path, split: str) -> Path:
    return root / "profiles" / split


def check_splits(splits: list[str]) -> list[str]:
    """The splits asked for, in MMRole's order (all when none)."""
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise ConfigError(f"--splits: unknown split(s) {unknown}; choose from {', '.join(SPLITS)}")
    return [s for s in SPLITS if s in splits] if splits else list(SPLITS)


def read_object(path: Path, root: Path, what: str) -> dict[str, Any]:
    """A JSON object file under ``root`` ({} when absent).

    Raises:
        DataError: It is not valid JSON, not an object, or a link leading out of the root.
    """
    if not path.exists():
        return {}
    check_within(path, root)
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(f"{what} must be a JSON object", file=str(path))
    return data


def read_roles(root: Path, split: str) -> dict[str, list[str]]:
    """``roles.json``: series -> names ({} when absent).

    Raises:
        DataError: A series that does not map to a list of names (naming the file and the series).
    """
    path = split_folder(root, split) / "roles.json"
    roles = read_object(path, root, "roles.json")
    for series, names in roles.items():
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise DataError("must be a list of character names", file=str(path), field=series)
    return roles


def read_summaries(root: Path, split: str) -> dict[str, str]:
    """``profiles.json``: name -> profile text ({} when absent)."""
    path = split_folder(root, split) / "profiles.json"
    summaries = read_object(path, root, "profiles.json")
    for name, text in summaries.items():
        if not isinstance(text, str):
            raise DataError("a profile must be a text", file=str(path), record=name, field=name)
    return summaries


def write_roles(root: Path, split: str, roles: dict[str, list[str]]) -> None:
    write_json(split_folder(root, split) / "roles.json", roles)


def write_summaries(root: Path, split: str, summaries: dict[str, str]) -> None:
    write_json(split_folder(root, split) / "profiles.json", summaries)


def register(roles: dict[str, list[str]], series: str, name: str) -> bool:
    """Add ``name`` under ``series`` (at the end) unless it is there; True when added."""
    names = roles.setdefault(series, [])
    if name in names:
        return False
    names.append(name)
    return True


def series_of(roles: dict[str, list[str]], name: str) -> str | None:
    for series, names in roles.items():
        if name in names:
            return series
    return None


def image_folder(root: Path, images: Path | None) -> Path:
    """The folder image paths are relative to: ``images`` when given, else ``<root>/images``.

    Raises:
        DataError: It does not exist, or ``<root>/images`` is a link leading out of the root.
    """
    folder = Path(images) if images is not None else root / "images"
    if not folder.is_dir():
        raise DataError("no image folder (give it with --images)", file=str(folder))
    if images is None:
        check_within(folder, root, what="image folder")
    return folder


def list_images(folder: Path, relative: str, *, recursive: bool = False) -> list[str]:
    """Image paths (relative to ``folder``, with ``/``) under ``folder/relative``, sorted; [] when
    that folder is absent.

    Raises:
        UnsafePathError: ``relative`` or a file found leads out of ``folder``.
    """
    base = resolve_under(folder, relative, what="image folder", root_name="image folder", field="images")
    if not base.is_dir():
        return []
    found = base.rglob("*") if recursive else base.iterdir()
    paths = []
    for path in found:
        if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
            paths.append((PurePosixPath(relative) / path.relative_to(base).as_posix()).as_posix())
    return sorted(paths)


def image_part(
    folder: Path, image: str, *, file: str | None = None, record: str | None = None
) -> dict[str, Any]:
    """The OpenAI ``image_url`` part of one image (the file's path: backends read it when they send it).

    Raises:
        UnsafePathError: The path leads out of the image folder (as text or through a link).
        DataError: The file does not exist or is not a usable image (names the image and the record).
    """
    from mmrole.images import check_image_file

    path = resolve_under(folder, image, file=file, record=record, field="image")
    if not path.is_file():
        raise DataError(
            f"image {image!r} does not exist in {folder}", file=file, record=record, field="image"
        )
    check_image_file(path, file=file, record=record, field="image")
    return {"type": "image_url", "image_url": {"url": str(path)}}


def stills_folder(series: str) -> str:
    """The folder of a series' stills under the image folder (``The Avengers`` -> ``The_Avengers``)."""
    return file_stem(series)
