"""Preference-pair selection for ``mmrole feedback`` (pure functions, no I/O).

RLAIF-V-style: K scored responses per prompt give candidate pairs; a pair is kept when the
chosen response's score beats the rejected one's by at least ``min_gap``, each prompt gives at
most ``max_pairs`` of them, and finally pairs are dropped across the whole set so the chosen
response is longer in as many pairs as it is shorter (otherwise DPO learns "longer is better",
the length bias judges are known for).

    per_prompt = [select_pairs(pid, candidates, min_gap=1.0, max_pairs=2, seed=0) for pid, candidates in ...]
    kept, dropped = balance_lengths([p for pairs in per_prompt for p in pairs])
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """One sampled response to a prompt and its score (None: unscored, never paired).

    Attributes:
        draw: The response's index among the prompt's K samples.
        text: The response.
        score: Higher is better (a judge's reward, or minus the rejected claims).
    """

    draw: int
    text: str
    score: float | None


@dataclass(frozen=True)
class Pair:
    """A preference pair of one prompt: ``chosen`` scored at least ``min_gap`` above ``rejected``."""

    prompt_id: str
    chosen: Candidate
    rejected: Candidate

    @property
    def gap(self) -> float:
        return float(self.chosen.score) - float(self.rejected.score)  # type: ignore[arg-type]

    def length_delta(self, length: Callable[[str], int] = len) -> int:
        """Chosen length minus rejected length (positive: the chosen response is longer)."""
        return length(self.chosen.text) - length(self.rejected.text)


def eligible_pairs(prompt_id: str, candidates: Sequence[Candidate], min_gap: float = 1.0) -> list[Pair]:
    """Every (chosen, rejected) pair of a prompt whose scores differ by at least ``min_gap``.

    Unscored candidates, and pairs of identical texts (DPO cannot prefer a text to itself), are
    left out. Order: by draw of the chosen, then of the rejected response.
    """
    scored = [c for c in candidates if c.score is not None]
    return [
        Pair(prompt_id, high, low)
        for high in scored
        for low in scored
        if high.score - low.score >= min_gap and high.text != low.text  # type: ignore[operator]
    ]


def select_pairs(
    prompt_id: str,
    candidates: Sequence[Candidate],
    *,
    min_gap: float = 1.0,
    max_pairs: int = 2,
    seed: int = 0,
) -> list[Pair]:
    """At most ``max_pairs`` eligible pairs of one prompt, drawn at random (reproducibly).

    As RLAIF-V, pairs are sampled at random among the eligible ones rather than taking the
    widest gaps (which would mostly pair the single best with the single worst response).
    Pairs that share no response with those already taken are preferred, so two pairs of a
    prompt teach two different contrasts when the candidates allow it.

    Args:
        prompt_id: The prompt's id; with ``seed`` it seeds the draw, so a rerun picks the same pairs.
        candidates: The prompt's scored responses.
        min_gap: Smallest score difference of a kept pair.
        max_pairs: Pairs per prompt at most.
        seed: Seed of the draw.
    """
    pool = eligible_pairs(prompt_id, candidates, min_gap)
    random.Random(f"{seed}:{prompt_id}").shuffle(pool)  # str seeds hash stably across processes
    chosen: list[Pair] = []
    used: set[int] = set()
    for disjoint_only in (True, False):
        for pair in pool:
            if len(chosen) >= max_pairs:
                return chosen
            draws = {pair.chosen.draw, pair.rejected.draw}
            if pair in chosen or (disjoint_only and draws & used):
                continue
            chosen.append(pair)
            used |= draws
    return chosen


def balance_lengths(
    pairs: Sequence[Pair], length: Callable[[str], int] = len
) -> tuple[list[Pair], list[Pair]]:
    """Drop pairs until the chosen response is longer in exactly as many pairs as it is shorter.

    From the majority side the pairs with the largest length difference go first (they carry
    the strongest length signal), which also pulls the mean length difference towards zero.
    Pairs of equal lengths are always kept.

    Returns:
        ``(kept, dropped)``, each in the input order.
    """
    longer = [i for i, p in enumerate(pairs) if p.length_delta(length) > 0]
    shorter = [i for i, p in enumerate(pairs) if p.length_delta(length) < 0]
    majority, minority = (longer, shorter) if len(longer) > len(shorter) else (shorter, longer)
    excess = len(majority) - len(minority)
    # Stable sort: equal differences drop in input order.
    by_size = sorted(majority, key=lambda i: -abs(pairs[i].length_delta(length)))
    dropped_index = set(by_size[:excess])
    kept = [p for i, p in enumerate(pairs) if i not in dropped_index]
    dropped = [p for i, p in enumerate(pairs) if i in dropped_index]
    return kept, dropped


def length_stats(pairs: Sequence[Pair], length: Callable[[str], int] = len) -> dict[str, float | int]:
    """How chosen and rejected lengths compare over a set of pairs (for the feedback summary)."""
    deltas = [p.length_delta(length) for p in pairs]
    n = len(pairs)
    return {
        "n_pairs": n,
        "chosen_longer": sum(d > 0 for d in deltas),
        "chosen_shorter": sum(d < 0 for d in deltas),
        "equal_length": sum(d == 0 for d in deltas),
        "mean_chosen_length": sum(length(p.chosen.text) for p in pairs) / n if n else 0.0,
        "mean_rejected_length": sum(length(p.rejected.text) for p in pairs) / n if n else 0.0,
    }
