"""Run folder files: JSON and JSONL written atomically, and ``run.json``.

A file is written to ``NAME.partial``, flushed to disk, then renamed over ``NAME``: a crash
leaves the old file or the new one, never half of one; a failed write (a full disk) raises
:class:`~mmrole.errors.StorageError` and removes the partial file. JSON is strict both ways:
``NaN`` and ``Infinity`` are not JSON, so writing one is an error (never a file other tools cannot
read), and reading one is a DataError naming the file. ``run.json`` records what ran; each
command merges its own section in, and anything that looks like a secret is dropped first (options
named like credentials; the credentials of URLs in any value show as ``***``).

    write_jsonl(run / "answers.jsonl", records)
    update_run_info(run, {"agent": spec, "answer": {...}})
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mmrole.data.jsonio import iter_jsonl
from mmrole.errors import DataError, StorageError
from mmrole.models.endpoint import redact_urls

RUN_INFO = "run.json"
SAMPLES = "samples.jsonl"
ANSWERS = "answers.jsonl"
#: Option names never written to run.json (their values are credentials): api_key, hf_token, ...
_SECRET_NAME = re.compile(r"(^|_)(api_?key|secret|password|authorization|token)$")


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object per line, atomically; returns how many."""
    count = 0

    def lines() -> Iterator[str]:
        nonlocal count
        for record in records:
            count += 1
            yield json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n"

    _atomic_write(Path(path), lines())
    return count


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The objects of a JSONL file (blank lines skipped).

    Raises:
        DataError: the file is missing, or a line is not a JSON object (names file and line).
    """
    return [record for _, record in iter_jsonl(path)]


def write_json(path: str | Path, data: Any) -> None:
    """Write indented JSON atomically."""
    _atomic_write(Path(path), [json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"])


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


def read_run_info(run_dir: str | Path) -> dict[str, Any]:
    """``RUN/run.json`` ({} when the run has none yet)."""
    path = Path(run_dir) / RUN_INFO
    if not path.exists():
        return {}
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError("run.json must hold a JSON object", file=str(path))
    return data


def update_run_info(run_dir: str | Path, updates: dict[str, Any]) -> dict[str, Any]:
    """Merge ``updates`` into ``RUN/run.json`` (top-level keys replaced) and write it atomically.

    Adds ``mmrole_version``, ``created`` (first write) and ``updated`` timestamps; drops any
    option whose name looks like a credential. Returns the new content.
    """
    from mmrole import __version__

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    info = read_run_info(run_dir)
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    info.setdefault("created", now)
    info.update(without_secrets(updates))
    info["updated"] = now
    info["mmrole_version"] = __version__
    write_json(run_dir / RUN_INFO, info)
    return info


def without_secrets(data: Any) -> Any:
    """A copy of nested dicts/lists without keys that name credentials (``api_key``, ``token``...),
    and with the credentials of any URL in a string shown as ``***`` (``http://***@host/v1``)."""
    if isinstance(data, dict):
        return {
            k: without_secrets(v)
            for k, v in data.items()
            if not _SECRET_NAME.search(str(k).lower().replace("-", "_"))
        }
    if isinstance(data, (list, tuple)):
        return [without_secrets(v) for v in data]
    if isinstance(data, str):
        return redact_urls(data)
    return data


def _atomic_write(path: Path, chunks: Iterable[str]) -> None:
    """Write ``NAME.partial``, flush it to disk, rename it over ``NAME``; never leave the partial.

    Raises:
        StorageError: The disk is full, or the folder cannot be written (one line naming the file).
    """
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("w", encoding="utf-8") as handle:
            for chunk in chunks:
                handle.write(chunk)
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
