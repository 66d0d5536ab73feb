"""Generated token ids -> a :class:`~mmrole.models.base.Completion`: where the reply ends, its
text, its finish reason and its logprobs (the part of :class:`~mmrole.models.hf.HFBackend` that
reads what ``generate`` returned, for a padded batch and the shared-prefix path alike)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import torch

from mmrole.models.base import Completion, GenerationParams, TokenLogprob, Usage


def completion_from_ids(
    tokenizer: Any,
    eos_ids: Collection[int],
    ids: list[int],
    *,
    params: GenerationParams,
    prompt_tokens: int,
    row: int,
    logits: Any,
    bridge: str | None = None,
) -> Completion:
    """The completion of one row of a batch: ``ids`` its generated tokens, ``logits`` the batch's
    per-step logits (read only when ``params.logprobs``), ``bridge`` how its images became text."""
    finish, length, kept = "length", len(ids), len(ids)
    for position, token_id in enumerate(ids):
        if token_id in eos_ids:  # the end-of-sequence token counts as generated
            finish, length, kept = "stop", position + 1, position
            break
        if token_id == tokenizer.pad_token_id:  # padding after a stop string in a batch
            finish, length, kept = "stop", position, position
            break
    text = tokenizer.decode(ids[:kept], skip_special_tokens=True)
    for stop in params.stop or ():
        if stop in text:
            text, finish = text[: text.index(stop)], "stop"
    return Completion(
        text=text,
        finish_reason=finish,
        usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=length),
        logprobs=token_logprobs(tokenizer, row, ids[:kept], logits, params.top_logprobs)
        if params.logprobs
        else None,
        metadata={"image_bridge": bridge} if bridge else {},
    )


def token_logprobs(tokenizer: Any, row: int, ids: list[int], logits: Any, top: int) -> list[TokenLogprob]:
    """Per-token logprobs from the raw (unwarped) logits, with the ``top`` best alternatives."""
    tokens = []
    for step, token_id in enumerate(ids):
        logprobs = torch.log_softmax(logits[step][row].float(), dim=-1)
        alternatives: dict[str, float] = {}
        if top > 0:
            values, indices = torch.topk(logprobs, top)
            for value, index in zip(values.tolist(), indices.tolist(), strict=True):
                name = tokenizer.decode([index])
                alternatives[name] = max(value, alternatives.get(name, float("-inf")))
        tokens.append(TokenLogprob(tokenizer.decode([token_id]), float(logprobs[token_id]), alternatives))
    return tokens
