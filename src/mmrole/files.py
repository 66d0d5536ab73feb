"""Files written atomically: text, bytes, JSON and JSONL.

A file is written to ``NAME.partial``, flushed to disk, then renamed over ``NAME``: a crash
(even ``kill -9``) leaves the old file or the new one, never half of one, and never a
``.partial`` file once the writer has returned or raised; a failed write (a full disk) raises
:class:`~mmrole.errors.StorageError`. JSON is strict both ways: ``NaN`` and
``Infinity`` are not JSON, so writing one is an error (never a file other tools cannot read),
and reading one is a DataError naming the file. Generic: every room may use it (the run
folder's typed files are in :mod:`mmrole.runs`).

    write_jsonl(path, records)
    write_json(path, {"overall": ...})
    with open_atomic(path, newline="") as handle:  # a writer that wants a handle (csv, json.dump)
        csv.writer(handle).writerows(rows)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from mmrole.errors import ConfigError, DataError, StorageError

PARTIAL_SUFFIX = ".partial"


def write_text(path: str | Path, chunks: str | Iterable[str]) -> None:
    """Write text (one string, or chunks streamed as they come) atomically, as UTF-8."""
    _atomic_write(Path(path), [chunks] if isinstance(chunks, str) else chunks, binary=False)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write bytes atomically."""
    _atomic_write(Path(path), [data], binary=True)


def write_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Write one JSON object per line, atomically; returns how many."""
    count = 0

    def lines() -> Iterator[str]:
        nonlocal count
        for record in records:
            count += 1
            yield json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n"

    write_text(path, lines())
    return count


def write_json(path: str | Path, data: Any) -> None:
    """Write indented JSON atomically."""
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n")


def read_json(path: str | Path) -> Any:
    """Parse a JSON file.

    Raises:
        DataError: missing or malformed, or holding ``NaN``/``Infinity`` (not JSON; an older
            mmrole wrote them into results.json: re-aggregating the run rewrites it).
    """
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    except ValueError as exc:
        raise DataError(f"not valid JSON: {exc}", file=str(path)) from None


def _no_constant(name: str) -> Any:
    raise ValueError(
        f"{name} is not a JSON number (re-aggregate the run: rerun `mmrole judge` or `mmrole import`)"
    )


def file_digest(path: str | Path) -> str | None:
    """The SHA-256 of a file's bytes (hex), or None when it does not exist."""
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


@contextlib.contextmanager
def open_atomic(path: str | Path, *, binary: bool = False, newline: str | None = None) -> Iterator[IO[Any]]:
    """A handle on ``NAME.partial``, flushed to disk and renamed over ``NAME`` when the block ends.

    If the block raises, ``NAME`` is left as it was and the partial file is removed. Every
    atomic writer of mmrole goes through here.

    Args:
        path: The file to write (its folder is created).
        binary: A bytes handle instead of a UTF-8 text one.
        newline: Passed to :func:`open` for text (``""`` for the csv module).

    Raises:
        StorageError: The disk is full, or the folder cannot be written (one line naming the file).
    """
    path = Path(path)
    partial = path.with_name(path.name + PARTIAL_SUFFIX)
    mode: dict[str, Any] = {} if binary else {"encoding": "utf-8", "newline": newline}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb" if binary else "w", **mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(path)
    except OSError as err:
        raise StorageError.writing(path, err) from None
    finally:
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass  # the folder itself is gone or unwritable: the error above says so


def _atomic_write(path: Path, chunks: Iterable[str | bytes], *, binary: bool) -> None:
    with open_atomic(path, binary=binary) as handle:
        for chunk in chunks:
            handle.write(chunk)


def fresh_folder(path: str | Path, *, overwrite: bool = False) -> Path:
    """``path`` as an empty folder to write into; a non-empty one is replaced only with ``overwrite``.

    Raises:
        ConfigError: ``path`` is not empty and ``overwrite`` is False.
    """
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        if not overwrite:
            raise ConfigError(f"{path} is not empty; pass overwrite=True (--overwrite) to replace it")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path
