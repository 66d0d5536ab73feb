"""The engine's request store: one SQLite file (WAL) per run folder, ``store.sqlite``.

One row per request key (see :mod:`mmrole.engine.keys`). A finished call is committed the
moment it completes, so a job killed with ``kill -9`` resumes without losing or repeating
it: WAL with ``synchronous=NORMAL`` makes each commit an append to the log (no fsync), which
survives a process crash and costs tens of microseconds. Failures are rows with status
``failed`` and their error text: they are shown, never served as answers, and retried on rerun.
A success never gets overwritten by a later failure. A success always has text: a completion
without any is refused when recorded, and a stored one is read back as a failure (so it is
called again).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mmrole.models.base import Completion

STORE_NAME = "store.sqlite"
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    key        TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    spec       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    completion TEXT,
    error      TEXT,
    attempts   INTEGER NOT NULL,
    updated    REAL NOT NULL
) WITHOUT ROWID;
"""


@dataclass
class StoredResult:
    """A row of the store: a completion (status ok) or the last error (status failed)."""

    key: str
    request_id: str
    spec: str
    status: str
    completion: Completion | None
    error: str | None
    attempts: int

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Store:
    """The request store of one run.

    Args:
        path: The SQLite file (created with its folder when missing).

    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: every write below is its own committed transaction.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    @classmethod
    def in_run(cls, run_dir: str | Path) -> Store:
        """The store of a run folder (``RUN/store.sqlite``)."""
        return cls(Path(run_dir) / STORE_NAME)

    # -- reads ------------------------------------------------------------------------------
    def lookup(self, keys: Iterable[str]) -> dict[str, StoredResult]:
        """The stored rows of these keys (missing keys are absent from the result)."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, StoredResult] = {}
        for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                "SELECT key, request_id, spec, status, completion, error, attempts FROM requests "
                f"WHERE key IN ({marks})",
                chunk,
            )
            for row in rows:
                found[row[0]] = _stored(row)
        return found

    def rows(self, status: str | None = None) -> Iterator[StoredResult]:
        """Every row, or those with ``status`` ("ok" or "failed")."""
        query = "SELECT key, request_id, spec, status, completion, error, attempts FROM requests"
        cursor = (
            self._db.execute(query + " WHERE status = ?", (status,)) if status else self._db.execute(query)
        )
        for row in cursor:
            yield _stored(row)

    def counts(self) -> dict[str, int]:
        """``{"ok": n, "failed": m}``."""
        counts = {"ok": 0, "failed": 0}
        for status, n in self._db.execute("SELECT status, COUNT(*) FROM requests GROUP BY status"):
            counts[status] = n
        return counts

    # -- writes -----------------------------------------------------------------------------
    def record_success(
        self, key: str, request_id: str, spec: str, completion: Completion, attempts: int
    ) -> None:
        """Commit a finished call (replacing an earlier failure of the same key).

        Raises:
            ValueError: The completion has no text (a backend bug; it is no success).
        """
        if not isinstance(completion.text, str):
            raise ValueError(f"request {request_id}: a completion without text is not a success")
        self._db.execute(
            "INSERT OR REPLACE INTO requests VALUES (?, ?, ?, 'ok', ?, NULL, ?, ?)",
            (
                key,
                request_id,
                spec,
                json.dumps(completion.to_dict(), ensure_ascii=False),
                attempts,
                time.time(),
            ),
        )

    def record_failure(self, key: str, request_id: str, spec: str, error: str, attempts: int) -> None:
        """Commit a request that failed after its retry budget (never over a success)."""
        self._db.execute(
            "INSERT INTO requests VALUES (?, ?, ?, 'failed', NULL, ?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET error = excluded.error, attempts = excluded.attempts, "
            "updated = excluded.updated, request_id = excluded.request_id WHERE requests.status = 'failed'",
            (key, request_id, spec, error, attempts, time.time()),
        )

    def forget_failures(self) -> int:
        """Delete the failed rows (they are retried on rerun anyway); returns how many."""
        return self._db.execute("DELETE FROM requests WHERE status = 'failed'").rowcount

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def completion_json(completion: Completion) -> str:
    """A completion as JSON (what :meth:`Completion.from_dict` reads back).

    Written by hand rather than with ``dataclasses.asdict``, which deep-copies and costs more
    than the SQLite commit itself.
    """
    logprobs = completion.logprobs
    data = {
        "text": completion.text,
        "finish_reason": completion.finish_reason,
        "usage": {
            "prompt_tokens": completion.usage.prompt_tokens,
            "completion_tokens": completion.usage.completion_tokens,
        },
        "logprobs": None
        if logprobs is None
        else [{"token": t.token, "logprob": t.logprob, "top": t.top} for t in logprobs],
        "metadata": completion.metadata,
    }
    return json.dumps(data, ensure_ascii=False)


def _stored(row: tuple) -> StoredResult:
    key, request_id, spec, status, completion, error, attempts = row
    data = json.loads(completion) if completion else None
    if status == "ok" and not (isinstance(data, dict) and isinstance(data.get("text"), str)):
        status, data, error = "failed", None, "stored completion has no text"  # never served as an answer
    return StoredResult(
        key=key,
        request_id=request_id,
        spec=spec,
        status=status,
        completion=Completion.from_dict(data) if data is not None else None,
        error=error,
        attempts=attempts,
    )
