"""The shared generator layer: reading replies, format retries within a budget, failures recorded
with their reasons, the store making reruns call nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from mmrole.build.generate import BuildFolder, GeneratorOptions, Task, run_tasks, tally
from mmrole.build.replies import ReplyError, json_object, language_problem, text_field
from mmrole.build.stage import StageSummary
from mmrole.engine.options import EngineOptions
from mmrole.errors import BackendError, ConfigError
from mmrole.models.base import Completion
from mmrole.testing import ScriptedBackend


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"a": "x"}', {"a": "x"}),
        ('```json\n{"a": "x"}\n```', {"a": "x"}),
        ('Here it is: {"a": "x"} Hope it helps.', {"a": "x"}),
    ],
)
def test_a_json_object_is_found_in_the_reply(reply, expected):
    assert json_object(reply) == expected


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("I cannot write that.", "not valid JSON"),
        ('{"a": "x", }', "not valid JSON"),
        ('{"dialogue": [{"speaker": "human", "text": "Hel', "stopped mid-reply"),
        ('["a", "b"]', "not a JSON object"),
    ],
)
def test_a_reply_without_a_json_object_is_refused_with_its_reason(reply, reason):
    with pytest.raises(ReplyError) as refused:
        json_object(reply)
    assert refused.value.reason == reason


def test_text_fields_must_hold_words():
    assert text_field({"a": ["one", "two"]}, "a") == "one\ntwo"
    assert text_field({"a": ""}, "a", allow_empty=True) == ""
    for data, reason in (
        ({}, "missing field: a"),
        ({"a": 3}, "missing field: a"),
        ({"a": " ... "}, "empty field: a"),
    ):
        with pytest.raises(ReplyError, match=reason):
            text_field(data, "a")
    with pytest.raises(ReplyError, match="empty field"):
        text_field({"a": "..."}, "a", allow_empty=True)  # a copied placeholder is not an empty string


def test_the_language_of_a_text_is_checked():
    assert language_problem("This is plainly an English sentence.", "English") is None
    assert language_problem("这是一句完全用中文写成的话。", "Chinese") is None
    assert language_problem("这是一句完全用中文写成的话。", "English") == "written in Chinese, not English"
    assert (
        language_problem("This is plainly an English sentence.", "Chinese")
        == "written in English, not Chinese"
    )
    assert language_problem("OK.", "Chinese") is None  # too short to tell


def _options(tmp_path: Path, **changes) -> GeneratorOptions:
    return GeneratorOptions(
        **{"root": tmp_path, "generator": "unused", "engine": EngineOptions(progress=False), **changes}
    )


def _task(key: str) -> Task[str]:
    def parse(text: str) -> str:
        value = text_field(json_object(text), "answer")
        if value == "wrong":
            raise ReplyError("wrong answer", f"got {value!r}")
        return value

    return Task(key, [{"role": "user", "content": f"question {key}"}], parse)


def _run(backend, tasks, options, summary=None):
    summary = summary or StageSummary("test")
    outcomes = asyncio.run(
        run_tasks(
            backend, tasks, folder=BuildFolder(options.root), stage="test", options=options, summary=summary
        )
    )
    return outcomes, summary


def test_a_refused_reply_is_asked_again_with_a_reminder_naming_the_reason(tmp_path):
    backend = ScriptedBackend(
        {
            "test:a": "not json at all",
            "test:a#retry1": '{"answer": "wrong"}',
            "test:a#retry2": '{"answer": "right"}',
            "test:b": '{"answer": "fine"}',
        }
    )
    outcomes, summary = _run(backend, [_task("a"), _task("b")], _options(tmp_path))
    assert outcomes["a"].value == "right" and outcomes["a"].attempts == 3
    assert outcomes["b"].value == "fine" and outcomes["b"].attempts == 1
    reminders = {call.request_id: call.text for call in backend.calls}
    assert "question a" in reminders["test:a#retry1"] and "not valid JSON" in reminders["test:a#retry1"]
    assert "wrong answer" in reminders["test:a#retry2"]
    assert summary.calls == 4


def test_after_the_budget_the_item_fails_with_its_reason_and_is_recorded(tmp_path):
    backend = ScriptedBackend(default='{"answer": "wrong"}')
    options = _options(tmp_path, format_retries=1)
    outcomes, summary = _run(backend, [_task("a"), _task("b")], options)
    assert [o.reason for o in outcomes.values()] == ["wrong answer", "wrong answer"]
    assert len(backend.calls) == 4  # first ask + one reminder each, no more
    failed = tally(summary, outcomes.values())
    folder = BuildFolder(tmp_path)
    path = folder.record_failures("test", outcomes, failed)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["key"], r["reason"], r["attempts"]) for r in records] == [
        ("a", "wrong answer", 2),
        ("b", "wrong answer", 2),
    ]
    assert records[0]["reply"] == '{"answer": "wrong"}' and summary.reasons == {"wrong answer": 2}

    # A later run over "a" alone replaces a's entry and keeps b's.
    fixed = ScriptedBackend({"test:a": '{"answer": "right"}'})
    outcomes, summary = _run(fixed, [_task("a")], _options(tmp_path, seed=1))
    folder.record_failures("test", outcomes, tally(summary, outcomes.values()))
    assert [json.loads(line)["key"] for line in path.read_text().splitlines()] == ["b"]


def test_a_rerun_is_answered_from_the_store_without_calls(tmp_path):
    backend = ScriptedBackend(
        {"test:a": "garbage", "test:a#retry1": '{"answer": "right"}'}, default='{"answer": "x"}'
    )
    options = _options(tmp_path)
    first, _ = _run(backend, [_task("a"), _task("b")], options)
    again = ScriptedBackend()  # answers nothing: every call would fail
    second, summary = _run(again, [_task("a"), _task("b")], options)
    assert again.calls == [] and summary.calls == 0
    assert (
        {k: o.value for k, o in second.items()}
        == {k: o.value for k, o in first.items()}
        == {"a": "right", "b": "x"}
    )


def test_a_transport_failure_is_a_failed_item_and_is_retried_on_the_next_run(tmp_path):
    backend = ScriptedBackend({"test:a": BackendError("HTTP 400: bad request")}, default='{"answer": "x"}')
    options = _options(tmp_path, engine=EngineOptions(progress=False, max_retries=0))
    outcomes, _ = _run(backend, [_task("a")], options)
    assert outcomes["a"].reason == "request failed" and "HTTP 400" in outcomes["a"].detail
    outcomes, summary = _run(ScriptedBackend(default='{"answer": "x"}'), [_task("a")], options)
    assert outcomes["a"].value == "x" and summary.calls == 1


def test_a_reply_cut_off_at_the_token_limit_says_so_and_a_whole_object_before_it_is_used(tmp_path):
    cut = Completion('{"answer": "half', finish_reason="length")
    rambling = Completion('{"answer": "whole"} and then it went on and on', finish_reason="length")
    backend = ScriptedBackend({"test:a": cut, "test:b": rambling})
    outcomes, _ = _run(backend, [_task("a"), _task("b")], _options(tmp_path, format_retries=0))
    assert outcomes["a"].reason == "cut off at the token limit"
    assert outcomes["b"].value == "whole"


def test_a_prefill_starts_the_reply_and_is_parsed_with_it(tmp_path):
    backend = ScriptedBackend(['answer": "primed"}'])
    outcomes, _ = _run(backend, [_task("a")], _options(tmp_path, prefill='{"'))
    assert outcomes["a"].value == "primed"
    assert backend.calls[0].messages[-1] == {"role": "assistant", "content": '{"'}


@pytest.mark.parametrize(
    ("changes", "flag"),
    [
        (lambda: {"engine": EngineOptions(concurrency=0)}, "--concurrency"),
        (lambda: {"format_retries": -1}, "--format-retries"),
        (lambda: {"limit": 0}, "--limit"),
        (lambda: {"generation": "by-sentence"}, "--generation"),
        (lambda: {"engine": EngineOptions(max_failures="lots")}, "max-failures"),
    ],
)
def test_impossible_settings_are_refused_in_one_line(tmp_path, changes, flag):
    with pytest.raises(ConfigError, match=flag):
        _options(tmp_path, **changes()).check()
