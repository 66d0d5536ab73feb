"""Pair selection, length balancing, reward combination and weights (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmrole.align.feedback_config import FeedbackOptions, parse_weights
from mmrole.align.feedback_judge import combined_reward, metric_value
from mmrole.align.pairs import Candidate, Pair, balance_lengths, eligible_pairs, length_stats, select_pairs
from mmrole.errors import ConfigError
from mmrole.eval.aggregate import Judgement
from mmrole.schema import METRICS


def _candidates(*scores: float | None, texts: list[str] | None = None) -> list[Candidate]:
    texts = texts or [f"answer {i}" for i in range(len(scores))]
    return [Candidate(i, texts[i], s) for i, s in enumerate(scores)]


def test_eligible_pairs_need_the_gap_distinct_texts_and_scores() -> None:
    found = eligible_pairs("p", _candidates(5.0, 6.0, 6.5, None), min_gap=1.0)
    assert [(p.chosen.draw, p.rejected.draw) for p in found] == [(1, 0), (2, 0)]  # 6.5 - 6.0 < 1; None never
    assert all(p.gap >= 1.0 for p in found)
    same_text = _candidates(9.0, 1.0, texts=["same", "same"])
    assert eligible_pairs("p", same_text) == []
    assert (
        len(eligible_pairs("p", _candidates(1, 2, 3, 4), min_gap=0.0)) == 6
    )  # each unordered pair once, best first


def test_select_pairs_caps_prefers_disjoint_and_is_reproducible() -> None:
    candidates = _candidates(1, 3, 5, 7)
    first = select_pairs("prompt", candidates, max_pairs=2, seed=3)
    assert len(first) == 2
    assert first == select_pairs("prompt", candidates, max_pairs=2, seed=3)
    # Four responses allow two pairs sharing no response: they are preferred.
    assert (
        len({first[0].chosen.draw, first[0].rejected.draw, first[1].chosen.draw, first[1].rejected.draw}) == 4
    )
    assert len(select_pairs("prompt", candidates, max_pairs=10)) == 6
    assert select_pairs("prompt", _candidates(5, 5.5)) == []
    # Different prompts (or seeds) draw independently.
    draws = {
        tuple((p.chosen.draw, p.rejected.draw) for p in select_pairs(f"p{i}", candidates)) for i in range(20)
    }
    assert len(draws) > 1


def _pair(chosen: str, rejected: str) -> Pair:
    return Pair("p", Candidate(0, chosen, 2.0), Candidate(1, rejected, 1.0))


def test_balance_lengths_drops_the_most_length_biased_pairs_of_the_majority() -> None:
    pairs = [
        _pair("x" * 10, "x" * 2),
        _pair("x" * 5, "x" * 4),
        _pair("x" * 30, "x"),
        _pair("x", "x" * 3),
        _pair("x" * 4, "x" * 4),
    ]
    kept, dropped = balance_lengths(pairs)
    # Chosen is longer in 3 pairs, shorter in 1: the two largest differences (29, 8) go.
    assert dropped == [pairs[0], pairs[2]]
    assert kept == [pairs[1], pairs[3], pairs[4]]
    assert balance_lengths(kept) == (kept, [])
    stats = length_stats(kept)
    assert (stats["chosen_longer"], stats["chosen_shorter"], stats["equal_length"]) == (1, 1, 1)
    assert stats["mean_chosen_length"] == pytest.approx((5 + 1 + 4) / 3)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 10), st.integers(1, 30)), min_size=0, max_size=8),
        min_size=1,
        max_size=6,
    ),
    st.floats(0, 3),
    st.integers(1, 3),
)
def test_selection_invariants(prompts: list[list[tuple[int, int]]], min_gap: float, max_pairs: int) -> None:
    selected: list[Pair] = []
    for n, responses in enumerate(prompts):
        candidates = [
            Candidate(i, f"r{i}" + "x" * length, float(score)) for i, (score, length) in enumerate(responses)
        ]
        pairs = select_pairs(f"p{n}", candidates, min_gap=min_gap, max_pairs=max_pairs)
        assert len(pairs) <= max_pairs and len(set(pairs)) == len(pairs)
        assert all(p.gap >= min_gap and p.chosen.text != p.rejected.text for p in pairs)
        possible = eligible_pairs(f"p{n}", candidates, min_gap)
        assert set(pairs) <= set(possible) and len(pairs) == min(max_pairs, len(possible))
        selected += pairs
    kept, dropped = balance_lengths(selected)
    assert sorted(map(id, kept + dropped)) == sorted(map(id, selected))
    deltas = [p.length_delta() for p in kept]
    assert sum(d > 0 for d in deltas) == sum(d < 0 for d in deltas)
    # Only as many as needed are dropped.
    before = [p.length_delta() for p in selected]
    assert len(dropped) == abs(sum(d > 0 for d in before) - sum(d < 0 for d in before))


def test_metric_value_and_combined_reward() -> None:
    ab = [Judgement("s", "Fluency", (6.0, 8.0), "AB"), Judgement("s", "Fluency", (8.0, 7.0), "BA")]
    # The response scores 6 (as A) and 7 (as B), the reference 8 both times: mean 6.5, ratio 6.5 / 8.
    assert metric_value(ab, "score") == pytest.approx(6.5)
    assert metric_value(ab, "ratio") == pytest.approx(10 * 6.5 / 8)
    assert metric_value([ab[0], Judgement("s", "Fluency", None, "BA")], "score") is None  # an order unscored
    assert combined_reward({"Fluency": 8.0, "Coherency": 5.0}, {"Fluency": 2.0, "Coherency": 1.0}) == 7.0
    assert combined_reward({"Fluency": 8.0}, {"Fluency": 1.0, "Coherency": 0.0}) == 8.0  # weight 0 ignored
    assert combined_reward({"Fluency": 8.0, "Coherency": None}, {"Fluency": 1.0, "Coherency": 1.0}) is None


def test_weights_parse_forgivingly_and_reject_mistakes() -> None:
    assert parse_weights(None) == dict.fromkeys(METRICS, 1.0)
    assert parse_weights("image-text relevance=2, Tone_Consistency=0.5") == {
        "Image-Text Relevance": 2.0,
        "Tone Consistency": 0.5,
    }
    for bad, message in [
        ("Fluency", "not metric=weight"),
        ("Fluency=x", "not a number"),
        ("Charm=1", "unknown metric"),
        ("Fluency=-1", "negative"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_weights(bad)
    assert FeedbackOptions(weights=parse_weights("Fluency=1,Coherency=0")).metrics == ("Fluency",)
    with pytest.raises(ConfigError, match="positive weight"):
        FeedbackOptions(weights={"Fluency": 0.0})
    with pytest.raises(ConfigError, match="at least 2"):
        FeedbackOptions(n_samples=1)
