"""Options of ``mmrole feedback`` (no heavy imports: ``--help`` stays instant)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mmrole.errors import ConfigError
from mmrole.schema import METRICS, MISSING_IMAGE_POLICIES, MissingImage

if TYPE_CHECKING:
    from mmrole.data.holdout import HoldoutOptions

Scorer = Literal["mmrole-eval", "claims"]
Reward = Literal["score", "ratio"]


def _normal(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def metric_named(name: str) -> str:
    """The MMRole-Eval metric a user wrote, forgiving case, spaces, hyphens and underscores.

    Raises:
        ConfigError: No metric has that name.
    """
    for metric in METRICS:
        if _normal(metric) == _normal(name):
            return metric
    raise ConfigError(f"unknown metric {name.strip()!r}; choose from: {', '.join(METRICS)}")


def parse_weights(text: str | None) -> dict[str, float]:
    """``"Fluency=2, response accuracy=1"`` -> ``{"Fluency": 2.0, "Response Accuracy": 1.0}``.

    None or an empty text gives equal weights on all eight metrics. Metrics not named get
    weight 0 (not judged).

    Raises:
        ConfigError: An item is not ``metric=number``, names no metric, or a weight is negative.
    """
    if not text or not text.strip():
        return {metric: 1.0 for metric in METRICS}
    weights: dict[str, float] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--weights: {item.strip()!r} is not metric=weight")
        try:
            weight = float(value)
        except ValueError:
            raise ConfigError(f"--weights: {value.strip()!r} is not a number (in {item.strip()!r})") from None
        if weight < 0:
            raise ConfigError(f"--weights: negative weight for {name.strip()!r}")
        weights[metric_named(name)] = weight
    return weights


@dataclass
class FeedbackOptions:
    """How ``mmrole feedback`` samples, scores and pairs responses. Defaults follow RLAIF-V.

    Attributes:
        n_samples: Responses sampled per prompt (K).
        temperature: Policy sampling temperature.
        top_p: Policy nucleus sampling mass.
        max_tokens: Longest response, in tokens.
        seed: Sampling seed (draw k uses seed + k), for backends that take one; None samples freely.
        scorer: ``mmrole-eval`` (a judge's MMRole-Eval scores, the reference answer as Model B)
            or ``claims`` (minus the number of the response's claims a VLM rejects).
        weights: MMRole-Eval metric weights of the combined reward; weight-0 metrics are not judged.
        reward: ``score``: the weighted mean of the response's own 1-10 scores; ``ratio``: the
            weighted mean of MMRole's a/b ratios times 10 (so ``min_gap`` keeps its meaning).
        judge_max_tokens: Judge (and claim splitter) reply length cap.
        judge_temperature: Judge sampling temperature.
        format_retries: Judge re-asks of a reply without scores.
        swap: Also judge with the two answers swapped (cancels a position bias; twice the calls).
        max_claims: Claims checked per response at most (claims scorer).
        min_gap: Smallest score difference of a kept pair.
        max_pairs: Pairs kept per prompt at most.
        balance_length: Drop pairs until chosen is longer as often as it is shorter.
        pair_seed: Seed of the random choice of pairs.
        limit: Use only the first N prompts.
        offset: Skip the first N prompts (iterations of ``mmrole align`` take successive slices).
        include_test: Keep test samples (the data root's ``data/test``, ``test_data``) and the other
            turns of their dialogues among the prompts (left out by default; warned about).
        include_ood: Keep out-of-distribution characters' samples among the prompts.
        test_data: More test sets whose samples are held out of the prompts.
        missing_image: ``error`` stops on a missing image; ``omit`` sends the text alone.
        max_image_side: Downscale images whose longer side exceeds this many pixels.
        concurrency: Model calls in flight at most.
        max_retries: Retries of a failed call (429, 5xx, timeouts).
        progress: Show progress bars.
    """

    n_samples: int = 10
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 512
    seed: int | None = None
    scorer: Scorer = "mmrole-eval"
    weights: dict[str, float] = field(default_factory=lambda: {m: 1.0 for m in METRICS})
    reward: Reward = "score"
    judge_max_tokens: int = 512
    judge_temperature: float = 0.0
    format_retries: int = 2
    swap: bool = False
    max_claims: int = 20
    min_gap: float = 1.0
    max_pairs: int = 2
    balance_length: bool = True
    pair_seed: int = 0
    limit: int | None = None
    offset: int = 0
    include_test: bool = False
    include_ood: bool = False
    test_data: tuple[str, ...] = ()
    missing_image: MissingImage = "error"
    max_image_side: int | None = None
    concurrency: int = 32
    max_retries: int = 5
    progress: bool = True

    def __post_init__(self) -> None:
        if self.n_samples < 2:
            raise ConfigError("--k (responses per prompt) must be at least 2 to form pairs")
        if self.scorer not in ("mmrole-eval", "claims"):
            raise ConfigError("--scorer must be 'mmrole-eval' or 'claims'")
        if self.reward not in ("score", "ratio"):
            raise ConfigError("--reward must be 'score' or 'ratio'")
        if self.scorer == "mmrole-eval" and not any(w > 0 for w in self.weights.values()):
            raise ConfigError("--weights: at least one metric needs a positive weight")
        unknown = [m for m in self.weights if m not in METRICS]
        if unknown:
            raise ConfigError(f"unknown metric(s) in weights: {unknown}")
        if self.min_gap < 0 or self.max_pairs < 1:
            raise ConfigError("--min-gap must be >= 0 and --max-pairs >= 1")
        if self.missing_image not in MISSING_IMAGE_POLICIES:
            raise ConfigError("--missing-image must be 'error' or 'omit'")
        if self.offset < 0 or (self.limit is not None and self.limit < 1):
            raise ConfigError("--offset must be >= 0 and --limit >= 1")

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics judged (positive weight), in the paper's order."""
        return tuple(m for m in METRICS if self.weights.get(m, 0) > 0)

    def holdout(self) -> HoldoutOptions:
        """What the prompts leave out (see :mod:`mmrole.data.holdout`)."""
        from mmrole.data.holdout import HoldoutOptions

        return HoldoutOptions(self.include_test, self.include_ood, tuple(self.test_data))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["test_data"] = list(self.test_data)
        return data
