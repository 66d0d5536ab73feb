"""What every build stage returns: what it kept, what failed and why (for the summary table)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class StageSummary:
    """The outcome of one build stage.

    ``kept`` counts items written to the dataset, ``failed`` items recorded as failed (never
    written), ``skipped`` items already built by an earlier run; ``reasons`` counts failure or
    rejection reasons (short, stable phrases, e.g. ``"not valid JSON"``); ``calls`` the model calls
    the stage made (cache hits excluded).
    """

    stage: str
    kept: int = 0
    failed: int = 0
    skipped: int = 0
    calls: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    outputs: list[str] = field(default_factory=list)

    def top_reasons(self, n: int = 3) -> list[tuple[str, int]]:
        """The ``n`` most frequent reasons, most frequent first."""
        return self.reasons.most_common(n)
