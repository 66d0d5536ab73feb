"""HFBackend over tiny random VLMs (LLaVA, Idefics3, Qwen2-VL) and a tiny text-only causal LM."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from mmrole.errors import BackendError
from mmrole.models.base import GenerationParams

ALL_MODELS = ("llava", "idefics3", "qwen2vl", "causal_lm")
GREEDY = GenerationParams(max_tokens=6)


@pytest.fixture(scope="module")
def backends(tiny_models: dict[str, Path]) -> dict[str, Any]:
    from mmrole.models.hf import HFBackend

    return {name: HFBackend(folder) for name, folder in tiny_models.items()}


def ask(question: str, image: str | None = None, system: str = "You are Iron Man.") -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = [{"type": "text", "text": question}]
    if image is not None:
        content.insert(0, {"type": "image_url", "image_url": {"url": image}})
    return [{"role": "system", "content": system}, {"role": "user", "content": content}]


def run(backend: Any, messages: list[dict[str, Any]], params: GenerationParams = GREEDY):
    return asyncio.run(backend.generate(messages, params))


@pytest.mark.parametrize("name", ALL_MODELS)
def test_answers_an_image_message_deterministically(name, backends, blue_data_url, yellow_png):
    backend = backends[name]
    assert backend.spec.startswith("hf:") and backend.vision == (name != "causal_lm")
    for image in (blue_data_url, str(yellow_png), yellow_png.as_uri()):
        first = run(backend, ask("What do you see?", image))
        again = run(backend, ask("What do you see?", image))
        assert first.text and first.text == again.text
        assert first.usage.prompt_tokens > 5
        assert first.usage.completion_tokens == 6 and first.finish_reason == "length"


@pytest.mark.parametrize("name", ("llava", "idefics3", "qwen2vl"))
def test_the_image_reaches_the_vision_model(name, backends, blue_data_url, yellow_png):
    params = GenerationParams(max_tokens=1, logprobs=True)
    blue = run(backends[name], ask("What do you see?", blue_data_url), params)
    yellow = run(backends[name], ask("What do you see?", str(yellow_png)), params)
    assert blue.logprobs[0].logprob != yellow.logprobs[0].logprob
    assert "image_bridge" not in blue.metadata


@pytest.mark.parametrize("name", ALL_MODELS)
def test_concurrent_calls_are_batched_and_match_single_calls(name, backends, blue_data_url, yellow_png):
    backend = backends[name]
    conversations = [
        ask("What is this?", blue_data_url),
        ask("Tell me more about the colours, please.", str(yellow_png)),
        [{"role": "user", "content": "Hello there, who are you?"}],  # no image in this one
        ask("Hi", blue_data_url, system="You are Sherlock Holmes."),
    ]
    singles = [run(backend, messages) for messages in conversations]

    async def together():
        return await asyncio.gather(*(backend.generate(messages, GREEDY) for messages in conversations))

    before = len(backend._batcher.batch_sizes)
    batched = asyncio.run(together())
    assert max(backend._batcher.batch_sizes[before:]) > 1
    assert [c.text for c in batched] == [c.text for c in singles]
    assert [c.usage for c in batched] == [c.usage for c in singles]
    assert len({c.usage.prompt_tokens for c in singles}) > 1  # really different prompts, padded together


@pytest.mark.parametrize("name", ALL_MODELS)
def test_logprobs_with_top_alternatives(name, backends, blue_data_url):
    completion = run(
        backends[name],
        ask("Rate it 1-10.", blue_data_url),
        GenerationParams(max_tokens=4, logprobs=True, top_logprobs=3),
    )
    assert (
        completion.logprobs is not None
        and len(completion.logprobs) == completion.usage.completion_tokens == 4
    )
    for token in completion.logprobs:
        assert token.logprob < 0 and 1 <= len(token.top) <= 3
        # Greedy decoding picks the most likely token, so it heads its own alternatives.
        assert max(token.top.values()) == pytest.approx(token.logprob)
    assert run(backends[name], ask("Rate it 1-10.", blue_data_url)).logprobs is None


@pytest.mark.parametrize("name", ALL_MODELS)
def test_multi_turn_chat(name, backends, blue_data_url):
    backend = backends[name]
    first_turn = ask("What do you see?", blue_data_url)
    follow_up = [
        *first_turn,
        {"role": "assistant", "content": "A blue wall, as blue as my suit is red."},
        {"role": "user", "content": [{"type": "text", "text": "And what would you do with it?"}]},
    ]
    prompt = backend._prepare(follow_up, GREEDY).text
    assert "as blue as my suit" in prompt and prompt.index("What do you see?") < prompt.index(
        "what would you do"
    )
    one, two = run(backend, first_turn), run(backend, follow_up)
    assert two.usage.prompt_tokens > one.usage.prompt_tokens and two.text


def test_stop_strings_cut_the_answer(backends):
    backend = backends["causal_lm"]
    messages = [{"role": "user", "content": "Tell me a story."}]
    full = run(backend, messages, GenerationParams(max_tokens=8)).text
    stop = full[len(full) // 2 : len(full) // 2 + 2]
    cut = run(backend, messages, GenerationParams(max_tokens=8, stop=(stop,)))
    assert cut.finish_reason == "stop" and full.startswith(cut.text) and stop not in cut.text


def test_seeded_sampling_repeats_and_runs_alone(backends, blue_data_url):
    backend = backends["qwen2vl"]
    messages = ask("Say something.", blue_data_url)
    draws = [
        run(backend, messages, GenerationParams(max_tokens=8, temperature=1.0, seed=seed)).text
        for seed in (1, 1, 2)
    ]
    assert draws[0] == draws[1] != draws[2]

    async def two_seeded():
        params = GenerationParams(max_tokens=4, temperature=1.0, seed=7)
        return await asyncio.gather(backend.generate(messages, params), backend.generate(messages, params))

    before = len(backend._batcher.batch_sizes)
    a, b = asyncio.run(two_seeded())
    assert a.text == b.text and backend._batcher.batch_sizes[before:] == [1, 1]


def test_text_only_model_reports_the_image_bridge(backends, blue_data_url, yellow_png, tmp_path):
    backend = backends["causal_lm"]
    annotated = ask("The auxiliary information of the image is as follows:\nRoles: Iron Man", blue_data_url)
    assert run(backend, annotated).metadata == {"image_bridge": "annotation"}
    captioned = ask("What is this?", None)
    captioned[1]["content"].insert(
        0, {"type": "image_url", "image_url": {"url": blue_data_url, "caption": "A blue wall."}}
    )
    assert run(backend, captioned).metadata == {"image_bridge": "caption"}
    assert "A blue wall." in backend._prepare(captioned, GREEDY).text
    assert run(backend, ask("What is this?", str(yellow_png))).metadata == {"image_bridge": "placeholder"}
    assert "yellow" in backend._prepare(ask("What is this?", str(yellow_png)), GREEDY).text
    assert run(backend, [{"role": "user", "content": "Hi"}]).metadata == {}


def test_a_bad_image_fails_alone(backends, blue_data_url, tmp_path):
    backend = backends["llava"]
    with pytest.raises(BackendError, match="cannot read image") as caught:
        run(backend, ask("?", str(tmp_path / "missing.png")))
    assert not caught.value.retryable

    async def mixed():
        good = backend.generate(ask("What is this?", blue_data_url), GREEDY)
        bad = backend.generate(ask("What is this?", "data:image/png;base64,bm90IGFuIGltYWdl"), GREEDY)
        return await asyncio.gather(good, bad, return_exceptions=True)

    good, bad = asyncio.run(mixed())
    assert good.text == run(backend, ask("What is this?", blue_data_url)).text
    assert isinstance(bad, BackendError)


def test_malformed_messages_are_backend_errors(backends):
    with pytest.raises(BackendError, match="no messages"):
        run(backends["llava"], [])
    with pytest.raises(BackendError, match="cannot build the prompt: KeyError"):
        run(backends["qwen2vl"], [{"content": "a message without a role"}])


def test_end_of_sequence_token_ends_the_answer(backends, tiny_models, tmp_path):
    import json
    import shutil

    from mmrole.models.hf import HFBackend

    messages = [{"role": "user", "content": "Tell me a story."}]
    plain = backends["causal_lm"]
    inputs = plain._encode([plain._prepare(messages, GREEDY)])
    ids = plain.model.generate(**inputs, max_new_tokens=3, do_sample=False)[
        0, inputs["input_ids"].shape[1] :
    ].tolist()
    # A copy of the model whose end-of-sequence token is the one it says second.
    folder = shutil.copytree(tiny_models["causal_lm"], tmp_path / "stops")
    generation = json.loads((folder / "generation_config.json").read_text())
    (folder / "generation_config.json").write_text(json.dumps({**generation, "eos_token_id": ids[1]}))
    completion = run(HFBackend(folder), messages)
    stop_at = ids.index(ids[1])
    assert completion.finish_reason == "stop" and completion.usage.completion_tokens == stop_at + 1
    assert completion.text == plain.tokenizer.decode(ids[:stop_at], skip_special_tokens=True)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_a_final_assistant_message_is_continued_not_answered(name, backends, blue_data_url):
    """Prefill (vLLM's continue_final_message): the judge's reply is started with '[Scores]: ('."""
    backend = backends[name]
    prefilled = [*ask("Score this.", blue_data_url), {"role": "assistant", "content": "[Scores]: ("}]
    prompt = backend._prepare(prefilled, GREEDY).text
    opened = backend._prepare(ask("Score this.", blue_data_url), GREEDY).text
    # The prompt ends inside the assistant's turn, right after the prefill: no end-of-turn, no new turn.
    assert prompt.rstrip().endswith("[Scores]: (")
    assert prompt.startswith(opened) or opened.rstrip() in prompt
    assert run(backend, prefilled).usage.completion_tokens > 0
