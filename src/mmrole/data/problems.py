"""Problems found in input data, and how loaders report them.

Loaders take an optional ``report`` callback. Without one, the first problem raises a
:class:`~mmrole.errors.DataError` (what building samples wants); with one, every problem is
reported and loading goes on (what ``mmrole data validate`` wants).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from mmrole.errors import DataError

#: Problem kinds, with the one-line explanation the validation report shows.
PROBLEM_KINDS: dict[str, str] = {
    "malformed-json": "the file is not valid JSON",
    "bad-structure": "the file does not have the shape MMRole-Data uses",
    "missing-field": "a required field is missing or has the wrong type",
    "unknown-character": "a character that no roles.json lists",
    "missing-profile": "a listed character without a profile text",
    "empty-dialogue": "a dialogue with no turns (kept by the release, gives no samples)",
    "empty-turn": "a turn with no text",
    "broken-alternation": "the same speaker talks twice in a row, or an unexpected speaker",
    "duplicate-id": "an id used more than once",
    "unsafe-image-path": "an image path that is absolute, climbs out with '..' or links outside the image folder",
    "unsafe-path": "a data file that is a symbolic link (or inside a linked folder) resolving outside the root",
    "unsafe-name": "a character name that cannot be a file name (a path separator, '..', NUL)",
    "missing-image": "an image file that does not exist",
    "bad-image": "an image file that cannot be decoded (empty, SVG, corrupt or over the pixel limit)",
    "coco-images-absent": "COCO images are not part of the MMRole-Data release",
    "unknown-type": "a dialogue or sample type MMRole does not have",
}

#: Kinds that are expected in real releases: reported, but they do not stop loading or fail validation.
WARNING_KINDS = frozenset({"empty-dialogue", "coco-images-absent"})


@dataclass(frozen=True)
class Problem:
    """One problem, located as precisely as possible."""

    kind: str
    message: str
    file: str | None = None
    record: str | None = None
    field: str | None = None

    @property
    def is_error(self) -> bool:
        return self.kind not in WARNING_KINDS

    def to_error(self) -> DataError:
        return DataError(self.message, file=self.file, record=self.record, field=self.field)

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


Reporter = Callable[[Problem], None]


def raise_problem(problem: Problem) -> None:
    """The default reporter: stop at the first error (warnings pass silently)."""
    if problem.is_error:
        raise problem.to_error()


def problem_from_error(err: DataError, kind: str = "malformed-json") -> Problem:
    """Turn a DataError raised by a reader into a reportable problem."""
    return Problem(kind, err.reason, file=err.file, record=err.record, field=err.field)
