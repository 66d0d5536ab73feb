"""Checkpoints: a run continues from its newest checkpoint, and is never silently overwritten."""

from __future__ import annotations

import json

import pytest
from train_helpers import smoke
from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.errors import ConfigError
from mmrole.train import SFTConfig, train_sft


def test_resume_continues_from_the_last_checkpoint(tiny_vlm, data_dir, tmp_path):
    out = tmp_path / "run"
    args = [
        "train", "sft", "--preset", "smoke", "--no-progress",
        "--model", str(tiny_vlm), "--data", str(data_dir / "train.json"), "--output-dir", str(out),
        "--save-strategy", "steps", "--save-steps", "2", "--learning-rate", "1e-2", "--lr-scheduler-type", "constant",
    ]  # fmt: skip
    first = CliRunner().invoke(app, [*args, "--max-steps", "4"])
    assert first.exit_code == 0, first.output
    assert "loss" in first.output and f"hf:{out}" in first.output
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]

    with pytest.raises(ConfigError, match="already holds checkpoints"):
        train_sft(
            smoke(SFTConfig, model=str(tiny_vlm), data=str(data_dir / "train.json"), output_dir=str(out))
        )

    resumed = CliRunner().invoke(app, [*args, "--max-steps", "6", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    records = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    losses = {record["step"]: record["loss"] for record in records if "loss" in record}
    # Steps 1-4 from the first run, then 5-6: the second run started at step 4, not at 0...
    assert sorted(losses) == [1, 2, 3, 4, 5, 6]
    # ...with the trained weights: the loss goes on falling instead of jumping back to the base
    # model's (Trainer alone restores Qwen2-VL checkpoints with renamed keys as the base weights).
    assert losses[5] < losses[4] < losses[1]
    assert "checkpoint-6" in {p.name for p in out.glob("checkpoint-*")}
    assert json.loads((out / "mmrole_train.json").read_text())["global_step"] == 6


def test_resume_without_checkpoints_is_an_error(tiny_vlm, data_dir, tmp_path):
    config = smoke(
        SFTConfig,
        model=str(tiny_vlm),
        data=str(data_dir / "train.json"),
        output_dir=str(tmp_path),
        resume=True,
    )
    with pytest.raises(ConfigError, match="no checkpoint"):
        train_sft(config)
