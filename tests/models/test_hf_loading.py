"""Loading models through HFBackend: errors, processor registration, device and dtype choice, event loops."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest

from mmrole.errors import ConfigError
from mmrole.models.base import GenerationParams

MESSAGES = [{"role": "user", "content": "Hello!"}]


def test_missing_folder_is_a_config_error(tmp_path):
    from mmrole.models.hf import HFBackend

    with pytest.raises(ConfigError, match="not found"):
        HFBackend(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="cannot load hf model"):
        HFBackend(tmp_path / "empty")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"temperature": 0.3}, "unknown option .temperature."),
        ({"max_batch_size": "lots"}, "must be numbers"),
        ({"max_batch_size": 0}, "at least 1"),
    ],
)
def test_bad_options_are_config_errors(tiny_models, options, message):
    from mmrole.models.hf import HFBackend

    with pytest.raises(ConfigError, match=message):
        HFBackend(tiny_models["causal_lm"], **options)


def test_registry_spec_loads_the_tiny_model(tiny_models):
    from mmrole.models import load_backend

    backend = load_backend(f"hf:{tiny_models['causal_lm']}", max_batch_size=3)
    assert backend.spec == f"hf:{tiny_models['causal_lm']}" and backend.max_concurrency == 3
    assert (
        asyncio.run(backend.generate(MESSAGES, GenerationParams(max_tokens=2))).usage.completion_tokens == 2
    )


def test_saved_qwen2vl_folder_names_the_image_only_processor(tiny_models):
    from transformers import AutoProcessor

    import mmrole.models.hf  # noqa: F401 - registers the processor
    from mmrole.models.hf_processors import Qwen2VLImageOnlyProcessor

    saved = json.loads((tiny_models["qwen2vl"] / "processor_config.json").read_text())
    assert saved["processor_class"] == "Qwen2VLImageOnlyProcessor"
    processor = AutoProcessor.from_pretrained(tiny_models["qwen2vl"])
    assert type(processor) is Qwen2VLImageOnlyProcessor and not hasattr(processor, "video_processor")


def test_stock_qwen2vl_processor_without_video_support_falls_back(tiny_models, tmp_path, blue_data_url):
    """A folder naming the stock Qwen2VLProcessor (which wants a video processor) still loads."""
    from mmrole.models.hf import HFBackend
    from mmrole.models.hf_processors import Qwen2VLImageOnlyProcessor

    folder = shutil.copytree(tiny_models["qwen2vl"], tmp_path / "stock")
    config_file = folder / "processor_config.json"
    config_file.write_text(config_file.read_text().replace("Qwen2VLImageOnlyProcessor", "Qwen2VLProcessor"))
    backend = HFBackend(folder)
    assert type(backend.processor) is Qwen2VLImageOnlyProcessor
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": blue_data_url}}]}]
    assert asyncio.run(backend.generate(image, GenerationParams(max_tokens=2))).text


def test_device_and_dtype_selection(monkeypatch):
    import torch

    from mmrole.models import hf

    assert hf.select_device("cpu") == "cpu" and hf.select_device("cuda:1") == "cuda:1"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert hf.select_device() == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert hf.select_device() == "cpu"
    assert hf.select_dtype("auto", "cuda:0") is torch.bfloat16
    assert hf.select_dtype("auto", "cpu") is torch.float32
    assert hf.select_dtype("bf16") is torch.bfloat16 and hf.select_dtype("float16") is torch.float16
    with pytest.raises(ConfigError, match="unknown dtype"):
        hf.select_dtype("int8")


def test_backend_serves_successive_event_loops_and_closes(tiny_models):
    from mmrole.models.hf import HFBackend

    backend = HFBackend(tiny_models["causal_lm"], batch_wait_ms="1")
    params = GenerationParams(max_tokens=3)
    first = asyncio.run(backend.generate(MESSAGES, params))
    second = asyncio.run(backend.generate(MESSAGES, params))  # a new loop: the batcher starts afresh
    assert first.text == second.text

    async def use_and_close():
        async with backend:
            return await backend.generate(MESSAGES, params)

    assert asyncio.run(use_and_close()).text == first.text
    assert backend.model is None
