"""Options of ``mmrole align`` (no heavy imports)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, fields, replace
from typing import Any

from mmrole.align.feedback_config import CHECKER_HELP, SPLITTER_HELP, FeedbackOptions, metric_named
from mmrole.data.holdout import default_test_set
from mmrole.engine.options import EngineOptions
from mmrole.errors import ConfigError
from mmrole.models.registry import backend_options, parse_backend_args
from mmrole.options import backend_arg_help, option, required
from mmrole.schema import METRICS


def parse_overrides(text: str | None, option: str = "--dpo-args") -> dict[str, Any]:
    """``"max_steps=2,learning_rate=1e-6,use_lora=true"`` -> a dict, values read as JSON where they parse.

    Raises:
        ConfigError: An item is not ``key=value``.
    """
    found: dict[str, Any] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option}: {item.strip()!r} is not key=value")
        try:
            found[key.strip().replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            found[key.strip().replace("-", "_")] = value.strip()
    return found


def parse_metric_names(text: str | None) -> tuple[str, ...]:
    """``"fluency, Coherency"`` -> the metrics named, in the paper's order (all eight when none)."""
    named = {metric_named(m) for m in (text or "").split(",") if m.strip()}
    return tuple(m for m in METRICS if m in named) or METRICS


def _quiet_engine() -> EngineOptions:
    return EngineOptions(max_failures=None)  # from Python, align never stops on failures unless asked


#: The feedback options ``mmrole align`` takes (the rest keep FeedbackOptions' defaults, or are set per
#: iteration: ``limit`` and ``offset`` with --prompts-per-iteration).
_FEEDBACK_OPTIONS = (
    "n_samples", "temperature", "max_tokens", "seed", "scorer", "weights", "reward", "judge.max_tokens",
    "min_gap", "max_pairs", "balance_length", "limit", "include_test", "include_ood", "test_data",
    "missing_image", "max_image_side",
)  # fmt: skip


