"""Options of ``mmrole feedback`` (no heavy imports: ``--help`` stays instant)."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from mmrole.data.holdout import HoldoutOptions
from mmrole.engine.options import EngineOptions
from mmrole.errors import ConfigError
from mmrole.eval.judge_plan import JudgeOptions
from mmrole.options import (
    MAX_IMAGE_SIDE_HELP,
    MISSING_IMAGE_HELP,
    SEED_HELP,
    TEMPERATURE_HELP,
    TOP_P_HELP,
    option,
)
from mmrole.schema import METRICS, MISSING_IMAGE_POLICIES, MissingImage

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


#: The claims scorer's models, in ``mmrole feedback`` and ``mmrole align``.
SPLITTER_HELP = "Claims scorer: the text model listing claims as yes/no questions (default: --judge)."
CHECKER_HELP = "Claims scorer: the vision-language model answering them about the image (default: --judge)."


def _sources(text: str | None) -> tuple[str, ...]:
    """``"a.jsonl, b/"`` -> ``("a.jsonl", "b/")``."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _judge_defaults() -> JudgeOptions:
    return JudgeOptions()


@dataclass
class FeedbackOptions:
    """How ``mmrole feedback`` samples, scores and pairs responses. Defaults follow RLAIF-V.

    Each field is also an option of ``mmrole feedback`` (and most of ``mmrole align``).

    Attributes:
        n_samples: Responses sampled per prompt (K).
        temperature: Policy sampling temperature.
        top_p: Policy nucleus sampling mass.
        max_tokens: Longest response, in tokens.
        seed: Sampling seed (draw k uses seed + k; ``mmrole align`` adds 1000 per iteration), for
            backends that take one; None samples freely.
        scorer: ``mmrole-eval`` (a judge's MMRole-Eval scores, the reference answer as Model B)
            or ``claims`` (minus the number of the response's claims a VLM rejects).
        weights: MMRole-Eval metric weights of the combined reward; weight-0 metrics are not judged.
        reward: ``score``: the weighted mean of the response's own 1-10 scores; ``ratio``: the
            weighted mean of MMRole's a/b ratios times 10 (so ``min_gap`` keeps its meaning).
        judge: How the MMRole-Eval judge judges the responses (``max_tokens`` also caps the claim
            splitter's replies); its ``metrics``, ``missing_image`` and ``max_image_side`` follow
            ``weights`` and the image options below.
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
        engine: Concurrency, retries, rate limit, timeout and progress of the model calls.
    """

    n_samples: int = option(10, "Responses sampled per prompt.", flag="--k", min=2)
    temperature: float = option(0.7, TEMPERATURE_HELP, min=0.0)
    top_p: float = option(1.0, TOP_P_HELP, min=0.0, max=1.0)
    max_tokens: int = option(512, "Longest response, in tokens.", min=1)
    seed: int | None = option(None, SEED_HELP)  # draw k uses seed + k (docstring)
    scorer: Scorer = option("mmrole-eval", "mmrole-eval (judge scores) or claims (rejected claims).")
    weights: dict[str, float] = option(
        help="Metric weights of the reward, e.g. 'Fluency=1,Response Accuracy=2'.",
        factory=lambda: {m: 1.0 for m in METRICS},
        parse=parse_weights,
        metavar="METRIC=W,...",
        default_text="all 8 equal",
    )
    reward: Reward = option("score", "score: the response's 1-10 scores; ratio: 10 x a/b.")
    judge: JudgeOptions = option(
        help="How the judge judges the responses.", factory=_judge_defaults, only=("swap", "max_tokens")
    )
    max_claims: int = option(20, "Claims scorer: claims checked per response at most.", min=1)
    min_gap: float = option(1.0, "Smallest score difference of a kept pair.", min=0.0)
    max_pairs: int = option(2, "Pairs per prompt at most.", min=1)
    balance_length: bool = option(True, "Drop pairs so chosen is longer as often as it is shorter.")
    pair_seed: int = option(0, "Seed of the random choice of pairs.")
    limit: int | None = option(None, "Use only the first N prompts.", min=1)
    offset: int = option(0, "Skip the first N prompts.", min=0)
    include_test: bool = option(
        False,
        "Keep test samples (the data root's data/test/, --test-data) and the other turns of their dialogues "
        "(left out by default; warned about).",
    )
    include_ood: bool = option(False, "Keep out-of-distribution characters' samples (left out by default).")
    test_data: tuple[str, ...] = option(
        (),
        "More test sets to hold out (comma-separated), besides the data root's data/test/.",
        parse=_sources,
        metavar="SOURCE,...",
    )
    missing_image: MissingImage = option("error", MISSING_IMAGE_HELP)
    max_image_side: int | None = option(None, MAX_IMAGE_SIDE_HELP, min=16)
    engine: EngineOptions = option(help="How the model calls run.", factory=EngineOptions)

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
        # The judge judges the weighted metrics, and sees the images as the policy does.
        self.judge = replace(
            self.judge,
            metrics=self.metrics or self.judge.metrics,
            missing_image=self.missing_image,
            max_image_side=self.max_image_side,
        )

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics judged (positive weight), in the paper's order."""
        return tuple(m for m in METRICS if self.weights.get(m, 0) > 0)

    def holdout(self) -> HoldoutOptions:
        """What the prompts leave out (see :mod:`mmrole.data.holdout`)."""

        return HoldoutOptions(self.include_test, self.include_ood, tuple(self.test_data))

    def to_dict(self) -> dict[str, Any]:
        """What run.json records: the flat layout of earlier versions (the judge's and the engine's
        settings under their old names)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("judge", "engine")}
        data["weights"] = dict(self.weights)
        data["test_data"] = list(self.test_data)
        judge = {
            "judge_max_tokens": self.judge.max_tokens,
            "judge_temperature": self.judge.temperature,
            "format_retries": self.judge.format_retries,
            "swap": self.judge.swap,
        }
        engine = {
            "concurrency": self.engine.concurrency,
            "max_retries": self.engine.max_retries,
            "progress": self.engine.progress,
        }
        merged = {**data, **judge, **engine}
        return {name: merged[name] for name in _RECORDED}


#: run.json's order of the feedback options (as earlier versions wrote them).
_RECORDED = (
    "n_samples", "temperature", "top_p", "max_tokens", "seed", "scorer", "weights", "reward",
    "judge_max_tokens", "judge_temperature", "format_retries", "swap", "max_claims", "min_gap",
    "max_pairs", "balance_length", "pair_seed", "limit", "offset", "include_test", "include_ood",
    "test_data", "missing_image", "max_image_side", "concurrency", "max_retries", "progress",
)  # fmt: skip
