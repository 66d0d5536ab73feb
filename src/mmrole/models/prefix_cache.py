"""Generation that computes a batch's shared prompt prefix once.

MMRole-Eval sends 8 judge prompts per sample that differ only near the end (the metric
sentence): ~90% of each prompt is the same question, answer and reference. On a CPU, or any
device where prompt processing dominates, running that prefix once and continuing each prompt
from a copy of its key/value cache is several times faster than a padded batch. (vLLM and
SGLang do the same on their side of ``openai:...@URL``.)

Used by :class:`mmrole.models.hf.HFBackend` for text-only models; vision prompts are left to
batched generation because their image tokens are expanded inside the model.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: A shared prefix shorter than this is not worth a separate forward pass.
MIN_SHARED_TOKENS = 64


@dataclass
class PrefixRun:
    """One prompt's result: generated ids, and the per-step logits (each ``[1, vocab]``) when asked."""

    generated: list[int]
    prompt_tokens: int
    logits: tuple[Any, ...] | None


def shared_prefix_length(id_lists: Sequence[Sequence[int]]) -> int:
    """Tokens all prompts start with, leaving each prompt at least one token of its own.

    >>> shared_prefix_length([[1, 2, 3, 4], [1, 2, 3, 5], [1, 2, 9]])
    2
    """
    if not id_lists:
        return 0
    first, shortest = id_lists[0], min(len(ids) for ids in id_lists)
    length = 0
    while length < shortest - 1 and all(ids[length] == first[length] for ids in id_lists):
        length += 1
    return length


def group_by_prefix(id_lists: Sequence[Sequence[int]]) -> list[list[int]]:
    """Indices of prompts that share their first :data:`MIN_SHARED_TOKENS` tokens, groups of two or more.

    A micro-batch can mix several samples' judge prompts: each sample's prompts form a group.

    >>> group_by_prefix([[1] * 70 + [2], [3] * 70, [1] * 70 + [4], [5]])
    [[0, 2]]
    """
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, ids in enumerate(id_lists):
        if len(ids) > MIN_SHARED_TOKENS:
            groups.setdefault(tuple(ids[:MIN_SHARED_TOKENS]), []).append(index)
    return [members for members in groups.values() if len(members) > 1]


def generate_with_shared_prefix(
    model: Any, id_lists: Sequence[Sequence[int]], prefix_length: int, generation_kwargs: dict[str, Any]
) -> list[PrefixRun]:
    """Run ``prefix_length`` shared tokens once, then generate each prompt from a copy of that cache.

    Args:
        model: A transformers causal LM.
        id_lists: The prompts' token ids (unpadded), all starting with the same ``prefix_length`` ids.
        prefix_length: From :func:`shared_prefix_length`.
        generation_kwargs: What ``model.generate`` gets besides the inputs (generation config...).
    """
    import torch
    from transformers import DynamicCache

    device = model.device
    prefix = torch.tensor([list(id_lists[0][:prefix_length])], device=device)
    cache = DynamicCache(config=model.config)
    with torch.inference_mode():
        model(input_ids=prefix, past_key_values=cache, use_cache=True)
        runs = []
        for ids in id_lists:
            inputs = torch.tensor([list(ids)], device=device)
            output = model.generate(
                input_ids=inputs,
                attention_mask=torch.ones_like(inputs),
                past_key_values=copy.deepcopy(cache),
                **generation_kwargs,
            )
            runs.append(
                PrefixRun(
                    generated=output.sequences[0, len(ids) :].tolist(),
                    prompt_tokens=len(ids),
                    logits=getattr(output, "logits", None),
                )
            )
    return runs
