"""The OpenAI-compatible backend against the real local server."""

from __future__ import annotations

import asyncio
import base64
import io

import pytest
from PIL import Image

from mmrole.errors import BackendError, DataError
from mmrole.models.base import GenerationParams
from mmrole.models.openai_compat import OpenAICompatBackend, retry_after_seconds
from mmrole.testing.bad_images import BAD_IMAGES
from mmrole.testing.http_wire import IMAGE_PROMPT_CHARS
from mmrole.testing.responders import Faults, InjectedError, Reply
from mmrole.testing.server import LocalOpenAIServer

USER = [{"role": "system", "content": "You are Iron Man."}, {"role": "user", "content": "Hello there"}]


def _generate(backend: OpenAICompatBackend, messages=USER, params: GenerationParams | None = None):
    return asyncio.run(backend.generate(messages, params or GenerationParams()))


def _error(backend: OpenAICompatBackend, messages=USER) -> BackendError:
    with pytest.raises(BackendError) as info:
        _generate(backend, messages)
    return info.value


@pytest.fixture(params=["lean", "httpx"])
def transport(request) -> str:
    return request.param


def test_generate_sends_params_and_maps_the_reply(transport):
    with LocalOpenAIServer() as server:
        backend = OpenAICompatBackend("test-model", server.base_url, transport=transport)
        params = GenerationParams(max_tokens=77, temperature=0.3, top_p=0.9, seed=5, stop=("END",))
        completion = _generate(backend, params=params)
        sent = server.last_payload
    assert completion.text == "Reply to: Hello there" and completion.finish_reason == "stop"
    assert completion.usage.completion_tokens == 4 and completion.usage.prompt_tokens > 0
    assert completion.logprobs is None
    assert sent["model"] == "test-model" and sent["messages"] == USER
    assert (sent["max_tokens"], sent["temperature"], sent["top_p"], sent["seed"], sent["stop"]) == (
        77,
        0.3,
        0.9,
        5,
        ["END"],
    )
    assert "logprobs" not in sent and "stream" not in sent


def test_logprobs_with_top_alternatives():
    def responder(messages):
        return Reply(
            "Score: 7",
            logprobs=[
                ("Score", -0.1, {"Score": -0.1, "score": -2.3}),
                (": 7", -0.5, {": 7": -0.5, ": 8": -1.2, ": 6": -3.0}),
            ],
        )

    with LocalOpenAIServer(responder) as server:
        backend = OpenAICompatBackend("m", server.base_url)
        completion = _generate(backend, params=GenerationParams(logprobs=True, top_logprobs=2))
        assert server.last_payload["logprobs"] is True and server.last_payload["top_logprobs"] == 2
    assert [(t.token, t.logprob) for t in completion.logprobs] == [("Score", -0.1), (": 7", -0.5)]
    assert completion.logprobs[1].top == {": 7": -0.5, ": 8": -1.2}


def test_image_file_paths_become_downscaled_data_urls(tmp_path):
    Image.new("RGB", (200, 100), "red").save(tmp_path / "wide.png")
    received = []

    def responder(messages):
        url = messages[1]["content"][0]["image_url"]["url"]
        received.append(url[:22])
        image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
        return f"{image.size[0]}x{image.size[1]}"

    image_part = {"type": "image_url", "image_url": {"url": str(tmp_path / "wide.png"), "detail": "low"}}
    messages = [USER[0], {"role": "user", "content": [image_part, {"type": "text", "text": "What is it?"}]}]
    with LocalOpenAIServer(responder) as server:
        full = _generate(OpenAICompatBackend("m", server.base_url), messages)
        capped = OpenAICompatBackend("m", server.base_url, max_image_side=50)
        small = _generate(capped, messages)
        assert server.last_payload["messages"][1]["content"][0]["image_url"]["detail"] == "low"
    assert full.text == "200x100" and small.text == "50x25"
    # an RGB picture shrinks to a JPEG, as every --max-image-side does (mmrole.images.downscale)
    assert received == ["data:image/png;base64,", "data:image/jpeg;base64"]
    assert capped.key_options == {"max_image_side": 50, "extra_body": {}}
    assert messages[1]["content"][0]["image_url"]["url"] == str(
        tmp_path / "wide.png"
    )  # caller's list untouched


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (401, False), (404, False), (408, True), (500, True), (503, True)]
)
def test_http_status_mapping(status, retryable):
    def responder(messages):
        raise InjectedError(status, f"status {status} says no")

    with LocalOpenAIServer(responder) as server:
        error = _error(OpenAICompatBackend("m", server.base_url))
    assert error.retryable is retryable
    assert f"HTTP {status}" in str(error) and f"status {status} says no" in str(error)


def test_429_carries_retry_after(transport):
    with LocalOpenAIServer(faults=Faults(rate_limit=1.0, retry_after=3)) as server:
        error = _error(OpenAICompatBackend("m", server.base_url, transport=transport))
    assert error.retryable and error.retry_after == 3.0 and "HTTP 429" in str(error)


@pytest.mark.parametrize("fault", ["drop", "garbage", "hang"])
def test_transport_faults_are_retryable(fault, transport):
    faults = Faults(**{fault: 1.0}, hang_seconds=1.0)
    with LocalOpenAIServer(faults=faults) as server:
        error = _error(OpenAICompatBackend("m", server.base_url, timeout=0.2, transport=transport))
    assert error.retryable, str(error)
    if fault == "hang":
        assert "timed out" in str(error)


