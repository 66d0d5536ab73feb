"""CLI command modules, one per area; each exposes ``register(app)``."""

from __future__ import annotations

from typing import Any

#: ``--max-failures``, the same on every command that runs model calls through the engine.
MAX_FAILURES_HELP = (
    "Exit 1 when more than N items failed (an integer), or more than this share of them (a fraction "
    "between 0 and 1, e.g. 0.05). Default 0: any failure. The job always finishes and keeps everything."
)


def max_failures_option(default: str | None = "0", extra_help: str = "") -> Any:
    """The ``--max-failures N|FRACTION`` option (parsed by :func:`max_failures`)."""
    import typer

    return typer.Option(default, "--max-failures", metavar="N|FRACTION", help=MAX_FAILURES_HELP + extra_help)


def max_failures(text: str) -> Any:
    """Parse ``--max-failures`` before the job starts (a bad value is one line, exit 2)."""
    from mmrole.engine.failures import MaxFailures

    return MaxFailures.parse(text)


def console(**options: Any) -> Any:
    """A rich console for result tables.

    Piped into a file or a CI log, rich would wrap at 80 columns and elide the numbers;
    tables there get 160 columns instead.
    """
    import sys

    from rich.console import Console

    stream = sys.stderr if options.get("stderr") else sys.stdout
    if "width" not in options and not stream.isatty():
        options["width"] = 160
    return Console(**options)
