"""Replay: stored answers served like live ones, by request id or by instruction."""

from __future__ import annotations

import asyncio
import json

import pytest

from mmrole.engine import Request, Store, run_requests_sync
from mmrole.errors import BackendError, DataError
from mmrole.models import GenerationParams, current_request_id, load_backend
from mmrole.models.replay import ReplayBackend


def _answers(tmp_path):
    path = tmp_path / "answers.jsonl"
    lines = [
        {"id": "s1", "answer": "I am Iron Man.", "error": None, "meta": {}},
        {"id": "s2", "answer": "Avengers, assemble!", "error": None},
        {"id": "s3", "answer": None, "error": "HTTP 500 after 6 attempts"},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path


def _ask(backend, request_id, text="same question"):
    async def go():
        token = current_request_id.set(request_id)
        try:
            return await backend.generate([{"role": "user", "content": text}], GenerationParams())
        finally:
            current_request_id.reset(token)

    return asyncio.run(go())


def test_answers_jsonl_by_request_id(tmp_path):
    backend = load_backend(f"replay:{_answers(tmp_path)}")
    assert isinstance(backend, ReplayBackend) and len(backend) == 3
    assert _ask(backend, "s1").text == "I am Iron Man."
    assert _ask(backend, "s2").metadata == {"replay_id": "s2"}
    with pytest.raises(BackendError, match="HTTP 500 after 6 attempts") as stored_failure:
        _ask(backend, "s3")
    with pytest.raises(BackendError, match="no stored answer for request s9") as missing:
        _ask(backend, "s9")
    assert not stored_failure.value.retryable and not missing.value.retryable


def test_through_the_engine_same_messages_different_ids(tmp_path):
    path = _answers(tmp_path)
    same = [{"role": "user", "content": "same question"}]
    requests = [Request("s1", same), Request("s2", same), Request("s3", same)]
    store = tmp_path / "store.sqlite"
    results = run_requests_sync(f"replay:{path}", requests, store=store, progress=False, max_retries=0)
    assert [r.completion.text if r.ok else r.error for r in results] == [
        "I am Iron Man.",
        "Avengers, assemble!",
        f"replay:{path}: stored answer for s3 failed: HTTP 500 after 6 attempts",
    ]
    # edited answers are not served from the old cache entries
    path.write_text(json.dumps({"id": "s1", "answer": "Edited."}) + "\n")
    again = run_requests_sync(f"replay:{path}", requests[:1], store=store, progress=False)
    assert again[0].completion.text == "Edited." and not again[0].cached
    with Store(store) as opened:
        assert opened.counts()["ok"] == 3


def test_mmrole_released_file_by_id_and_by_instruction(in_test_root):
    path = in_test_root / "claude-3-opus" / "comment_test.reviews.json"
    records = json.loads(path.read_text())
    backend = ReplayBackend(path)
    assert len(backend) == len(records)
    first, last = records[0], records[-1]
    assert _ask(backend, first["id"]).text == first["conversations"][1]["answer"]
    # outside the engine (no id), the instruction text finds the record
    assert _ask(backend, None, last["conversations"][0]["value"]).text == last["conversations"][1]["answer"]


def test_a_released_model_folder(in_test_root):
    folder = in_test_root / "claude-3-opus"
    backend = ReplayBackend(folder)
    expected = sum(len(json.loads(p.read_text())) for p in folder.glob("*.json"))
    assert len(backend) == expected


def test_id_to_answer_object_and_bad_files(tmp_path):
    (tmp_path / "map.json").write_text(json.dumps({"a": "alpha"}))
    assert _ask(ReplayBackend(tmp_path / "map.json"), "a").text == "alpha"
    (tmp_path / "bad.jsonl").write_text('{"id": "a", "answer": "x"}\n{oops\n')
    with pytest.raises(DataError, match=r"bad.jsonl: malformed JSON at line 2, column \d+"):
        ReplayBackend(tmp_path / "bad.jsonl")
    (tmp_path / "noid.jsonl").write_text('{"answer": "x"}\n')
    with pytest.raises(DataError, match="field 'id'"):
        ReplayBackend(tmp_path / "noid.jsonl")
    (tmp_path / "noanswer.json").write_text(
        json.dumps([{"id": "x", "conversations": [{"value": "q"}, {"value": "r"}]}])
    )
    with pytest.raises(DataError, match=r"record x, field 'conversations\[1\].answer'"):
        ReplayBackend(tmp_path / "noanswer.json")
    with pytest.raises(DataError, match="not found"):
        ReplayBackend(tmp_path / "missing.jsonl")
