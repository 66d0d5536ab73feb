"""`mmrole feedback`, `mmrole align` and `mmrole judge-agreement`: preference data, iterative DPO, judge checks."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import typer

from mmrole._cli import console as make_console
from mmrole._cli import max_failures as parse_max_failures
from mmrole._cli import max_failures_option


class ScorerChoice(str, Enum):
    mmrole_eval = "mmrole-eval"
    claims = "claims"


class RewardChoice(str, Enum):
    score = "score"
    ratio = "ratio"


class MissingImage(str, Enum):
    error = "error"
    omit = "omit"


INCLUDE_TEST = typer.Option(
    False,
    "--include-test",
    help="Keep test samples (the data root's data/test/, --test-data) and the other turns of their dialogues "
    "(left out by default; warned about).",
)
INCLUDE_OOD = typer.Option(
    False, "--include-ood", help="Keep out-of-distribution characters' samples (left out by default)."
)
TEST_DATA = typer.Option(
    None,
    "--test-data",
    help="More test sets to hold out (comma-separated), besides the data root's data/test/.",
)


def _sources(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def feedback_command(
    policy: str = typer.Option(
        ..., "--policy", help="The model sampling responses: hf:PATH, openai:MODEL[@URL]..."
    ),
    data: str = typer.Option(
        ...,
        "--data",
        help="Prompts: a data root, a samples .jsonl, a Qwen-VL file or folder, or 'demo' (its training split); "
        "test samples and out-of-distribution characters are left out.",
    ),
    out: Path = typer.Option(
        ..., "--out", help="Output folder (pairs.jsonl, candidates.jsonl...); rerunning resumes."
    ),
    judge: str | None = typer.Option(
        None, "--judge", help="MMRole-Eval judge; with --scorer claims, the default splitter and checker."
    ),
    k: int = typer.Option(10, "--k", min=2, help="Responses sampled per prompt."),
    temperature: float = typer.Option(0.7, min=0.0, help="Policy sampling temperature."),
    top_p: float = typer.Option(1.0, min=0.0, max=1.0, help="Policy nucleus sampling mass."),
    max_tokens: int = typer.Option(512, min=1, help="Longest response, in tokens."),
    seed: int | None = typer.Option(
        None, help="Sampling seed (draw k uses seed+k), for backends that take one."
    ),
    scorer: ScorerChoice = typer.Option(
        ScorerChoice.mmrole_eval, help="mmrole-eval (judge scores) or claims (rejected claims)."
    ),
    weights: str | None = typer.Option(
        None,
        help="Metric weights of the reward, e.g. 'Fluency=1,Response Accuracy=2' (default: all 8 equal).",
    ),
    reward: RewardChoice = typer.Option(
        RewardChoice.score, help="score: the response's 1-10 scores; ratio: 10 x a/b."
    ),
    judge_max_tokens: int = typer.Option(512, min=1, help="Judge and claim-splitter reply length cap."),
    swap: bool = typer.Option(False, help="Also judge with the answers swapped (twice the judge calls)."),
    splitter: str | None = typer.Option(
        None, help="Claims scorer: the text model listing claims as yes/no questions."
    ),
    checker: str | None = typer.Option(None, help="Claims scorer: the vision-language model answering them."),
    max_claims: int = typer.Option(20, min=1, help="Claims checked per response at most."),
    min_gap: float = typer.Option(1.0, min=0.0, help="Smallest score difference of a kept pair."),
    max_pairs: int = typer.Option(2, min=1, help="Pairs per prompt at most."),
    balance_length: bool = typer.Option(
        True, help="Drop pairs so chosen is longer as often as it is shorter."
    ),
    pair_seed: int = typer.Option(0, help="Seed of the random choice of pairs."),
    limit: int | None = typer.Option(None, min=1, help="Use only N prompts."),
    offset: int = typer.Option(0, min=0, help="Skip the first N prompts."),
    include_test: bool = INCLUDE_TEST,
    include_ood: bool = INCLUDE_OOD,
    test_data: str | None = TEST_DATA,
    images: Path | None = typer.Option(None, help="Image folder (default: found from --data)."),
    missing_image: MissingImage = typer.Option(
        MissingImage.error, help="A missing image stops the run (error) or is left out (omit)."
    ),
    max_image_side: int | None = typer.Option(
        None, min=16, help="Downscale images whose longer side exceeds this."
    ),
    concurrency: int = typer.Option(32, min=1, help="Model calls in flight at most."),
    max_retries: int = typer.Option(5, min=0, help="Retries per call on 429, 5xx, timeouts."),
    max_failures: str = max_failures_option(),
    progress: bool = typer.Option(True, help="Show progress bars."),
) -> None:
    """Build RLAIF-V-style preference pairs: K responses per prompt, scored, paired, length-balanced.

    Writes OUT/pairs.jsonl, the format `mmrole train dpo --data` reads. Exits 1 when more responses
    than --max-failures allows got no score because a call failed (empty responses are no failure),
    3 when an endpoint is unusable.
    """
    from mmrole.align.feedback import CANDIDATES_FILE, generate_feedback_sync
    from mmrole.align.feedback_config import FeedbackOptions, parse_weights

    allowed = parse_max_failures(max_failures)

    options = FeedbackOptions(
        n_samples=k,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        seed=seed,
        scorer=scorer.value,
        weights=parse_weights(weights),
        reward=reward.value,  # type: ignore[arg-type]
        judge_max_tokens=judge_max_tokens,
        swap=swap,
        max_claims=max_claims,
        min_gap=min_gap,
        max_pairs=max_pairs,
        balance_length=balance_length,
        pair_seed=pair_seed,
        limit=limit,
        offset=offset,
        include_test=include_test,
        include_ood=include_ood,
        test_data=_sources(test_data),
        missing_image=missing_image.value,
        max_image_side=max_image_side,  # type: ignore[arg-type]
        concurrency=concurrency,
        max_retries=max_retries,
        progress=progress,
    )
    summary = generate_feedback_sync(
        policy, judge, data, out, options, image_root=images, splitter=splitter, checker=checker
    )
    typer.echo(summary.line())
    if summary.n_failed_responses:
        typer.secho(
            f"{summary.n_failed_responses} response(s) failed or came back empty (see candidates.jsonl); "
            "rerun to retry them.",
            fg="yellow",
            err=True,
        )
    allowed.check(summary.n_unscored, summary.n_responses, "responses", str(out / CANDIDATES_FILE))


def align_command(
    model: str = typer.Option(
        ..., "--model", help="The starting model: a local transformers folder (hf:PATH)."
    ),
    data: str = typer.Option(..., "--data", help="Prompts the preference pairs are built from."),
    judge: str = typer.Option(
        ..., "--judge", help="Judge model spec: scores responses and evaluates each model."
    ),
    out: Path = typer.Option(
        ..., "--out", help="The align folder (rerun to continue; finished iterations are kept)."
    ),
    iterations: int = typer.Option(3, min=1, help="Iterations to run in all."),
    eval_data: str | None = typer.Option(
        None,
        help="Test set of the evaluations, held out of the prompts (default: the data root's data/test/; "
        "'demo' for --data demo).",
    ),
    eval_limit: int | None = typer.Option(None, min=1, help="Evaluate on the first N test samples only."),
    eval_max_tokens: int = typer.Option(512, min=1, help="Longest evaluated answer, in tokens."),
    eval_metrics: str | None = typer.Option(
        None, help="Comma-separated MMRole-Eval metrics of the evaluation (default: all)."
    ),
    eval_checkpoints: bool = typer.Option(
        False, help="Also evaluate intermediate DPO checkpoints (best one wins)."
    ),
    prompts_per_iteration: int | None = typer.Option(
        None, min=1, help="Each iteration takes the next N prompts."
    ),
    k: int = typer.Option(10, "--k", min=2, help="Responses sampled per prompt."),
    temperature: float = typer.Option(0.7, min=0.0, help="Sampling temperature of the responses."),
    max_tokens: int = typer.Option(512, min=1, help="Longest sampled response, in tokens."),
    seed: int | None = typer.Option(None, help="Sampling seed (varied per iteration and draw)."),
    scorer: ScorerChoice = typer.Option(
        ScorerChoice.mmrole_eval, help="mmrole-eval (judge scores) or claims."
    ),
    weights: str | None = typer.Option(
        None, help="Metric weights of the feedback reward (default: all 8 equal)."
    ),
    reward: RewardChoice = typer.Option(RewardChoice.score, help="score: 1-10 scores; ratio: 10 x a/b."),
    splitter: str | None = typer.Option(None, help="Claims scorer's splitter (default: --judge)."),
    checker: str | None = typer.Option(None, help="Claims scorer's checker (default: --judge)."),
    min_gap: float = typer.Option(1.0, min=0.0, help="Smallest score difference of a kept pair."),
    max_pairs: int = typer.Option(2, min=1, help="Pairs per prompt at most."),
    balance_length: bool = typer.Option(True, help="Length-balance the pairs."),
    include_test: bool = INCLUDE_TEST,
    include_ood: bool = INCLUDE_OOD,
    test_data: str | None = TEST_DATA,
    judge_max_tokens: int = typer.Option(512, min=1, help="Judge reply length cap."),
    missing_image: MissingImage = typer.Option(
        MissingImage.error, help="A missing image stops the run or is left out."
    ),
    max_image_side: int | None = typer.Option(
        None, min=16, help="Downscale images whose longer side exceeds this."
    ),
    concurrency: int = typer.Option(32, min=1, help="Judge calls in flight at most."),
    dpo_preset: str | None = typer.Option(None, help="`mmrole train dpo` preset, e.g. smoke."),
    dpo_args: str | None = typer.Option(
        None,
        help="More `mmrole train dpo` options as k=v pairs, e.g. 'max_steps=100,beta=0.1,use_lora=true'.",
    ),
    max_failures: str = max_failures_option(),
    progress: bool = typer.Option(True, help="Show progress bars."),
) -> None:
    """Iterative DPO: pairs from the current model, DPO, MMRole-Eval; the best model is the next base.

    Writes OUT/iter_N/{feedback,model,eval} and OUT/summary.md/json. Stops with exit status 1 at the
    first stage (feedback, evaluation answers, evaluation judgements) with more failures than
    --max-failures allows (rerun to continue), 3 when an endpoint is unusable.
    """

    from mmrole.align.feedback_config import FeedbackOptions, metric_named, parse_weights
    from mmrole.align.loop import align
    from mmrole.align.loop_config import AlignConfig, parse_overrides

    feedback = FeedbackOptions(
        n_samples=k,
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
        scorer=scorer.value,  # type: ignore[arg-type]
        weights=parse_weights(weights),
        reward=reward.value,
        judge_max_tokens=judge_max_tokens,  # type: ignore[arg-type]
        min_gap=min_gap,
        max_pairs=max_pairs,
        balance_length=balance_length,
        include_test=include_test,
        include_ood=include_ood,
        test_data=_sources(test_data),
        missing_image=missing_image.value,
        max_image_side=max_image_side,
        concurrency=concurrency,  # type: ignore[arg-type]
    )
    metrics = [metric_named(m) for m in eval_metrics.split(",") if m.strip()] if eval_metrics else None
    config = AlignConfig(
        model=model,
        data=data,
        judge=judge,
        output_dir=str(out),
        iterations=iterations,
        eval_data=eval_data,
        eval_limit=eval_limit,
        eval_max_tokens=eval_max_tokens,
        eval_judge_max_tokens=judge_max_tokens,
        eval_checkpoints=eval_checkpoints,
        prompts_per_iteration=prompts_per_iteration,
        feedback=feedback,
        splitter=splitter,
        checker=checker,
        dpo_preset=dpo_preset,
        dpo=parse_overrides(dpo_args),
        progress=progress,
        max_failures=parse_max_failures(max_failures),
        **({"eval_metrics": tuple(metrics)} if metrics else {}),
    )
    summary = align(config)
    make_console().print(_summary_table(summary))
    typer.echo(f"summary: {out / 'summary.md'}")


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


def judge_agreement_command(
    run: Path = typer.Option(..., "--run", help="The judged run whose judge is being checked."),
    reference: Path = typer.Option(
        ..., "--reference", help="The judged run of the reference judge (same samples)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the numbers as JSON instead of a table."),
) -> None:
    """Compare two judges on the same samples: MAE, Pearson, Spearman, better-answer agreement, parse rates."""
    import json

    from mmrole.eval.agreement import agreement_table, judge_agreement

    report = judge_agreement(run, reference)
    if as_json:
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


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level app."""
    app.command("feedback")(feedback_command)
    app.command("align")(align_command)
    app.command("judge-agreement")(judge_agreement_command)
