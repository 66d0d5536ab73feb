"""Shared-prefix generation (a sample's 8 judge prompts): same answers as one at a time, prefix run once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mmrole.models.base import GenerationParams
from mmrole.models.prefix_cache import MIN_SHARED_TOKENS, shared_prefix_length

SHARED = "Model A said the sky is green and Model B said the sky is blue. " * 12
OTHER = "Model A talked about a lighthouse and Model B about the sea at dusk. " * 12
ASPECTS = ("Fluency", "Coherency", "Tone Consistency", "Image-Text Relevance")
PARAMS = GenerationParams(max_tokens=5, logprobs=True, top_logprobs=3)


def judge_prompt(aspect: str, shared: str = SHARED) -> list[dict[str, Any]]:
    return [{"role": "user", "content": f"{shared}\nPlease evaluate: {aspect}"}]


#: One micro-batch mixing two samples' judge prompts and a short unrelated prompt.
MIXED = [
    *(judge_prompt(a) for a in ASPECTS),
    *(judge_prompt(a, OTHER) for a in ASPECTS[:2]),
    [{"role": "user", "content": "Hello there."}],
]


def test_shared_prefix_length_leaves_each_prompt_a_token():
    assert shared_prefix_length([[1, 2, 3], [1, 2, 3]]) == 2
    assert shared_prefix_length([[1, 2, 3, 4], [1, 2, 3, 5], [1, 2, 9]]) == 2
    assert shared_prefix_length([[7], [7, 8]]) == 0
    assert shared_prefix_length([]) == 0


def test_prompts_group_by_their_start():
    from mmrole.models.prefix_cache import group_by_prefix

    a, b = [1] * MIN_SHARED_TOKENS, [2] * MIN_SHARED_TOKENS
    assert group_by_prefix([a + [5], b + [6], a + [7], [9], b + [8], a]) == [[0, 2], [1, 4]]


def test_batched_judge_prompts_match_one_at_a_time_and_share_the_prefix(tiny_models, monkeypatch):
    from mmrole.models import hf, prefix_cache
    from mmrole.models.hf import HFBackend

    one_at_a_time = HFBackend(tiny_models["causal_lm"], max_batch_size=1)
    singles = [asyncio.run(one_at_a_time.generate(messages, PARAMS)) for messages in MIXED]

    calls: list[int] = []
    real = prefix_cache.generate_with_shared_prefix

    def counting(model, id_lists, prefix_length, kwargs):
        calls.append(prefix_length)
        return real(model, id_lists, prefix_length, kwargs)

    monkeypatch.setattr(hf, "generate_with_shared_prefix", counting)
    batched_backend = HFBackend(tiny_models["causal_lm"], max_batch_size=len(MIXED), batch_wait_ms=50)

    async def together():
        return await asyncio.gather(*(batched_backend.generate(messages, PARAMS) for messages in MIXED))

    batched = asyncio.run(together())
    # One shared-prefix run per sample; the short prompt went through the padded batch.
    assert len(calls) == 2 and min(calls) >= MIN_SHARED_TOKENS, calls
    for single, joint in zip(singles, batched, strict=True):
        assert joint.text == single.text
        assert joint.usage.prompt_tokens == single.usage.prompt_tokens
        assert joint.usage.completion_tokens == single.usage.completion_tokens
        assert [t.token for t in joint.logprobs] == [t.token for t in single.logprobs]
        for a, b in zip(joint.logprobs, single.logprobs, strict=True):
            assert a.logprob == pytest.approx(b.logprob, abs=1e-4)
            assert set(a.top) == set(b.top)
