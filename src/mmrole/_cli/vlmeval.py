"""`mmrole export`: a run's answers as a VLMEvalKit prediction file (`mmrole import` reads them back)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from mmrole._cli.options import options_command
from mmrole.options import option, required


@dataclass
class ExportOptions:
    """What `mmrole export` takes."""

    run: Path = required("The answered run folder.")
    out: Path = required(
        "The prediction file to write: .xlsx (VLMEvalKit's default) or .tsv (any text unchanged)."
    )
    overwrite: bool = option(False, "Replace the file if it exists.")


def run_export(options: ExportOptions) -> None:
    from mmrole.integrations.vlmeval_predictions import export_predictions

    count = export_predictions(options.run, options.out, overwrite=options.overwrite)
    typer.echo(f"wrote {count:,} predictions to {options.out}")


EXPORT_HELP = """Write a run's answers as a VLMEvalKit prediction file (index, the sample's columns, prediction):
what VLMEvalKit's inference writes for the MMRole datasets, so `MMRoleDataset.evaluate` or
`mmrole import` read it. A failed answer is written as VLMEvalKit's "Failed to obtain answer: ERROR"."""


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level app."""
    app.command("export")(options_command(ExportOptions, run_export, EXPORT_HELP))
