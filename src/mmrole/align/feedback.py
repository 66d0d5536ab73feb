"""``mmrole feedback``: RLAIF-V-style preference pairs from a policy's own responses.

For each prompt the policy answers K times (temperature 0.7 by default); a judge scores
every response, either with MMRole-Eval (metrics combined into one weighted reward, the
reference answer as Model B) or claim by claim (:mod:`mmrole.align.claims`); pairs whose
scores differ by at least ``min_gap`` are drawn, at most ``max_pairs`` per prompt, and the
set is length-balanced (:mod:`mmrole.align.pairs`). Every model call goes through the
engine with a store in the output folder, so a rerun makes no call twice and a killed run
resumes. The folder::

    OUT/
      run.json          what ran (policy, judge, data, options) and the counts
      store.sqlite      policy samples, judgements and claim checks (the engine's cache)
      samples.jsonl     the prompts
      candidates.jsonl  every response with its score: {"sample_id", "draw", "text", "error", "score", "details"}
      reviews.jsonl     the MMRole-Eval judge's reviews of the responses (mmrole-eval scorer)
      pairs.jsonl       the preference pairs, mmrole.train.preference_format (what `mmrole train dpo` reads)
      feedback.json     counts and length statistics
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmrole.align.feedback_config import FeedbackOptions
from mmrole.align.feedback_judge import response_id, score_responses
from mmrole.align.pairs import Candidate, Pair, balance_lengths, eligible_pairs, length_stats, select_pairs
from mmrole.data import image_root as find_image_root
from mmrole.data import write_samples_jsonl
from mmrole.data.convert import resolve_image, to_openai_messages
from mmrole.data.holdout import HoldoutOptions
from mmrole.data.paths import UnsafePathError
from mmrole.engine import Request, Store, run_requests
from mmrole.errors import ConfigError, DataError
from mmrole.files import write_json, write_jsonl
from mmrole.models.base import Backend, GenerationParams, display_spec
from mmrole.models.registry import load_backend
from mmrole.runs import update_run_info
from mmrole.schema import Sample
from mmrole.train.preference_format import preference_record

if TYPE_CHECKING:
    from mmrole.data.holdout import TrainingSource

PAIRS_FILE, CANDIDATES_FILE, SUMMARY_FILE = "pairs.jsonl", "candidates.jsonl", "feedback.json"
#: The error of a response that came back empty.
EMPTY_RESPONSE = "empty response"


@dataclass
class FeedbackSummary:
    """What a feedback run produced (also written to ``feedback.json``).

    Attributes:
        out_dir: The feedback folder.
        n_prompts: Prompts sampled.
        n_responses: Responses asked for (prompts x K).
        n_failed_responses: Responses that failed or came back empty.
        n_empty_responses: Of those, the ones that came back empty (the policy's doing, not a
            failed call: they are left out of the pairs but are no failure for ``--max-failures``).
        n_scored: Responses with a score.
        n_eligible: Pairs whose scores differ by at least the minimum gap.
        n_selected: Pairs drawn (at most max_pairs per prompt).
        n_dropped_length: Pairs dropped to balance chosen and rejected lengths.
        n_pairs: Pairs written to pairs.jsonl.
        lengths: Chosen vs rejected lengths of the written pairs.
        mean_score: Mean score of the scored responses.
    """

    out_dir: Path
    n_prompts: int = 0
    n_responses: int = 0
    n_failed_responses: int = 0
    n_empty_responses: int = 0
    n_scored: int = 0
    n_eligible: int = 0
    n_selected: int = 0
    n_dropped_length: int = 0
    n_pairs: int = 0
    lengths: dict[str, Any] = field(default_factory=dict)
    mean_score: float | None = None

    @property
    def pairs_path(self) -> Path:
        return self.out_dir / PAIRS_FILE

    def line(self) -> str:
        return (
            f"{self.n_pairs} pairs from {self.n_prompts} prompts x {self.n_responses // max(self.n_prompts, 1)} "
            f"responses ({self.n_scored} scored, {self.n_eligible} eligible pairs, {self.n_selected} drawn, "
            f"{self.n_dropped_length} dropped for length balance) -> {self.pairs_path}"
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["out_dir"] = str(self.out_dir)
        return data

    @property
    def n_unscored(self) -> int:
        """Responses that got no score because a call failed (sampling or scoring): ``--max-failures`` counts them."""
        return unscored_responses(self.to_dict()) or 0


def unscored_responses(summary: dict[str, Any]) -> int | None:
    """:attr:`FeedbackSummary.n_unscored` of a ``feedback.json`` (None when it predates the count)."""
    if "n_empty_responses" not in summary:
        return None
    return int(summary["n_responses"]) - int(summary["n_empty_responses"]) - int(summary["n_scored"])


def prompt_slice(
    data: str | Path, offset: int, limit: int | None, holdout: HoldoutOptions | None = None
) -> tuple[list[Sample], TrainingSource]:
    """Samples ``offset .. offset+limit`` of a data source that training may use (unique ids).

    Test samples, their dialogues and out-of-distribution characters are left out as ``holdout``
    says (:class:`mmrole.data.holdout.TrainingSource`, which also counts them).

    Raises:
        DataError: The slice is empty, or two samples share an id.
    """

    guard = (holdout or HoldoutOptions()).guard(data)
    samples: list[Sample] = []
    seen: set[str] = set()
    # The whole source is read, so the counts of what was left out are the source's, not the slice's.
    for sample in guard.samples():
        if sample.id in seen:
            raise DataError("duplicate sample id", file=str(data), record=sample.id, field="id")
        seen.add(sample.id)
        if limit is None or len(samples) < offset + limit:
            samples.append(sample)
    if not samples[offset:]:
        left_out = f" ({guard.summary()})" if guard.summary() else ""
        raise DataError(f"no prompts at offset {offset}{left_out}", file=str(data))
    return samples[offset:], guard


def sampling_requests(
    samples: list[Sample], image_root: Path | None, options: FeedbackOptions
) -> Iterator[Any]:
    """K requests per sample (ids ``SAMPLE#k``), distinct draws so they get distinct cache keys.

    A generator: the engine builds each sample's messages when it takes its requests.
    """

    for sample in samples:
        messages = to_openai_messages(
            sample, image_root, max_image_side=options.max_image_side, missing_image=options.missing_image
        )
        for draw in range(options.n_samples):
            params = GenerationParams(
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                top_p=options.top_p,
                seed=None if options.seed is None else options.seed + draw,
                draw=draw,
            )
            yield Request(response_id(sample.id, draw), messages, params)


def pair_record(
    pair: Pair, sample: Sample, image: Path | None, index: int, provenance: dict[str, Any]
) -> Any:
    """The preference record of one pair (id ``SAMPLE#index``)."""

    meta = {
        "sample_id": sample.id,
        "chosen_score": pair.chosen.score,
        "rejected_score": pair.rejected.score,
        "chosen_draw": pair.chosen.draw,
        "rejected_draw": pair.rejected.draw,
        **provenance,
    }
    return preference_record(
        f"{sample.id}#{index}",
        system=sample.system,
        instruction=sample.instruction,
        chosen=pair.chosen.text,
        rejected=pair.rejected.text,
        images=[str(image.resolve())] if image is not None else [],
        meta=meta,
    )


def _image_of(sample: Sample, image_root: Path | None, options: FeedbackOptions) -> Path | None:
    try:
        return resolve_image(sample, image_root)
    except UnsafePathError:
        raise  # a path leading out of the image folder is an error, not an absent image
    except DataError:
        if options.missing_image == "omit":
            return None
        raise


async def generate_feedback(
    policy: Backend | str,
    judge: Backend | str | None,
    data: str | Path,
    out_dir: str | Path,
    options: FeedbackOptions | None = None,
    *,
    image_root: str | Path | None = None,
    splitter: Backend | str | None = None,
    checker: Backend | str | None = None,
    policy_backend_options: dict[str, Any] | None = None,
    judge_backend_options: dict[str, Any] | None = None,
) -> FeedbackSummary:
    """Sample K responses per prompt, score them, and write length-balanced preference pairs.

    Args:
        policy: The model being aligned (a spec such as ``hf:PATH``, or a Backend).
        judge: The MMRole-Eval judge (``mmrole-eval`` scorer); with the ``claims`` scorer, the
            default claim splitter and checker.
        data: The prompts: a samples JSONL, a Qwen-VL file or folder, a data root, or ``demo`` (the demo
            set's training split); test samples and out-of-distribution characters are left out
            unless ``options`` says otherwise.
        out_dir: The feedback folder (created; rerunning resumes from its stores).
        options: Sampling, scoring and pairing options.
        image_root: Where the samples' images are (default: found from ``data``).
        splitter: Claims scorer: the text model splitting responses into yes/no questions.
        checker: Claims scorer: the vision-language model answering them about the image.
        policy_backend_options, judge_backend_options: The backends' options when ``policy`` or
            ``judge`` is a spec (``--policy-arg``, ``--judge-arg``; the judge's also when it stands in
            for the splitter or the checker).

    Raises:
        DataError: No prompts, or a missing image with ``missing_image="error"``.
        ConfigError: Bad options.
    """

    options = options or FeedbackOptions()
    if options.scorer == "mmrole-eval" and judge is None:
        raise ConfigError("the mmrole-eval scorer needs a judge model (--judge)")
    if options.scorer == "claims" and judge is None and (splitter is None or checker is None):
        raise ConfigError("the claims scorer needs a splitter and a checker model (or --judge for both)")
    out_dir = Path(out_dir)
    root = Path(image_root) if image_root is not None else find_image_root(data)
    samples, guard = prompt_slice(data, options.offset, options.limit, options.holdout())
    guard.report()
    images = {s.id: _image_of(s, root, options) for s in samples}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_samples_jsonl(samples, out_dir / "samples.jsonl")

    policy_backend = load_backend(policy, **(policy_backend_options or {}))
    judge_spec = None if judge is None else display_spec(judge)
    started = _now()
    update_run_info(
        out_dir,
        {
            "kind": "feedback",
            "policy": display_spec(policy_backend),
            "judge": judge_spec,
            "data": {
                "source": str(data),
                "image_root": str(root) if root else None,
                "held_out": dict(guard.excluded),
                "held_out_kept": dict(guard.included),
            },
            "feedback": {"options": options.to_dict(), "started": started},
        },
    )
    with Store.in_run(out_dir) as store:
        try:
            results = await run_requests(
                policy_backend,
                sampling_requests(samples, root, options),
                store,
                description="sampling responses",
                total=len(samples) * options.n_samples,
                **options.engine.run_kwargs(),
            )
        finally:
            if isinstance(policy, str):
                await policy_backend.aclose()  # free a local model before the judge loads
        by_id = {s.id: s for s in samples}
        texts: dict[str, tuple[Sample, str]] = {}
        candidates: list[dict[str, Any]] = []
        for result in results:
            sample_id, _, draw = result.id.rpartition("#")
            text = result.completion.text if result.completion else None
            error = result.error or (None if text and text.strip() else EMPTY_RESPONSE)
            candidates.append({"sample_id": sample_id, "draw": int(draw), "text": text, "error": error})
            if error is None:
                texts[result.id] = (by_id[sample_id], text)  # type: ignore[assignment]
        scores: dict[str, dict[str, Any]] = {}
        if texts:
            judge_args = dict(judge_backend_options or {})
            scores = await score_responses(
                texts, judge, out_dir, options, store, root, splitter, checker, judge_args
            )

    per_prompt: dict[str, list[Candidate]] = {s.id: [] for s in samples}
    for record in candidates:
        found = scores.get(response_id(record["sample_id"], record["draw"]), {})
        record.update(score=found.get("score"), details=found.get("details"))
        if record["error"] is None:
            per_prompt[record["sample_id"]].append(Candidate(record["draw"], record["text"], record["score"]))
    write_jsonl(out_dir / CANDIDATES_FILE, candidates)

    summary = FeedbackSummary(out_dir=out_dir, n_prompts=len(samples), n_responses=len(candidates))
    summary.n_failed_responses = sum(1 for c in candidates if c["error"])
    summary.n_empty_responses = sum(1 for c in candidates if c["error"] == EMPTY_RESPONSE)
    scored = [c["score"] for c in candidates if c["score"] is not None]
    summary.n_scored = len(scored)
    summary.mean_score = sum(scored) / len(scored) if scored else None
    selected: list[Pair] = []
    for sample_id, prompt_candidates in per_prompt.items():
        summary.n_eligible += len(eligible_pairs(sample_id, prompt_candidates, options.min_gap))
        selected += select_pairs(
            sample_id,
            prompt_candidates,
            min_gap=options.min_gap,
            max_pairs=options.max_pairs,
            seed=options.pair_seed,
        )
    summary.n_selected = len(selected)
    kept, dropped = balance_lengths(selected) if options.balance_length else (selected, [])
    summary.n_dropped_length = len(dropped)
    provenance = {"policy": display_spec(policy_backend), "judge": judge_spec, "scorer": options.scorer}
    index_of: dict[str, int] = {}
    records = []
    for pair in kept:
        index_of[pair.prompt_id] = index_of.get(pair.prompt_id, -1) + 1
        sample = by_id[pair.prompt_id]
        records.append(pair_record(pair, sample, images[sample.id], index_of[pair.prompt_id], provenance))
    summary.n_pairs = write_jsonl(out_dir / PAIRS_FILE, (r.model_dump() for r in records))
    summary.lengths = length_stats(kept)
    write_json(out_dir / SUMMARY_FILE, summary.to_dict())
    update_run_info(
        out_dir,
        {
            "feedback": {
                "options": options.to_dict(),
                "started": started,
                "finished": _now(),
                "counts": {k: v for k, v in summary.to_dict().items() if k.startswith("n_")},
            }
        },
    )
    return summary


def generate_feedback_sync(*args: Any, **kwargs: Any) -> FeedbackSummary:
    """:func:`generate_feedback` from synchronous code."""
    return asyncio.run(generate_feedback(*args, **kwargs))


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
