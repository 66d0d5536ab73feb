"""`mmrole feedback`, `mmrole align` and `mmrole judge-agreement`: preference data, iterative DPO, judge checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from mmrole._cli import console as make_console
from mmrole._cli.eval_options import backend_args_option, images_option
from mmrole._cli.options import options_command
from mmrole.align.feedback_config import CHECKER_HELP, SPLITTER_HELP, FeedbackOptions
from mmrole.align.loop_config import AlignConfig
from mmrole.models.registry import backend_options
from mmrole.options import option, required


@dataclass(kw_only=True)
class FeedbackCommand:
    """``mmrole feedback``: the models, the data and the folder; how to sample, score and pair is
    :class:`~mmrole.align.feedback_config.FeedbackOptions`."""

    policy: str = required("The model sampling responses: hf:PATH, openai:MODEL[@URL]...")
    data: str = required(
        "Prompts: a data root, a samples .jsonl, a Qwen-VL file or folder, or 'demo' (its training split); "
        "test samples and out-of-distribution characters are left out."
    )
    out: Path = required("Output folder (pairs.jsonl, candidates.jsonl...); rerunning resumes.")
    judge: str | None = option(
        None, "MMRole-Eval judge; with --scorer claims, the default splitter and checker."
    )
    splitter: str | None = option(None, SPLITTER_HELP)
    checker: str | None = option(None, CHECKER_HELP)
    options: FeedbackOptions = option(help="Sampling, scoring and pairing.", factory=FeedbackOptions)
    images: Path | None = images_option()
    policy_args: dict[str, Any] = backend_args_option("--policy-arg", "policy")
    judge_args: dict[str, Any] = backend_args_option("--judge-arg", "judge")

    def __post_init__(self) -> None:
        self.policy_args = backend_options(self.policy, self.policy_args, "--policy-arg")
        if self.judge is not None:
            self.judge_args = backend_options(self.judge, self.judge_args, "--judge-arg")


def run_feedback(command: FeedbackCommand) -> None:
    from mmrole.align.feedback import CANDIDATES_FILE, generate_feedback_sync

    options, out = command.options, command.out
    summary = generate_feedback_sync(
        command.policy,
        command.judge,
        command.data,
        out,
        options,
        image_root=command.images,
        splitter=command.splitter,
        checker=command.checker,
        policy_backend_options=command.policy_args,
        judge_backend_options=command.judge_args,
    )
    typer.echo(summary.line())
    if summary.n_failed_responses:
        typer.secho(
            f"{summary.n_failed_responses} response(s) failed or came back empty (see candidates.jsonl); "
            "rerun to retry them.",
            fg="yellow",
            err=True,
        )
    options.engine.allowed_failures().check(
        summary.n_unscored, summary.n_responses, "responses", str(out / CANDIDATES_FILE)
    )


FEEDBACK_HELP = """Build RLAIF-V-style preference pairs: K responses per prompt, scored, paired, length-balanced.

Writes OUT/pairs.jsonl, the format `mmrole train dpo --data` reads. Exits 1 when more responses
than --max-failures allows got no score because a call failed (empty responses are no failure),
3 when an endpoint is unusable.
"""


def align_preset(given: dict[tuple[str, ...], Any]) -> dict[str, Any]:
    """--judge-max-tokens caps the evaluations' judge replies too."""
    cap = given.get(("feedback", "judge", "max_tokens"))
    return {} if cap is None else {"eval_judge_max_tokens": cap}


def run_align(config: AlignConfig) -> None:
    from mmrole.align.loop import align

    summary = align(config)
    make_console().print(_summary_table(summary))
    typer.echo(f"summary: {Path(config.output_dir) / 'summary.md'}")


ALIGN_HELP = """Iterative DPO: pairs from the current model, DPO, MMRole-Eval; the best model is the next base.

Writes OUT/iter_N/{feedback,model,eval} and OUT/summary.md/json. Stops with exit status 1 at the
first stage (feedback, evaluation answers, evaluation judgements) with more failures than
--max-failures allows (rerun to continue), 3 when an endpoint is unusable.
"""


def _summary_table(summary: dict[str, Any]) -> Any:
    """The align summary as a rich Table (the rows of summary.md)."""
    from rich.table import Table

    from mmrole.align.loop_summary import COLUMNS, summary_rows

    table = Table(
        title="mmrole align", caption=f"best: {summary['best']['name']} -> hf:{summary['best']['model_dir']}"
    )
    for index, column in enumerate(COLUMNS):
        table.add_column(column, justify="left" if index < 2 else "right")
    for row in summary_rows(summary):
        table.add_row(*row)
    return table


@dataclass(kw_only=True)
class JudgeAgreementCommand:
    """``mmrole judge-agreement``."""

    run: Path = required("The judged run whose judge is being checked.")
    reference: Path = required("The judged run of the reference judge (same samples).")
    as_json: bool = option(False, "Print the numbers as JSON instead of a table.", flag="--json")


def run_judge_agreement(options: JudgeAgreementCommand) -> None:
    import json

    from mmrole._cli.tables import agreement_table
    from mmrole.eval.agreement import judge_agreement

    report = judge_agreement(options.run, options.reference)
    if options.as_json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        make_console().print(agreement_table(report))
    if report["n_differing_answers"]:
        typer.secho(
            f"note: the MRPA answers differ on {report['n_differing_answers']} of {report['n_common_samples']} "
            "samples: the two judges did not judge the same texts there.",
            fg="yellow",
            err=True,
        )


AGREEMENT_HELP = (
    "Compare two judges on the same samples: MAE, Pearson, Spearman, better-answer agreement, parse rates."
)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level app."""
    app.command("feedback", help=FEEDBACK_HELP)(options_command(FeedbackCommand, run_feedback, FEEDBACK_HELP))
    app.command("align", help=ALIGN_HELP)(options_command(AlignConfig, run_align, ALIGN_HELP, align_preset))
    app.command("judge-agreement", help=AGREEMENT_HELP)(
        options_command(JudgeAgreementCommand, run_judge_agreement, AGREEMENT_HELP)
    )
