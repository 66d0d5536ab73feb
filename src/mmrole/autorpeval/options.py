"""The options of ``mmrole autorpeval`` and of each of its stages, declared once.

Each field's metadata is its command-line option (:mod:`mmrole.options`): the CLI is generated
from these classes (:func:`mmrole._cli.options.options_command`), and the same objects are built
in Python with the same names and defaults:

    AutoRPEvalOptions(agent="openai:my-rpa@http://localhost:8000/v1", simulator="openai:gpt-4o",
                      evaluator="openai:gpt-4o", roles="autorpeval/", run="runs/mine")

The models are optional fields, checked by the stage that needs them (:func:`require`): the group
command ``mmrole autorpeval`` takes every option and its stages some. Defaults follow
BeyondDialogue: 5 rounds, the simulator sampled at the API's default temperature (1.0: its partner
call sets none), the tested model and the evaluator at temperature 0.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from typing import Any

from mmrole.engine.options import EngineOptions
from mmrole.errors import ConfigError
from mmrole.models.registry import backend_options, parse_backend_args
from mmrole.options import MAX_IMAGE_SIDE_HELP, backend_arg_help, option
from mmrole.schema import MISSING_IMAGE_POLICIES, MissingImage

__all__ = [
    "AutoRPEvalOptions",
    "DialogueOptions",
    "ExportOptions",
    "ImportOptions",
    "QuestionOptions",
    "ScenarioOptions",
    "ScoreOptions",
    "require",
    "require_source",
]

_MODEL = "openai:MODEL or openai:MODEL@URL, hf:PATH, replay:FILE or demo"
#: The seats a model can take, each with its ``--SEAT-arg`` backend options.
SEATS = ("agent", "simulator", "evaluator", "generator")


def _run() -> Any:
    return option(None, "The run folder (created when missing; a rerun resumes from its store). Required.")


def _overwrite() -> Any:
    return option(
        False,
        "Start a stage afresh when the run folder holds it made with other models or options, instead of "
        "refusing; drops it and the stages after it. Calls cached in the run's store are reused.",
    )


def _engine() -> Any:
    return option(help="How the model calls run.", factory=EngineOptions)


def _backend_args(seat: str) -> Any:
    flag = f"--{seat}-arg"
    return option(
        help=backend_arg_help(seat),
        factory=dict,
        flag=flag,
        parse=functools.partial(parse_backend_args, flag=flag),
        repeat=True,
        metavar="KEY=VALUE",
    )


def _check_backend_args(options: Any) -> None:
    for seat in SEATS:
        if hasattr(options, f"{seat}_args") and getattr(options, seat, None):
            args = backend_options(getattr(options, seat), getattr(options, f"{seat}_args"), f"--{seat}-arg")
            setattr(options, f"{seat}_args", args)


def _max_image_side() -> Any:
    return option(None, MAX_IMAGE_SIDE_HELP + " (Chats anchored in an image.)", min=16)


@dataclass(kw_only=True)
class _Scenarios:
    roles: str | None = option(
        None,
        "BeyondDialogue role files: a folder (searched recursively, e.g. the released autorpeval/ with "
        "roles_en/ and roles_zh/) or one file. A chat may carry an image (multimodal AutoRPEval). "
        "The scenarios stage needs --roles or --data.",
    )
    data: str | None = option(
        None,
        "An MMRole-Data root (demo: the bundled demo set) instead of --roles: its characters become roles, "
        "each image of their dialogues a chat anchored in it (multimodal AutoRPEval).",
    )
    images: str | None = option(
        None,
        "The folder the image paths of --roles files are relative to (default: each role file's folder).",
    )
    missing_image: MissingImage = option(
        "error",
        "A chat image that is missing or unreadable stops the scenarios stage before any call (error), "
        "or (omit) that chat runs as text (--roles) or the image's chats are left out (--data), "
        "counted and named.",
    )
    names: str | None = option(None, "Only these roles (comma-separated names).")
    limit: int | None = option(None, "Only the first N chats of each role.", min=1)
    generate: bool = option(
        False,
        "Generate each role's chat partners, scenes, emotions and intimacy with --generator "
        "(BeyondDialogue's DataGen prompts) instead of taking the chats of the role files.",
    )
    generator: str | None = option(None, f"The scenario generator with --generate: {_MODEL}.")
    partners: int = option(10, "Chat partners generated per role with --generate.", min=1)
    generator_retries: int = option(
        4, "Re-asks of a generator reply that does not parse (BeyondDialogue: 4).", min=0
    )
    generator_args: dict[str, Any] = _backend_args("generator")


@dataclass(kw_only=True)
class _Dialogues:
    agent: str | None = option(None, f"The tested model, playing the role: {_MODEL}.")
    simulator: str | None = option(
        None, f"The model playing the chat partner (BeyondDialogue: gpt-4o): {_MODEL}."
    )
    rounds: int = option(5, "Rounds per dialogue (the partner speaks, then the role).", min=1)
    agent_temperature: float = option(0.0, "The tested model's temperature.", min=0.0)
    simulator_temperature: float = option(1.0, "The simulator's temperature.", min=0.0)
    max_tokens: int | None = option(
        None, "Longest utterance in tokens (default 256; 24 for the demo model).", min=1
    )
    max_image_side: int | None = _max_image_side()
    agent_args: dict[str, Any] = _backend_args("agent")
    simulator_args: dict[str, Any] = _backend_args("simulator")


@dataclass(kw_only=True)
class _Questions:
    evaluator: str | None = option(
        None, f"The model answering the eight questions (BeyondDialogue: gpt-4o): {_MODEL}."
    )
    evaluator_max_tokens: int | None = option(
        None, "Longest evaluator reply in tokens (default 2048; 16 for the demo model).", min=1
    )
    format_retries: int | None = option(
        None,
        "Re-asks, with a format reminder, of an answer that does not parse, before it is recorded as "
        "failed (default 2; 0 for the demo model).",
        min=0,
    )
    max_image_side: int | None = _max_image_side()
    evaluator_args: dict[str, Any] = _backend_args("evaluator")


@dataclass(kw_only=True)
class ScenarioOptions(_Scenarios):
    """``mmrole autorpeval scenarios``."""

    run: str | None = _run()
    engine: EngineOptions = _engine()
    overwrite: bool = _overwrite()

    def __post_init__(self) -> None:
        _check_backend_args(self)


@dataclass(kw_only=True)
class DialogueOptions(_Dialogues):
    """``mmrole autorpeval dialogues``."""

    run: str | None = _run()
    engine: EngineOptions = _engine()
    overwrite: bool = _overwrite()

    def __post_init__(self) -> None:
        _check_backend_args(self)


@dataclass(kw_only=True)
class QuestionOptions(_Questions):
    """``mmrole autorpeval questions``."""

    run: str | None = _run()
    name: str | None = option(None, "Display name of the run (default: the folder's).")
    engine: EngineOptions = _engine()
    overwrite: bool = _overwrite()

    def __post_init__(self) -> None:
        _check_backend_args(self)


@dataclass(kw_only=True)
class ScoreOptions:
    """``mmrole autorpeval score``."""

    run: str | None = _run()
    name: str | None = option(None, "Display name of the run (default: the folder's).")


@dataclass(kw_only=True)
class ImportOptions:
    """``mmrole autorpeval import``."""

    results: str | None = option(
        None,
        "BeyondDialogue's per-role files: role files, its chat_dialogues files, or those with the *_eval "
        "fields (a folder, searched recursively, or one file). Required.",
    )
    run: str | None = _run()
    name: str | None = option(None, "Display name of the run (default: the folder's).")
    overwrite: bool = _overwrite()
    images: str | None = option(
        None, "The folder the files' relative image paths are under (default: each file's own folder)."
    )


@dataclass(kw_only=True)
class ExportOptions:
    """``mmrole autorpeval export``."""

    run: str | None = _run()
    out: str | None = option(
        None,
        "Where BeyondDialogue's scripts read: files go to OUT/chat_dialogues/MODEL/ (Chinese roles) and "
        "OUT/chat_dialogues_en/MODEL/ (English). Required.",
    )
    model: str | None = option(None, "The MODEL folder's name (default: the run's name).")
    stage: str | None = option(None, "dialogues or questions (default: the last one the run finished).")


@dataclass(kw_only=True)
class AutoRPEvalOptions(_Questions, _Dialogues, _Scenarios):
    """``mmrole autorpeval``: every stage."""

    run: str | None = _run()
    name: str | None = option(None, "Display name of the run (default: the folder's).")
    engine: EngineOptions = _engine()
    overwrite: bool = _overwrite()

    def __post_init__(self) -> None:
        _check_backend_args(self)


def require(options: Any, *names: str) -> None:
    """Refuse options without the fields ``names`` (one line naming the missing flags)."""
    known = {f.name for f in fields(options)}
    missing = [
        f"--{name.replace('_', '-')}"
        for name in names
        if name in known and getattr(options, name) in (None, "")
    ]
    if missing:
        raise ConfigError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required")
    for name in ("rounds", "partners"):
        if name in known and getattr(options, name) < 1:
            raise ConfigError(f"--{name} must be 1 or more")
    if "limit" in known and options.limit is not None and options.limit < 1:
        raise ConfigError("--limit must be 1 or more")


def require_source(options: Any) -> None:
    """Refuse scenario options without exactly one of ``--roles`` and ``--data`` (one line)."""
    roles, data = getattr(options, "roles", None), getattr(options, "data", None)
    if roles and data:
        raise ConfigError(
            "--roles and --data: give one of them (role files or an MMRole-Data root), not both"
        )
    if not roles and not data:
        raise ConfigError("--roles or --data is required (role files, or an MMRole-Data root)")
    if data and getattr(options, "images", None):
        raise ConfigError("--images is for --roles files; --data finds its images in the root's images/")
    if getattr(options, "missing_image", "error") not in MISSING_IMAGE_POLICIES:
        raise ConfigError(f"--missing-image {options.missing_image!r}: choose error or omit")
