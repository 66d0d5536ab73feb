"""The engine's request store: one SQLite file (WAL) per run folder, ``store.sqlite``.

One row per request key (see :mod:`mmrole.engine.keys`). A finished call is committed the
moment it completes, so a job killed with ``kill -9`` resumes without losing or repeating
it: WAL with ``synchronous=NORMAL`` makes each commit an append to the log (no fsync), which
survives a process crash and costs tens of microseconds. The engine records with
``defer=True`` and calls :meth:`Store.flush` on the event loop's next turn: the calls that
finished together (hundreds at once at high concurrency) go in one transaction, and a deferred
row is already seen by :meth:`Store.lookup`. Failures are rows with status
``failed`` and their error text: they are shown, never served as answers, and retried on rerun.
A success never gets overwritten by a later failure. A success always has text: a completion
without any is refused when recorded, and a stored one is read back as a failure (so it is
called again).

A new store is built beside its place and renamed into it, so it is whole or absent. A
``store.sqlite`` that is not one (garbage, a damaged file, a directory, or an empty file,
which is never taken for an empty cache) is a :class:`~mmrole.errors.DataError` saying how to
start afresh; a full disk is a :class:`~mmrole.errors.StorageError`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mmrole.errors import DataError, StorageError
from mmrole.models.base import Completion

STORE_NAME = "store.sqlite"
# SQLite's primary result codes (sqlite3 names them only from Python 3.11).
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 11, 13, 26
#: 2: a rowid table with the key as its unique index. Version 1 stored the rows in the key's
#: own B-tree (WITHOUT ROWID): a completion of ~1 KB fills a quarter of a page, so every insert
#: at a random key split pages, costing 3x the CPU per commit and 3x the file size. Stores of
#: version 1 are read and written as they are (the same columns and statements).
_SCHEMA_VERSION = 2
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
);
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
        try:
            self._refuse_what_is_not_a_store()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                self._create()
            with self._guard("opening"):
                self._db = self._connect(self.path)
                # Reading the schema reads the header and the first page: garbage fails here.
                self._db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                self._db.executescript(_SCHEMA)
        except OSError as err:
            raise StorageError.writing(self.path, err) from None
        #: Rows recorded with ``defer=True``, not yet committed: key -> (status, row).
        self._pending: dict[str, tuple[str, tuple]] = {}

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        # Autocommit mode: every write below is its own committed transaction.
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _create(self) -> None:
        """Make a new, empty store beside ``path`` and rename it into place.

        SQLite writes nothing until the first statement, so a kill right after ``connect`` would
        leave a zero-byte file, which is refused as damaged: the store appears whole or not at all.
        """
        fresh = self.path.with_name(f"{self.path.name}.{os.getpid()}.new")
        try:
            with self._guard("creating"):
                db = self._connect(fresh)
                try:
                    db.executescript(_SCHEMA)
                    db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
                finally:
                    db.close()  # checkpoints the WAL into the file and removes it
            try:
                os.link(fresh, self.path)  # never over a store another process just made
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                if not self.path.exists():
                    fresh.replace(self.path)
        finally:
            for leftover in (fresh, *(fresh.with_name(fresh.name + end) for end in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)

    def _refuse_what_is_not_a_store(self) -> None:
        if self.path.is_dir():
            raise self._damaged("is a directory, not an SQLite store")
        if self.path.is_file() and self.path.stat().st_size == 0:
            # Never an empty cache: a store that lost its content is a crash or a full disk to look at.
            raise self._damaged("is an empty file (0 bytes), not an SQLite store")

    def _damaged(self, what: str) -> DataError:
        return DataError(f"{what}; move it away or delete it to start afresh", file=str(self.path))

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """SQLite's errors as mmrole's: a full disk, a damaged file, a locked store."""
        try:
            yield
        except sqlite3.DatabaseError as err:
            # Python >= 3.11 gives the (extended) result code; older ones only the text.
            code = getattr(err, "sqlite_errorcode", 0) & 0xFF
            text = str(err)
            if code == _SQLITE_FULL or "disk is full" in text:
                raise StorageError(f"no space left on device writing {self.path}", file=self.path) from None
            if code == _SQLITE_NOTADB or "not a database" in text:
                raise self._damaged(f"is not an SQLite database ({text})") from None
            if code == _SQLITE_CORRUPT or "malformed" in text:
                raise self._damaged(f"is a damaged SQLite database ({text})") from None
            if isinstance(err, sqlite3.OperationalError):
                raise StorageError(f"{doing} {self.path} failed: {text}", file=self.path) from None
            raise

    @classmethod
    def in_run(cls, run_dir: str | Path) -> Store:
        """The store of a run folder (``RUN/store.sqlite``)."""
        return cls(Path(run_dir) / STORE_NAME)

    # -- reads ------------------------------------------------------------------------------
    def lookup(self, keys: Iterable[str]) -> dict[str, StoredResult]:
        """The stored rows of these keys (missing keys are absent from the result)."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, StoredResult] = {}
        # A deferred success stands in for the file's row; a deferred failure only where the
        # file has no success (its flush never writes over one).
        deferred = {key: self._pending[key] for key in keys if key in self._pending}
        keys = [key for key in keys if deferred.get(key, ("",))[0] != "ok"]
        with self._guard("reading"):
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
        for key, (status, row) in deferred.items():
            if status == "ok" or key not in found or not found[key].ok:
                found[key] = _pending_result(status, row)
        return found

    def rows(self, status: str | None = None) -> Iterator[StoredResult]:
        """Every row, or those with ``status`` ("ok" or "failed")."""
        query = "SELECT key, request_id, spec, status, completion, error, attempts FROM requests"
        self.flush()
        with self._guard("reading"):
            cursor = (
                self._db.execute(query + " WHERE status = ?", (status,))
                if status
                else self._db.execute(query)
            )
            for row in cursor:
                yield _stored(row)

    def counts(self) -> dict[str, int]:
        """``{"ok": n, "failed": m}``."""
        counts = {"ok": 0, "failed": 0}
        self.flush()
        with self._guard("reading"):
            for status, n in self._db.execute("SELECT status, COUNT(*) FROM requests GROUP BY status"):
                counts[status] = n
        return counts

    # -- writes -----------------------------------------------------------------------------
    def record_success(
        self,
        key: str,
        request_id: str,
        spec: str,
        completion: Completion,
        attempts: int,
        *,
        defer: bool = False,
    ) -> None:
        """Commit a finished call (replacing an earlier failure of the same key).

        With ``defer`` the row waits for :meth:`flush` (lookups already find it).

        Raises:
            ValueError: The completion has no text (a backend bug; it is no success).
            StorageError: The disk is full (the call is not recorded; the rerun makes it again).
        """
        if not isinstance(completion.text, str):
            raise ValueError(f"request {request_id}: a completion without text is not a success")
        row = (key, request_id, spec, completion_json(completion), attempts, time.time())
        if defer:
            self._pending[key] = ("ok", row)
            return
        with self._guard("writing"):
            self._db.execute(_SUCCESS, row)

    def record_failure(
        self, key: str, request_id: str, spec: str, error: str, attempts: int, *, defer: bool = False
    ) -> None:
        """Commit a request that failed after its retry budget (never over a success)."""
        row = (key, request_id, spec, error, attempts, time.time())
        if defer:
            if key not in self._pending or self._pending[key][0] != "ok":
                self._pending[key] = ("failed", row)
            return
        with self._guard("writing"):
            self._db.execute(_FAILURE, row)

    def flush(self) -> int:
        """Commit the deferred rows in one transaction; returns how many.

        Raises:
            StorageError: The disk is full (those calls are not recorded; the rerun makes them again).
        """
        if not self._pending:
            return 0
        pending, self._pending = self._pending, {}
        successes = [row for status, row in pending.values() if status == "ok"]
        failures = [row for status, row in pending.values() if status == "failed"]
        with self._guard("writing"):
            try:
                self._db.execute("BEGIN")
                if successes:
                    self._db.executemany(_SUCCESS, successes)
                if failures:
                    self._db.executemany(_FAILURE, failures)
                self._db.execute("COMMIT")
            finally:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
        return len(pending)

    def forget_failures(self) -> int:
        """Delete the failed rows (they are retried on rerun anyway); returns how many."""
        with self._guard("writing"):
            return self._db.execute("DELETE FROM requests WHERE status = 'failed'").rowcount

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SUCCESS = "INSERT OR REPLACE INTO requests VALUES (?, ?, ?, 'ok', ?, NULL, ?, ?)"
_FAILURE = (
    "INSERT INTO requests VALUES (?, ?, ?, 'failed', NULL, ?, ?, ?) "
    "ON CONFLICT(key) DO UPDATE SET error = excluded.error, attempts = excluded.attempts, "
    "updated = excluded.updated, request_id = excluded.request_id "
    "WHERE requests.status = 'failed'"
)


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
        "metadata": dict(completion.metadata),
    }
    return json.dumps(data, ensure_ascii=False)


def _pending_result(status: str, row: tuple) -> StoredResult:
    """A deferred row as :meth:`Store.lookup` reads it back (a success row's completion is JSON)."""
    key, request_id, spec, value, attempts, _ = row
    if status == "ok":
        return _stored((key, request_id, spec, status, value, None, attempts))
    return _stored((key, request_id, spec, status, None, value, attempts))


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
