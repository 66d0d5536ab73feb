"""What a judge run asks: options, one task per (sample, metric, order, repeat), and its messages.

The messages are MMRole's reward-model texts (:mod:`mmrole.prompts.judge`) with the sample's
image; :mod:`mmrole.eval.judge` sends them through the engine and reads the replies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from mmrole.data.convert import resolve_image
from mmrole.data.paths import UnsafePathError
from mmrole.errors import ConfigError, DataError
from mmrole.eval.parse import MMROLE_SCALE, check_scale
from mmrole.images import check_image_file, file_data_url
from mmrole.models.base import GenerationParams, Message
from mmrole.options import MAX_IMAGE_SIDE_HELP, MISSING_IMAGE_HELP, option
from mmrole.prompts.judge import JUDGE_SYSTEM, judge_user_text, with_format_reminder
from mmrole.schema import METRICS, MISSING_IMAGE_POLICIES, MissingImage, Sample

Scoring = Literal["sampled", "logprob"]
#: Orders: ``AB`` puts the MRPA as Model A (MMRole's setting); ``BA`` swaps the two.
ORDERS_DEFAULT, ORDERS_SWAP = ("AB",), ("AB", "BA")
#: Retries beyond the first reminder reuse its messages; the draw index keeps their cache keys apart.
_RETRY_DRAW_STRIDE = 1000


def parse_metrics(text: str) -> tuple[str, ...]:
    """``"Fluency, Coherency"`` -> ``("Fluency", "Coherency")`` (checked by :class:`JudgeOptions`); all
    eight when none is named."""
    return tuple(m.strip() for m in text.split(",") if m.strip()) or METRICS


def parse_scale(text: str) -> tuple[float, float]:
    """``"1-10"`` -> ``(1.0, 10.0)``.

    Raises:
        ConfigError: Not ``LOW-HIGH``.
    """
    low, sep, high = text.strip().partition("-")
    try:
        if not sep:
            raise ValueError
        return (float(low), float(high))
    except ValueError:
        raise ConfigError(f"--scale takes LOW-HIGH, e.g. 1-10, not {text!r}") from None


@dataclass(frozen=True)
class JudgeOptions:
    """How to judge. The defaults reproduce MMRole-Eval; each field is also an option of ``mmrole judge``
    and ``mmrole eval``.

    Attributes:
        metrics: The metrics to judge (default: all eight).
        swap: Also judge with the answers swapped (reference as Model A) and combine both
            orders, so a position bias adds the same to both sides.
        repeats: Judge each (sample, metric, order) this many times (distinct draws).
        scoring: ``sampled`` reads the written scores (MMRole); ``logprob`` takes the
            expected score over the judge's top alternatives 1..10 at each score token.
        max_tokens: Judge reply length cap.
        temperature: Judge sampling temperature.
        top_logprobs: Alternatives per token asked for in logprob scoring.
        format_retries: Re-asks (with a format reminder) of a reply without a score pair.
        missing_image: ``error`` stops on a sample whose image file is absent; ``omit``
            judges it without the image (MMRole's released test images are not shipped).
        max_image_side: Downscale images so their longer side is at most this.
        prefill: Text the judge's reply is made to start with (an assistant message the
            backend continues), e.g. ``[Scores]: (`` for tiny judges; not MMRole's setting.
        scale: The judge's ``(low, high)`` score scale (MMRole's: 1 to 10). A reply whose pair
            is off it (or non-finite, or with a zero reference score) has no usable pair: it is
            asked again with the format reminder, then recorded as failed.
    """

    metrics: tuple[str, ...] = option(
        METRICS,
        "Comma-separated metrics to judge, e.g. 'Fluency,Coherency'.",
        parse=parse_metrics,
        metavar="METRIC,...",
        default_text="all 8",
    )
    swap: bool = option(False, "Also judge with the answers swapped and combine both orders.")
    repeats: int = option(1, "Judge each pair N times (distinct draws) and average.", min=1)
    scoring: Scoring = option(
        "sampled", "sampled: the written scores (MMRole). logprob: the expected score over 1..10."
    )
    max_tokens: int = option(512, "Judge reply length cap.", flag="--judge-max-tokens", min=1)
    temperature: float = option(0.0, "Judge temperature.", flag="--judge-temperature", min=0.0)
    top_logprobs: int = option(20, "Alternatives per token asked for in logprob scoring.", cli=False)
    format_retries: int = option(2, "Re-asks, with a format reminder, of replies without scores.", min=0)
    missing_image: MissingImage = option("error", MISSING_IMAGE_HELP)
    max_image_side: int | None = option(None, MAX_IMAGE_SIDE_HELP, min=16)
    prefill: str | None = option(
        None, "Make the judge's reply start with this text (e.g. '[Scores]: (' for tiny judges)."
    )
    scale: tuple[float, float] = option(
        MMROLE_SCALE,
        "The judge's score scale LOW-HIGH (MMRole's: 1-10); a pair off it is asked again, then failed.",
        parse=parse_scale,
        metavar="LOW-HIGH",
        default_text="1-10",
    )

    def __post_init__(self) -> None:
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown or not self.metrics:
            raise ConfigError(f"unknown metric(s) {unknown}; choose from: {', '.join(METRICS)}")
        if self.repeats < 1:
            raise ConfigError("--repeats must be at least 1")
        if self.scoring not in ("sampled", "logprob"):
            raise ConfigError("--scoring must be 'sampled' or 'logprob'")
        if self.format_retries < 0:
            raise ConfigError("format retries must be >= 0")
        if self.missing_image not in MISSING_IMAGE_POLICIES:
            raise ConfigError("--missing-image must be 'error' or 'omit'")
        try:
            object.__setattr__(self, "scale", check_scale(self.scale))
        except ValueError as err:
            raise ConfigError(f"--scale: {err}") from None
        # Keep the metrics in the paper's order whatever order they were given in.
        object.__setattr__(self, "metrics", tuple(m for m in METRICS if m in self.metrics))

    @property
    def orders(self) -> tuple[str, ...]:
        return ORDERS_SWAP if self.swap else ORDERS_DEFAULT

    def params(self, repeat: int, attempt: int) -> GenerationParams:
        logprob = self.scoring == "logprob"
        return GenerationParams(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            logprobs=logprob,
            top_logprobs=self.top_logprobs if logprob else 0,
            draw=repeat + _RETRY_DRAW_STRIDE * max(0, attempt - 1),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["metrics"] = list(self.metrics)
        data["scale"] = list(self.scale)
        return data


@dataclass(frozen=True)
class JudgeTask:
    """One judgement to obtain: a sample, a metric, an order and a repeat."""

    sample: Sample
    answer: str
    metric: str
    order: str = "AB"
    repeat: int = 0

    @property
    def key(self) -> str:
        return f"{self.sample.id}::{self.metric}::{self.order}::{self.repeat}"

    def user_text(self) -> str:
        a, b = (
            (self.answer, self.sample.reference)
            if self.order == "AB"
            else (self.sample.reference, self.answer)
        )
        return judge_user_text(
            question=self.sample.instruction,
            answer_a=a,
            answer_b=b,
            role=self.sample.role,
            script=self.sample.script,
            other_role=self.sample.other_role,
            metric=self.metric,
        )


def judge_messages(
    task: JudgeTask, image_parts: Sequence[dict[str, Any]], *, attempt: int = 0, prefill: str | None = None
) -> list[Message]:
    """The chat messages of one judge request: system text, then the image and the user text."""
    text = task.user_text()
    if attempt > 0:
        text = with_format_reminder(text)
    messages: list[Message] = [
        {"role": "system", "content": JUDGE_SYSTEM},
        {"role": "user", "content": [*image_parts, {"type": "text", "text": text}]},
    ]
    if prefill:
        messages.append({"role": "assistant", "content": prefill})
    return messages


def image_parts(sample: Sample, image_root: str | Path | None, options: JudgeOptions) -> list[dict[str, Any]]:
    """The sample's image as OpenAI ``image_url`` parts ([] when omitted because the file is absent).

    Without downscaling the part names the local file (backends read it when they send it,
    and the cache key hashes its bytes), so a run's images are not all held in memory as
    data URLs; with ``max_image_side`` it is the downscaled image's data URL, the same one the
    MRPA's request carries (:func:`mmrole.images.file_data_url`).

    Raises:
        DataError: The image file is absent and ``missing_image`` is ``error``, or it is not a
            usable image (empty, SVG, corrupt, too large).
        UnsafePathError: The image path leads out of the image folder (whatever ``missing_image``).
    """

    try:
        path = resolve_image(sample, image_root)
    except UnsafePathError:
        raise  # a path leading out of the image folder: never omitted quietly, never read
    except DataError as err:
        if options.missing_image == "omit":
            return []
        raise DataError(
            f"{err.reason}; judge without images with --missing-image omit, or point --images at them",
            record=sample.id,
            field="image",
        ) from None
    if options.max_image_side is None:
        check_image_file(path, record=sample.id, field="image")  # one error now, not 8 failed calls
        url = str(path.resolve())
    else:
        url = file_data_url(path, options.max_image_side, record=sample.id)
    return [{"type": "image_url", "image_url": {"url": url}}]


class SampleImages:
    """Each sample's :func:`image_parts`, made when its judge requests are built.

    Judge requests are built as the engine sends them, a sample's metric prompts one after
    another: the last sample's parts are kept, no others (with ``max_image_side`` they hold the
    downscaled image's data URL). :meth:`check` raises a missing image before any call.
    """

    def __init__(self, image_root: str | Path | None, options: JudgeOptions):
        self.image_root, self.options = image_root, options
        self._last: tuple[str, list[dict[str, Any]]] | None = None

    def check(self, samples: Iterable[Sample]) -> None:
        """Raise the DataError :func:`image_parts` would, for the first sample whose image is absent."""
        paths_only = replace(self.options, max_image_side=None)  # a stat each, nothing encoded
        for sample in samples:
            image_parts(sample, self.image_root, paths_only)

    def __call__(self, sample: Sample) -> list[dict[str, Any]]:
        if self._last is None or self._last[0] != sample.id:
            self._last = (sample.id, image_parts(sample, self.image_root, self.options))
        return self._last[1]


def plan_tasks(
    samples: Sequence[Sample], answers: Mapping[str, Mapping[str, Any]], options: JudgeOptions
) -> tuple[list[JudgeTask], list[str]]:
    """The judgements to obtain, and the ids of samples left unjudged (no or empty answer)."""
    tasks, unjudged = [], []
    for sample in samples:
        record = answers.get(sample.id) or {}
        answer = record.get("answer")
        if record.get("error") or not isinstance(answer, str) or not answer.strip():
            unjudged.append(sample.id)
            continue
        for metric in options.metrics:
            for order in options.orders:
                for repeat in range(options.repeats):
                    tasks.append(JudgeTask(sample, answer, metric, order, repeat))
    return tasks, unjudged


@dataclass
class JudgePlan:
    """A judging planned, its images checked: what :func:`mmrole.eval.judge.judge_samples` runs.

    Attributes:
        options: How to judge.
        tasks: One per (answered sample, metric, order, repeat), in sample order.
        unjudged: Ids of the samples left unjudged (no or empty answer).
        images: Each sample's image parts, made as its requests are built.
    """

    options: JudgeOptions
    tasks: list[JudgeTask]
    unjudged: list[str]
    images: SampleImages


def plan_judging(
    samples: Sequence[Sample],
    answers: Mapping[str, Mapping[str, Any]],
    options: JudgeOptions,
    image_root: str | Path | None = None,
) -> JudgePlan:
    """Plan the judging of ``answers`` (by sample id) and check every judged sample's image, before any call.

    Raises:
        DataError: A judged sample's image is absent (and ``missing_image`` is ``error``) or unusable.
        UnsafePathError: An image path leads out of ``image_root``.
    """
    tasks, unjudged = plan_tasks(samples, answers, options)
    images = SampleImages(image_root, options)
    images.check({task.sample.id: task.sample for task in tasks}.values())
    return JudgePlan(options, tasks, unjudged, images)
