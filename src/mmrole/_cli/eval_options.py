"""The options of ``mmrole answer``, ``mmrole judge`` and ``mmrole eval``: the commands are made from
these dataclasses (:func:`mmrole._cli.options.options_command`).

Each option shared by several commands is declared once, below, and means the same on each:
``--run`` the run folder, ``--images`` the image folder, ``--limit`` the first N samples,
``--seed`` the model's sampling seed (``--bootstrap-seed`` seeds the confidence intervals),
``--agent-arg``/``--judge-arg`` a backend option. The judging options are
:class:`~mmrole.eval.judge_plan.JudgeOptions`'s fields, the engine's
:class:`~mmrole.engine.options.EngineOptions`'s.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmrole.engine.options import EngineOptions
from mmrole.eval.judge_plan import JudgeOptions
from mmrole.models.registry import backend_options, parse_backend_args
from mmrole.options import (
    MAX_IMAGE_SIDE_HELP,
    MISSING_IMAGE_HELP,
    SEED_HELP,
    TEMPERATURE_HELP,
    TOP_P_HELP,
    backend_arg_help,
    option,
    required,
)
from mmrole.schema import MissingImage

MODEL_SPECS = "openai:MODEL[@URL], hf:PATH, replay:FILE or demo"
#: The judging commands' --max-failures: the demo judge's preset tolerates some failures.
DEMO_FAILURES_NOTE = "With the demo judge the default is 0.1: a 135M judge misses the format now and then."


def agent_option() -> Any:
    return required(f"The MRPA: {MODEL_SPECS}.")


def judge_option() -> Any:
    return required(f"Judge model: {MODEL_SPECS}.")


def data_option() -> Any:
    return required("A samples .jsonl, an MMRole test folder or file, a data root, or 'demo'.")


def run_option() -> Any:
    return required("The run folder (created when missing; a rerun resumes from its store).")


def limit_option(what: str) -> Any:
    return option(None, f"{what} only the first N samples.", min=1)


def images_option() -> Any:
    return option(
        None,
        "The folder the samples' image paths are relative to (default: found from the data, e.g. "
        "MMRole-Data's images/, or the run's).",
        aliases=("--image-root",),
    )


def backend_args_option(flag: str, model: str) -> Any:
    """``--agent-arg KEY=VALUE`` (repeatable): an option of ``model``'s backend."""
    return option(
        help=backend_arg_help(model),
        factory=dict,
        flag=flag,
        parse=functools.partial(parse_backend_args, flag=flag),
        repeat=True,
        metavar="KEY=VALUE",
    )


def engine_option(**notes: str) -> Any:
    return option(help="How the model calls run.", factory=EngineOptions, notes=notes)


def overwrite_option() -> Any:
    return option(
        False,
        "Start afresh when the run folder was answered or judged with another model, other data or other "
        "options, instead of refusing; drops the files that depended on it. Calls cached in the run's "
        "store are reused.",
    )


N_BOOT_HELP = "Bootstrap replicates for confidence intervals."
BOOTSTRAP_SEED_HELP = "Seed of the bootstrap draws of the confidence intervals (not of any model)."


def n_boot_option() -> Any:
    return option(1000, N_BOOT_HELP, min=10)


def bootstrap_seed_option() -> Any:
    return option(0, BOOTSTRAP_SEED_HELP)


@dataclass(kw_only=True)
class AnswerCommand:
    """``mmrole answer``."""

    agent: str = agent_option()
    data: str = data_option()
    run: Path = run_option()
    limit: int | None = limit_option("Answer")
    max_tokens: int = option(512, "Longest answer, in tokens.", min=1)
    temperature: float = option(0.0, TEMPERATURE_HELP, min=0.0)
    top_p: float = option(1.0, TOP_P_HELP, min=0.0, max=1.0)
    seed: int | None = option(None, SEED_HELP)
    images: Path | None = images_option()
    max_image_side: int | None = option(None, MAX_IMAGE_SIDE_HELP, min=16)
    missing_image: MissingImage = option("error", MISSING_IMAGE_HELP)
    agent_args: dict[str, Any] = backend_args_option("--agent-arg", "agent")
    engine: EngineOptions = engine_option()
    overwrite: bool = overwrite_option()

    def __post_init__(self) -> None:
        self.agent_args = backend_options(self.agent, self.agent_args, "--agent-arg")


