"""Commands generated from option dataclasses: each field becomes ``--field-name`` with its help text.

The dataclass *is* the CLI (TRL's pattern): a field's ``metadata`` carries ``help`` (and
``required``, ``flag`` for another flag name, ``short`` for a one-letter alias, ``argument`` for
a positional argument instead of an option); a ``bool`` field becomes ``--name/--no-name``, a
``list[str]`` field an option given once per value. Options left out keep the dataclass default, so the same
object can be built in Python with the same names and defaults as on the command line.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

import typer


def scalar_type(annotation: Any) -> Any:
    """``int | None`` -> ``int``: the one non-None type of an optional field (``list[str]`` stays)."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return args[0] if len(args) == 1 else annotation


def flag_of(field: dataclasses.Field[Any]) -> str:
    """The option's flag: ``metadata["flag"]`` or ``--field-name``."""
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


def option_parameters(options_class: type) -> list[inspect.Parameter]:
    """One keyword-only typer parameter per field; ``None`` means "not given" for every option."""
    hints = typing.get_type_hints(options_class)
    parameters = []
    for field in dataclasses.fields(options_class):
        flag = flag_of(field)
        decls = [flag] + ([field.metadata["short"]] if field.metadata.get("short") else [])
        help_text = field.metadata.get("help")
        base = scalar_type(hints[field.name])
        if field.metadata.get("argument"):
            option, annotation = typer.Argument(..., help=help_text, show_default=False), base
        elif field.metadata.get("required"):
            option, annotation = typer.Option(..., *decls, help=help_text), base
        elif base is bool:
            decls[0] = f"{flag}/--no-{flag[2:]}"
            shown = "auto" if field.default is None else ("on" if field.default else "off")
            option, annotation = typer.Option(None, *decls, help=help_text, show_default=shown), bool | None
        else:
            default = field.default if field.default is not dataclasses.MISSING else None
            shown = "none" if default is None else str(default)
            option, annotation = typer.Option(None, *decls, help=help_text, show_default=shown), base | None
        parameters.append(
            inspect.Parameter(
                field.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation
            )
        )
    return parameters


def build_options(options_class: type, **given: Any) -> Any:
    """The dataclass from the options given on the command line (``None`` = not given: the default)."""
    return options_class(**{key: value for key, value in given.items() if value is not None})


def options_command(options_class: type, run: Callable[[Any], Any], doc: str) -> Callable[..., None]:
    """A typer command taking one option per field of ``options_class`` and calling ``run(options)``."""

    def command(**given: Any) -> None:
        run(build_options(options_class, **given))

    parameters = option_parameters(options_class)
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = doc
    return command
