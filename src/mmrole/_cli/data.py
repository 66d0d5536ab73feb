"""`mmrole data ...`: build samples, validate, count and convert MMRole-Data."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from mmrole._cli import console as make_console
from mmrole._cli.options import options_command
from mmrole.options import MAX_IMAGE_SIDE_HELP, option, required
from mmrole.schema import MissingImage

data_app = typer.Typer(help="MMRole-Data: build samples, validate, count, convert.", no_args_is_help=True)


def source_argument() -> str:
    return required("A data root, a test folder or file, a samples .jsonl, or 'demo'.", argument=True)


class Format(str, Enum):
    jsonl = "jsonl"
    qwen = "qwen"
    vlmeval_tsv = "vlmeval-tsv"
    openai = "openai"


def _short(path: str | None, base: Path) -> str:
    if not path:
        return ""
    try:
        relative = str(Path(path).relative_to(base))
    except ValueError:
        return path
    return Path(path).name if relative == "." else relative


@dataclass(kw_only=True)
class SamplesCommand:
    """``mmrole data samples``."""

    source: str = source_argument()
    out: Path = required("The samples JSONL to write.", short="-o")
    absolute_images: bool = option(False, "Write absolute image paths (a file usable from anywhere).")
    split: list[str] = option(help="Data root: only this split (repeatable).", factory=list)
    dialogue_type: list[str] = option(
        help="Data root: only this dialogue type (repeatable).", factory=list, flag="--type"
    )


def samples_command(options: SamplesCommand) -> None:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from mmrole.data import build_samples, image_root, load_samples, write_samples_jsonl
    from mmrole.data.paths import resolve_under
    from mmrole.data.sources import is_data_root, resolve_source
    from mmrole.errors import ConfigError
    from mmrole.schema import DIALOGUE_TYPES, SPLITS

    source, out, split, dialogue_type = options.source, options.out, options.split, options.dialogue_type
    root = image_root(source) if options.absolute_images else None
    for value, allowed in [*((v, SPLITS) for v in split), *((v, DIALOGUE_TYPES) for v in dialogue_type)]:
        if value not in allowed:
            raise ConfigError(f"{value!r} is none of {', '.join(allowed)}")
    if split or dialogue_type:
        if not is_data_root(resolve_source(source)):
            raise ConfigError("--split and --type select dialogues of a data root")
        samples = build_samples(
            resolve_source(source), splits=split or SPLITS, types=dialogue_type or DIALOGUE_TYPES
        )
    else:
        samples = load_samples(source)

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True
    ) as bar:
        task = bar.add_task("building samples", total=None)

        def counted():
            for number, sample in enumerate(samples, start=1):
                if root is not None:
                    sample.image = str(resolve_under(root, sample.image, record=sample.id, field="image"))
                if number % 1000 == 0:
                    bar.update(task, description=f"building samples: {number:,}")
                yield sample

        count = write_samples_jsonl(counted(), out)
    typer.echo(f"wrote {count:,} samples to {out}")


@dataclass(kw_only=True)
class ValidateCommand:
    """``mmrole data validate``."""

    source: str = source_argument()
    as_json: bool = option(False, "Print the full report as JSON (every problem).", flag="--json")
    examples: int = option(3, "Examples shown per kind of problem.")


def validate_command(options: ValidateCommand) -> None:
    from rich.table import Table

    from mmrole.data.problems import PROBLEM_KINDS, WARNING_KINDS
    from mmrole.data.validate import validate

    report, examples = validate(options.source), options.examples
    if options.as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        # SystemExit, not typer.Exit: click's non-standalone mode turns Exit into a return value.
        raise SystemExit(0 if report.ok else 1)
    console = make_console()
    base = Path(report.path)
    checked = ", ".join(f"{count:,} {what}" for what, count in report.checked.items())
    console.print(f"[bold]{report.path}[/bold]: checked {checked or 'nothing'}")
    if not report.counts:
        console.print("[green]no problems found[/green]")
        return
    summary = Table(title="Problems by kind", show_lines=False)
    for column in ("kind", "severity", "count", "what it means"):
        summary.add_column(column, justify="right" if column == "count" else "left")
    for kind, count in sorted(report.counts.items(), key=lambda item: (item[0] in WARNING_KINDS, item[0])):
        severity = "[yellow]warning[/yellow]" if kind in WARNING_KINDS else "[red]error[/red]"
        summary.add_row(kind, severity, f"{count:,}", PROBLEM_KINDS.get(kind, ""))
    console.print(summary)
    for kind, problems in report.problems.items():
        if all(problem.file is None for problem in problems):
            # Summary problems (e.g. absent COCO images) are one explained line each.
            for problem in problems:
                console.print(f"[yellow]note[/yellow] ({kind}): {problem.message}", soft_wrap=True)
            continue
        table = Table(title=f"{kind}: first {min(examples, len(problems))} of {report.counts[kind]:,}")
        for column in ("file", "record", "field", "problem"):
            table.add_column(column, overflow="fold")
        for problem in problems[:examples]:
            table.add_row(
                _short(problem.file, base), problem.record or "", problem.field or "", problem.message
            )
        console.print(table)
    if report.ok:
        console.print("[green]no errors[/green] (only the expected warnings above)")
    else:
        console.print("[red]errors found[/red]: run with --json for every problem")
        raise SystemExit(1)


@dataclass(kw_only=True)
class StatsCommand:
    """``mmrole data stats``."""

    source: str = source_argument()
    as_json: bool = option(False, "Print the counts as JSON.", flag="--json")


def stats_command(options: StatsCommand) -> None:
    from rich.table import Table

    from mmrole.data.stats import compute_stats

    stats = compute_stats(options.source)
    if options.as_json:
        typer.echo(json.dumps(stats.to_dict(), ensure_ascii=False, indent=2))
        return
    console = make_console()
    console.print(f"[bold]{stats.path}[/bold] ({stats.kind})")
    sections: list[tuple[str, tuple[str, ...], Counter[Any]]] = [
        ("Characters", ("series", "split"), stats.characters),
        ("Dialogues", ("type", "split"), stats.dialogues),
        ("Turns", ("type",), stats.turns),
        ("Samples (character turns)", ("type", "split"), stats.samples),
        ("Languages", ("language",), stats.languages),
        ("Images", ("images",), stats.images),
        ("Skipped records", ("problem",), stats.problems),
    ]
    for title, keys, counter in sections:
        if not counter:
            continue
        table = Table(title=title)
        for key in keys:
            table.add_column(key)
        table.add_column("count", justify="right")
        for key, count in sorted(counter.items()):
            cells = key if isinstance(key, tuple) else (key,)
            table.add_row(*cells, f"{count:,}")
        if len(counter) > 1 and title != "Images":
            table.add_row(
                *(["[bold]total[/bold]"] + [""] * (len(keys) - 1)), f"[bold]{sum(counter.values()):,}[/bold]"
            )
        console.print(table)


@dataclass(kw_only=True)
class ConvertCommand:
    """``mmrole data convert``."""

    source: str = source_argument()
    out: Path = required("The file to write (all or nothing: no partial file).", short="-o")
    to: Format = option(Format.vlmeval_tsv, "Output format.", default_text="vlmeval-tsv")
    max_image_side: int | None = option(None, f"openai: {MAX_IMAGE_SIDE_HELP}", min=16)
    missing_image: MissingImage = option(
        "error",
        "A missing image file stops the conversion (error) or is left out (omit): vlmeval-tsv leaves "
        "the sample out, openai sends its text alone. jsonl and qwen carry image paths only.",
    )


def convert_command(options: ConvertCommand) -> None:
    from mmrole.data import image_root, load_samples, write_samples_jsonl
    from mmrole.data.convert import to_openai_messages, write_vlmeval_tsv
    from mmrole.data.qwen import write_qwen_file
    from mmrole.files import open_atomic

    source, out, to = options.source, options.out, options.to
    max_image_side, missing_image = options.max_image_side, options.missing_image
    samples = load_samples(source)
    root = image_root(source)
    read = 0

    def counted():
        nonlocal read
        for sample in samples:
            read += 1
            yield sample

    without_image = 0
    if to is Format.vlmeval_tsv:
        count = write_vlmeval_tsv(counted(), root, out, missing_image=missing_image)
        without_image = read - count
    elif to is Format.jsonl:
        count = write_samples_jsonl(samples, out)
    elif to is Format.qwen:
        count = write_qwen_file(samples, out)
    else:
        count = 0
        with open_atomic(out) as handle:
            for sample in samples:
                messages = to_openai_messages(
                    sample, root, max_image_side=max_image_side, missing_image=missing_image
                )
                without_image += not any(p.get("type") == "image_url" for p in messages[-1]["content"])
                handle.write(json.dumps({"id": sample.id, "messages": messages}, ensure_ascii=False) + "\n")
                count += 1
    typer.echo(f"wrote {count:,} samples to {out}")
    if without_image:
        what = "left out" if to is Format.vlmeval_tsv else "written without their image"
        typer.secho(f"{without_image:,} samples {what}: image file not found", fg="yellow", err=True)


@dataclass(kw_only=True)
class DemoCommand:
    """``mmrole data demo``."""

    target: Path = required("Folder to write the demo dataset into.", argument=True)
    overwrite: bool = option(False, "Replace the folder if it is not empty.")


def demo_command(options: DemoCommand) -> None:
    from mmrole.data.sources import copy_demo

    typer.echo(f"wrote the demo dataset to {copy_demo(options.target, overwrite=options.overwrite)}")


#: Each command: its options dataclass, what it runs, and its help.
COMMANDS: dict[str, tuple[type, Callable[[Any], Any], str]] = {
    "samples": (
        SamplesCommand,
        samples_command,
        "Build one sample per character turn (MMRole's MRPA prompt, history included) into a JSONL file.",
    ),
    "validate": (
        ValidateCommand,
        validate_command,
        "Check a data root, test files or samples; list every problem by kind. Exit 1 if any error.",
    ),
    "stats": (
        StatsCommand,
        stats_command,
        "Count characters per series and split, dialogues and turns per type, samples, images, languages.",
    ),
    "convert": (
        ConvertCommand,
        convert_command,
        "Convert samples: VLMEvalKit TSV, MMRole's Qwen-VL test JSON, OpenAI messages JSONL, or samples JSONL.",
    ),
    "demo": (
        DemoCommand,
        demo_command,
        "Write a copy of the bundled demo dataset (an MMRole-Data layout) to start your own from.",
    ),
}
for _name, (_options, _run, _help) in COMMANDS.items():
    data_app.command(_name, help=_help)(options_command(_options, _run, _help))


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level app."""
    app.add_typer(data_app, name="data")
