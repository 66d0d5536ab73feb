"""Reading the score pair out of a judge's reply.

MMRole-Eval judges reply ``{qualitative evaluation}, [Scores]: (a, b)``. MMRole's own
parser takes the text after the single ``[Scores]:``, its first line, drops the
parentheses, splits on the comma into exactly two parts, drops an optional ``label:``
prefix of each part and reads two floats. :func:`locate_scores` does exactly that
first (so every released review gives back its stored pair) and, only when that
fails, falls back to more lenient readings of the same format (the last
``[Scores]`` marker, a newline after the marker, a ``(a, b)`` pair at the end).

Nothing here raises: a reply without a usable pair gives ``None``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SCORES_MARKER = "[Scores]:"

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?"
# One comma-separated part of MMRole's score line: optional parentheses and ``label:``, one number.
_PART = re.compile(rf"[\s()]*(?:[^:]*:)?[\s()]*({_NUMBER})[\s()]*")
# Lenient: a scores marker (any case, optional brackets/colon), then two numbers (optionally labelled, ``/10``).
_LABEL = r"(?:[^\d\s,()\n:][^,()\n:]{0,40}[:：]\s*)?"
_LENIENT_MARKED = re.compile(
    rf"\[?\s*scores?\s*\]?\s*[:：]?\s*\(?\s*{_LABEL}({_NUMBER})\s*(?:/\s*10)?\s*[,，]\s*{_LABEL}({_NUMBER})(?!\d|\s*[,，]\s*\d)",
    re.IGNORECASE,
)
_LENIENT_PAIR = re.compile(rf"\(\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\)")


@dataclass(frozen=True)
class ScorePair:
    """A parsed pair and where its two numbers sit in the reply (character offsets).

    Attributes:
        a: Model A's score.
        b: Model B's score.
        spans: ``(start, end)`` of each number in the reply text, for logprob scoring.
        strict: True when MMRole's own parsing rule found it; False for a lenient fallback.
    """

    a: float
    b: float
    spans: tuple[tuple[int, int], tuple[int, int]]
    strict: bool = True

    @property
    def pair(self) -> tuple[float, float]:
        return (self.a, self.b)


def _valid(a: float, b: float) -> bool:
    # b is a divisor (score = a / b); a negative or infinite score is no score.
    return math.isfinite(a) and math.isfinite(b) and a >= 0 and b > 0


def _strict(text: str) -> ScorePair | None:
    """MMRole's rule: exactly one marker; first line after it; two comma-separated numbers."""
    if text.count(SCORES_MARKER) != 1:
        return None
    start = text.index(SCORES_MARKER) + len(SCORES_MARKER)
    end = text.find("\n", start)
    line = text[start : end if end >= 0 else len(text)]
    parts = line.split(",")
    if len(parts) != 2:
        return None
    values: list[float] = []
    spans: list[tuple[int, int]] = []
    offset = start
    for part in parts:
        match = _PART.fullmatch(part)
        if match is None:
            return None
        values.append(float(match.group(1)))
        spans.append((offset + match.start(1), offset + match.end(1)))
        offset += len(part) + 1
    if not _valid(values[0], values[1]):
        return None
    return ScorePair(values[0], values[1], (spans[0], spans[1]), strict=True)


def _lenient(text: str) -> ScorePair | None:
    """The last marked pair, else the last parenthesised ``(a, b)`` pair."""
    for pattern in (_LENIENT_MARKED, _LENIENT_PAIR):
        last = None
        for last in pattern.finditer(text):  # noqa: B007 - we want the last match
            pass
        if last is not None:
            a, b = float(last.group(1)), float(last.group(2))
            if _valid(a, b):
                return ScorePair(
                    a, b, ((last.start(1), last.end(1)), (last.start(2), last.end(2))), strict=False
                )
    return None


def locate_scores(text: object, *, strict: bool = False) -> ScorePair | None:
    """The score pair of a judge reply with the positions of its two numbers, or None.

    Args:
        text: The reply. Anything that is not a string gives None.
        strict: Only MMRole's own rule, no lenient fallback.
    """
    if not isinstance(text, str):
        return None
    try:
        found = _strict(text)
        if found is None and not strict:
            found = _lenient(text)
        return found
    except (ValueError, OverflowError, RecursionError):  # float() of a pathological number; never raise
        return None


def parse_scores(text: object, *, strict: bool = False) -> tuple[float, float] | None:
    """The ``(a, b)`` scores of a judge reply, or None when it holds no usable pair.

    >>> parse_scores("Both fine. [Scores]: (8, 9)")
    (8.0, 9.0)
    >>> parse_scores("no scores here") is None
    True
    """
    found = locate_scores(text, strict=strict)
    return found.pair if found else None
