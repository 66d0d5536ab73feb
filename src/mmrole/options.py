"""Options declared once: dataclass fields whose metadata is also their command-line option.

    @dataclass
    class EngineOptions:
        concurrency: int = option(32, "Calls in flight at most.", min=1)

:mod:`mmrole._cli.options` turns such a dataclass into a command: each field becomes
``--field-name`` with its help text, so the same object can be built in Python with the same
names and defaults as on the command line. What the metadata may say:

- ``help``: the option's help text (every option has one).
- ``required``: a required option (the field has no default); ``argument``: a positional argument.
- ``flag``: the option's name when it is not ``--field-name``; ``short``: a one-letter alias.
- ``aliases``: older spellings still accepted, hidden from the help (deprecated).
- ``min`` / ``max``: bounds of a number; ``metavar``: how the value is shown in the help;
  ``default_text``: how the default is shown, when not as itself.
- ``parse``: reads the option's text into the field's value (e.g. ``"1-10"`` -> ``(1.0, 10.0)``);
  with ``repeat`` the option may be given several times and ``parse`` gets the list of texts.
- ``cli``: False keeps a field off the command line (set from Python, or by the command).

A field typed with another such dataclass contributes that dataclass's options (``only``
names those that become options; the others keep their defaults).
"""

from __future__ import annotations

from dataclasses import MISSING, field
from typing import Any

__all__ = [
    "MAX_IMAGE_SIDE_HELP",
    "MISSING_IMAGE_HELP",
    "SEED_HELP",
    "TEMPERATURE_HELP",
    "TOP_P_HELP",
    "backend_arg_help",
    "option",
    "required",
]

# Help of options several dataclasses declare (each command's own flag, one meaning everywhere).
SEED_HELP = "Sampling seed of the model, for backends that take one."
TEMPERATURE_HELP = "Sampling temperature (0: greedy)."
TOP_P_HELP = "Nucleus sampling mass."
MISSING_IMAGE_HELP = "A missing image file stops the job (error) or the sample goes on without it (omit)."
MAX_IMAGE_SIDE_HELP = "Downscale images whose longer side exceeds this many pixels."


def backend_arg_help(model: str) -> str:
    """The help of ``--agent-arg``, ``--judge-arg``... for ``model`` (``agent``, ``judge``...)."""
    return (
        f"An option of the {model}'s backend as KEY=VALUE, e.g. timeout=300 or dtype=bfloat16 (repeatable; "
        "the backends' options: docs/models.md)."
    )


def option(default: Any = MISSING, help: str = "", *, factory: Any = MISSING, **extra: Any) -> Any:
    """A dataclass field whose ``help`` (and ``extra`` metadata) make its command-line option."""
    if factory is not MISSING:
        return field(default_factory=factory, metadata={"help": help, **extra})
    return field(default=default, metadata={"help": help, **extra})


def required(help: str, **extra: Any) -> Any:
    """A required dataclass field (a required command-line option)."""
    return field(metadata={"help": help, "required": True, **extra})
