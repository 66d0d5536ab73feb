"""Generation that computes a batch's shared prompt prefix once.

MMRole-Eval sends 8 judge prompts per sample that differ only near the end (the metric
sentence): ~90% of each prompt is the same question, answer and reference. On a CPU, or any
device where prompt processing dominates, running that prefix once and continuing each prompt
as one batch from copies of its key/value cache is several times faster than a padded batch,
and the continuations still decode together, so long replies cost no more than in a padded
batch. (vLLM and SGLang do the same on their side of ``openai:...@URL``.)

Used by :class:`mmrole.models.hf.HFBackend` for text-only models; vision prompts are left to
batched generation because their image tokens are expanded inside the model, and so are models
whose cache is recurrent (:func:`can_share_prefix`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: A shared prefix shorter than this is not worth a separate forward pass.
MIN_SHARED_TOKENS = 64


@dataclass
class PrefixBatch:
    """A group's result, row ``i`` for prompt ``i``: generated ids, prompt lengths, and when asked the
    per-step logits (each ``[rows, vocab]``, unwarped, as ``generate(output_logits=True)`` gives them)."""

    generated: list[list[int]]
    prompt_tokens: list[int]
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


def can_share_prefix(model: Any) -> bool:
    """Whether the model's cache is plain key/value attention, which a padded continuation can extend.

    A recurrent (Mamba/linear-attention) state would run through the padding between a row's
    prefix and its suffix, so such models keep to ordinary batched generation.
    """
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer, LinearAttentionCacheLayerMixin

    layers = DynamicCache(config=model.config).layers
    return bool(layers) and all(
        isinstance(layer, DynamicLayer) and not isinstance(layer, LinearAttentionCacheLayerMixin)
        for layer in layers
    )


def generate_with_shared_prefix(
    model: Any, id_lists: Sequence[Sequence[int]], prefix_length: int, generation_kwargs: dict[str, Any]
) -> PrefixBatch:
    """Run ``prefix_length`` shared tokens once, then generate every prompt as one batch from that cache.

    Each row is laid out as ``prefix + padding + suffix``: the prefix's cache is repeated along the
    batch dimension, and the suffixes, of different lengths, are padded where the prefix ends.
    The attention mask covers the prefix and each row's own suffix, and ``generate`` numbers
    positions by counting the mask, so each suffix continues at ``prefix_length`` exactly as it
    would in its own full prompt: outputs and logits match one-at-a-time generation.

    Args:
        model: A transformers causal LM whose cache :func:`can_share_prefix` accepts.
        id_lists: The prompts' token ids (unpadded), all starting with the same ``prefix_length`` ids.
        prefix_length: From :func:`shared_prefix_length` (each prompt keeps at least one token of its own).
        generation_kwargs: What ``model.generate`` gets besides the inputs (``generation_config``...).

    Returns:
        The batch's generated ids (a finished row is padded with the pad token), prompt lengths and logits.
    """
    import torch
    from transformers import DynamicCache

    if not id_lists or not 0 < prefix_length < min(len(ids) for ids in id_lists):
        raise ValueError("every prompt needs the shared prefix and at least one token after it")
    device = model.device
    config = generation_kwargs.get("generation_config") or model.generation_config
    pad = config.pad_token_id if config.pad_token_id is not None else 0
    suffixes = [list(ids[prefix_length:]) for ids in id_lists]
    width = max(len(suffix) for suffix in suffixes)
    prefix = list(id_lists[0][:prefix_length])
    rows = [prefix + [pad] * (width - len(suffix)) + suffix for suffix in suffixes]
    mask = [[1] * prefix_length + [0] * (width - len(suffix)) + [1] * len(suffix) for suffix in suffixes]
    cache = DynamicCache(config=model.config)
    with torch.inference_mode():
        model(input_ids=torch.tensor([prefix], device=device), cache=cache, use_cache=True)
        cache.batch_repeat_interleave(len(rows))
        output = model.generate(
            input_ids=torch.tensor(rows, device=device),
            attention_mask=torch.tensor(mask, device=device),
            cache=cache,
            **generation_kwargs,
        )
    return PrefixBatch(
        generated=output.sequences[:, prefix_length + width :].tolist(),
        prompt_tokens=[len(ids) for ids in id_lists],
        logits=getattr(output, "logits", None),
    )
