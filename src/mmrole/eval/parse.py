"""Reading the score pair out of a judge's reply.

MMRole-Eval judges reply ``{qualitative evaluation}, [Scores]: (a, b)``. MMRole's own
parser splits the reply on ``[Scores]:`` (exactly one marker), strips the rest and takes
its first line, drops every parenthesis, splits on the comma into exactly two parts, keeps
what follows a part's first colon (``Model A: 7`` -> ``7``) and reads two floats.
:func:`locate_scores` applies exactly that rule first (so every released review gives back
its stored pair), and only when the rule reads no pair at all falls back to more lenient
readings of the same format (the last ``scores`` marker, ``8/10``, a ``(a, b)`` pair).

A pair is only a score when it is usable: both numbers finite and on the judge's scale
(:data:`MMROLE_SCALE`, 1 to 10, unless the judge is told otherwise), and the reference's
score, the divisor of ``a / b``, above zero. ``(1e308, 0.5)``, ``(7, 1e-7)``, ``(nan, 3)``
or ``(11, 10)`` is no score: the judge is asked again like for any reply without a pair.
When MMRole's rule reads an unusable pair, that is the answer (None); the lenient readings
never overrule it.

Every step is linear in the reply's length (a stored reply is re-parsed on each rerun, so
a quadratic or exponential parse stalls every rerun): MMRole's rule is string operations,
and the lenient patterns have no two unbounded quantifiers that can share characters, so a
failed attempt backtracks at most once over each run of spaces or digits.

Nothing here raises: a reply without a usable pair gives ``None``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SCORES_MARKER = "[Scores]:"

#: MMRole-Eval's scale: "paired quantitative scores from 1 to 10". MMRole's released reward
#: model also wrote 0, sixteen times among its 18,976 pairs (always as Yi-VL-6B's score), and
#: the paper's numbers count those zeros: see ``zero_ok`` of :func:`usable_pair`.
MMROLE_SCALE: tuple[float, float] = (1.0, 10.0)

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
# An optional ``Model A:`` style label before a number (bounded, so it backtracks at most 40 steps).
_LABEL = r"(?:[^\d\s,()\n:][^,()\n:]{0,40}[:：]\s*)?"
# Lenient: a scores marker (any case), optional ``]``, colon and parenthesis, then two numbers
# (optionally labelled, the first optionally ``/10``). Each ``\s*`` follows a required character,
# so no two of them compete for one run of spaces (the old ``\s*\]?\s*[:：]?\s*\(?\s*`` split a
# run of n spaces n^4 ways before failing: 207 characters took 11.6 s).
_LENIENT_MARKED = re.compile(
    rf"scores?\s*(?:\]\s*)?(?:[:：]\s*)?(?:\(\s*)?{_LABEL}({_NUMBER})\s*(?:/\s*10\s*)?[,，]\s*"
    rf"{_LABEL}({_NUMBER})(?!\d|\s*[,，]\s*\d)",
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


def check_scale(scale: tuple[float, float]) -> tuple[float, float]:
    """``scale`` as two floats ``0 <= low < high`` (finite).

    Raises:
        ValueError: Not such a pair.
    """
    try:
        low, high = (float(x) for x in scale)
    except (TypeError, ValueError):
        raise ValueError(f"a score scale is two numbers (low, high), not {scale!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and 0 <= low < high):
        raise ValueError(f"a score scale needs 0 <= low < high, got {low:g}-{high:g}")
    return (low, high)


def usable_pair(
    a: float, b: float, scale: tuple[float, float] = MMROLE_SCALE, *, zero_ok: bool = False
) -> bool:
    """Whether ``(a, b)`` is a score: both finite and within ``scale``, and ``b`` (the divisor) above zero.

    Args:
        a: Model A's score.
        b: Model B's score.
        scale: ``(low, high)``, inclusive.
        zero_ok: Also take 0 as a score below the scale (what MMRole's released judge wrote
            and MMRole counted); a 0 for ``b`` stays a zero divisor, no score.
    """
    low, high = scale
    return all(math.isfinite(x) and (low <= x <= high or (zero_ok and x == 0)) for x in (a, b)) and b > 0


def _mmrole_rule(text: str) -> tuple[list[float], list[tuple[int, int]]] | None:
    """MMRole's rule, step by step, keeping where each number sits in ``text``; None when it reads no pair."""
    if text.count(SCORES_MARKER) != 1:
        return None
    after = text.index(SCORES_MARKER) + len(SCORES_MARKER)
    rest = text[after:]
    start = after + (len(rest) - len(rest.lstrip()))  # ``.strip()`` of what follows the marker
    newline = text.find("\n", start)
    line = text[start : newline if newline >= 0 else len(text)]
    start += len(line) - len(line.lstrip())  # ``.strip()`` of its first line
    line = line.strip()
    # Parentheses are dropped anywhere in the line; ``kept`` maps the cleaned line back to ``text``.
    cleaned = line.replace("(", "").replace(")", "")
    parts = cleaned.split(",")
    if len(parts) != 2:
        return None
    kept = (
        [start + i for i, char in enumerate(line) if char not in "()"] if len(cleaned) < len(line) else None
    )
    values: list[float] = []
    spans: list[tuple[int, int]] = []
    offset = 0  # of the part in ``cleaned``
    for part in parts:
        lo, hi = 0, len(part)
        if ":" in part:  # what follows the first colon, up to the next
            lo = part.index(":") + 1
            second = part.find(":", lo)
            hi = second if second >= 0 else hi
        number = part[lo:hi]
        lo += len(number) - len(number.lstrip())
        number = number.strip()
        try:
            values.append(float(number))
        except ValueError:
            return None
        first, last = offset + lo, offset + lo + len(number)
        if kept is None:
            spans.append((start + first, start + last))
        else:
            spans.append((kept[first], kept[last - 1] + 1))
        offset += len(part) + 1
    return values, spans


