"""The run folder's names and records: file names, the stage records of run.json, line types.

Plain data and helpers; :mod:`mmrole.runs` (``RunFolder``) reads and writes the files.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from mmrole.models.endpoint import redact_urls

#: The run.json layout this module writes (absent in older run folders).
LAYOUT = 2
RUN_INFO, SAMPLES, ANSWERS, REVIEWS, RESULTS, LOCK = (
    "run.json",
    "samples.jsonl",
    "answers.jsonl",
    "reviews.jsonl",
    "results.json",
    ".lock",
)
STORE = "store.sqlite"  # the engine's name for it (mmrole.engine.store.STORE_NAME)
#: Where a report written into a run folder goes, by kind.
REPORT_FILES = {"markdown": "report.md", "csv": "report.csv", "html": "report.html", "radar": "radar.png"}
#: The folder beside report.html with its sample browser's data (files named after their content, so
#: report.html's digest pins them).
REPORT_DATA = "report_files"
ANSWER, JUDGING = "answer", "judging"
RUNNING, DONE = "running", "done"
_SECRET_NAME = re.compile(r"(^|_)(api_?key|secret|password|authorization|token)$")


class AnswerRecord(TypedDict):
    """One line of ``answers.jsonl``."""

    id: str
    answer: str | None
    error: str | None
    meta: dict[str, Any]


class ReviewRecord(TypedDict, total=False):
    """One line of ``reviews.jsonl`` (a :class:`mmrole.schema.Review` plus order, repeat, extras)."""

    sample_id: str
    metric: str
    text: str
    score: list[float] | None
    error: str | None
    order: str
    repeat: int


@dataclass(frozen=True)
class StageInputs:
    """What a stage's output depends on: the model spec, the data, the options that change outputs.

    Operational settings (concurrency, retries, timeouts, where images are) are not inputs.
    """

    spec: str
    options: Mapping[str, Any] = field(default_factory=dict)
    #: The data source (a path or a name; a list of files for an import); None: not compared.
    data: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "data": self.data, "options": plain(dict(self.options))}

    @classmethod
    def from_dict(cls, data: Any) -> StageInputs | None:
        if not isinstance(data, dict):
            return None
        return cls(str(data.get("spec") or ""), dict(data.get("options") or {}), data.get("data"))

    def differences(self, recorded: StageInputs) -> list[str]:
        """How these inputs differ from ``recorded``, in words (what was not recorded is not compared)."""
        found = []
        if recorded.spec and recorded.spec != self.spec:
            found.append(f"by {recorded.spec}, not {self.spec}")
        if recorded.data is not None and self.data is not None and recorded.data != self.data:
            found.append(f"on {recorded.data}, not {self.data}")
        old, new = leaves(recorded.options), leaves(plain(dict(self.options)))
        changed = [k for k in old if k in new and old[k] != new[k]]
        if changed:
            was = ", ".join(f"{k}={old[k]!r}" for k in changed)
            found.append(f"with {was}, not " + ", ".join(f"{k}={new[k]!r}" for k in changed))
        return found


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


def data_source(data: str | Path) -> str:
    """How run.json names a data source: an existing path made absolute, anything else as given."""
    path = Path(data)
    return str(path.absolute()) if path.exists() else str(data)


def is_legacy(info: Mapping[str, Any]) -> bool:
    return info.get("layout") is None


def spec_text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("spec") or value.get("name") or "")
    return "" if value is None else str(value)


def plain(data: Any) -> Any:
    """``data`` as JSON gives it back (tuples become lists), so recorded and new inputs compare equal."""
    return json.loads(json.dumps(data))


def leaves(options: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested options flattened to their leaf names (``params.max_tokens`` -> ``max_tokens``)."""
    flat: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, dict):
            flat.update(leaves(value, prefix))
        else:
            flat[prefix + str(key)] = value
    return flat


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
