"""HFBackend.stream: the reply piece by piece, joining to what generate() says."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from mmrole.models.base import GenerationParams

LONG = GenerationParams(max_tokens=16)


@pytest.fixture(scope="module")
def backends(tiny_models: dict[str, Path]) -> dict[str, Any]:
    from mmrole.models.hf import HFBackend

    return {name: HFBackend(tiny_models[name]) for name in ("causal_lm", "qwen2vl")}


def _ask(image: str | None) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = [{"type": "text", "text": "What do you see?"}]
    if image is not None:
        content.insert(0, {"type": "image_url", "image_url": {"url": image}})
    return [{"role": "system", "content": "You are Iron Man."}, {"role": "user", "content": content}]


async def _pieces(backend: Any, messages: list[dict[str, Any]], params: GenerationParams) -> list[str]:
    return [piece async for piece in backend.stream(messages, params)]


@pytest.mark.parametrize("name", ("causal_lm", "qwen2vl"))
def test_streamed_pieces_join_to_the_generated_text(name, backends, blue_data_url):
    backend = backends[name]
    messages = _ask(blue_data_url)
    whole = asyncio.run(backend.generate(messages, LONG))
    pieces = asyncio.run(_pieces(backend, messages, LONG))
    assert whole.usage.completion_tokens == 16
    assert "".join(pieces) == whole.text
    assert len(pieces) > 4 and all(pieces)  # token by token, not one piece at the end


def test_stopping_early_frees_the_model_for_the_next_call(backends):
    backend = backends["causal_lm"]
    messages = _ask(None)

    async def first_piece_then_more() -> tuple[str, str]:
        stream = backend.stream(messages, GenerationParams(max_tokens=2000))
        first = await anext(stream)
        await stream.aclose()  # the person hit Ctrl-C: generation stops at the next token
        again = await asyncio.wait_for(backend.generate(messages, GenerationParams(max_tokens=3)), timeout=60)
        return first, again.text

    first, again = asyncio.run(first_piece_then_more())
    assert first and again


def test_stop_strings_come_as_one_piece(backends):
    backend = backends["causal_lm"]
    params = GenerationParams(max_tokens=8, stop=("zzz-never",))
    whole = asyncio.run(backend.generate(_ask(None), params))
    assert asyncio.run(_pieces(backend, _ask(None), params)) == [whole.text]
