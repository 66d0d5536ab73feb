"""`mmrole build filter|split|run`: the curation half of ``mmrole build`` (the generating half is
``_cli/build.py``, which calls :func:`add_commands` on its group).

Each command's options are an options dataclass (:mod:`mmrole._cli.options`); the stage modules
load inside the commands, so ``mmrole --help`` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from mmrole._cli.options import options_command
from mmrole.build.filter_options import FilterOptions
from mmrole.build.split import SplitOptions


@dataclass(frozen=True)
class RunOptions:
    """Options of ``mmrole build run``."""

    config: Path = field(
        metadata={
            "help": "The build configuration (TOML; see docs/build.md).",
            "required": True,
            "argument": True,
        }
    )
    dry_run: bool = field(
        default=False, metadata={"help": "Print the calls and tokens the build takes; call nothing."}
    )
    progress: bool | None = field(
        default=None, metadata={"help": "Show progress bars (default: as the configuration says)."}
    )


def _reasons(summary: Any) -> str:
    return ", ".join(f"{reason} ({count})" for reason, count in summary.top_reasons())


def _filter(options: FilterOptions) -> None:
    from mmrole.build.filter_items import sidecar_path
    from mmrole.build.filters import build_filter

    summary = build_filter(options)
    typer.echo(
        f"filter: {summary.kept} kept, {summary.failed} rejected, {summary.calls} calls; "
        f"every decision in {sidecar_path(options.root)}"
    )
    if summary.failed:
        typer.echo(f"rejected: {_reasons(summary)}")


def _split(options: SplitOptions) -> None:
    from mmrole.build.split import LEFT_OUT, build_split

    summary = build_split(options)
    for split, sizes in sorted(summary.tests.items()):
        typer.echo(f"{split} test: " + ", ".join(f"{t} {n}" for t, n in sorted(sizes.items())) + " samples")
    typer.echo("train: " + ", ".join(f"{t} {n}" for t, n in sorted(summary.train.items())) + " samples")
    left = ", ".join(f"{count} {LEFT_OUT[key]}" for key, count in sorted(summary.left_out.items()))
    typer.echo(f"left out of training: {left or 'nothing'}; {summary.skipped} file(s) unchanged")


def _run(options: RunOptions) -> None:
    from rich.console import Console

    from mmrole.build.config import read_config

    config = read_config(options.config)
    console = Console()
    if options.dry_run:
        from mmrole.build.estimate import estimate_build, estimate_table

        console.print(estimate_table(estimate_build(config)))
        console.print("(a build from scratch, without failures or format retries; nothing was called)")
        return
    from mmrole.build.pipeline import run_build, summary_tables

    def announce(summary: Any) -> None:
        console.print(
            f"[bold]{summary.stage}[/]: {summary.kept} kept, {summary.failed} failed, "
            f"{summary.skipped} already built, {summary.calls} calls"
        )

    result = run_build(config, progress=options.progress, on_stage=announce)
    for table in summary_tables(result):
        console.print(table)


_COMMANDS = (
    (
        "filter",
        FilterOptions,
        _filter,
        "Check every dialogue (structure, speakers, turns, language, length, tone, near-duplicates, an "
        "LLM judge's review); keep every decision in ROOT/.build/filter.jsonl and remove the rejected "
        "dialogues (--refine: rewrite their failing turns first).",
    ),
    (
        "split",
        SplitOptions,
        _split,
        "Hold out In-Test dialogues of seen characters and Out-Test dialogues of held-out ones; write "
        "data/test/<split>/<type>_test.json and data/train/<type>_train.json in MMRole's format.",
    ),
    (
        "run",
        RunOptions,
        _run,
        "Run every build stage from one TOML configuration (resumable); --dry-run prints the calls and "
        "tokens it takes.",
    ),
)


def add_commands(build_app: typer.Typer) -> None:
    """Add ``filter``, ``split`` and ``run`` to the ``mmrole build`` group."""
    for name, options_class, run, doc in _COMMANDS:
        build_app.command(name, help=doc)(options_command(options_class, run, doc))
