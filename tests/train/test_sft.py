"""`mmrole train sft` on the tiny models: it learns, freezes the vision encoder, saves a loadable model."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file
from train_helpers import ANSWER, QUESTION, ask, changed, smoke, snapshot

from mmrole.train import SFTConfig, train_sft


def test_full_sft_learns_the_answers_keeps_the_vision_encoder_and_reloads(tiny_vlm, data_dir, tmp_path):
    config = smoke(
        SFTConfig,
        model=str(tiny_vlm),
        data=str(data_dir / "train.json"),
        output_dir=str(tmp_path / "run"),
        max_steps=30,
        learning_rate=1e-2,
        lr_scheduler_type="constant",
    )
    seen = {}

    def before_training(trainer):
        seen["model"], seen["before"] = trainer.model, snapshot(trainer.model)

    result = train_sft(config, on_trainer=before_training)

    print("sft losses:", [round(loss, 3) for loss in result.losses])
    assert result.global_step == 30 and len(result.losses) == 30
    assert result.losses[-1] < 0.25 * result.losses[0]
    moved = changed(seen["before"], seen["model"])
    vision = {name for name in seen["before"] if name.startswith("model.visual.")}
    assert vision and any(name.startswith("model.language_model.") for name in moved)
    assert {name for name in vision if ".merger." not in name} & moved == set()  # encoder frozen
    assert {name for name in vision if ".merger." in name} <= moved  # its adapter trained
    # The saved folder is an ordinary model folder: hf: loads it, and it has learnt the answer.
    assert ask(result.model_dir, data_dir / "images" / "red.png", QUESTION) == ANSWER
    logged = [json.loads(line) for line in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert [record["loss"] for record in logged if "loss" in record] == pytest.approx(result.losses)
    summary = json.loads((tmp_path / "run" / "mmrole_train.json").read_text())
    assert summary["method"] == "sft" and summary["global_step"] == 30


def test_lora_sft_trains_only_adapters_and_saves_a_merged_model(tiny_vlm, data_dir, tmp_path):
    config = smoke(
        SFTConfig,
        model=str(tiny_vlm),
        data=str(data_dir / "train.json"),
        output_dir=str(tmp_path / "run"),
        use_lora=True,
        lora_r=8,
        lora_alpha=16,
        max_steps=20,
        learning_rate=2e-2,
        lr_scheduler_type="constant",
    )
    seen = {}

    def before_training(trainer):
        seen["model"], seen["before"] = trainer.model, snapshot(trainer.model)

    result = train_sft(config, on_trainer=before_training)

    print("lora losses:", [round(loss, 3) for loss in result.losses])
    # Rank-8 adapters on a 32-wide random model learn slowly, but clearly (about 6.2 -> 5.7).
    assert result.losses[-1] < result.losses[0] - 0.3
    moved = changed(seen["before"], seen["model"])
    assert moved and all("lora_" in name for name in moved)
    assert not any(
        "visual" in name and "lora_" in name for name in seen["before"]
    )  # no adapters on the encoder
    assert (tmp_path / "run" / "adapter" / "adapter_config.json").is_file()
    merged = load_file(tmp_path / "run" / "model.safetensors")
    base = load_file(tiny_vlm / "model.safetensors")
    name = next(key for key in base if key.endswith("layers.0.self_attn.q_proj.weight"))
    assert not (merged[name] == base[name]).all()  # the adapters were merged in
    assert isinstance(ask(result.model_dir, data_dir / "images" / "red.png", QUESTION), str)


def test_text_only_model_trains_without_the_images(tiny_processors, data_dir, tmp_path, caplog):
    lm = tiny_processors["causal_lm"].name_or_path
    config = smoke(
        SFTConfig,
        model=lm,
        data=str(data_dir / "train.json"),
        output_dir=str(tmp_path / "run"),
        max_steps=4,
        learning_rate=1e-2,
    )
    result = train_sft(config)
    assert result.global_step == 4 and result.losses[-1] < result.losses[0]
    assert "text-only model" in caplog.text
    assert (tmp_path / "run" / "tokenizer_config.json").is_file()
