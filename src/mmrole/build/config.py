"""``mmrole build run CONFIG.toml``'s configuration: one TOML file naming every stage's options.

    root = "my-data"                  # the MMRole-Data root being built
    generator = "openai:gpt-4o"       # any key below is given to every stage that has that option
    judge = "openai:gpt-4o"
    seed = 0
    stages = ["profiles", "annotate", "dialogues", "filter", "split"]   # the default: all, in order

    [profiles]                        # a table per stage: its options (`mmrole build profiles --help`)
    languages = ["English", "Chinese"]

    [dialogues]                       # the dialogue stage runs once per type in `types`
    types = ["comment", "human-role", "inter-role"]
    coco_count = 40
    [dialogues.comment]               # ... with these options for one type
    coco_count = 50

    [filter]
    min_judge_score = 6

    [split]
    in_test_per_type = 1

    [estimate]                        # what `--dry-run` assumes per call (see mmrole.build.estimate)
    image_tokens = 800

Every key is checked against the stage options it goes to: an unknown key or a value of the wrong
type is one :class:`~mmrole.errors.ConfigError` naming the file and the key, before anything runs.
Relative paths are relative to the current folder, as on the command line.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.build.estimate import Assumptions
from mmrole.errors import ConfigError
from mmrole.schema import DIALOGUE_TYPES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: The stages in the order ``build run`` runs them: name -> (module, options class, entry point).
STAGES: dict[str, tuple[str, str, str]] = {
    "profiles": ("mmrole.build.profiles", "ProfileOptions", "build_profiles"),
    "annotate": ("mmrole.build.annotate", "AnnotateOptions", "build_annotations"),
    "dialogues": ("mmrole.build.dialogues", "DialogueOptions", "build_dialogues"),
    "filter": ("mmrole.build.filter_options", "FilterOptions", "mmrole.build.filters:build_filter"),
    "split": ("mmrole.build.split", "SplitOptions", "build_split"),
}
#: Keys of the file's top level that are the pipeline's own (not stage options).
PIPELINE_KEYS = ("stages",)


def stage_options_class(stage: str) -> type:
    """The options dataclass of a stage.

    Raises:
        ConfigError: The stage is unknown, or its module is not part of this mmrole.
    """
    if stage not in STAGES:
        raise ConfigError(f"unknown stage {stage!r}; the stages are {', '.join(STAGES)}")
    module, name, _ = STAGES[stage]
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as err:
        raise ConfigError(f"the {stage} stage is not available in this mmrole ({err})") from None


def stage_function(stage: str) -> Any:
    """The entry point of a stage: ``function(options) -> StageSummary``."""
    module, _, function = STAGES[stage]
    if ":" in function:
        module, function = function.split(":")
    return getattr(importlib.import_module(module), function)


@dataclass
class BuildConfig:
    """A checked configuration: the stages to run and each one's options.

    Attributes:
        path: The file it was read from.
        stages: The stages to run, in order.
        options: Stage -> its options; ``dialogues`` -> a list, one per dialogue type.
        estimate: The ``[estimate]`` table, as :class:`mmrole.build.estimate.Assumptions`.
    """

    path: Path
    stages: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)
    estimate: Any = None

    @property
    def root(self) -> Path:
        for stage in self.stages:
            options = self.options[stage]
            return Path((options[0] if isinstance(options, list) else options).root)
        raise ConfigError(f"{self.path}: no stage to run")


def _describe(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(choice) for choice in typing.get_args(annotation))
    if origin in (list, tuple):
        return "a list of texts"
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args and origin is not None:
        return _describe(args[0])
    return {str: "a text", int: "an integer", float: "a number", bool: "true or false", Path: "a path"}.get(
        annotation, str(annotation)
    )


def _convert(value: Any, annotation: Any) -> Any:
    """``value`` as the field's type, or raise TypeError (the caller names the key)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        if value not in args or isinstance(value, bool) != any(isinstance(a, bool) for a in args):
            raise TypeError
        return value
    if origin in (list, tuple):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise TypeError
        return list(value) if origin is list else tuple(value)
    if type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return _convert(value, inner[0] if len(inner) == 1 else typing.Union[tuple(inner)])  # noqa: UP007
    if args:  # a union of scalars (str | int ...): the first that takes the value
        for option in args:
            try:
                return _convert(value, option)
            except TypeError:
                continue
        raise TypeError
    if annotation is bool:
        if not isinstance(value, bool):
            raise TypeError
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError
        return float(value)
    if annotation in (str, Path):
        if not isinstance(value, str):
            raise TypeError
        return annotation(value)
    raise TypeError


def _kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a text",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


