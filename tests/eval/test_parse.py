"""The score-pair parser: every released review gives back its stored pair; no input makes it raise."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mmrole.eval.parse import SCORES_MARKER, locate_scores, parse_scores


def _released_reviews(in_test_root: Path):
    for file in sorted(in_test_root.glob("*/*.reviews.json")):
        for sample in json.loads(file.read_text(encoding="utf-8")):
            for metric, review in sample.get("rm_review", {}).items():
                yield file, sample["id"], metric, review


def test_every_released_review_parses_to_its_stored_pair(in_test_root: Path) -> None:
    checked = 0
    for file, sample_id, metric, review in _released_reviews(in_test_root):
        found = locate_scores(review["review"], strict=True)
        assert found is not None, (file, sample_id, metric)
        assert found.pair == tuple(review["score"]), (file, sample_id, metric)
        # The spans point at the numbers themselves (logprob scoring relies on it).
        text = review["review"]
        assert float(text[slice(*found.spans[0])]) == found.a
        assert float(text[slice(*found.spans[1])]) == found.b
        checked += 1
    assert checked == 11 * 3 * 72 * 8 - 4 * 8  # 4 samples have empty answers and no review


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
    assert parse_scores("[Scores]:\n(3, 4)") == (3.0, 4.0)
    assert parse_scores("Scores: 8/10, 7/10") == (8.0, 7.0)
    assert locate_scores("[Scores]:\n(3, 4)").strict is False


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
