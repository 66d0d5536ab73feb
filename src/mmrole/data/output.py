"""Output files written all or nothing.

A converter or sample writer that fails half-way (a missing image, a bad record, a full disk)
must not leave a truncated file that looks like a finished one, nor a ``.partial`` beside it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def atomic_output(path: str | Path, *, newline: str | None = None) -> Iterator[TextIO]:
    """A text handle on ``PATH.partial``, renamed to ``path`` when the block ends; removed if it fails.

    Args:
        path: The file to write (its folder is created).
        newline: Passed to :func:`open` (``""`` for the csv module).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline=newline) as handle:
            yield handle
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