class _Reader:
    """Checks keys and values against the options classes, naming the file and key on any problem."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {where} {message}")

    def converted(self, options_class: type, table: str | None, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` as the option types of ``options_class``; ``table`` None: top-level keys, those
        the class lacks are dropped (another stage has them), else an unknown key is an error.

        A field holding options (``engine: EngineOptions``) takes its inner options as keys of the
        same table, as on the command line (``concurrency = 8``): they are gathered under its name."""
        hints = typing.get_type_hints(options_class)
        names = {f.name for f in dataclasses.fields(options_class)}
        inner = _inner_options(options_class)
        where = "" if table is None else f"[{table}] "
        chosen: dict[str, Any] = {}
        for key, value in values.items():
            if key in inner and key not in names:
                outer, inner_class = inner[key]
                chosen.setdefault(outer, {}).update(self.converted(inner_class, table, {key: value}))
                continue
            if key not in names or key in {outer for outer, _ in inner.values()}:
                if table is not None:
                    raise self.fail(
                        f"{where}{key}:", f"unknown key (no such option in [{table.split('.')[0]}])"
                    )
                continue
            try:
                chosen[key] = _convert(value, hints[key])
            except TypeError:
                raise self.fail(
                    f"{where}{key}:", f"must be {_describe(hints[key])}, not {_kind(value)} {value!r}"
                ) from None
        return chosen

    def options(self, stage: str, table: str, values: dict[str, Any], shared: dict[str, Any]) -> Any:
        """The stage's options from the shared keys it has and its own table (which wins), then the
        stage's preset for the keys given in neither (the demo generator's settings)."""
        options_class = stage_options_class(stage)
        fields = {f.name: f for f in dataclasses.fields(options_class)}
        chosen = _merged(
            self.converted(options_class, None, shared), self.converted(options_class, table, values)
        )
        preset = getattr(options_class, "preset", None)
        if preset is not None:
            chosen = _merged(preset(chosen), chosen)
        missing = [
            name
            for name, f in fields.items()
            if name not in chosen
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            raise self.fail(f"[{table}]", f"needs {', '.join(missing)} (in the table or at the top level)")
        for outer, inner_class in set(_inner_options(options_class).values()):
            if outer in chosen:
                try:
                    chosen[outer] = inner_class(**chosen[outer])
                except ConfigError as err:
                    raise self.fail(f"[{table}]", str(err)) from None
        options = options_class(**chosen)
        check = getattr(options, "check", None)
        if check is not None:
            try:
                check()
            except ConfigError as err:
                raise self.fail(f"[{table}]", str(err)) from None
        return options


def _inner_options(options_class: type) -> dict[str, tuple[str, type]]:
    """Inner option name -> (the field holding it, its options class), for fields holding options
    (only the inner names the field's ``only`` picks)."""
    hints = typing.get_type_hints(options_class)
    found: dict[str, tuple[str, type]] = {}
    for f in dataclasses.fields(options_class):
        kind = hints[f.name]
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            picked = f.metadata.get("only")
            for inner in dataclasses.fields(kind):
                if picked is None or inner.name in picked:
                    found[inner.name] = (f.name, kind)
    return found


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``over``'s keys, nested dicts merged key by key."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _table(data: dict[str, Any], name: str, reader: _Reader) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise reader.fail(f"{name}:", f"must be a table ([{name}]), not {_kind(value)}")
    return value


def read_config(path: str | Path) -> BuildConfig:
    """Read and check a ``build run`` configuration.

    Raises:
        ConfigError: The file cannot be read or is not TOML, a key is unknown or of the wrong type, a
            required option is missing, a stage is unknown or its options are contradicting.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror or err}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    reader = _Reader(path)
    stages_value = data.get("stages", list(STAGES))
    if not isinstance(stages_value, list) or not all(isinstance(s, str) for s in stages_value):
        raise reader.fail("stages:", "must be a list of stage names")
    unknown_stages = [s for s in stages_value if s not in STAGES]
    if unknown_stages:
        raise reader.fail("stages:", f"unknown stage(s) {unknown_stages}; the stages are {', '.join(STAGES)}")
    stages = tuple(s for s in STAGES if s in stages_value)  # always in the pipeline's order
    tables = set(STAGES) | {"estimate"}
    shared = {k: v for k, v in data.items() if k not in tables and k not in PIPELINE_KEYS}
    for key, value in shared.items():
        if isinstance(value, dict):
            raise reader.fail(f"[{key}]:", f"unknown table; the tables are {', '.join(sorted(tables))}")
    known = set()
    for stage in stages:
        known |= {f.name for f in dataclasses.fields(stage_options_class(stage))}
        known |= set(_inner_options(stage_options_class(stage)))
    for key in shared:
        if key not in known:
            raise reader.fail(f"{key}:", f"unknown key (no stage of {', '.join(stages)} has such an option)")
    for stage in set(STAGES) - set(stages):
        if stage in data:
            raise reader.fail(f"[{stage}]:", f"the stage is not in stages ({', '.join(stages)})")
    assumptions = Assumptions(**reader.converted(Assumptions, "estimate", _table(data, "estimate", reader)))
    config = BuildConfig(path, stages, estimate=assumptions)
    for stage in stages:
        values = _table(data, stage, reader)
        if stage == "dialogues":
            config.options[stage] = _dialogue_options(values, shared, reader)
        else:
            config.options[stage] = reader.options(stage, stage, values, shared)
    return config


def _dialogue_options(values: dict[str, Any], shared: dict[str, Any], reader: _Reader) -> list[Any]:
    """One DialogueOptions per type of ``types``: the table's keys, then the type's sub-table."""
    types = values.get("types", list(DIALOGUE_TYPES))
    if not isinstance(types, list) or not types or any(t not in DIALOGUE_TYPES for t in types):
        raise reader.fail("[dialogues] types:", f"must be a list of {', '.join(DIALOGUE_TYPES)}")
    if "type" in values:
        raise reader.fail("[dialogues] type:", "give the types as types = [...] (one run per type)")
    common = {k: v for k, v in values.items() if k != "types" and k not in DIALOGUE_TYPES}
    reader.converted(
        stage_options_class("dialogues"), "dialogues", common
    )  # the table's own keys, named as its
    for name in DIALOGUE_TYPES:
        if name in values and not isinstance(values[name], dict):
            raise reader.fail(f"[dialogues] {name}:", "must be a table ([dialogues.{name}])")
        if name in values and name not in types:
            raise reader.fail(f"[dialogues.{name}]:", f"the type is not in types ({', '.join(types)})")
    return [
        reader.options(
            "dialogues", f"dialogues.{name}", {**common, **values.get(name, {}), "type": name}, shared
        )
        for name in DIALOGUE_TYPES
        if name in types
    ]