def test_connection_refused_is_retryable():
    with LocalOpenAIServer() as server:
        url = server.base_url
    error = _error(OpenAICompatBackend("m", url, timeout=1.0))
    assert error.retryable and "connect" in str(error)


def test_stream_yields_deltas():
    async def collect(backend):
        return [delta async for delta in backend.stream(USER, GenerationParams())]

    with LocalOpenAIServer() as server:
        backend = OpenAICompatBackend("m", server.base_url)
        deltas = asyncio.run(collect(backend))
        assert server.last_payload["stream"] is True
    assert len(deltas) == 4 and "".join(deltas) == "Reply to: Hello there"


def test_api_key_is_sent_and_scrubbed_from_errors():
    secret = "sk-test-0123456789abcdef"
    with LocalOpenAIServer(require_api_key=secret) as server:
        good = OpenAICompatBackend("m", server.base_url, api_key=secret)
        assert _generate(good).text.startswith("Reply to")
        wrong = "sk-wrong-key-that-must-not-leak"
        bad = OpenAICompatBackend("m", server.base_url, api_key=wrong)
        error = _error(bad)
    assert not error.retryable and "HTTP 401" in str(error) and "***" in str(error)
    assert wrong not in str(error) and wrong not in repr(bad) and wrong not in bad.spec


def test_backend_survives_successive_event_loops_and_lists_models():
    with LocalOpenAIServer(model="served-model") as server:
        backend = OpenAICompatBackend("served-model", server.base_url)
        assert _generate(backend).text and _generate(backend).text  # a fresh loop each time
        assert asyncio.run(backend.list_models()) == ["served-model"]
        assert server.received == 2


def test_spec_names_model_and_endpoint():
    assert OpenAICompatBackend("gpt-4o").spec == "openai:gpt-4o"
    assert OpenAICompatBackend("q", "http://h:8000/v1/").spec == "openai:q@http://h:8000/v1"
    with pytest.raises(ValueError):
        OpenAICompatBackend("q", transport="carrier-pigeon")


def test_retry_after_header_forms():
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after_seconds({"retry-after": "soon"}) is None and retry_after_seconds({}) is None


def test_auto_transport_choice(monkeypatch):
    for name in (
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    assert not OpenAICompatBackend("m", "http://127.0.0.1:8000/v1")._use_httpx  # local server: lean client
    assert OpenAICompatBackend("m", "https://api.example.com/v1")._use_httpx  # TLS: httpx
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.corp:3128")
    assert OpenAICompatBackend("m", "http://vllm.corp:8000/v1")._use_httpx  # proxied: httpx
    monkeypatch.setenv("NO_PROXY", "vllm.corp")
    assert not OpenAICompatBackend("m", "http://vllm.corp:8000/v1")._use_httpx


def test_a_200_without_a_reply_is_a_retryable_error_never_an_empty_answer(transport):
    # Null content (plain, with a refusal, out of tokens), an empty choices list, no choices at all.
    with LocalOpenAIServer(faults=Faults(empty=1.0), seed=3) as server:
        backend = OpenAICompatBackend("m", server.base_url, transport=transport)
        errors = [_error(backend) for _ in range(20)]
        assert server.outcomes["empty"] == 20
    assert all(error.retryable for error in errors)
    texts = [str(error) for error in errors]
    assert all("null message content" in t or "no choices" in t for t in texts), texts
    assert any("null message content" in t for t in texts) and any("no choices" in t for t in texts)
    assert any("refusal: 'I cannot help with that.'" in t for t in texts)
    assert any("finish_reason 'length'" in t for t in texts)


def test_an_empty_string_reply_is_still_an_answer():
    with LocalOpenAIServer(lambda messages: "") as server:
        assert _generate(OpenAICompatBackend("m", server.base_url)).text == ""


@pytest.mark.parametrize("max_side", [None, 50], ids=["as-is", "downscaled"])
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in BAD_IMAGES])
def test_a_bad_image_file_is_one_error_and_is_not_sent(tmp_path, case, max_side):
    (tmp_path / case.name).write_bytes(case.data())
    urls = [str(tmp_path / case.name)]
    if max_side is not None:  # data URLs are read only to downscale them
        urls.append("data:image/png;base64," + base64.b64encode(case.data()).decode())
    with LocalOpenAIServer() as server:
        backend = OpenAICompatBackend("m", server.base_url, max_image_side=max_side)
        for url in urls:
            part = {"type": "image_url", "image_url": {"url": url}}
            with pytest.raises(DataError, match="field 'image_url'") as caught:
                _generate(backend, [{"role": "user", "content": [part, {"type": "text", "text": "?"}]}])
            assert case.error in str(caught.value)
            assert caught.value.file == (url if url.startswith("/") else None)
        assert server.received == 0


def test_the_local_server_counts_prompt_text_and_an_image_as_a_server_does(tmp_path):
    """Usage counts the text a request carries and a fixed amount per image, not its base64."""
    path = tmp_path / "big.png"
    Image.effect_noise((400, 300), 60).convert("RGB").save(path)
    text = "Describe it." * 10
    with LocalOpenAIServer() as server:
        backend = OpenAICompatBackend("test-model", server.base_url)
        plain = _generate(backend, [{"role": "user", "content": text}])
        shown = _generate(
            backend,
            [
                {"role": "system", "content": "You are Iron Man."},
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": str(path)}},
                        {"type": "text", "text": text},
                    ],
                },
            ],
        )
    assert plain.usage.prompt_tokens == len(text) // 4
    assert shown.usage.prompt_tokens == (len("You are Iron Man.") + IMAGE_PROMPT_CHARS + len(text)) // 4
