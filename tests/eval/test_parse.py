"""The score-pair parser: every released review gives back its stored pair; MMRole's rule comes
first; unusable pairs are no score; no input makes it raise or take more than linear time."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmrole.eval.parse import (
    MMROLE_SCALE,
    SCORES_MARKER,
    locate_scores,
    parse_scores,
    usable_pair,
)


def _released_reviews(in_test_root: Path):
    for file in sorted(in_test_root.glob("*/*.reviews.json")):
        for sample in json.loads(file.read_text(encoding="utf-8")):
            for metric, review in sample.get("rm_review", {}).items():
                yield file, sample["id"], metric, review


def test_every_released_review_parses_to_its_stored_pair(in_test_root: Path) -> None:
    checked = off_mmrole_scale = 0
    for file, sample_id, metric, review in _released_reviews(in_test_root):
        found = locate_scores(review["review"], strict=True, scale=(0, 10))
        off_mmrole_scale += locate_scores(review["review"], strict=True) is None
        assert found is not None, (file, sample_id, metric)
        assert found.pair == tuple(review["score"]), (file, sample_id, metric)
        # The spans point at the numbers themselves (logprob scoring relies on it).
        text = review["review"]
        assert float(text[slice(*found.spans[0])]) == found.a
        assert float(text[slice(*found.spans[1])]) == found.b
        checked += 1
    assert checked == 11 * 3 * 72 * 8 - 4 * 8  # 4 samples have empty answers and no review
    # The released judge wrote (0, x) 16 times: off the 1-10 scale its prompt asks for.
    assert off_mmrole_scale == 16


def test_mmrole_format_variants() -> None:
    assert parse_scores("Good. [Scores]: (8, 9)") == (8.0, 9.0)
    assert parse_scores("Good. [Scores]: 10, 9") == (10.0, 9.0)  # occurs once in the release
    assert parse_scores("[Scores]: (Model A: 7.5, Model B: 9)") == (7.5, 9.0)
    assert parse_scores("[Scores]: (8, 9)\nExtra notes, with commas, here") == (8.0, 9.0)


def test_lenient_fallbacks_only_when_mmrole_rule_fails() -> None:
    # Two markers: MMRole's rule refuses; the lenient reading takes the last.
    text = "Earlier [Scores]: (1, 2) was a draft. [Scores]: (6, 7)"
    assert parse_scores(text, strict=True) is None
    assert parse_scores(text) == (6.0, 7.0)
    assert parse_scores("Scores: 8/10, 7/10") == (8.0, 7.0)
    assert locate_scores("Scores: 8/10, 7/10").strict is False
    assert parse_scores("[Scores]: (8/10, 7/10)") == (8.0, 7.0)  # MMRole's rule reads no float here
    # MMRole strips what follows the marker before taking its first line: a newline there is its rule.
    assert locate_scores("[Scores]:\n(3, 4)").pair == (3.0, 4.0)
    assert locate_scores("[Scores]:\n(3, 4)").strict is True


def test_unusable_pairs_are_none() -> None:
    for text in [
        "",
        "no scores",
        "[Scores]: (8)",
        "[Scores]: (8, 9, 10)",
        "[Scores]: (nan, 3)",
        "[Scores]: (5, 0)",
        "[Scores]: (-1, 5)",
        "[Scores]: (1e999, 2)",
        "[Scores]: (a, b)",
        # Non-finite, off the 1-10 scale, a tiny or zero divisor: no score, whichever reading finds it.
        "[Scores]: (1e308, 0.5)",
        "[Scores]: (7, 1e-7)",
        "[Scores]: (inf, 1)",
        "[Scores]: (Infinity, 1)",
        "[Scores]: (8, -9)",
        "[Scores]: (0, 10)",
        "[Scores]: (11, 10)",
        "[Scores]: (8, 0)",
        "Scores: 1e308, 0.5",
        "Scores: 7, 1e-7",
        "final (7, 1e-7)",
        "final (12, 3)",
    ]:
        assert parse_scores(text) is None, text
    for not_text in [None, 3, b"[Scores]: (1, 2)", ["[Scores]: (1, 2)"]]:
        assert parse_scores(not_text) is None


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_never_raises_on_any_text(text: str) -> None:
    result = parse_scores(text)
    assert result is None or (len(result) == 2 and result[1] > 0)
    parse_scores(text, strict=True)


@settings(max_examples=300, deadline=None)
@given(
    st.text().filter(lambda t: SCORES_MARKER not in t),
    st.integers(1, 10),
    st.integers(1, 10),
    st.sampled_from(["", "\n", "\nMore text, with a comma."]),
)
def test_a_reply_ending_in_the_format_gives_its_pair(prefix: str, a: int, b: int, suffix: str) -> None:
    text = f"{prefix}, {SCORES_MARKER} ({a}, {b}){suffix}"
    found = locate_scores(text)
    assert found is not None and found.pair == (a, b)
    assert text[slice(*found.spans[0])] == str(a) and text[slice(*found.spans[1])] == str(b)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("[Scores]:(),.0123456789 \n-+eE/abAB:")), max_size=60))
def test_never_raises_on_score_like_noise(text: str) -> None:
    found = locate_scores(text)
    if found is not None:
        assert found.b > 0 and found.a >= 0


def test_an_unusable_pair_under_mmroles_rule_is_not_overruled_by_a_lenient_reading() -> None:
    # MMRole's rule reads (11, 3): that is the judge's answer, off the scale; the earlier
    # "(6, 7)" must not be picked up instead.
    assert parse_scores("A draft said (6, 7). [Scores]: (11, 3)") is None
    assert parse_scores("A draft said (6, 7). [Scores]: (11, three)") == (6.0, 7.0)  # the rule read nothing


def test_the_scale_is_an_option() -> None:
    assert parse_scores("[Scores]: (80, 95)") is None
    assert parse_scores("[Scores]: (80, 95)", scale=(0, 100)) == (80.0, 95.0)
    assert parse_scores("Scores: 80, 95", scale=(0, 100)) == (80.0, 95.0)
    assert parse_scores("[Scores]: (0, 10)", scale=(0, 10)) == (0.0, 10.0)
    assert parse_scores("[Scores]: (5, 0)", scale=(0, 10)) is None  # a zero divisor on any scale
    assert MMROLE_SCALE == (1.0, 10.0)


_MB = 1_000_000
ADVERSARIAL = {
    "spaces after scores": "scores" + " " * _MB,
    "newlines after scores": "scores" + "\n" * _MB,
    "spaces and a bracket": "[scores" + " " * _MB + "]" + " " * 10,
    "marker then spaces": SCORES_MARKER + " " * _MB,
    "marker then newlines and a number": SCORES_MARKER + "\n" * _MB + "8",
    "spaces before scores": " " * _MB + "scores",
    "scores repeated": "scores " * (_MB // 7),
    "Scores: repeated": "[Scores]: " * (_MB // 10),
    "scores and colon repeated": "scores: " * (_MB // 8),
    "digits after scores": "Scores: " + "7" * _MB,
    "digits, comma, digits": "scores: " + "7" * (_MB // 2) + ", " + "8" * (_MB // 2) + " then scores: 9, 1",
    "digit runs and spaces": ("scores 1" + " " * 1000) * (_MB // 1008),
    "open parentheses": "(" * _MB,
    "parenthesised digits": "(" + "1" * _MB,
    "pairs without closing": "(1, 2" * (_MB // 5),
    "spaces in a pair": "(1," + " " * _MB,
    "brackets": "[" * _MB + "]" * _MB,
    "labels repeated": "Scores: Model A: " * (_MB // 17),
    "one marker, a long line of parentheses": SCORES_MARKER + " (" + "(" * _MB + "8, 9)",
    "commas": "scores" + "," * _MB,
    "slashes and tens": "scores 8" + "/10" * (_MB // 3),
}


@pytest.mark.timeout(5)
@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_megabyte_replies_parse_in_linear_time(name: str) -> None:
    # 207 characters of "scores" + spaces took 11.6 s before: quartic backtracking. Each of these is 1 MB.
    text = ADVERSARIAL[name]
    found = locate_scores(text)
    locate_scores(text, strict=True)
    if name == "one marker, a long line of parentheses":
        assert found is not None and found.pair == (8.0, 9.0) and found.strict
    elif name == "marker then newlines and a number":
        assert found is None
    elif name == "digits, comma, digits":
        assert found is not None and found.pair == (9.0, 1.0)
    elif name == "slashes and tens":
        assert found is None


def _mmroles_rule(review: str) -> tuple[float, float] | None:
    """MMRole's score reading (eval/RM_review.py, get_review_score), restated as the oracle."""
    pieces = review.split("[Scores]:")
    if len(pieces) != 2:
        return None
    line = pieces[1].strip().split("\n")[0].strip()
    parts = line.replace("(", "").replace(")", "").split(",")
    if len(parts) != 2:
        return None
    values = []
    for part in parts:
        if ":" in part:
            part = part.split(":")[1]
        try:
            values.append(float(part.strip()))
        except ValueError:
            return None
    return (values[0], values[1])