def _lenient(text: str, scale: tuple[float, float]) -> ScorePair | None:
    """The last marked pair, else the last parenthesised ``(a, b)`` pair, if usable."""
    for pattern in (_LENIENT_MARKED, _LENIENT_PAIR):
        last = None
        for last in pattern.finditer(text):  # noqa: B007 - we want the last match
            pass
        if last is not None:
            a, b = float(last.group(1)), float(last.group(2))
            if usable_pair(a, b, scale):
                return ScorePair(
                    a, b, ((last.start(1), last.end(1)), (last.start(2), last.end(2))), strict=False
                )
    return None


def locate_scores(
    text: object, *, strict: bool = False, scale: tuple[float, float] = MMROLE_SCALE
) -> ScorePair | None:
    """The score pair of a judge reply with the positions of its two numbers, or None.

    Args:
        text: The reply. Anything that is not a string gives None.
        strict: Only MMRole's own rule, no lenient fallback.
        scale: The judge's ``(low, high)`` scale; a pair outside it is no score.
    """
    if not isinstance(text, str):
        return None
    try:
        read = _mmrole_rule(text)
        if read is not None:
            (a, b), (span_a, span_b) = read
            return ScorePair(a, b, (span_a, span_b), strict=True) if usable_pair(a, b, scale) else None
        return None if strict else _lenient(text, scale)
    except (ValueError, OverflowError):  # float() of a pathological number; never raise
        return None


def parse_scores(
    text: object, *, strict: bool = False, scale: tuple[float, float] = MMROLE_SCALE
) -> tuple[float, float] | None:
    """The ``(a, b)`` scores of a judge reply, or None when it holds no usable pair.

    >>> parse_scores("Both fine. [Scores]: (8, 9)")
    (8.0, 9.0)
    >>> parse_scores("no scores here") is None
    True
    >>> parse_scores("[Scores]: (7, 1e-7)") is None  # off the 1-10 scale
    True
    """
    found = locate_scores(text, strict=strict, scale=scale)
    return found.pair if found else None
