"""`mmrole answer`: the MRPA answers a test set through the engine (options: :class:`AnswerCommand`)."""

from __future__ import annotations

import typer

from mmrole._cli.eval_options import AnswerCommand
from mmrole._cli.options import options_command


def run_answer(options: AnswerCommand) -> None:
    from mmrole.eval.answer import answer_dataset_sync
    from mmrole.models.base import GenerationParams

    params = GenerationParams(
        max_tokens=options.max_tokens, temperature=options.temperature, top_p=options.top_p, seed=options.seed
    )
    # Ctrl-C: mmrole.cli.main says what was kept (exit 130); the store holds every finished answer.
    summary = answer_dataset_sync(
        options.agent,
        options.data,
        options.run,
        params=params,
        limit=options.limit,
        max_image_side=options.max_image_side,
        missing_image=options.missing_image,
        image_root=options.images,
        engine=options.engine,
        backend_options=options.agent_args,
        overwrite=options.overwrite,
    )
    typer.echo(summary.line())
    if summary.failed:
        typer.secho(
            f"{summary.failed} sample(s) failed; their errors are in answers.jsonl. Rerun the command to retry them.",
            fg="yellow",
            err=True,
        )
    options.engine.allowed_failures().check(
        summary.failed, summary.total, "samples", str(options.run / "answers.jsonl")
    )


ANSWER_HELP = """Answer every sample of a test set into the run folder (samples.jsonl, answers.jsonl, run.json).

Exits 1 when more samples failed after their retries than --max-failures allows (their errors are
in answers.jsonl); 2 on bad input, a run folder answered with other inputs (see --overwrite) or one
in use by another process; 3 when the endpoint cannot be reached or rejects the API key.
"""


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level app."""
    app.command("answer", help=ANSWER_HELP)(options_command(AnswerCommand, run_answer, ANSWER_HELP))
