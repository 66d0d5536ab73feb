"""The SQLite store: WAL, per-result commits, failures kept apart from answers."""

from __future__ import annotations

import sqlite3

from mmrole.engine import Store
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
