"""Logprob scoring: expected scores from the judge's top alternatives at the two score tokens."""

from __future__ import annotations

import math

import pytest

from mmrole.eval.logprob import expected_at, expected_pair
from mmrole.eval.parse import locate_scores
from mmrole.models.base import TokenLogprob


def _tok(token: str, top: dict[str, float] | None = None) -> TokenLogprob:
    top = {k: math.log(v) for k, v in (top or {token: 1.0}).items()}
    return TokenLogprob(token, top.get(token, 0.0), top)


def test_expected_pair_over_integer_alternatives_renormalised() -> None:
    tokens = [
        _tok("Good."),
        _tok(" [Scores]: ("),
        _tok("7", {"7": 0.5, "8": 0.25, "seven": 0.15}),  # 'seven' is not an integer token: dropped
        _tok(", "),
        _tok("8", {"8": 0.6, "9": 0.2, "11": 0.1}),  # 11 is outside 1..10: dropped
        _tok(")"),
    ]
    text = "".join(t.token for t in tokens)
    found = locate_scores(text)
    a, b = expected_pair(tokens, text, found)
    assert a == pytest.approx((7 * 0.5 + 8 * 0.25) / 0.75)
    assert b == pytest.approx((8 * 0.6 + 9 * 0.2) / 0.8)


def test_ten_split_into_two_digit_tokens() -> None:
    # Digit-by-digit tokenizers (SmolLM2, Qwen) write 10 as '1' + '0'.
    tokens = [
        _tok("[Scores]: ("),
        _tok("1", {"1": 0.6, "9": 0.4}),
        _tok("0", {"0": 0.5, ",": 0.5}),
        _tok(", "),
        _tok("9", {"9": 1.0}),
        _tok(")"),
    ]
    text = "".join(t.token for t in tokens)
    found = locate_scores(text)
    assert found.pair == (10.0, 9.0)
    a, b = expected_pair(tokens, text, found)
    # P(10) = 0.6 * 0.5, P(1) = 0.6 * 0.5, P(9) = 0.4.
    assert a == pytest.approx((10 * 0.3 + 1 * 0.3 + 9 * 0.4) / 1.0)
    assert b == 9.0


def test_prefill_offsets_and_tokens_with_spaces() -> None:
    prefill = "[Scores]: ("
    tokens = [_tok("6", {"6": 0.5, "5": 0.5}), _tok(","), _tok(" 8", {" 8": 0.5, " 9": 0.5}), _tok(")")]
    text = prefill + "".join(t.token for t in tokens)
    found = locate_scores(text)
    assert expected_pair(tokens, text, found, prefix_chars=len(prefill)) == (5.5, 8.5)


def test_no_usable_logprobs_gives_none() -> None:
    text = "x [Scores]: (7, 8)"
    found = locate_scores(text)
    assert expected_pair(None, text, found) is None
    assert expected_pair([_tok("something else")], text, found) is None  # tokens do not spell the text
    # The number sits inside a bigger token: not read.
    merged = [_tok("x [Scores]: ("), _tok("7, 8)")]
    assert expected_pair(merged, text, found) is None
    # Non-finite alternatives are ignored, not propagated.
    odd = TokenLogprob("7", math.log(0.5), {"7": math.log(0.5), "8": float("nan"), "9": float("-inf")})
    assert expected_at([odd], 0, "7") == 7.0
