"""mmrole.testing.ScriptedBackend: replies from a list, a function or a dict; calls recorded; errors raised."""

from __future__ import annotations

import asyncio

import pytest

from mmrole.engine import Backoff, Request, run_requests_sync
from mmrole.errors import BackendError, MMRoleError
from mmrole.models.base import Completion, GenerationParams, TokenLogprob
from mmrole.testing import Call, ScriptedBackend, StreamingScriptedBackend

FAST = Backoff(base_delay=0.001, max_delay=0.001)


def _ask(backend: ScriptedBackend, text: str, params: GenerationParams | None = None) -> Completion:
    return asyncio.run(backend.generate([{"role": "user", "content": text}], params or GenerationParams()))


def _requests(n: int) -> list[Request]:
    return [Request(f"r{i}", [{"role": "user", "content": f"question {i}"}]) for i in range(n)]


def test_a_list_is_answered_in_order_and_raises_its_errors_then_runs_out() -> None:
    backend = ScriptedBackend(["Ahoy.", BackendError("HTTP 503", retryable=True), "Fair winds."])
    assert _ask(backend, "one").text == "Ahoy."
    with pytest.raises(BackendError, match="HTTP 503") as err:
        _ask(backend, "two")
    assert err.value.retryable
    assert _ask(backend, "three", GenerationParams(max_tokens=7)).text == "Fair winds."
    with pytest.raises(BackendError, match="scripted: the script is used up") as used_up:
        _ask(backend, "four")
    assert not used_up.value.retryable and isinstance(used_up.value, MMRoleError)
    # Every call is recorded, failed ones too, with its messages, params and text.
    assert [call.text for call in backend.calls] == ["one", "two", "three", "four"]
    assert backend.calls[2].params.max_tokens == 7
    assert backend.calls[0].messages == [{"role": "user", "content": "one"}]
    assert backend.calls[0].request_id is None and not backend.calls[0].streamed


def test_a_function_answers_from_the_call() -> None:
    backend = ScriptedBackend(lambda call: f"You said: {call.text} (draw {call.params.draw})")
    assert _ask(backend, "hello", GenerationParams(draw=2)).text == "You said: hello (draw 2)"


def test_a_dict_scripts_each_request_id_through_the_engine() -> None:
    """The engine sets the request id: an id's attempts take its list in turn, then the default."""
    script = {
        "r0": [BackendError("HTTP 429", retryable=True), BackendError("HTTP 500", retryable=True)],
        "r1": "fixed answer",
        "r2": [BackendError("HTTP 400: bad request")],
    }
    backend = ScriptedBackend(script, default=lambda call: f"answer {call.request_id}")
    results = run_requests_sync(backend, _requests(4), progress=False, backoff=FAST)
    assert [r.completion.text if r.ok else r.error for r in results] == [
        "answer r0",
        "fixed answer",
        "HTTP 400: bad request",
        "answer r3",
    ]
    assert [backend.attempts(f"r{i}") for i in range(4)] == [3, 1, 1, 1]
    assert {call.request_id for call in backend.calls} == {"r0", "r1", "r2", "r3"}


def test_an_id_missing_from_the_dict_without_default_is_a_recorded_failure() -> None:
    backend = ScriptedBackend({"r0": "only this one"})
    first, second = run_requests_sync(backend, _requests(2), progress=False, backoff=FAST)
    assert first.completion.text == "only this one"
    assert not second.ok and "no reply for request 'r1'" in second.error and second.attempts == 1


def test_a_completion_reply_keeps_its_logprobs() -> None:
    tokens = [TokenLogprob("7", -0.1, {"7": -0.1, "8": -2.3})]
    backend = ScriptedBackend(default=Completion(text="7", logprobs=tokens, finish_reason="length"))
    completion = _ask(backend, "score it")
    assert completion.logprobs == tokens and completion.finish_reason == "length"
    assert _ask(backend, "again").text == "7"  # the default answers every call


def test_delay_and_concurrency_are_seen_by_the_engine() -> None:
    backend = ScriptedBackend(default="ok", delay=0.01, max_concurrency=2)
    results = run_requests_sync(backend, _requests(6), concurrency=8, progress=False, backoff=FAST)
    assert all(r.ok for r in results)
    assert backend.peak == 2 and backend.in_flight == 0  # the engine capped its pool to max_concurrency


def test_streaming_yields_words_and_raises_before_the_first_piece() -> None:
    backend = StreamingScriptedBackend(["Steady light, steady heart.", BackendError("connection dropped")])

    async def collect() -> list[str]:
        return [
            piece async for piece in backend.stream([{"role": "user", "content": "hi"}], GenerationParams())
        ]

    assert asyncio.run(collect()) == ["Steady", " light,", " steady", " heart."]
    assert backend.chunks == ["Steady", " light,", " steady", " heart."]
    with pytest.raises(BackendError, match="dropped"):
        asyncio.run(collect())
    assert backend.chunks == ["Steady", " light,", " steady", " heart."]  # nothing streamed from the error
    assert [call.streamed for call in backend.calls] == [True, True]
    assert backend.spec == "scripted-stream"


def test_a_reply_of_another_type_is_a_clear_error() -> None:
    backend = ScriptedBackend(lambda call: 42)  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match="a str, a Completion or an exception, not int"):
        _ask(backend, "x")


def test_call_text_is_the_last_user_messages_text() -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "x.png"}},
                {"type": "text", "text": "Who?"},
            ],
        },
        {"role": "assistant", "content": "[Scores]: ("},
    ]
    assert Call(messages, GenerationParams(), "s1").text == "Who?"
