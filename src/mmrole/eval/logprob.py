"""Logprob scoring: the expected score instead of the sampled one (pure functions).

With ``--scoring logprob`` the judge returns per-token logprobs with the top alternatives
at each position. The two score numbers of ``[Scores]: (a, b)`` are located in the
generated tokens, and each score becomes the expectation over the alternatives at its
position that are integers 1..10, renormalised over those alternatives. This uses the
judge's uncertainty (a 7-or-8 judgement scores 7.5, not whichever was sampled) and needs
no long generations to average over.

Tokenizers that split ``10`` into ``1`` + ``0`` are handled when the judge wrote 10: the
``1`` alternative is split into 10 and 1 by the probability of ``0`` at the next position.
When the judge wrote another number, a ``1`` alternative counts as 1 (the continuation
after a ``1`` is unknown).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from mmrole.eval.parse import ScorePair

_STRIP = " \t\n\r(（▁Ġ"


class TokenLike(Protocol):
    token: str
    logprob: float
    top: dict[str, float]


def _integer(token: str) -> int | None:
    text = token.strip(_STRIP)
    if text.isascii() and text.isdigit() and 1 <= int(text) <= 10 and text == str(int(text)):
        return int(text)
    return None


def token_offsets(tokens: Sequence[TokenLike]) -> list[int]:
    """The character offset at which each token starts in the concatenated text."""
    offsets, position = [], 0
    for token in tokens:
        offsets.append(position)
        position += len(token.token)
    return offsets


def _token_at(offsets: list[int], tokens: Sequence[TokenLike], char: int) -> int | None:
    for index in range(len(tokens) - 1, -1, -1):
        if offsets[index] <= char < offsets[index] + max(len(tokens[index].token), 1):
            return index
    return None


def expected_at(tokens: Sequence[TokenLike], index: int, written: str) -> float | None:
    """The expected integer score at token ``index`` where the judge wrote ``written``; None if not applicable."""
    token = tokens[index]
    alternatives = dict(token.top)
    alternatives.setdefault(token.token, token.logprob)
    split_ten = (
        written == "10"
        and token.token.strip(_STRIP) == "1"
        and index + 1 < len(tokens)
        and tokens[index + 1].token == "0"
    )
    if not split_ten and _integer(token.token) != _integer(written):
        return None  # the number does not sit in one token the way we can read
    weights: dict[int, float] = {}
    p_zero = math.exp(tokens[index + 1].logprob) if split_ten else 0.0
    for alternative, logprob in alternatives.items():
        value = _integer(alternative)
        if value is None or not math.isfinite(logprob):
            continue
        probability = math.exp(logprob)
        if split_ten and value == 1:
            weights[10] = weights.get(10, 0.0) + probability * p_zero
            weights[1] = weights.get(1, 0.0) + probability * (1.0 - p_zero)
        else:
            weights[value] = weights.get(value, 0.0) + probability
    total = sum(weights.values())
    if total <= 0:
        return None
    return sum(value * weight for value, weight in weights.items()) / total


def expected_pair(
    tokens: Sequence[TokenLike] | None, text: str, found: ScorePair, *, prefix_chars: int = 0
) -> tuple[float, float] | None:
    """The expected ``(a, b)`` of a parsed reply from its token logprobs, or None when unavailable.

    Args:
        tokens: The completion's tokens (their texts must concatenate to the completion text).
        text: The text the pair was parsed from: ``prefix + completion``.
        found: The parsed pair with the character spans of its numbers in ``text``.
        prefix_chars: Characters before the completion in ``text`` (an assistant prefill).
    """
    if not tokens or "".join(t.token for t in tokens) != text[prefix_chars:]:
        return None
    offsets = token_offsets(tokens)
    values = []
    for start, end in found.spans:
        if start < prefix_chars:
            return None  # the number was part of the prefill, not generated
        index = _token_at(offsets, tokens, start - prefix_chars)
        if index is None:
            return None
        value = expected_at(tokens, index, text[start:end])
        if value is None:
            return None
        values.append(value)
    return (values[0], values[1])
