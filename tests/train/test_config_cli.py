"""Configs, presets and the generic `mmrole train` command (no training here)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.errors import ConfigError, DataError
from mmrole.train import DPOConfig, JudgeTrainConfig, SFTConfig, build_config

REQUIRED = {"model": "m", "data": "d", "output_dir": "o"}


def test_defaults_are_the_mmrole_recipes():
    sft = build_config(SFTConfig, **REQUIRED)
    assert (sft.num_train_epochs, sft.learning_rate, sft.lr_scheduler_type) == (3.0, 1e-5, "cosine")
    assert (sft.warmup_ratio, sft.weight_decay, sft.adam_beta2, sft.max_length) == (0.01, 0.05, 0.95, 3072)
    assert sft.freeze_vision_tower and not sft.use_lora
    judge = build_config(JudgeTrainConfig, **REQUIRED)
    assert (judge.num_train_epochs, judge.learning_rate, judge.max_length) == (10.0, 1e-5, 4096)
    dpo = build_config(DPOConfig, **REQUIRED)
    assert (dpo.beta, dpo.loss_type, dpo.sft_weight) == (0.1, "sigmoid", 0.0)


def test_presets_then_explicit_options():
    config = build_config(SFTConfig, "smoke", lora_r=8, max_length=None, **REQUIRED)
    assert config.preset == "smoke" and config.bf16 is False and config.num_train_epochs == 1.0
    assert config.lora_r == 8
    assert config.max_length == 2048  # None means "not given": the preset's value stays
    assert build_config(SFTConfig, "mmrole-agent", **REQUIRED).num_train_epochs == 3.0
    with pytest.raises(ConfigError, match="unknown preset"):
        build_config(SFTConfig, "mmrole-eval-rm", **REQUIRED)
    with pytest.raises(ConfigError, match="--output-dir"):
        build_config(SFTConfig, model="m", data="d")
    with pytest.raises(ConfigError, match="unknown option"):
        build_config(SFTConfig, learning_rat=1, **REQUIRED)


def test_every_field_has_help_text():
    for config_class in (SFTConfig, JudgeTrainConfig, DPOConfig):
        for field in dataclasses.fields(config_class):
            assert field.metadata.get("help"), f"{config_class.__name__}.{field.name} has no help"


def test_trainer_args_and_lora_targets():
    config = build_config(
        SFTConfig, trainer_args="optim=adamw_8bit, save_only_model=true,eval_steps=5", **REQUIRED
    )
    assert config.extra_trainer_args() == {"optim": "adamw_8bit", "save_only_model": True, "eval_steps": 5}
    with pytest.raises(ConfigError, match="key=value"):
        build_config(SFTConfig, trainer_args="oops", **REQUIRED).extra_trainer_args()
    assert build_config(SFTConfig, **REQUIRED).lora_targets() == "all-linear"
    assert build_config(SFTConfig, lora_target_modules="q_proj, v_proj", **REQUIRED).lora_targets() == [
        "q_proj",
        "v_proj",
    ]


def test_dpo_sft_weight_adds_an_sft_loss():
    from mmrole.train.dpo import loss_settings

    assert loss_settings(build_config(DPOConfig, **REQUIRED)) == {
        "loss_type": ["sigmoid"],
        "loss_weights": [1.0],
    }
    both = loss_settings(build_config(DPOConfig, sft_weight=0.2, **REQUIRED))
    assert both == {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.2]}


def test_help_lists_fields_without_importing_torch():
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom mmrole.cli import app\n"
        "r = CliRunner().invoke(app, ['train', 'dpo', '--help'])\n"
        "print(r.output)\nprint('TORCH' if 'torch' in sys.modules else 'LIGHT')"
    )
    env = {**os.environ, "COLUMNS": "250"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert "--sft-weight" in out and "--lora-r" in out and "--no-use-lora" in out
    assert "RPO alpha" in out  # the field's help text
    assert out.strip().endswith("LIGHT")


def test_bad_data_is_one_clear_error(tmp_path, tiny_vlm):
    missing = tmp_path / "nope.json"
    args = ["sft", "--model", str(tiny_vlm), "--data", str(missing), "--output-dir", str(tmp_path / "o")]
    result = CliRunner().invoke(app, ["train", *args])
    assert isinstance(result.exception, DataError) and str(missing) in str(result.exception)
    # `python -m mmrole train` (what accelerate launch runs) prints it as one line and exits 2.
    run = subprocess.run([sys.executable, "-m", "mmrole", "train", *args], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [f"error: {result.exception}"]


def test_accelerate_configs_are_listed_and_valid():
    result = CliRunner().invoke(app, ["train", "accelerate-config"])
    assert result.exit_code == 0
    paths = dict(line.split("\t") for line in result.output.strip().splitlines())
    assert set(paths) == {"single_gpu", "multi_gpu", "zero2", "zero3"}
    kinds = {name: yaml.safe_load(open(path, encoding="utf-8")) for name, path in paths.items()}
    assert kinds["single_gpu"]["distributed_type"] == "NO"
    assert kinds["multi_gpu"]["distributed_type"] == "MULTI_GPU"
    assert kinds["zero2"]["deepspeed_config"]["zero_stage"] == 2
    assert kinds["zero3"]["deepspeed_config"]["zero_stage"] == 3
    assert kinds["zero3"]["deepspeed_config"]["zero3_save_16bit_model"] is True
    one = CliRunner().invoke(app, ["train", "accelerate-config", "zero3"])
    assert one.output.strip() == paths["zero3"]
    bad = CliRunner().invoke(app, ["train", "accelerate-config", "zero9"])
    assert isinstance(bad.exception, ConfigError)


@pytest.mark.parametrize("flag", ["--limit", "--max-samples"])
def test_limit_is_the_first_n_examples_and_max_samples_its_old_spelling(monkeypatch, flag):
    import mmrole.train.sft as sft

    seen = []
    monkeypatch.setattr(sft, "train_sft", lambda config: seen.append(config) or 1 / 0)
    args = ["train", "sft", "--model", "m", "--data", "d", "--output-dir", "o", flag, "3"]
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, ZeroDivisionError)  # stopped right after the config was made
    assert [config.max_samples for config in seen] == [3]
    shown = CliRunner().invoke(app, ["train", "sft", "--help"], env={"COLUMNS": "200"}).output
    assert "--limit" in shown and "--max-samples" not in shown
