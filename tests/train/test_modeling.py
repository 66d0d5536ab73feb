"""Loading models and processors for training, and which parameters the vision freeze touches."""

from __future__ import annotations

import json
import shutil

import pytest

from mmrole.errors import ConfigError
from mmrole.train.modeling import freeze_vision_tower, load_model, load_processor, vision_tower_name

ENCODERS = {"qwen2vl": "model.visual", "llava": "model.vision_tower", "idefics3": "model.vision_model"}


@pytest.mark.parametrize("family", sorted(ENCODERS))
def test_vision_encoder_is_found_and_frozen_but_not_its_adapter(family, tiny_processors):
    model = load_model(tiny_processors[family].tokenizer.name_or_path)
    tower = vision_tower_name(model)
    assert tower == ENCODERS[family]
    frozen = set(freeze_vision_tower(model))
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert frozen and all(name.startswith(tower + ".") for name in frozen)
    assert not frozen & trainable
    assert any("language_model" in name or "text_model" in name for name in trainable)
    # The vision-language adapter keeps training (Qwen2-VL's merger; LLaVA's and Idefics3's sit outside).
    assert all(".merger." not in name for name in frozen)
    assert any(
        name.startswith(("model.multi_modal_projector", "model.connector", "model.visual.merger"))
        for name in trainable
    )


def test_text_only_model_has_nothing_to_freeze(tiny_processors):
    model = load_model(tiny_processors["causal_lm"].name_or_path)
    assert vision_tower_name(model) is None and freeze_vision_tower(model) == []


def test_stock_qwen2vl_processor_falls_back_to_images_only(tiny_vlm, tmp_path):
    """A Qwen2-VL folder naming the stock processor (which wants torchvision for videos) still trains."""
    folder = tmp_path / "stock"
    shutil.copytree(tiny_vlm, folder)
    config = json.loads((folder / "processor_config.json").read_text())
    (folder / "processor_config.json").write_text(
        json.dumps({**config, "processor_class": "Qwen2VLProcessor"})
    )
    processor = load_processor(str(folder))
    assert hasattr(processor, "image_processor") and processor.tokenizer.pad_token is not None
    assert "<|image_pad|>" in processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "hi"}]}], tokenize=False
    )


def test_missing_model_or_chat_template_is_a_config_error(tiny_processors, tmp_path):
    with pytest.raises(ConfigError, match="cannot read the model config"):
        load_processor(str(tmp_path / "nowhere"))
    folder = tmp_path / "lm"
    shutil.copytree(tiny_processors["causal_lm"].name_or_path, folder)
    settings = json.loads((folder / "tokenizer_config.json").read_text())
    settings.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(settings))
    for extra in folder.glob("chat_template.*"):
        extra.unlink()
    with pytest.raises(ConfigError, match="no chat template"):
        load_processor(str(folder))


def test_qlora_needs_lora_bitsandbytes_and_cuda(tiny_vlm, data_dir, tmp_path):
    from train_helpers import smoke

    from mmrole.train import SFTConfig, train_sft
    from mmrole.train.modeling import qlora_quantization_config

    with pytest.raises(ConfigError, match="bitsandbytes|CUDA"):  # neither is on the CPU test machines
        qlora_quantization_config(None)
    config = smoke(
        SFTConfig,
        model=str(tiny_vlm),
        data=str(data_dir / "train.json"),
        output_dir=str(tmp_path),
        qlora=True,
    )
    with pytest.raises(ConfigError, match="--use-lora"):
        train_sft(config)