@dataclass(kw_only=True)
class JudgeCommand:
    """``mmrole judge``."""

    judge: str = judge_option()
    run: Path = run_option()
    limit: int | None = limit_option("Judge")
    judging: JudgeOptions = option(help="How to judge.", factory=JudgeOptions)
    images: Path | None = images_option()
    n_boot: int = n_boot_option()
    bootstrap_seed: int = bootstrap_seed_option()
    judge_args: dict[str, Any] = backend_args_option("--judge-arg", "judge")
    engine: EngineOptions = engine_option(max_failures=DEMO_FAILURES_NOTE)
    overwrite: bool = overwrite_option()

    def __post_init__(self) -> None:
        self.judge_args = backend_options(self.judge, self.judge_args, "--judge-arg")


@dataclass(kw_only=True)
class EvalCommand:
    """``mmrole eval``: the answer options that matter for an evaluation, and the judge's."""

    agent: str = agent_option()
    judge: str = judge_option()
    data: str = data_option()
    run: Path = run_option()
    limit: int | None = limit_option("Evaluate")
    max_tokens: int | None = option(
        None, "Longest answer in tokens (default 512; 48 for the demo agent).", min=1
    )
    judging: JudgeOptions = option(
        help="How to judge (the image options apply to the answering too).", factory=JudgeOptions
    )
    images: Path | None = images_option()
    n_boot: int = n_boot_option()
    bootstrap_seed: int = bootstrap_seed_option()
    agent_args: dict[str, Any] = backend_args_option("--agent-arg", "agent")
    judge_args: dict[str, Any] = backend_args_option("--judge-arg", "judge")
    engine: EngineOptions = engine_option(max_failures=DEMO_FAILURES_NOTE)
    overwrite: bool = overwrite_option()

    def __post_init__(self) -> None:
        self.agent_args = backend_options(self.agent, self.agent_args, "--agent-arg")
        self.judge_args = backend_options(self.judge, self.judge_args, "--judge-arg")


def demo_judge_preset(given: dict[tuple[str, ...], Any]) -> dict[str, Any]:
    """The demo judge's settings for the options not given (``mmrole.eval.presets``)."""
    from mmrole.eval.presets import DEMO_JUDGE, DEMO_MAX_FAILURES, is_demo

    if not is_demo(given.get(("judge",))):
        return {}
    return {"judging": DEMO_JUDGE, "engine": {"max_failures": DEMO_MAX_FAILURES}}


@dataclass
class ImportCommand:
    """``mmrole import``: released files, a published folder, or a VLMEvalKit prediction file as runs."""

    path: Path | None = option(
        None,
        "A released answers/reviews file, a folder of the three, or a VLMEvalKit prediction file "
        "(.xlsx, .tsv).",
        argument=True,
    )
    name: str | None = option(None, "Display name of the imported MRPA.")
    run: Path | None = option(None, "The run folder to create.")
    published: Path | None = option(
        None,
        "Import every MRPA of MMRole's release under this folder, both splits: the release's folder "
        "(in-test/, out-test/) or MMRole's eval/ (in-test_reviews/, out-test_answers/, ...).",
    )
    out: Path | None = option(None, "With --published: where the runs go (one per MRPA).")
    split: str | None = option(None, "Force the split (default: from the folder name).")
    images: Path | None = option(None, "Where the samples' images are, if you have them.")
    data: Path | None = option(
        None, "With a prediction file: the dataset's TSV, whose samples its indices name."
    )
    overwrite: bool = option(False, "Replace an existing run's files.")


@dataclass
class LeaderboardCommand:
    """``mmrole leaderboard``."""

    runs: list[Path] = required("Judged run folders.", argument=True)
    out: list[Path] = option(factory=list, help="Also write the board to .md or .csv (repeatable).")


@dataclass
class CompareCommand:
    """``mmrole compare``."""

    run_a: Path = required("Run A.", argument=True)
    run_b: Path = required("Run B.", argument=True)
    as_json: bool = option(False, "Print JSON instead of a table.", flag="--json")
    out: list[Path] = option(factory=list, help="Also write the comparison to .md or .json (repeatable).")
    n_boot: int = n_boot_option()
    n_perm: int = option(10000, "Permutations for the p-values.", min=10)
    bootstrap_seed: int = option(0, BOOTSTRAP_SEED_HELP + " Also of the permutations.")


@dataclass
class ReportCommand:
    """``mmrole report``."""

    runs: list[Path] = required("Evaluated run folders.", argument=True)
    out: Path | None = option(None, "Output folder (default: the run folder, for one run).")
