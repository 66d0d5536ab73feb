"""`mmrole judge | eval | import | leaderboard | compare | report`: MMRole-Eval from the command line.

Thin option parsing over :mod:`mmrole.eval`; heavy imports happen inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from mmrole._cli import console as make_console
from mmrole._cli.eval_options import (
    CompareCommand,
    EvalCommand,
    ImportCommand,
    JudgeCommand,
    LeaderboardCommand,
    ReportCommand,
    demo_judge_preset,
)
from mmrole._cli.options import options_command


def _warn_not_like_for_like(warnings: list[str]) -> None:
    """Print each way the runs are not like for like, on stderr (stdout may be JSON)."""
    for line in warnings:
        typer.secho(f"Not like for like: {line}", fg="yellow", err=True)


def _print_results(results: dict[str, Any], *, demo: bool, title: str) -> None:

    from mmrole._cli.tables import results_table
    from mmrole.eval.presets import DEMO_DISCLAIMER

    console = make_console()
    console.print(results_table(results, title=title))
    if results.get("n_failed"):
        console.print(
            f"[yellow]{results['n_failed_judgements']} judgement(s) failed (a request error, or no score pair "
            "after the format reminders); they are counted, see reviews.jsonl. A rerun retries request errors "
            "only.[/yellow]"
        )
    if demo:
        console.print(f"[bold yellow]Note:[/bold yellow] {DEMO_DISCLAIMER}")


def run_judge(options: JudgeCommand) -> None:
    from mmrole.eval.judge import judge_run_sync
    from mmrole.eval.presets import is_demo

    run = options.run
    summary = judge_run_sync(
        run,
        options.judge,
        options.judging,
        image_root=options.images,
        engine=options.engine,
        n_boot=options.n_boot,
        seed=options.bootstrap_seed,
        overwrite=options.overwrite,
        limit=options.limit,
        backend_options=options.judge_args,
    )
    typer.echo(
        f"{summary.n_scored}/{summary.n_tasks} judgements scored, {summary.n_failed} failed, "
        f"{summary.n_unjudged} sample(s) without an answer; {summary.n_calls} calls made, the rest answered "
        f"from the run's store -> {run / 'results.json'}"
    )
    if summary.n_logprob_fallbacks:
        typer.secho(
            f"{summary.n_logprob_fallbacks} judgement(s) had no usable logprobs and use the sampled score.",
            fg="yellow",
            err=True,
        )
    _print_results(summary.results, demo=is_demo(options.judge), title=f"MMRole-Eval: {run}")
    options.engine.allowed_failures().check(
        summary.n_failed, summary.n_tasks, "judgements", str(run / "reviews.jsonl")
    )


JUDGE_HELP = """MMRole-Eval over the answers of a run: 8 metrics, score = MRPA / reference; writes reviews.jsonl
and results.json (and rewrites the run's reports, if it has some). Defaults reproduce MMRole; rerunning
answers from the run's store. A run judged by another judge or with other options is refused (exit 2)
unless --overwrite. Exits 1 when more judgements failed than --max-failures allows, 3 when the judge's
endpoint is unusable."""


def run_eval(options: EvalCommand) -> None:
    from mmrole.eval.pipeline import evaluate_sync
    from mmrole.models.base import GenerationParams

    run = options.run
    answer_options: dict[str, Any] = {
        "limit": options.limit,
        "max_image_side": options.judging.max_image_side,
        "missing_image": options.judging.missing_image,
    }
    if options.max_tokens is not None:
        answer_options["params"] = GenerationParams(max_tokens=options.max_tokens)
    summary = evaluate_sync(
        options.agent,
        options.judge,
        options.data,
        run,
        judge_options=options.judging,
        answer_options=answer_options,
        engine=options.engine,
        n_boot=options.n_boot,
        seed=options.bootstrap_seed,
        overwrite=options.overwrite,
        agent_backend_options=options.agent_args,
        judge_backend_options=options.judge_args,
        image_root=options.images,  # the answering and the judging both read the images from there
    )
    typer.echo(summary.answer.line())
    _print_results(summary.judge.results, demo=summary.demo, title=f"MMRole-Eval: {run}")
    for path in summary.reports.values():
        typer.echo(f"wrote {path}")
    options.engine.allowed_failures().check_stages(
        [
            (summary.answer.failed, summary.answer.total, "answers", str(run / "answers.jsonl")),
            (summary.judge.n_failed, summary.judge.n_tasks, "judgements", str(run / "reviews.jsonl")),
        ]
    )


EVAL_HELP = """Answer + judge + report: the MRPA answers the test set, the judge scores it (MMRole-Eval), and
report.md/.csv/.html are written into the run folder. A run folder holding a run made with another
agent, judge, data or options is refused (exit 2) unless --overwrite. Exits 1 when more answers or
more judgements failed than --max-failures allows (each counted on its own), 3 when an endpoint is
unusable."""


def run_import(options: ImportCommand) -> None:
    """Import MMRole's released files: answers files become runs ready to judge, review files (rm_review)
    judged runs with results.json. Released samples' images are not shipped: judge with --missing-image omit
    or point --images at them. A VLMEvalKit prediction file (.xlsx, .tsv) becomes a run ready to judge."""
    from mmrole.errors import ConfigError
    from mmrole.eval.importer import import_published, import_released
    from mmrole.schema import SPLIT_NAMES, SPLITS

    path, name, run, published, out = options.path, options.name, options.run, options.published, options.out
    split, images, data, overwrite = options.split, options.images, options.data, options.overwrite
    if published is not None:
        if path is not None or run is not None or out is None:
            raise ConfigError("--published DIR takes --out RUNS_DIR (and no PATH or --run)")
        summaries = import_published(published, out_dir=out, overwrite=overwrite)
    else:
        if path is None or run is None or not name:
            raise ConfigError("give PATH --name NAME --run DIR (or --published DIR --out RUNS_DIR)")
        if split is not None and split not in SPLITS:
            raise ConfigError("--split must be in-distribution or out-of-distribution")
        if path.suffix.lower() in (".xlsx", ".tsv"):
            from mmrole.integrations.vlmeval_predictions import import_predictions

            n, answered = import_predictions(
                path, name=name, run_dir=run, data=data, image_root=images, overwrite=overwrite
            )
            typer.echo(
                f"{run}: {n} samples, {answered} answered, from VLMEvalKit predictions (ready to judge)"
            )
            return
        summaries = [
            import_released(path, name=name, run_dir=run, split=split, image_root=images, overwrite=overwrite)
        ]
    for summary in summaries:
        kind = "judged run" if summary.judged else "run ready to judge"
        splits = ", ".join(f"{n} {SPLIT_NAMES.get(s, s)}" for s, n in summary.splits.items())
        typer.echo(
            f"{summary.run_dir}: {summary.n_samples} samples ({splits}), {summary.n_answers} answered, "
            f"{summary.n_reviews} reviews ({kind})"
        )
        if summary.n_invalid:
            typer.secho(
                f"{summary.run_dir}: {summary.n_invalid} released score(s) invalid (not finite, off MMRole's "
                "1-10 scale, or a reference score of 0): counted as failed, not averaged (see reviews.jsonl)",
                fg="yellow",
                err=True,
            )
        for file in summary.unsplit_files:
            typer.secho(
                f"{file}: no in-test/out-test folder in its path, imported as in-distribution "
                "(--split sets it)",
                fg="yellow",
                err=True,
            )


def run_leaderboard(options: LeaderboardCommand) -> None:
    """Rank judged runs by their overall MMRole-Eval score (over all samples, beside In-Test and Out-Test);
    warns when the runs differ in judge, judge options, splits or samples."""
    runs, out = options.runs, options.out
    if _autorpeval_runs(runs):
        return _autorpeval_leaderboard(runs, out)
    from mmrole._cli.tables import leaderboard_table
    from mmrole.eval.leaderboard import leaderboard, like_for_like, write_leaderboard

    entries = leaderboard(list(runs))
    warnings = like_for_like(list(runs))
    make_console().print(leaderboard_table(entries))
    _warn_not_like_for_like(warnings)
    for path in out:
        typer.echo(f"wrote {write_leaderboard(entries, path, warnings)}")


def run_compare(options: CompareCommand) -> None:
    """Paired difference A - B per metric over the shared samples, with bootstrap CI and permutation p-value;
    warns when the runs differ in judge, judge options, splits or samples."""
    run_a, run_b, as_json, out = options.run_a, options.run_b, options.as_json, options.out
    if _autorpeval_runs([run_a, run_b]):
        return _autorpeval_compare(run_a, run_b, as_json, out)
    from mmrole.eval.compare import compare_runs, write_comparison

    comparison = compare_runs(
        run_a, run_b, n_boot=options.n_boot, n_perm=options.n_perm, seed=options.bootstrap_seed
    )
    if as_json:
        typer.echo(json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        from mmrole._cli.tables import comparison_table

        make_console().print(comparison_table(comparison))
    _warn_not_like_for_like(comparison.warnings)
    for path in out:
        typer.echo(f"wrote {write_comparison(comparison, path)}", err=as_json)


def run_report(options: ReportCommand) -> None:
    """Markdown, CSV and HTML reports (with a radar chart) of one or several evaluated runs; the reports and
    the terminal say when the runs differ in judge, judge options, splits or samples."""
    runs, out = options.runs, options.out
    if _autorpeval_runs(runs):
        from mmrole.autorpeval.compare import like_for_like as autorpeval_like_for_like
        from mmrole.autorpeval.report import load_report_run
        from mmrole.autorpeval.report import write_reports as write_autorpeval_reports

        for path in write_autorpeval_reports(list(runs), out).values():
            typer.echo(f"wrote {path}")
        _warn_not_like_for_like(autorpeval_like_for_like([load_report_run(run) for run in runs]))
        return
    from mmrole.eval.leaderboard import like_for_like
    from mmrole.eval.report import write_reports

    for path in write_reports(list(runs), out).values():
        typer.echo(f"wrote {path}")
    _warn_not_like_for_like(like_for_like(list(runs)))


def _autorpeval_runs(runs: list[Path]) -> bool:
    """Whether the runs are AutoRPEval runs (all of them; a mix of both kinds is refused)."""
    from mmrole.autorpeval.run_folder import is_autorpeval_run
    from mmrole.errors import ConfigError

    kinds = {is_autorpeval_run(run) for run in runs}
    if len(kinds) > 1:
        raise ConfigError("give AutoRPEval runs or MMRole-Eval runs, not both: their metrics differ")
    return kinds == {True}


def _autorpeval_compare(run_a: Path, run_b: Path, as_json: bool, out: list[Path]) -> None:
    from mmrole.autorpeval.compare import compare_runs, render_comparison, write_comparison

    comparison = compare_runs(run_a, run_b)
    if as_json:
        typer.echo(json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        typer.echo(render_comparison(comparison))
    _warn_not_like_for_like(comparison.warnings)
    for path in out:
        typer.echo(f"wrote {write_comparison(comparison, path)}", err=as_json)


def _autorpeval_leaderboard(runs: list[Path], out: list[Path]) -> None:
    from mmrole import files
    from mmrole.autorpeval.compare import leaderboard, leaderboard_markdown
    from mmrole.errors import ConfigError

    ranked, warnings = leaderboard(list(runs))
    text = leaderboard_markdown(ranked, warnings)
    typer.echo(text)
    for path in out:
        if path.suffix != ".md":
            raise ConfigError(f"--out {path}: an AutoRPEval leaderboard is written as .md")
        files.write_text(path, text)
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level app."""
    app.command("judge", help=JUDGE_HELP)(
        options_command(JudgeCommand, run_judge, JUDGE_HELP, demo_judge_preset)
    )
    app.command("eval", help=EVAL_HELP)(options_command(EvalCommand, run_eval, EVAL_HELP, demo_judge_preset))
    for name, options_class, run in (
        ("import", ImportCommand, run_import),
        ("leaderboard", LeaderboardCommand, run_leaderboard),
        ("compare", CompareCommand, run_compare),
        ("report", ReportCommand, run_report),
    ):
        doc = run.__doc__ or ""
        app.command(name, help=doc)(options_command(options_class, run, doc))
