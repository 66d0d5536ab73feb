"""Paths under a data root, checked so that nothing is read (or written) outside it.

Checking a path's text (relative, no ``..``) is not enough: ``images/x.png`` may be a symbolic
link to ``/etc/passwd``, ``images/COCO`` a link to any folder. Every loader and image reader
therefore takes the real path (links followed, as the read will follow them) and refuses one
that lands outside the real path of its root: the data root for profiles, dialogues and test
files, the image folder (``<root>/images`` or the one ``--images``/``--image-root`` names) for
images. Links that stay inside the root are fine.

Names that become file names (a character name is ``detailed_profiles/<Name>.json``) are
checked as text: no path separator, no ``.`` or ``..``, no NUL, no drive prefix.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path

from mmrole.errors import DataError

_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafePathError(DataError):
    """A path or name that leads outside the folder it must stay in (never a mere absent file)."""


def is_safe_relative(path: str) -> bool:
    """True when ``path`` is relative and, as text, stays under the folder it is joined to."""
    if not path or "\0" in path or path.startswith(("/", "\\")) or _DRIVE.match(path):
        return False
    normal = posixpath.normpath(path.replace("\\", "/"))
    return normal != ".." and not normal.startswith("../")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be used as a file name (None when it can)."""
    if "\0" in name:
        return "contains a NUL character"
    if "/" in name or "\\" in name:
        return "contains a path separator"
    if name.strip() in (".", ".."):
        return "is a relative folder name"
    if _DRIVE.match(name):
        return "starts with a drive letter"
    return None


def check_name(
    name: str, *, file: str | None = None, record: str | None = None, field: str | None = None
) -> str:
    """``name``, when it can be used as a file name.

    Raises:
        UnsafePathError: It holds a path separator, ``..``, NUL or a drive prefix.
    """
    problem = name_problem(name)
    if problem is not None:
        raise UnsafePathError(
            f"name {name!r} {problem}, so it cannot name a file", file=file, record=record, field=field
        )
    return name


def real_path(path: str | Path) -> Path:
    """The real path of ``path``: absolute, every symbolic link followed (the file need not exist)."""
    return Path(os.path.realpath(path))


def is_within(path: str | Path, root: str | Path) -> bool:
    """True when the real path of ``path`` is the real path of ``root`` or lies under it."""
    return real_path(path).is_relative_to(real_path(root))


def check_within(
    path: str | Path,
    root: str | Path,
    *,
    what: str = "file",
    file: str | None = None,
    record: str | None = None,
    field: str | None = None,
) -> Path:
    """The real path of ``path`` (a path already joined under ``root``), when it stays inside ``root``.

    Args:
        path: The path to check.
        root: The folder it must stay in.
        what: What the path is, for the message (``"file"``, ``"image"``).
        file, record, field: Where the path came from (``file`` defaults to ``path`` itself).

    Raises:
        UnsafePathError: Its real path lies outside ``root`` (a symbolic link pointing away).
    """
    real = real_path(path)
    if not real.is_relative_to(real_path(root)):
        raise UnsafePathError(
            f"{what} {str(path)!r} resolves outside {str(root)!r} (through a symbolic link)",
            file=str(path) if file is None else file,
            record=record,
            field=field,
        )
    return real


def resolve_under(
    root: str | Path,
    relative: str,
    *,
    what: str = "image",
    root_name: str = "image root",
    file: str | None = None,
    record: str | None = None,
    field: str | None = None,
) -> Path:
    """The real path of ``root / relative``, refusing one that escapes ``root`` as text or through a link.

    Args:
        root: The folder ``relative`` is relative to.
        relative: The path to resolve.
        what, root_name: What the path and the root are, for the message.
        file, record, field: Where the path came from.

    Raises:
        UnsafePathError: ``relative`` is absolute, climbs out with ``..``, or resolves outside ``root``.
    """
    if not is_safe_relative(relative):
        raise UnsafePathError(
            f"{what} path {relative!r} escapes the {root_name} (absolute, or climbing out with '..')",
            file=file,
            record=record,
            field=field,
        )
    real = real_path(Path(root) / relative)
    if not real.is_relative_to(real_path(root)):
        raise UnsafePathError(
            f"{what} path {relative!r} resolves outside the {root_name} {str(root)!r} (through a symbolic link)",
            file=file,
            record=record,
            field=field,
        )
    return real
