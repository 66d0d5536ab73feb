"""The ``mmrole`` command: thin option parsing over the library.

Each area registers its commands from ``mmrole._cli.<area>``; commands import
heavy libraries inside their bodies so ``mmrole --help`` stays fast and torch-free.
"""

from __future__ import annotations

import sys

import typer

from mmrole import __version__
from mmrole._cli import align as align_cli
from mmrole._cli import answer as answer_cli
from mmrole._cli import app as app_cli
from mmrole._cli import autorpeval as autorpeval_cli
from mmrole._cli import build as build_cli
from mmrole._cli import data as data_cli
from mmrole._cli import eval as eval_cli
from mmrole._cli import train as train_cli
from mmrole._cli import vlmeval as vlmeval_cli
from mmrole.errors import MMRoleError

INTERRUPTED = "interrupted: finished work is kept in the run folder; rerun the same command to resume."

app = typer.Typer(
    name="mmrole",
    help="Build, align, evaluate and talk to multimodal role-playing agents (MMRole).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # every command inherits them
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print mmrole's version and exit."
    ),
) -> None:
    """Build, align, evaluate and talk to multimodal role-playing agents (MMRole)."""


@app.command()
def version() -> None:
    """Print mmrole's version."""

    typer.echo(__version__)


for _area in (
    build_cli,
    data_cli,
    answer_cli,
    eval_cli,
    autorpeval_cli,
    train_cli,
    align_cli,
    app_cli,
    vlmeval_cli,
):
    _area.register(app)


def main() -> None:
    """Console entry point: mmrole's own errors become one clear line, not a traceback."""
    try:
        # With standalone_mode=False click returns a command's exit code instead of exiting.
        code = app(standalone_mode=False)
        if code == 130:  # click turns Ctrl-C into a silent 130
            typer.secho(INTERRUPTED, fg="yellow", err=True)
        if isinstance(code, int) and code:
            sys.exit(code)
    except MMRoleError as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        # 2: bad input or options; 1: more failures than --max-failures allows; 3: endpoint unusable
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        typer.secho(INTERRUPTED, fg="yellow", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except SystemExit:
        raise
    except Exception as exc:
        # Usage errors of the (vendored) click: show them the way click would.
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
