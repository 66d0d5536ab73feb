"""Output files written all or nothing.

A converter or sample writer that fails half-way (a missing image, a bad record, a full disk)
must not leave a truncated file that looks like a finished one, nor a ``.partial`` beside it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from mmrole.errors import StorageError


@contextlib.contextmanager
def atomic_output(path: str | Path, *, newline: str | None = None) -> Iterator[TextIO]:
    """A text handle on ``PATH.partial``, renamed to ``path`` when the block ends; removed if it fails.

    Args:
        path: The file to write (its folder is created).
        newline: Passed to :func:`open` (``""`` for the csv module).

    Raises:
        StorageError: The disk is full or the folder cannot be written (no partial file is left).
    """
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("w", encoding="utf-8", newline=newline) as handle:
            yield handle
        partial.replace(path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StorageError.writing(path, exc) from None
        raise
