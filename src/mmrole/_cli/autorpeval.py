"""`mmrole autorpeval`: BeyondDialogue's AutoRPEval, all stages or one at a time.

    mmrole autorpeval --agent SPEC --simulator SPEC --evaluator SPEC --roles DIR --run DIR
    mmrole autorpeval scenarios|dialogues|questions|score|import|export ...

Every command is generated from its options dataclass (:mod:`mmrole.autorpeval.options`); the
library does the work, this module prints what it did.
"""

from __future__ import annotations

import asyncio
from dataclasses import fields
from typing import Any

import typer

from mmrole._cli import console as make_console
from mmrole._cli.options import options_command

autorpeval_app = typer.Typer(
    help="BeyondDialogue's AutoRPEval: a simulator chats with the tested role-playing model, an evaluator "
    "answers eight questions about each dialogue. Without a stage name, every stage runs.",
)

_ALL_DOC = (
    "Run every stage: scenarios (the role files' chats, or --generate; --data ROOT: chats about an "
    "MMRole-Data root's images, multimodal AutoRPEval), dialogues (--agent plays the role, "
    "--simulator the partner, 5 rounds), questions (--evaluator, 8 per dialogue, +1 Grounding with an image), then results.json and "
    "report.md/.csv/.html in --run. Resumable: a rerun makes no finished call again. Exits 1 when more items "
    "failed than --max-failures allows, 3 when an endpoint is unusable."
)


def _table(results: dict[str, Any], title: str) -> Any:
    from rich.table import Table

    from mmrole.autorpeval.questions import GROUNDING
    from mmrole.autorpeval.report import COLUMNS, LANGUAGE_NAMES, cell, header
    from mmrole.autorpeval.results import tables_of

    tables = tables_of(results)
    shown = (*COLUMNS, GROUNDING) if any(GROUNDING in t.metrics for t in tables.values()) else COLUMNS
    table = Table(title=title)
    table.add_column("Roles")
    for column in shown:
        table.add_column(header(column), justify="right")
    for language, scores in tables.items():
        cells = [cell(scores.avg if column == "avg" else scores.metrics.get(column)) for column in shown]
        table.add_row(f"{LANGUAGE_NAMES.get(language, language)}", *cells)
    return table


def _print(summary: Any) -> None:
    console = make_console()
    if summary.images_omitted:
        shown = "; ".join(summary.images_omitted[:3]) + ("; ..." if len(summary.images_omitted) > 3 else "")
        console.print(
            f"images omitted (--missing-image omit): {len(summary.images_omitted)} chat image(s): {shown}",
            markup=False,
        )
    if summary.scenarios is not None:
        s = summary.scenarios
        console.print(f"scenarios: {s.n_made} chats generated of {s.n_asked} asked, {s.n_failed} failed")
    if summary.dialogues is not None:
        d = summary.dialogues
        console.print(f"dialogues: {d.n_chats} chats, {d.n_failed} stopped early; {d.n_calls} calls made")
    if summary.questions is not None:
        q = summary.questions
        failed = [(name, n - q.not_asked.get(name, 0)) for name, n in q.n_failed.items()]
        said = ", ".join(f"{name} {n}" for name, n in failed if n) or "none"
        if q.n_not_asked:
            skipped = ", ".join(f"{name} {n}" for name, n in q.not_asked.items())
            said += f"; not asked (the roles lack those labels): {skipped}"
        console.print(
            f"questions: {q.n_answered}/{q.n_asked} answers parsed, {q.n_retries} re-asked; failed: {said}; "
            f"{q.n_calls} calls made"
        )
    if summary.results:
        console.print(_table(summary.results, f"AutoRPEval: {summary.run}"))
        if summary.demo_evaluator:
            console.print(
                "[bold yellow]Note:[/bold yellow] the evaluator is the 135M demo model: these numbers "
                "demonstrate the pipeline, they measure nothing."
            )
    for path in summary.reports.values():
        console.print(f"wrote {path}")


def _run_all(options: Any, context: typer.Context) -> None:
    from mmrole.autorpeval.options import AutoRPEvalOptions
    from mmrole.errors import ConfigError

    if context.invoked_subcommand is not None:
        defaults = AutoRPEvalOptions()
        given = [f.name for f in fields(options) if getattr(options, f.name) != getattr(defaults, f.name)]
        if given:
            flags = ", ".join(f"--{name.replace('_', '-')}" for name in given)
            raise ConfigError(
                f"{flags}: give a stage's options after its name (mmrole autorpeval STAGE --help)"
            )
        return
    if options == AutoRPEvalOptions():
        typer.echo(context.get_help())
        raise typer.Exit(0)
    from mmrole.autorpeval.pipeline import autorpeval

    summary = asyncio.run(autorpeval(options))
    _print(summary)
    summary.check_failures(options.engine.max_failures)


def _stage(name: str) -> Any:
    def run(options: Any) -> None:
        from mmrole.autorpeval import pipeline

        summary = asyncio.run(getattr(pipeline, f"{name}_stage")(options))
        _print(summary)
        if name == "scenarios":
            typer.echo(
                f"scenarios: {summary.n_roles} roles, {summary.n_chats} chats -> {summary.run / 'scenarios'}"
            )
        summary.check_failures(options.engine.max_failures)

    return run


