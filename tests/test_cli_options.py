"""The model-calling commands speak one language: the same flag names for the same things, every
option's help read off a dataclass field, ``-h`` for ``--help``."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from mmrole._cli import align as align_cli
from mmrole._cli.eval_options import AnswerCommand, EvalCommand, JudgeCommand
from mmrole._cli.options import build_options, leaves
from mmrole.align.loop_config import AlignConfig
from mmrole.cli import app
from mmrole.engine.options import EngineOptions

#: The commands that call models, and the dataclass each is made from.
COMMANDS = {
    "answer": AnswerCommand,
    "judge": JudgeCommand,
    "eval": EvalCommand,
    "feedback": align_cli.FeedbackCommand,
    "align": AlignConfig,
}
ENGINE_FLAGS = {"--concurrency", "--max-retries", "--rpm", "--timeout", "--max-failures", "--progress"}
SRC_CLI = Path(align_cli.__file__).parent


def _command(name: str) -> Any:
    """The click command typer makes (typer carries its own click: duck-typed here)."""
    return typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]


def _params(name: str) -> list[Any]:
    """The command's options (not its arguments), ``--help`` left out."""
    params = _command(name).params
    return [p for p in params if p.param_type_name == "option" and p.name != "help"]


def _options(name: str) -> dict[str, Any]:
    """The command's visible options by flag (their first spelling)."""
    return {param.opts[0]: param for param in _params(name) if not param.hidden}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_model_calling_command_has_the_engine_flags_limit_and_images_naming(name: str) -> None:
    flags = set(_options(name))
    assert ENGINE_FLAGS <= flags, sorted(ENGINE_FLAGS - flags)
    assert "--no-progress" in _options(name)["--progress"].secondary_opts
    assert "--limit" in flags  # every one of them takes samples (align: its prompts)
    assert "--image-root" not in flags and not any("image_root" in f or "image-root" in f for f in flags)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_dash_h_prints_the_help(name: str) -> None:
    short, long = (CliRunner().invoke(app, [name, flag], env={"COLUMNS": "200"}) for flag in ("-h", "--help"))
    assert short.exit_code == 0 and "Usage:" in short.output and "--concurrency" in short.output
    assert short.output == long.output


#: Flags that name a different thing on different commands (what --data holds, what --out is...).
PER_COMMAND = {"--data", "--judge", "--out", "--limit", "--max-tokens"}


def test_the_same_flag_means_the_same_on_every_command() -> None:
    """A flag on two commands has the same help there (one declaration), bar a per-command note."""
    seen: dict[str, tuple[str, str]] = {}
    for name in sorted(COMMANDS):
        for flag, param in _options(name).items():
            text = (param.help or "").split(" With the demo judge")[0]  # the judging commands' note
            if flag in seen and flag not in PER_COMMAND:
                assert text == seen[flag][1], f"{flag}: {name} and {seen[flag][0]} say different things"
            seen.setdefault(flag, (name, text))
    for name in COMMANDS:  # the ones that differ on purpose still mean one thing
        assert "first N" in (_options(name)["--limit"].help or ""), name
    assert {"--run", "--images", "--overwrite", "--judge-arg", *ENGINE_FLAGS} <= set(seen)


def test_seed_is_always_a_model_sampling_seed_and_the_bootstrap_has_its_own() -> None:
    for name in sorted(COMMANDS):
        options = _options(name)
        if "--seed" in options:
            assert "sampling seed" in (options["--seed"].help or "").lower(), name
    for name in ("judge", "eval"):
        assert "--seed" not in _options(name) and "--bootstrap-seed" in _options(name)
    compare = {p.opts[0] for p in _params("compare")}
    assert "--bootstrap-seed" in compare and "--seed" not in compare


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_help_comes_from_a_dataclass_field(name: str) -> None:
    declared = {leaf.name: leaf for leaf in leaves(COMMANDS[name])}
    params = _params(name)
    for param in params:
        base = param.name.removesuffix("__alias")
        assert base in declared, f"{name}: {param.opts} is not a field of {COMMANDS[name].__name__}"
        if not param.hidden:
            leaf = declared[base]
            assert param.opts[0] == leaf.flag
            assert param.help == " ".join(p for p in (leaf.field.metadata["help"], leaf.note) if p)
    assert {p.name for p in params if not p.hidden} == set(declared)


