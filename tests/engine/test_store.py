"""The SQLite store: WAL, per-result commits, failures kept apart from answers."""

from __future__ import annotations

import sqlite3

import pytest

from mmrole.engine import Store
from mmrole.errors import DataError, StorageError
from mmrole.models.base import Completion, TokenLogprob, Usage


def _completion(text: str = "hello") -> Completion:
    return Completion(
        text=text,
        finish_reason="length",
        usage=Usage(12, 3),
        logprobs=[TokenLogprob("hel", -0.1, {"hel": -0.1, "he": -2.5})],
        metadata={"image_bridge": "annotation"},
    )


def test_success_round_trips_and_survives_reopening(tmp_path):
    path = tmp_path / "run" / "store.sqlite"
    with Store(path) as store:
        store.record_success("k1", "s1", "openai:m", _completion(), attempts=2)
    with Store(path) as store:
        row = store.lookup(["k1", "missing"])["k1"]
        assert row.ok and row.request_id == "s1" and row.attempts == 2 and row.spec == "openai:m"
        assert row.completion == _completion()
        assert store.counts() == {"ok": 1, "failed": 0}


def test_wal_mode_and_commit_without_close(tmp_path):
    path = tmp_path / "store.sqlite"
    store = Store(path)
    store.record_success("k1", "s1", "spec", _completion(), 1)
    # another connection sees the row at once: it was committed, not just buffered
    other = sqlite3.connect(path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert other.execute("SELECT COUNT(*) FROM requests WHERE status='ok'").fetchone()[0] == 1
    other.close()
    store.close()


def test_failure_is_kept_apart_and_replaced_by_a_later_success(tmp_path):
    with Store(tmp_path / "store.sqlite") as store:
        store.record_failure("k1", "s1", "spec", "HTTP 500", 6)
        row = store.lookup(["k1"])["k1"]
        assert not row.ok and row.completion is None and row.error == "HTTP 500"
        assert [r.request_id for r in store.rows("failed")] == ["s1"] and not list(store.rows("ok"))
        store.record_failure("k1", "s1", "spec", "HTTP 502", 6)
        assert store.lookup(["k1"])["k1"].error == "HTTP 502"
        store.record_success("k1", "s1", "spec", _completion(), 1)
        assert store.counts() == {"ok": 1, "failed": 0}


def test_failure_never_overwrites_a_success(tmp_path):
    with Store(tmp_path / "store.sqlite") as store:
        store.record_success("k1", "s1", "spec", _completion("kept"), 1)
        store.record_failure("k1", "s1", "spec", "late failure from a second job", 3)
        row = store.lookup(["k1"])["k1"]
        assert row.ok and row.completion.text == "kept" and row.error is None


def test_lookup_many_keys_beyond_the_parameter_limit(tmp_path):
    with Store(tmp_path / "store.sqlite") as store:
        for i in range(1200):
            store.record_success(f"k{i}", f"s{i}", "spec", _completion(str(i)), 1)
        found = store.lookup([f"k{i}" for i in range(0, 1300)])
        assert len(found) == 1200 and found["k1199"].completion.text == "1199"


def test_forget_failures(tmp_path):
    with Store.in_run(tmp_path) as store:
        store.record_failure("k1", "s1", "spec", "boom", 1)
        store.record_success("k2", "s2", "spec", _completion(), 1)
        assert store.forget_failures() == 1
        assert store.counts() == {"ok": 1, "failed": 0}
    assert (tmp_path / "store.sqlite").exists()


def test_a_completion_without_text_is_never_a_success(tmp_path):
    import json

    import pytest

    with Store(tmp_path / "store.sqlite") as store:
        with pytest.raises(ValueError, match="without text"):
            store.record_success("k", "q1", "spec", Completion(text=None), 1)  # type: ignore[arg-type]
        assert store.lookup(["k"]) == {}
        # A row an older or foreign writer left with a null text is read back as a failure (called again).
        null_text = json.dumps({"text": None, "finish_reason": "stop"})
        store._db.execute(
            "INSERT INTO requests VALUES ('k2', 'q2', 'spec', 'ok', ?, NULL, 1, 0)", (null_text,)
        )
        row = store.lookup(["k2"])["k2"]
        assert not row.ok and row.completion is None and "no text" in row.error


def _scribbled(path):
    """A store whose pages after the first were overwritten: it opens, and breaks on the first read."""
    with Store(path) as store:
        for i in range(40):
            store.record_success(f"k{i}", f"s{i}", "spec", _completion("x" * 300), 1)
    data = bytearray(path.read_bytes())
    data[4096:] = b"\xa5" * (len(data) - 4096)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "make, what",
    [
        (lambda p: p.write_bytes(b""), "is an empty file (0 bytes), not an SQLite store"),
        (
            lambda p: p.write_bytes(bytes(range(256)) * 40),
            "is not an SQLite database (file is not a database)",
        ),
        (lambda p: p.mkdir(), "is a directory, not an SQLite store"),
        (_scribbled, "is a damaged SQLite database (database disk image is malformed)"),
    ],
    ids=["zero-byte", "garbage", "directory", "damaged"],
)
def test_what_is_not_a_store_is_refused_with_how_to_start_afresh(tmp_path, make, what):
    path = tmp_path / "store.sqlite"
    make(path)
    with pytest.raises(DataError) as caught:
        with Store(path) as store:
            store.lookup([f"k{i}" for i in range(40)])  # the damaged one fails only when read
    assert caught.value.file == str(path)
    assert caught.value.reason == f"{what}; move it away or delete it to start afresh"
    if "empty file" in what:
        assert path.stat().st_size == 0  # refused, not turned into an empty cache


