"""The options of ``mmrole autorpeval`` and of each of its stages, declared once.

Each field's ``metadata["help"]`` is its ``--field-name`` help text: the CLI is generated from
these classes (:func:`mmrole._cli.options.options_command`), and the same objects are built in
Python with the same names and defaults:

    AutoRPEvalOptions(agent="openai:my-rpa@http://localhost:8000/v1", simulator="openai:gpt-4o",
                      evaluator="openai:gpt-4o", roles="autorpeval/", run="runs/mine")

Defaults follow BeyondDialogue: 5 rounds, the simulator sampled at the API's default temperature
(1.0: its partner call sets none), the tested model and the evaluator at temperature 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from mmrole.errors import ConfigError

__all__ = [
    "AutoRPEvalOptions",
    "DialogueOptions",
    "EngineOptions",
    "ExportOptions",
    "ImportOptions",
    "QuestionOptions",
    "ScenarioOptions",
    "ScoreOptions",
    "require",
]

_MODEL = "openai:MODEL or openai:MODEL@URL, hf:PATH, replay:FILE or demo"


def _help(text: str) -> dict[str, Any]:
    return {"help": text}


@dataclass
class _RunFields:
    run: str | None = field(default=None, metadata=_help("The run folder (required)."))
    overwrite: bool = field(
        default=False,
        metadata=_help(
            "Start a stage afresh when the run folder holds it made with other models or options, instead of "
            "refusing; drops it and the stages after it. Calls cached in the run's store are reused."
        ),
    )


@dataclass
class EngineOptions:
    """How model calls are made (never part of a stage's inputs)."""

    concurrency: int = field(default=32, metadata=_help("Calls in flight at most."))
    max_retries: int = field(default=5, metadata=_help("Retries per request on 429, 5xx, timeouts."))
    rpm: float | None = field(default=None, metadata=_help("At most this many requests per minute."))
    max_failures: str | None = field(
        default=None,
        metadata=_help(
            "Exit 1 when more than N items failed (an integer) or more than this share of them (a fraction, "
            "e.g. 0.05); each stage is counted on its own. Default 0 (with the demo evaluator: no limit)."
        ),
    )
    progress: bool = field(default=True, metadata=_help("Show progress bars."))


@dataclass
class _ScenarioFields:
    roles: str | None = field(
        default=None,
        metadata=_help(
            "BeyondDialogue role files: a folder (searched recursively, e.g. the released autorpeval/ with "
            "roles_en/ and roles_zh/) or one file (required for the scenarios stage)."
        ),
    )
    names: str | None = field(default=None, metadata=_help("Only these roles (comma-separated names)."))
    limit: int | None = field(default=None, metadata=_help("Only the first N chats of each role."))
    generate: bool = field(
        default=False,
        metadata=_help(
            "Generate each role's chat partners, scenes, emotions and intimacy with --generator "
            "(BeyondDialogue's DataGen prompts) instead of taking the chats of the role files."
        ),
    )
    generator: str | None = field(
        default=None, metadata=_help(f"The scenario generator with --generate: {_MODEL}.")
    )
    partners: int = field(default=10, metadata=_help("Chat partners generated per role with --generate."))
    generator_retries: int = field(
        default=4, metadata=_help("Re-asks of a generator reply that does not parse (BeyondDialogue: 4).")
    )


@dataclass
class _DialogueFields:
    agent: str | None = field(default=None, metadata=_help(f"The tested model, playing the role: {_MODEL}."))
    simulator: str | None = field(
        default=None,
        metadata=_help(f"The model playing the chat partner (BeyondDialogue: gpt-4o): {_MODEL}."),
    )
    rounds: int = field(default=5, metadata=_help("Rounds per dialogue (the partner speaks, then the role)."))
    agent_temperature: float = field(default=0.0, metadata=_help("The tested model's temperature."))
    simulator_temperature: float = field(default=1.0, metadata=_help("The simulator's temperature."))
    max_tokens: int | None = field(
        default=None, metadata=_help("Longest utterance in tokens (default 256; 24 for the demo model).")
    )


@dataclass
class _QuestionFields:
    evaluator: str | None = field(
        default=None,
        metadata=_help(f"The model answering the eight questions (BeyondDialogue: gpt-4o): {_MODEL}."),
    )
    evaluator_max_tokens: int | None = field(
        default=None,
        metadata=_help("Longest evaluator reply in tokens (default 2048; 16 for the demo model)."),
    )
    format_retries: int | None = field(
        default=None,
        metadata=_help(
            "Re-asks, with a format reminder, of an answer that does not parse, before it is recorded as "
            "failed (default 2; 0 for the demo model)."
        ),
    )


@dataclass
class _NameField:
    name: str | None = field(default=None, metadata=_help("Display name of the run (default: the folder's)."))


@dataclass
class ScenarioOptions(EngineOptions, _ScenarioFields, _RunFields):
    """``mmrole autorpeval scenarios``."""


@dataclass
class DialogueOptions(EngineOptions, _DialogueFields, _RunFields):
    """``mmrole autorpeval dialogues``."""


@dataclass
class QuestionOptions(EngineOptions, _QuestionFields, _RunFields):
    """``mmrole autorpeval questions``."""


@dataclass
class ScoreOptions(_NameField):
    """``mmrole autorpeval score``."""

    run: str | None = field(default=None, metadata=_help("The run folder (required)."))


@dataclass
class ImportOptions(_NameField, _RunFields):
    """``mmrole autorpeval import``."""

    results: str | None = field(
        default=None,
        metadata=_help(
            "BeyondDialogue's per-role files: role files, its chat_dialogues files, or those with the *_eval "
            "fields (a folder, searched recursively, or one file) (required)."
        ),
    )


@dataclass
class ExportOptions:
    """``mmrole autorpeval export``."""

    run: str | None = field(default=None, metadata=_help("The run folder (required)."))
    out: str | None = field(
        default=None,
        metadata=_help(
            "Where BeyondDialogue's scripts read: files go to OUT/chat_dialogues/MODEL/ (Chinese roles) and "
            "OUT/chat_dialogues_en/MODEL/ (English) (required)."
        ),
    )
    model: str | None = field(
        default=None, metadata=_help("The MODEL folder's name (default: the run's name).")
    )
    stage: str | None = field(
        default=None, metadata=_help("dialogues or questions (default: the last one the run finished).")
    )


@dataclass
class AutoRPEvalOptions(
    EngineOptions, _QuestionFields, _DialogueFields, _ScenarioFields, _NameField, _RunFields
):
    """``mmrole autorpeval``: every stage."""


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
    for name in ("rounds", "partners", "concurrency"):
        if name in known and getattr(options, name) < 1:
            raise ConfigError(f"--{name} must be 1 or more")
    if "limit" in known and options.limit is not None and options.limit < 1:
        raise ConfigError("--limit must be 1 or more")
