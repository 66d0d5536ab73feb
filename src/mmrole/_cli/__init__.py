"""CLI command modules, one per area; each exposes ``register(app)``."""

from __future__ import annotations

from typing import Any


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