def test_a_full_disk_while_recording_is_a_storage_error_and_keeps_the_store(tmp_path):
    path = tmp_path / "store.sqlite"
    with Store(path) as store:
        store.record_success("small", "s0", "spec", _completion(), 1)
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count={pages}")  # SQLite's own SQLITE_FULL from here on
        with pytest.raises(StorageError, match=f"^no space left on device writing {path}$"):
            store.record_success("big", "s1", "spec", _completion("y" * 50_000), 1)
    with Store(path) as store:
        assert set(store.lookup(["small", "big"])) == {"small"}


def test_a_new_store_appears_whole_or_not_at_all(tmp_path, monkeypatch):
    connect = Store._connect

    def dies_while_creating(path):
        db = connect(path)
        db.execute("PRAGMA max_page_count=1")  # the schema cannot be written
        return db

    monkeypatch.setattr(Store, "_connect", staticmethod(dies_while_creating))
    with pytest.raises(StorageError, match="no space left on device"):
        Store(tmp_path / "run" / "store.sqlite")
    assert list((tmp_path / "run").iterdir()) == []  # no store, no half-made one beside it
    monkeypatch.undo()
    with Store(tmp_path / "run" / "store.sqlite") as store:
        assert store.counts() == {"ok": 0, "failed": 0}


def _file_rows(path) -> dict[str, str]:
    """What another connection reads from the file: committed rows only."""
    other = sqlite3.connect(path)
    try:
        return dict(other.execute("SELECT key, status FROM requests"))
    finally:
        other.close()


def test_deferred_rows_are_seen_by_lookup_and_committed_together_by_flush(tmp_path):
    path = tmp_path / "store.sqlite"
    store = Store(path)
    store.record_success("k1", "s1", "spec", _completion("one"), 1, defer=True)
    store.record_failure("k2", "s2", "spec", "HTTP 500", 6, defer=True)
    assert _file_rows(path) == {}  # not committed yet...
    found = store.lookup(["k1", "k2", "k3"])  # ...but the job already sees them
    assert found["k1"].ok and found["k1"].completion == _completion("one")
    assert not found["k2"].ok and found["k2"].error == "HTTP 500" and "k3" not in found
    assert store.flush() == 2 and store.flush() == 0
    assert _file_rows(path) == {"k1": "ok", "k2": "failed"}
    store.close()


def test_a_deferred_failure_never_hides_or_replaces_a_success(tmp_path):
    path = tmp_path / "store.sqlite"
    with Store(path) as store:
        store.record_success("stored", "s1", "spec", _completion("kept"), 1)
        store.record_failure("stored", "s1", "spec", "late failure", 3, defer=True)
        store.record_success("pending", "s2", "spec", _completion("also kept"), 1, defer=True)
        store.record_failure("pending", "s2", "spec", "late failure", 3, defer=True)
        found = store.lookup(["stored", "pending"])
        assert found["stored"].completion.text == "kept" and found["pending"].completion.text == "also kept"
    with Store(path) as store:  # close flushed; the successes stand
        assert {k: r.completion.text for k, r in store.lookup(["stored", "pending"]).items()} == {
            "stored": "kept",
            "pending": "also kept",
        }


def test_reads_of_every_row_include_deferred_ones(tmp_path):
    with Store(tmp_path / "store.sqlite") as store:
        store.record_success("k1", "s1", "spec", _completion(), 1, defer=True)
        store.record_failure("k2", "s2", "spec", "boom", 1, defer=True)
        assert store.counts() == {"ok": 1, "failed": 1}
        assert sorted(r.key for r in store.rows()) == ["k1", "k2"]


def _fill(store: Store, n: int, text: str) -> None:
    for i in range(n):
        store.record_success(f"{i:064x}"[::-1], f"s{i}", "openai:m", _completion(text), 1, defer=True)
        if i % 8 == 7:  # as the engine commits: a few results per transaction
            store.flush()


def _on_disk(path) -> int:  # noqa: ANN001 - a Path
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def test_the_file_stays_near_the_size_of_what_it_holds(tmp_path):
    """~1 KB completions at random keys: a key-ordered table (version 1) took 3x their size."""
    path, text = tmp_path / "store.sqlite", "Assistant 1: 7\nAssistant 2: 8\n" + "a fair review " * 70
    with Store(path) as store:
        _fill(store, 2000, text)
    held = 2000 * (len(text) + 64 + 150)  # the text, the key, the rest of the row
    assert _on_disk(path) < 1.6 * held
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone() == (2,)


def test_a_store_of_the_first_version_is_read_and_written_as_it_is(tmp_path):
    path = tmp_path / "store.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE requests (key TEXT PRIMARY KEY, request_id TEXT NOT NULL, spec TEXT NOT NULL, "
        "status TEXT NOT NULL CHECK (status IN ('ok', 'failed')), completion TEXT, error TEXT, "
        "attempts INTEGER NOT NULL, updated REAL NOT NULL) WITHOUT ROWID; PRAGMA user_version=1;"
    )
    old.close()
    with Store(path) as store:
        store.record_success("k1", "s1", "openai:m", _completion(), 1)
        store.record_failure("k2", "s2", "openai:m", "HTTP 500", 3, defer=True)
    with Store(path) as store:
        assert store.lookup(["k1"])["k1"].completion == _completion()
        assert store.counts() == {"ok": 1, "failed": 1}
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone() == (1,)
