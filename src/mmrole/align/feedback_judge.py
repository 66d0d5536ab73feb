"""MMRole-Eval rewards of sampled responses: each response judged against the reference answer.

Each response is a pseudo-sample (id ``SAMPLE#k``) with the response as its answer, judged in
memory by :func:`mmrole.eval.judge.judge_samples`, the core of ``mmrole judge``: MMRole's prompts
with the response as Model A and the reference answer as Model B, format-reminder retries, and the
engine's cache and resume through the feedback folder's store. The reviews go to
``FEEDBACK/reviews.jsonl`` to inspect afterwards; the per-metric scores are combined into one
reward per response (:func:`combined_reward`). :func:`score_responses` picks the scorer: these
rewards, or claim-by-claim checks (:mod:`mmrole.align.claims`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmrole.align.claims import score_by_claims
from mmrole.align.feedback_config import FeedbackOptions
from mmrole.eval.aggregate import Judgement, combine
from mmrole.eval.judge import judge_samples
from mmrole.eval.judge_plan import JudgeOptions, image_parts, plan_judging
from mmrole.files import write_jsonl
from mmrole.models.base import Backend
from mmrole.models.registry import load_backend
from mmrole.schema import Sample

if TYPE_CHECKING:
    from mmrole.engine import Store

#: The judge's reviews of the responses, in the feedback folder (the records of a run's reviews.jsonl).
REVIEWS_FILE = "reviews.jsonl"


def response_id(sample_id: str, draw: int) -> str:
    """The pseudo-sample id of response ``draw`` to a sample."""
    return f"{sample_id}#{draw}"


def metric_value(judgements: Sequence[Judgement], reward: str) -> float | None:
    """One response's value on one metric from its judgements, or None when not usable.

    ``ratio``: MMRole's score (mean MRPA score over mean reference score) times 10.
    ``score``: the response's mean score (1-10). As in MMRole-Eval aggregation, every order
    that was asked must have a scored judgement.
    """
    if reward == "ratio":
        value = combine(judgements)
        return None if value is None else 10.0 * value
    orders = {j.order for j in judgements}
    scored = [(j.order, pair) for j in judgements if (pair := j.mrpa_and_reference()) is not None]
    if not scored or {order for order, _ in scored} != orders:
        return None
    return sum(pair[0] for _, pair in scored) / len(scored)


def combined_reward(values: Mapping[str, float | None], weights: Mapping[str, float]) -> float | None:
    """The weighted mean of the metric values (positive weights only); None if one is missing.

    >>> combined_reward({"Fluency": 8.0, "Coherency": 5.0}, {"Fluency": 2.0, "Coherency": 1.0})
    7.0
    """
    used = {metric: weight for metric, weight in weights.items() if weight > 0}
    given = {metric: value for metric in used if (value := values.get(metric)) is not None}
    if not used or len(given) < len(used):
        return None
    return sum(weight * given[metric] for metric, weight in used.items()) / sum(used.values())


def rewards_from_reviews(
    reviews: Sequence[Mapping[str, Any]], options: FeedbackOptions
) -> dict[str, dict[str, Any]]:
    """``{response id: {"reward", "metrics": {metric: value}}}`` from a judged ``reviews.jsonl``."""
    grouped: dict[str, dict[str, list[Judgement]]] = defaultdict(lambda: defaultdict(list))
    for review in reviews:
        score = review.get("score")
        pair = (float(score[0]), float(score[1])) if score is not None and not review.get("error") else None
        grouped[str(review["sample_id"])][str(review["metric"])].append(
            Judgement(str(review["sample_id"]), str(review["metric"]), pair, str(review.get("order") or "AB"))
        )
    found = {}
    for rid, by_metric in grouped.items():
        values = {
            metric: metric_value(by_metric.get(metric, []), options.reward) for metric in options.metrics
        }
        found[rid] = {"reward": combined_reward(values, options.weights), "metrics": values}
    return found


async def judge_rewards(
    responses: Mapping[str, tuple[Sample, str]],
    judge: Backend | str,
    out_dir: Path,
    options: FeedbackOptions,
    store: Store,
    *,
    image_root: Path | None,
    backend_options: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Judge every response with MMRole-Eval and combine its metric scores into a reward.

    Args:
        responses: ``{response id: (sample, response text)}``.
        judge: The judge model (a spec or a Backend).
        out_dir: The feedback folder (the reviews go to ``out_dir/reviews.jsonl``).
        options: The feedback options (metrics and weights, reward, judge settings).
        store: The feedback folder's engine store.
        image_root: The samples' image folder.
        backend_options: The judge backend's options when ``judge`` is a spec (``--judge-arg``).

    Returns:
        ``{response id: {"reward", "metrics"}}``. Responses the judge could not score have reward None.
    """
    pseudo = [sample.model_copy(update={"id": rid}) for rid, (sample, _) in responses.items()]
    answers = {rid: {"id": rid, "answer": text, "error": None} for rid, (_, text) in responses.items()}
    judged = await judge_samples(
        plan_judging(pseudo, answers, options.judge, image_root),
        judge,
        store,
        engine=options.engine,
        backend_options=backend_options,
    )
    write_jsonl(out_dir / REVIEWS_FILE, judged.reviews)
    rewards = rewards_from_reviews(judged.reviews, options)
    for rid in responses:
        rewards.setdefault(rid, {"reward": None, "metrics": {}})
    return rewards


async def score_responses(
    texts: dict[str, tuple[Sample, str]],
    judge: Backend | str | None,
    out_dir: Path,
    options: FeedbackOptions,
    store: Any,
    image_root: Path | None,
    splitter: Backend | str | None,
    checker: Backend | str | None,
    judge_backend_options: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """``{response id: {"score", "details"}}`` of the sampled responses, with the chosen scorer:
    MMRole-Eval rewards (:func:`judge_rewards`) or claim checks (:mod:`mmrole.align.claims`)."""
    if options.scorer == "mmrole-eval":
        assert judge is not None  # checked by generate_feedback
        rewards = await judge_rewards(
            texts,
            judge,
            out_dir,
            options,
            store,
            image_root=image_root,
            backend_options=judge_backend_options,
        )
        return {
            rid: {"score": r["reward"], "details": {"metrics": r["metrics"]}} for rid, r in rewards.items()
        }

    # The checker sees the image as the MMRole-Eval judge does (a local file, or downscaled).
    shown = JudgeOptions(missing_image=options.missing_image, max_image_side=options.max_image_side)
    parts = {sample.id: image_parts(sample, image_root, shown) for sample, _ in texts.values()}

    # --judge-arg goes to the judge wherever it stands in for the splitter or the checker.
    split_model, check_model = splitter or judge, checker or judge
    assert split_model is not None and check_model is not None  # checked by generate_feedback
    split_backend = load_backend(split_model, **({} if splitter else judge_backend_options))
    check_backend = load_backend(check_model, **({} if checker else judge_backend_options))
    try:
        scores = await score_by_claims(
            {rid: (text, parts[sample.id]) for rid, (sample, text) in texts.items()},
            split_backend,
            check_backend,
            store,
            max_claims=options.max_claims,
            max_tokens=options.judge.max_tokens,
            engine=options.engine,
        )
    finally:
        for backend, given in ((split_backend, split_model), (check_backend, check_model)):
            if isinstance(given, str):
                await backend.aclose()
    return {rid: {"score": s.score, "details": s.details()} for rid, s in scores.items()}