@dataclass
class AlignConfig:
    """Iterative DPO: each iteration samples pairs with the current model, trains, evaluates.

    Each field is also an option of ``mmrole align``.

    Attributes:
        model: The starting model: a local transformers folder (``hf:`` prefix optional).
        data: The prompts pairs are built from (samples JSONL, MMRole folder or file, data root, ``demo``).
        judge: The judge model spec: scores feedback responses (MMRole-Eval scorer, or default
            claim splitter/checker) and evaluates every model.
        output_dir: The align folder: ``base/``, ``iter_N/{feedback,model,eval}``, ``summary.md``/``.json``.
        iterations: Iterations to run (a finished iteration is never redone; raise it to go on).
        eval_data: The test set models are evaluated on, held out of the prompts. Default: the
            test set of ``data`` (``demo``'s, or its data root's ``data/test``); never ``data`` itself.
        eval_limit: Evaluate on the first N test samples only.
        eval_max_tokens: Longest evaluated answer, in tokens (greedy decoding).
        eval_metrics: MMRole-Eval metrics of the evaluation (default: all eight).
        eval_judge_max_tokens: The evaluation judge's reply length cap (``mmrole align`` sets it to
            the feedback judge's, ``--judge-max-tokens``).
        eval_checkpoints: Also evaluate the intermediate checkpoints the DPO run saved.
        prompts_per_iteration: Each iteration takes the next N prompts of ``data`` (wrapping
            around); None uses all prompts every iteration (new samples each time).
        feedback: Sampling, scoring and pairing options of each iteration (its ``engine`` is
            replaced by ``engine`` below).
        splitter: Claims scorer's splitter (default: the judge).
        checker: Claims scorer's checker (default: the judge).
        dpo_preset: ``mmrole train dpo`` preset (e.g. ``smoke``).
        dpo: More DPO options (fields of :class:`mmrole.train.dpo_config.DPOConfig`).
        model_args: Options of the ``hf:`` backend that samples and answers with each model
            (``--model-arg dtype=bfloat16``).
        judge_args: Options of the judge's backend (``--judge-arg``).
        engine: Concurrency, retries, rate limit, timeout and progress of every model call; its
            ``max_failures`` stops the loop at the first stage (feedback responses, evaluation
            answers, evaluation judgements) with more failures than it allows; None never stops.
    """

    model: str = required("The starting model: a local transformers folder (hf:PATH).")
    data: str = required("Prompts the preference pairs are built from.")
    judge: str = required("Judge model spec: scores responses and evaluates each model.")
    output_dir: str = required(
        "The align folder (rerun to continue; finished iterations are kept).", flag="--out"
    )
    iterations: int = option(3, "Iterations to run in all.", min=1)
    eval_data: str | None = option(
        None,
        "Test set of the evaluations, held out of the prompts (default: the data root's data/test/; "
        "'demo' for --data demo).",
    )
    eval_limit: int | None = option(None, "Evaluate on the first N test samples only.", min=1)
    eval_max_tokens: int = option(512, "Longest evaluated answer, in tokens.", min=1)
    eval_metrics: tuple[str, ...] = option(
        METRICS,
        "Comma-separated MMRole-Eval metrics of the evaluation.",
        parse=parse_metric_names,
        metavar="METRIC,...",
        default_text="all 8",
    )
    eval_judge_max_tokens: int = option(512, "The evaluation judge's reply length cap.", cli=False)
    eval_checkpoints: bool = option(False, "Also evaluate intermediate DPO checkpoints (best one wins).")
    prompts_per_iteration: int | None = option(None, "Each iteration takes the next N prompts.", min=1)
    feedback: FeedbackOptions = option(
        help="Sampling, scoring and pairing of each iteration.",
        factory=FeedbackOptions,
        only=_FEEDBACK_OPTIONS,
    )
    splitter: str | None = option(None, SPLITTER_HELP)
    checker: str | None = option(None, CHECKER_HELP)
    dpo_preset: str | None = option(None, "`mmrole train dpo` preset, e.g. smoke.")
    dpo: dict[str, Any] = option(
        help="More `mmrole train dpo` options as k=v pairs, e.g. 'max_steps=100,beta=0.1,use_lora=true'.",
        factory=dict,
        flag="--dpo-args",
        parse=parse_overrides,
        metavar="K=V,...",
    )
    model_args: dict[str, Any] = option(
        help=backend_arg_help("model"),
        factory=dict,
        flag="--model-arg",
        parse=functools.partial(parse_backend_args, flag="--model-arg"),
        repeat=True,
        metavar="KEY=VALUE",
    )
    judge_args: dict[str, Any] = option(
        help=backend_arg_help("judge"),
        factory=dict,
        flag="--judge-arg",
        parse=functools.partial(parse_backend_args, flag="--judge-arg"),
        repeat=True,
        metavar="KEY=VALUE",
    )
    engine: EngineOptions = option(help="How the model calls run.", factory=_quiet_engine)

    def __post_init__(self) -> None:
        self.model = self.model.removeprefix("hf:")
        if self.iterations < 1:
            raise ConfigError("--iterations must be at least 1")
        if self.prompts_per_iteration is not None and self.prompts_per_iteration < 1:
            raise ConfigError("--prompts-per-iteration must be at least 1")
        reserved = {"model", "data", "output_dir", "resume"} & set(self.dpo)
        if reserved:
            raise ConfigError(f"--dpo-args: {', '.join(sorted(reserved))} is set by mmrole align itself")
        # A bad backend option is one line now, not after the first iteration's sampling.
        self.model_args = backend_options("hf:" + self.model, self.model_args, "--model-arg")
        self.judge_args = backend_options(self.judge, self.judge_args, "--judge-arg")
        _ = self.test_data  # no test set is an error now, not after the first iteration

    @property
    def test_data(self) -> str:
        """The evaluations' test set: ``eval_data``, else the test set that goes with ``data``.

        Raises:
            ConfigError: No ``eval_data`` and ``data`` has no test set of its own.
        """

        found = self.eval_data or default_test_set(self.data)
        if found is None:
            raise ConfigError(
                f"--eval-data is required: {self.data} has no data/test/ to evaluate on, and the models are "
                "never evaluated on their own training prompts"
            )
        return found

    def feedback_holdout(self) -> FeedbackOptions:
        """The feedback options with the evaluations' test set held out of the prompts too."""
        tests = tuple(dict.fromkeys((*self.feedback.test_data, self.test_data)))
        return replace(self.feedback, test_data=tests)

    def to_dict(self) -> dict[str, Any]:
        """What align.json records (the layout of earlier versions; backend options are left out: they
        may hold a key)."""
        data = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("feedback", "model_args", "judge_args", "engine")
        }
        data["eval_metrics"] = list(self.eval_metrics)
        data["dpo"] = dict(self.dpo)
        order = [f.name for f in fields(self) if f.name in data or f.name == "feedback"]
        data["feedback"] = self.feedback.to_dict()
        recorded = {name: data[name] for name in order}
        recorded["progress"] = self.engine.progress
        allowed = self.engine.max_failures
        recorded["max_failures"] = None if allowed is None else str(self.engine.allowed_failures())
        return recorded