def _score(options: Any) -> None:
    from mmrole.autorpeval.options import require
    from mmrole.autorpeval.pipeline import AutoRPEvalSummary, score_run

    require(options, "run")
    results, reports = score_run(options.run, name=options.name)
    _print(AutoRPEvalSummary(run=reports["markdown"].parent, results=results, reports=reports))


def _import(options: Any) -> None:
    from mmrole.autorpeval.exchange import import_results
    from mmrole.autorpeval.options import require

    require(options, "results", "run")
    summary = import_results(
        options.results, options.run, name=options.name, overwrite=options.overwrite, images=options.images
    )
    nxt = {"scenarios": "dialogues", "dialogues": "questions"}.get(summary.stage)
    typer.echo(
        f"{summary.run}: {summary.n_roles} roles, {summary.n_chats} chats imported up to the {summary.stage} stage"
        + (f"; next: mmrole autorpeval {nxt} --run {summary.run} ..." if nxt else "")
    )
    if summary.results:
        make_console().print(_table(summary.results, f"AutoRPEval: {summary.run}"))


def _export(options: Any) -> None:
    from mmrole.autorpeval.exchange import export_run
    from mmrole.autorpeval.options import require

    require(options, "run", "out")
    written = export_run(options.run, options.out, model=options.model, stage=options.stage)
    typer.echo(f"wrote {len(written)} role files under {options.out}")


def _cserp(options: Any) -> None:
    from mmrole.autorpeval.cserp_run import cserp_eval_sync

    scores = cserp_eval_sync(options)
    table = scores["all"]
    cells = ", ".join(
        f"{kind} {metric['mean']:.2f}"
        for kind, metric in table["metrics"].items()
        if metric["mean"] is not None
    )
    avg = "-" if table["avg"] is None else f"{table['avg']:.2f}"
    typer.echo(f"cserp: {table['n']} items; {cells}; Avg {avg} (table in {options.run}/cserp.md)")


def _demo_preset(given: dict[tuple[str, ...], Any]) -> dict[str, Any]:
    """With the demo evaluator and no --max-failures, its failed answers do not fail the job (they are
    counted and shown): a 135M model rarely writes BeyondDialogue's JSON."""
    if given.get(("evaluator",)) == "demo" and ("engine", "max_failures") not in given:
        return {"engine": {"max_failures": None}}
    return {}


def _commands() -> list[tuple[str, type, Any, str]]:
    from mmrole.autorpeval import cserp_run as cserp_options
    from mmrole.autorpeval import options as o

    return [
        (
            "scenarios",
            o.ScenarioOptions,
            _stage("scenarios"),
            "Write the run's scenarios: the chats of the role "
            "files (the released test set), or --generate them with --generator (BeyondDialogue's DataGen prompts); "
            "--data ROOT: one chat per image of an MMRole-Data root's dialogues (multimodal AutoRPEval).",
        ),
        (
            "dialogues",
            o.DialogueOptions,
            _stage("dialogues"),
            "Run the dialogues: --simulator plays each chat "
            "partner with BeyondDialogue's partner prompt, --agent the role with its filled system prompt.",
        ),
        (
            "questions",
            o.QuestionOptions,
            _stage("questions"),
            "Ask --evaluator the eight questions about each "
            "dialogue (and Grounding, shown the image, for a chat anchored in one); write the evaluations, results.json and the reports. Unparsed answers are re-asked, then "
            "counted as failed.",
        ),
        (
            "score",
            o.ScoreOptions,
            _score,
            "Recompute results.json and the reports from the run's evaluations (no model calls).",
        ),
        (
            "import",
            o.ImportOptions,
            _import,
            "Read BeyondDialogue's per-role files (role files, chat_dialogues "
            "files, or evaluated ones) into a run folder; evaluated ones are scored.",
        ),
        (
            "export",
            o.ExportOptions,
            _export,
            "Write a run's per-role files where BeyondDialogue's AutoTest "
            "scripts read them (chat_dialogues[_en]/MODEL/).",
        ),
        (
            "cserp",
            cserp_options.CserpEvalOptions,
            _cserp,
            "Evaluate --agent on BeyondDialogue's CSERP test (CESRP_test.json): answers parsed as BeyondDialogue "
            "parses them, scored by its metric (mean ± SEM per type, Avg).",
        ),
    ]


def register(app: typer.Typer) -> None:
    """Add ``mmrole autorpeval`` and its stages to the top-level app."""
    from mmrole.autorpeval.options import AutoRPEvalOptions

    autorpeval_app.callback(invoke_without_command=True)(
        options_command(AutoRPEvalOptions, _run_all, _ALL_DOC, _demo_preset, pass_context=True)
    )
    for name, options_class, run, doc in _commands():
        preset = _demo_preset if name == "questions" else None
        autorpeval_app.command(name, help=doc)(options_command(options_class, run, doc, preset))
    app.add_typer(autorpeval_app, name="autorpeval")
