"""Commands generated from option dataclasses: each field becomes ``--field-name`` with its help text.

The dataclass *is* the CLI (TRL's pattern). A field's ``metadata`` says how its option looks
(:mod:`mmrole.options` lists the keys: ``help``, ``required``, ``argument``, ``flag``, ``short``,
``aliases``, ``min``/``max``, ``metavar``, ``parse``, ``repeat``, ``cli``). A ``bool`` field becomes
``--name/--no-name``; an ``Enum`` or ``Literal`` field a choice; a ``list[str]`` field an option
given once per value; ``argument`` makes a positional argument; a field typed with another options
dataclass contributes that dataclass's options (``only`` picks some), so ``engine: EngineOptions``
gives a command ``--concurrency``, ``--max-retries``, ``--rpm``, ``--timeout``, ``--max-failures`` and
``--progress``. Options left out keep the dataclass default (or the command's preset), so the
same object can be built in Python with the same names and defaults as on the command line.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import typer

#: The suffix of the hidden parameter that takes a field's deprecated spellings (``aliases``).
_ALIAS = "__alias"


def scalar_type(annotation: Any) -> Any:
    """``int | None`` -> ``int``: the one non-None type of an optional field (``list[str]`` stays)."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return args[0] if len(args) == 1 else annotation


def flag_of(field: dataclasses.Field[Any]) -> str:
    """The option's flag: ``metadata["flag"]`` or ``--field-name``."""
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


def _is_options(annotation: Any) -> bool:
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


@dataclass(frozen=True)
class Leaf:
    """One option: the field it sets, found by ``path`` (field names from the top dataclass down)."""

    path: tuple[str, ...]
    field: dataclasses.Field[Any]
    annotation: Any
    #: Said after the field's help on this command (a nested field's ``notes`` entry).
    note: str = ""

    @property
    def name(self) -> str:
        """The typer parameter's name (unique: the path joined)."""
        return "__".join(self.path)

    @property
    def flag(self) -> str:
        return flag_of(self.field)


def _only(names: tuple[str, ...] | None, field_name: str) -> tuple[bool, tuple[str, ...] | None]:
    """Whether ``field_name`` is picked by ``only`` (``"judge"`` or ``"judge.max_tokens"``), and what
    ``only`` its own fields get."""
    if names is None:
        return True, None
    inner = tuple(n.split(".", 1)[1] for n in names if n.startswith(field_name + "."))
    return field_name in names or bool(inner), inner or None


def leaves(
    options_class: type,
    path: tuple[str, ...] = (),
    only: tuple[str, ...] | None = None,
    notes: Mapping[str, str] | None = None,
) -> list[Leaf]:
    """Every option of ``options_class``, nested options dataclasses flattened, in field order.

    A field holding options may say ``only`` (the inner fields that become options) and ``notes``
    (``{inner field: text}`` said after its help on this command).

    Raises:
        TypeError: Two options share a flag (a declaration error, found when the command is made).
    """
    hints = typing.get_type_hints(options_class)
    found: list[Leaf] = []
    for field in dataclasses.fields(options_class):
        picked, inner_only = _only(only, field.name)
        if not picked or field.metadata.get("cli") is False:
            continue
        base = scalar_type(hints[field.name])
        if _is_options(base):
            inner = inner_only or field.metadata.get("only")
            found += leaves(base, (*path, field.name), inner, field.metadata.get("notes"))
        else:
            note = (notes or {}).get(field.name, "")
            found.append(Leaf((*path, field.name), field, hints[field.name], note))
    flags = [leaf.flag for leaf in found]
    if len(set(flags)) != len(flags):
        raise TypeError(f"{options_class.__name__}: options share a flag: {sorted(flags)}")
    return found


