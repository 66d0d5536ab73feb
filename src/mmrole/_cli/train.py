"""`mmrole train sft|judge|dpo`: one generic command per trainer, its options read off the config dataclass.

Each config field becomes ``--field-name`` with the field's help text, so the dataclass *is*
the CLI (TRL's pattern). Options left out keep the config's default or the ``--preset``'s value.
The configs import no torch, so ``--help`` is instant; the trainer loads inside the command.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mmrole._cli.options import given_values, option_parameters, options_command
from mmrole.options import option

if TYPE_CHECKING:
    from mmrole.train.base_config import TrainConfig

train_app = typer.Typer(
    help="Train MRPAs (sft), judges (judge) and aligned MRPAs (dpo) with TRL; scale out with `accelerate launch`.",
    no_args_is_help=True,
)


def config_command(
    config_class: type[TrainConfig], run: Callable[[Any], Any], doc: str
) -> Callable[..., None]:
    """A typer command taking one option per field of ``config_class`` and calling ``run(config)``."""

    def command(**options: Any) -> None:
        from mmrole.train.base_config import build_config

        given = {path[0]: value for path, value in given_values(config_class, options).items()}
        preset = given.pop("preset", None)
        config = build_config(config_class, preset, **given)
        result = run(config)
        _report(result)

    parameters = option_parameters(config_class)
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = doc
    return command


def _report(result: Any) -> None:
    from rich.console import Console

    console = Console()
    losses = result.losses
    if losses:
        console.print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f} over {result.global_step} steps")
    console.print(f"saved: {result.model_dir}  (load it as hf:{result.model_dir})")


def _run_sft(config: Any) -> Any:
    from mmrole.train.sft import train_sft

    return train_sft(config)


def _run_judge(config: Any) -> Any:
    from mmrole.train.judge import train_judge

    return train_judge(config)


def _run_dpo(config: Any) -> Any:
    from mmrole.train.dpo import train_dpo

    return train_dpo(config)


def _commands() -> list[tuple[str, type[TrainConfig], Callable[[Any], Any], str]]:
    from mmrole.train.dpo_config import DPOConfig
    from mmrole.train.judge_config import JudgeTrainConfig
    from mmrole.train.sft_config import SFTConfig

    return [
        (
            "sft",
            SFTConfig,
            _run_sft,
            "Fine-tune a vision-language model into an MRPA (defaults: MMRole-Agent's recipe).",
        ),
        (
            "judge",
            JudgeTrainConfig,
            _run_judge,
            "Train a judge on MMRole-Eval trajectories (defaults: MMRole-Eval's reward-model recipe).",
        ),
        ("dpo", DPOConfig, _run_dpo, "Align a model on preference pairs with DPO (sigmoid loss, beta 0.1)."),
    ]


for _name, _config_class, _run, _doc in _commands():
    train_app.command(_name, help=_doc)(config_command(_config_class, _run, _doc))


@dataclass
class AccelerateConfigCommand:
    """``mmrole train accelerate-config``."""

    name: str | None = option(
        None, "single_gpu, multi_gpu (DDP), zero2 or zero3; omit to list them.", argument=True
    )


def run_accelerate_config(options: AccelerateConfigCommand) -> None:
    name = options.name
    folder = Path(__file__).resolve().parents[1] / "accelerate_configs"
    available = sorted(path.stem for path in folder.glob("*.yaml"))
    if name is None:
        for stem in available:
            typer.echo(f"{stem}\t{folder / (stem + '.yaml')}")
        return
    if name not in available:
        from mmrole.errors import ConfigError

        raise ConfigError(f"no accelerate config {name!r}; choose from {', '.join(available)}")
    typer.echo(str(folder / f"{name}.yaml"))


ACCELERATE_CONFIG_HELP = (
    "Print the path of a bundled accelerate config (for `accelerate launch --config_file`)."
)
train_app.command("accelerate-config", help=ACCELERATE_CONFIG_HELP)(
    options_command(AccelerateConfigCommand, run_accelerate_config, ACCELERATE_CONFIG_HELP)
)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level app."""
    app.add_typer(train_app, name="train")