#: Every other command, by its words on the command line (``mmrole.cli``'s root ``--version`` aside).
OTHER_COMMANDS = [
    ("chat",),
    ("app",),
    ("judge-agreement",),
    ("data", "samples"),
    ("data", "validate"),
    ("data", "stats"),
    ("data", "convert"),
    ("data", "demo"),
    ("train", "accelerate-config"),
    ("train", "sft"),
    ("import",),
    ("leaderboard",),
    ("compare",),
    ("report",),
    ("export",),
]


def _typer_declarations(module: str) -> list[str]:
    tree = ast.parse((SRC_CLI / module).read_text(encoding="utf-8"))
    return [
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("Option", "Argument")
    ]


def test_no_typer_option_is_declared_for_these_commands_outside_the_generator() -> None:
    """The command modules declare no typer.Option or typer.Argument (only options.py does); every
    command is made by options_command (its function takes **given)."""
    for module in ("answer.py", "eval.py", "eval_options.py", "align.py", "app.py", "data.py", "train.py"):
        assert _typer_declarations(module) == [], module
    assert _typer_declarations("options.py")  # the check looks at the right files
    for name in COMMANDS:
        assert _command(name).callback.__name__ == "command"  # the generated one (mmrole._cli.options)
    root = typer.main.get_command(app)
    for words in OTHER_COMMANDS:
        command = root
        for word in words:
            command = command.commands[word]  # type: ignore[attr-defined]
        assert command.callback.__name__ == "command", words
        for param in command.params:
            assert param.name == "help" or param.hidden or param.help, (words, param.opts)


def test_the_other_commands_keep_the_shared_names() -> None:
    """--seed, --temperature, --top-p and --max-image-side say on chat and app what they say on answer."""
    answer = _options("answer")
    for name in ("chat", "app"):
        options = _options(name)
        for flag in ("--temperature", "--top-p", "--max-image-side", "--seed"):
            if flag in options:
                assert options[flag].help == answer[flag].help, (name, flag)
    convert = typer.main.get_command(app).commands["data"].commands["convert"]  # type: ignore[attr-defined]
    side = {p.opts[0]: p for p in convert.params}["--max-image-side"]
    assert side.help == "openai: " + (answer["--max-image-side"].help or "")


def test_an_optional_argument_and_a_required_one(tmp_path: Path) -> None:
    listed = CliRunner().invoke(app, ["train", "accelerate-config"])
    assert listed.exit_code == 0 and "zero3" in listed.output
    missing = CliRunner().invoke(app, ["data", "demo"])
    assert missing.exit_code == 2 and "Missing argument" in missing.output
    made = CliRunner().invoke(app, ["data", "demo", str(tmp_path / "demo")])
    assert made.exit_code == 0 and (tmp_path / "demo").is_dir()


def test_every_field_of_the_option_dataclasses_has_help() -> None:
    for options_class in (*COMMANDS.values(), EngineOptions):
        for leaf in leaves(options_class):
            assert leaf.field.metadata.get("help"), (
                f"{options_class.__name__}.{'.'.join(leaf.path)} has no help"
            )


def test_nested_options_are_built_back_and_the_old_spelling_still_works(tmp_path: Path) -> None:
    given = {"agent": "demo", "data": "demo", "run": tmp_path, "engine__concurrency": 3}
    built = build_options(AnswerCommand, {**given, "images__alias": tmp_path / "pictures"})
    assert built.engine == EngineOptions(concurrency=3) and built.images == tmp_path / "pictures"
    assert build_options(AnswerCommand, given).engine.max_failures == "0"  # the dataclass default
    align = build_options(
        AlignConfig,
        {"model": "m", "data": "demo", "judge": "demo", "output_dir": "o", "feedback__judge__max_tokens": 7},
        align_cli.align_preset({("feedback", "judge", "max_tokens"): 7}),
    )
    assert align.feedback.judge.max_tokens == 7 and align.eval_judge_max_tokens == 7
    # On the command line align's --max-failures defaults to 0, as every command's does.
    assert (
        align.engine.max_failures == "0" and AlignConfig("m", "demo", "demo", "o").engine.max_failures is None
    )
    assert [f.name for f in dataclasses.fields(align.feedback) if f.name == "judge"]  # holds a JudgeOptions
