"""`mmrole build profiles|annotate|dialogues` (and the curation commands of ``build_curate``).

Each command's options are its stage's options dataclass (:mod:`mmrole._cli.options`); the
command runs the stage, prints one line of what it did and exits 1 when more items failed than
``--max-failures`` allows (their reasons are in ``ROOT/.build/failures/<stage>.jsonl``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from mmrole._cli import build_curate
from mmrole._cli.options import options_command
from mmrole.build.annotate import AnnotateOptions
from mmrole.build.dialogues import DialogueOptions
from mmrole.build.profiles import ProfileOptions

build_app = typer.Typer(
    help="Build MMRole-Data: character profiles, image annotations, dialogues (then filters and splits).",
    no_args_is_help=True,
)


def report_stage(options: Any, summary: Any) -> None:
    """Print what a stage did; raise TooManyFailures (exit 1) past ``--max-failures``."""
    from mmrole.build.generate import BuildFolder, check_failures

    failures = BuildFolder(options.root).failures_path(summary.stage)
    line = (
        f"{summary.stage}: {summary.kept} built, {summary.failed} failed, {summary.skipped} already built, "
        f"{summary.calls} calls"
    )
    typer.echo(line)
    if summary.failed:
        reasons = ", ".join(f"{reason} ({count})" for reason, count in summary.top_reasons())
        typer.secho(f"failed: {reasons}; details in {failures}", fg="yellow", err=True)
    check_failures(options, summary, failures)


def _stage(run: Callable[[Any], Any]) -> Callable[[Any], None]:
    def command(options: Any) -> None:
        report_stage(options, run(options))

    return command


def _profiles(options: ProfileOptions) -> Any:
    from mmrole.build.profiles import build_profiles

    return build_profiles(options)


def _annotate(options: AnnotateOptions) -> Any:
    from mmrole.build.annotate import build_annotations

    return build_annotations(options)


def _dialogues(options: DialogueOptions) -> Any:
    from mmrole.build.dialogues import build_dialogues

    return build_dialogues(options)


_COMMANDS = (
    (
        "profiles",
        ProfileOptions,
        _profiles,
        "Write characters' detailed and short profiles from profiles/<split>/raw_info_en|raw_info_zh/<Name>.txt "
        "(or invent them from meta_info_hypo/<Name>.json) and register them in roles.json.",
    ),
    (
        "annotate",
        AnnotateOptions,
        _annotate,
        "Annotate the character stills without an entry in images/annotations.json (who, where, what happens).",
    ),
    (
        "dialogues",
        DialogueOptions,
        _dialogues,
        "Write comment, human-role or inter-role dialogues about generic images and the characters' stills "
        "into dialogues/<split>/<type>/<Name>_<COCO|script>.json.",
    ),
)


def _generator_preset(given: dict[tuple[str, ...], Any]) -> Any:
    """The demo generator's settings for the options not given (:mod:`mmrole.build.presets`)."""
    from mmrole.build.presets import generator_preset

    return generator_preset(given.get(("generator",)))


for _name, _options, _run, _doc in _COMMANDS:
    build_app.command(_name, help=_doc)(options_command(_options, _stage(_run), _doc, _generator_preset))


def _cserp(options: Any) -> None:
    from mmrole.autorpeval.cserp_run import build_cserp

    built = build_cserp(options)
    typer.echo(
        f"cserp: {built.samples} alignment samples (character, style, emotion, relationship, personality) "
        f"in {built.out}"
    )
    if built.not_derived:
        left = ", ".join(f"{kind} in {n} chat(s)" for kind, n in built.not_derived.items())
        typer.echo(f"not derived (the roles lack those labels): {left}")


def _cserp_options() -> type:
    from mmrole.autorpeval.cserp_run import CserpBuildOptions

    return CserpBuildOptions


_CSERP_DOC = (
    "Derive BeyondDialogue's five CSERP alignment tasks (character, style, emotion, relationship, personality) "
    "from dialogues and their role profiles, as a training file for mmrole train sft."
)
build_app.command("cserp", help=_CSERP_DOC)(options_command(_cserp_options(), _cserp, _CSERP_DOC))

build_curate.add_commands(build_app)  # the curation commands: filter, split, run


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level app."""
    app.add_typer(build_app, name="build")