_SPACE = st.sampled_from(["", " ", "  ", "\n", " \n ", "\t", "\u3000", "\xa0"])
_NUMBERISH = st.one_of(
    st.integers(-3, 12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        ["7.5", ".5", "8.", "1e1", "1_0", "inf", "nan", "Infinity", "1e-7", "1e308", "٨", "７", "x"]
    ),
)
_LABEL = st.sampled_from(["", "Model A: ", "Model B:", "A:", "a: b: ", "(", ")", "Score:"])
_OPEN = st.sampled_from(["(", "", "(("])
_COMMA = st.sampled_from([",", ", ", ",,", "，", ""])
_CLOSE = st.sampled_from([")", "", "))", ") more", ")\nnotes, with (1, 2) a comma"])


@st.composite
def _replies(draw: st.DrawFn) -> str:
    """Replies near MMRole's format: the marker (or two, or none), spaces, parentheses, labels, numbers."""
    prefix = draw(st.text(alphabet=st.sampled_from(list("ab (),:.\n7[]Scores")), max_size=20))
    marker = draw(st.sampled_from([SCORES_MARKER, SCORES_MARKER, SCORES_MARKER, "[Scores]", "Scores:", ""]))
    a, b = draw(_NUMBERISH), draw(_NUMBERISH)
    pieces = [_SPACE, _OPEN, _LABEL, _SPACE, a, _SPACE, _COMMA, _SPACE, _LABEL, b, _CLOSE]
    body = "".join(p if isinstance(p, str) else draw(p) for p in pieces)
    suffix = draw(st.sampled_from(["", "", f" {SCORES_MARKER} (3, 4)", "\n(5, 6)"]))
    return prefix + marker + body + suffix


@settings(max_examples=1500, deadline=None)
@given(st.one_of(_replies(), st.text(alphabet=st.sampled_from(list("[Scores]:(),.0123456789 \n-+eE_abA")))))
def test_mmroles_rule_comes_first(text: str) -> None:
    """Whenever MMRole's own rule reads a pair, the parser returns that pair (or no score if it is unusable)."""
    expected = _mmroles_rule(text)
    found = locate_scores(text)
    if expected is None:
        assert locate_scores(text, strict=True) is None
        assert found is None or not found.strict
        return
    if usable_pair(*expected):
        assert found is not None and found.strict and found.pair == expected, (text, expected, found)
        assert locate_scores(text, strict=True) == found
    else:
        assert found is None, (text, expected, found)
    if not any(math.isnan(x) for x in expected) and all(x >= 0 for x in expected) and expected[1] > 0:
        wide = (0.0, max(max(expected), 1.0))
        if math.isfinite(wide[1]):
            assert parse_scores(text, scale=wide) == expected
