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


# -- the batched continuation itself, against one-at-a-time generate ------------------------------

SUFFIXES = ("Fluency", "Tone Consistency and Personality", "Image-Text Relevance of the whole reply", "x")


@pytest.fixture(scope="module")
def causal_lm(tiny_models):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_models["causal_lm"]).eval()
    return model, AutoTokenizer.from_pretrained(tiny_models["causal_lm"])


def judge_ids(tokenizer) -> list[list[int]]:
    """A sample's judge prompts: one long start, then suffixes of different token lengths."""
    start = tokenizer(SHARED, add_special_tokens=False)["input_ids"]
    ids = [
        start + tokenizer(f"\nPlease evaluate: {s}", add_special_tokens=False)["input_ids"] for s in SUFFIXES
    ]
    assert len({len(i) for i in ids}) == len(ids)  # every suffix length differs
    return ids


def generation_config(model, **settings):
    from transformers import GenerationConfig

    config = GenerationConfig.from_dict(model.generation_config.to_dict())
    config.update(do_sample=False, return_dict_in_generate=True, output_logits=True, **settings)
    return config


def one_at_a_time(model, id_lists, config):
    """Each prompt through plain ``generate``: generated ids and per-step log-probabilities."""
    import torch

    runs = []
    with torch.inference_mode():
        for ids in id_lists:
            inputs = torch.tensor([ids])
            output = model.generate(
                input_ids=inputs, attention_mask=torch.ones_like(inputs), generation_config=config
            )
            runs.append(
                (
                    output.sequences[0, len(ids) :].tolist(),
                    [step[0].log_softmax(-1) for step in output.logits],
                )
            )
    return runs


def assert_rows_match(batch, singles, eos_ids, pad_id):
    import torch

    for row, (ids, logprobs) in enumerate(singles):
        generated = batch.generated[row]
        assert generated[: len(ids)] == ids, row
        # A row that stopped early is padded while the others go on.
        assert all(token == pad_id for token in generated[len(ids) :]), row
        if len(ids) < len(generated):
            assert ids[-1] in eos_ids
        for step, expected in enumerate(logprobs):
            actual = batch.logits[step][row].log_softmax(-1)
            torch.testing.assert_close(actual, expected, atol=1e-4, rtol=0)


def test_continuations_decode_as_one_batch_equal_to_one_at_a_time(causal_lm):
    from mmrole.models.prefix_cache import generate_with_shared_prefix

    model, tokenizer = causal_lm
    id_lists = judge_ids(tokenizer)
    config = generation_config(model, max_new_tokens=12, min_new_tokens=12)
    singles = one_at_a_time(model, id_lists, config)

    forwards: list[int] = []
    hook = model.register_forward_hook(lambda module, args, kwargs_out: forwards.append(1))
    try:
        batch = generate_with_shared_prefix(
            model, id_lists, shared_prefix_length(id_lists), {"generation_config": config}
        )
    finally:
        hook.remove()
    # One pass over the prefix, then one batched step per new token (not one per prompt per token).
    assert len(forwards) == 1 + 12, len(forwards)
    assert batch.prompt_tokens == [len(ids) for ids in id_lists]
    assert all(len(ids) == 12 for ids in batch.generated)
    assert_rows_match(batch, singles, set(), config.pad_token_id)


def test_a_continuation_that_ends_early_stops_alone(causal_lm):
    from mmrole.models.prefix_cache import generate_with_shared_prefix

    model, tokenizer = causal_lm
    id_lists = judge_ids(tokenizer)
    free = one_at_a_time(model, id_lists, generation_config(model, max_new_tokens=8, eos_token_id=None))
    # Make the token row 0 writes third the end of sequence, so row 0 stops early and the others go on.
    eos = free[0][0][2]
    assert any(eos not in ids for ids, _ in free[1:])
    config = generation_config(model, max_new_tokens=8, eos_token_id=eos)
    singles = one_at_a_time(model, id_lists, config)
    assert len(singles[0][0]) <= 3 and max(len(ids) for ids, _ in singles) == 8

    batch = generate_with_shared_prefix(
        model, id_lists, shared_prefix_length(id_lists), {"generation_config": config}
    )
    assert_rows_match(batch, singles, {eos}, config.pad_token_id)


def test_shared_prefix_uses_the_cache_api_without_deprecated_arguments(causal_lm):
    import warnings

    from mmrole.models.prefix_cache import can_share_prefix, generate_with_shared_prefix

    model, tokenizer = causal_lm
    id_lists = judge_ids(tokenizer)
    assert can_share_prefix(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # transformers' deprecated `past_key_values`
        generate_with_shared_prefix(
            model,
            id_lists,
            shared_prefix_length(id_lists),
            {"generation_config": generation_config(model, max_new_tokens=3)},
        )
