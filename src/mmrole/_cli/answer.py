"""`mmrole answer`: the MRPA answers a test set through the engine."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from mmrole._cli import max_failures as parse_max_failures
from mmrole._cli import max_failures_option


class MissingImage(str, Enum):
    error = "error"
    omit = "omit"


def answer_command(
    agent: str = typer.Option(
        ..., "--agent", help="Model spec: openai:MODEL[@URL], hf:PATH, replay:FILE or demo."
    ),
    data: str = typer.Option(
        ..., "--data", help="A samples .jsonl, an MMRole test folder or file, a data root, or 'demo'."
    ),
    run: Path = typer.Option(
        ..., "--run", help="The run folder (created; rerunning resumes from its store)."
    ),
    concurrency: int = typer.Option(32, min=1, help="Calls in flight at most."),
    max_tokens: int = typer.Option(512, min=1, help="Longest answer, in tokens."),
    temperature: float = typer.Option(0.0, min=0.0, help="Sampling temperature (0: greedy)."),
    top_p: float = typer.Option(1.0, min=0.0, max=1.0, help="Nucleus sampling mass."),
    seed: int | None = typer.Option(None, help="Sampling seed, for servers that take one."),
    limit: int | None = typer.Option(None, min=1, help="Answer only the first N samples."),
    max_image_side: int | None = typer.Option(
        None, min=16, help="Downscale images whose longer side exceeds this many pixels."
    ),
    missing_image: MissingImage = typer.Option(
        MissingImage.error, help="A missing image file stops the run (error) or is left out (omit)."
    ),
    image_root: Path | None = typer.Option(
        None, help="The folder image paths are relative to, when --data does not say (MMRole-Data's images/)."
    ),
    max_retries: int = typer.Option(
        5, min=0, help="Retries per request on 429, 5xx, timeouts, dropped connections."
    ),
    rpm: float | None = typer.Option(None, min=0.1, help="At most this many requests per minute."),
    max_failures: str = max_failures_option(),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    overwrite: bool = typer.Option(
        False,
        help="Start answering afresh when the run folder was answered with another agent, other data or "
        "other options (drops its reviews, results and reports); calls cached in its store are reused.",
    ),
) -> None:
    """Answer every sample of a test set into the run folder (samples.jsonl, answers.jsonl, run.json).

    Exits 1 when more samples failed after their retries than --max-failures allows (their errors are
    in answers.jsonl); 2 on bad input, a run folder answered with other inputs (see --overwrite) or one
    in use by another process; 3 when the endpoint cannot be reached or rejects the API key.
    """
    from mmrole.eval.answer import answer_dataset_sync
    from mmrole.models.base import GenerationParams

    allowed = parse_max_failures(max_failures)

    params = GenerationParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed)
    # Ctrl-C: mmrole.cli.main says what was kept (exit 130); the store holds every finished answer.
    summary = answer_dataset_sync(
        agent,
        data,
        run,
        params=params,
        concurrency=concurrency,
        limit=limit,
        max_image_side=max_image_side,
        missing_image=missing_image.value,
        image_root=image_root,
        max_retries=max_retries,
        rpm=rpm,
        progress=progress,
        overwrite=overwrite,
    )
    typer.echo(summary.line())
    if summary.failed:
        typer.secho(
            f"{summary.failed} sample(s) failed; their errors are in answers.jsonl. Rerun the command to retry them.",
            fg="yellow",
            err=True,
        )
    allowed.check(summary.failed, summary.total, "samples", str(run / "answers.jsonl"))


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level app."""
    app.command("answer")(answer_command)
