"""Options of ``mmrole align`` (no heavy imports)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from mmrole.align.feedback_config import FeedbackOptions
from mmrole.engine.failures import MaxFailures
from mmrole.errors import ConfigError
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


@dataclass
class AlignConfig:
    """Iterative DPO: each iteration samples pairs with the current model, trains, evaluates.

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
        eval_judge_max_tokens: The evaluation judge's reply length cap.
        eval_checkpoints: Also evaluate the intermediate checkpoints the DPO run saved.
        prompts_per_iteration: Each iteration takes the next N prompts of ``data`` (wrapping
            around); None uses all prompts every iteration (new samples each time).
        feedback: Sampling, scoring and pairing options of each iteration.
        splitter: Claims scorer's splitter (default: the judge).
        checker: Claims scorer's checker (default: the judge).
        dpo_preset: ``mmrole train dpo`` preset (e.g. ``smoke``).
        dpo: More DPO options (fields of :class:`mmrole.train.dpo_config.DPOConfig`).
        progress: Show progress bars.
        max_failures: Stop at the first stage (feedback responses, evaluation answers,
            evaluation judgements) with more failures than this allows (``--max-failures``);
            None never stops.
    """

    model: str
    data: str
    judge: str
    output_dir: str
    iterations: int = 3
    eval_data: str | None = None
    eval_limit: int | None = None
    eval_max_tokens: int = 512
    eval_metrics: tuple[str, ...] = METRICS
    eval_judge_max_tokens: int = 512
    eval_checkpoints: bool = False
    prompts_per_iteration: int | None = None
    feedback: FeedbackOptions = field(default_factory=FeedbackOptions)
    splitter: str | None = None
    checker: str | None = None
    dpo_preset: str | None = None
    dpo: dict[str, Any] = field(default_factory=dict)
    progress: bool = True
    max_failures: MaxFailures | str | int | float | None = None

    def __post_init__(self) -> None:
        self.model = self.model.removeprefix("hf:")
        if self.max_failures is not None:
            self.max_failures = MaxFailures.parse(self.max_failures)
        if self.iterations < 1:
            raise ConfigError("--iterations must be at least 1")
        if self.prompts_per_iteration is not None and self.prompts_per_iteration < 1:
            raise ConfigError("--prompts-per-iteration must be at least 1")
        reserved = {"model", "data", "output_dir", "resume"} & set(self.dpo)
        if reserved:
            raise ConfigError(f"--dpo-args: {', '.join(sorted(reserved))} is set by mmrole align itself")
        _ = self.test_data  # no test set is an error now, not after the first iteration

    @property
    def test_data(self) -> str:
        """The evaluations' test set: ``eval_data``, else the test set that goes with ``data``.

        Raises:
            ConfigError: No ``eval_data`` and ``data`` has no test set of its own.
        """
        from mmrole.data.holdout import default_test_set

        found = self.eval_data or default_test_set(self.data)
        if found is None:
            raise ConfigError(
                f"--eval-data is required: {self.data} has no data/test/ to evaluate on, and the models are "
                "never evaluated on their own training prompts"
            )
        return found

    def feedback_holdout(self) -> FeedbackOptions:
        """The feedback options with the evaluations' test set held out of the prompts too."""
        from dataclasses import replace

        tests = tuple(dict.fromkeys((*self.feedback.test_data, self.test_data)))
        return replace(self.feedback, test_data=tests)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["eval_metrics"] = list(self.eval_metrics)
        data["max_failures"] = None if self.max_failures is None else str(self.max_failures)
        return data