def _shown_default(field: dataclasses.Field[Any]) -> str:
    if "default_text" in field.metadata:
        return str(field.metadata["default_text"])
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or value == () or value == {}:
        return "none"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _parameter(leaf: Leaf) -> list[inspect.Parameter]:
    field, flag = leaf.field, leaf.flag
    meta = field.metadata
    decls = [flag] + ([meta["short"]] if meta.get("short") else [])
    extra = {key: meta[key] for key in ("min", "max", "metavar") if key in meta}
    base = scalar_type(leaf.annotation)
    if meta.get("repeat"):
        base = list[str]
    elif meta.get("parse"):
        base = str
    help_text = " ".join(part for part in (meta.get("help"), leaf.note) if part)
    if meta.get("argument"):  # a field with a default is an optional argument
        optional = field.default is not dataclasses.MISSING
        option = typer.Argument(None if optional else ..., help=help_text, show_default=False)
        annotation = base | None if optional else base
    elif meta.get("required"):
        option, annotation = typer.Option(..., *decls, help=help_text, **extra), base
    elif base is bool:
        decls[0] = f"{flag}/--no-{flag[2:]}"
        shown = "auto" if field.default is None else _shown_default(field)
        option = typer.Option(None, *decls, help=help_text, show_default=shown)
        annotation = bool | None
    else:
        option = typer.Option(None, *decls, help=help_text, show_default=_shown_default(field), **extra)
        annotation = base | None
    parameters = [
        inspect.Parameter(leaf.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)
    ]
    if meta.get("aliases"):  # older spellings: accepted, not shown
        hidden = typer.Option(None, *meta["aliases"], hidden=True, **extra)
        parameters.append(
            inspect.Parameter(
                leaf.name + _ALIAS, inspect.Parameter.KEYWORD_ONLY, default=hidden, annotation=annotation
            )
        )
    return parameters


def option_parameters(options_class: type) -> list[inspect.Parameter]:
    """One keyword-only typer parameter per option; ``None`` means "not given" for every option."""
    return [parameter for leaf in leaves(options_class) for parameter in _parameter(leaf)]


def given_values(options_class: type, given: Mapping[str, Any]) -> dict[tuple[str, ...], Any]:
    """The options given on the command line, by field path: aliases merged, values parsed, options
    not given (None, or no value of a repeatable one) left out."""
    found: dict[tuple[str, ...], Any] = {}
    for leaf in leaves(options_class):
        value = given.get(leaf.name)
        if value is None or value == []:
            value = given.get(leaf.name + _ALIAS)
        if value is None or value == []:
            continue
        parse = leaf.field.metadata.get("parse")
        found[leaf.path] = parse(value) if parse else value
    return found


def _build(
    options_class: type,
    path: tuple[str, ...],
    given: dict[tuple[str, ...], Any],
    preset: Mapping[str, Any],
    groups: set[tuple[str, ...]],
) -> Any:
    hints = typing.get_type_hints(options_class)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(options_class):
        here = (*path, field.name)
        if here in groups:
            nested = scalar_type(hints[field.name])
            values[field.name] = _build(nested, here, given, preset.get(field.name) or {}, groups)
        elif here in given:
            values[field.name] = given[here]
        elif field.name in preset:
            values[field.name] = preset[field.name]
    return options_class(**values)


def build_options(
    options_class: type, given: Mapping[str, Any], preset: Mapping[str, Any] | None = None
) -> Any:
    """The dataclass from the options given on the command line (by parameter name).

    Options not given take ``preset``'s value (a dict mirroring the dataclass, nested dicts for
    nested options), else their dataclass's default: a nested options dataclass on the command line
    is built from its own class's defaults, like the top one.
    """
    groups = {leaf.path[:depth] for leaf in leaves(options_class) for depth in range(1, len(leaf.path))}
    return _build(options_class, (), given_values(options_class, given), preset or {}, groups)


def options_command(
    options_class: type,
    run: Callable[..., Any],
    doc: str,
    preset: Callable[[dict[tuple[str, ...], Any]], Mapping[str, Any]] | None = None,
    *,
    pass_context: bool = False,
) -> Callable[..., None]:
    """A typer command taking one option per field of ``options_class`` and calling ``run(options)``.

    Args:
        options_class: The options dataclass.
        run: Called with the dataclass built from the command line.
        doc: The command's help.
        preset: Given the options given (by field path), the values options not given take
            instead of the dataclass defaults (e.g. the demo judge's settings).
        pass_context: Call ``run(options, context)`` with the click context (a group's callback
            uses it to tell whether a subcommand follows).
    """

    def command(**given: Any) -> None:
        context = [given.pop("ctx")] if pass_context else []
        chosen = preset(given_values(options_class, given)) if preset else None
        run(build_options(options_class, given, chosen), *context)

    parameters = option_parameters(options_class)
    if pass_context:
        ctx = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)
        parameters = [ctx, *parameters]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = doc
    return command
