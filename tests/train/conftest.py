"""Tiny models, tiny training data and helpers for the trainer tests.

Every trainer runs for real on CPU with the tiny random models of :mod:`mmrole.testing.tiny_models`;
sequences are a few dozen tokens, so a training step takes tens of milliseconds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from train_helpers import ANSWER, QUESTION, SYSTEM


@pytest.fixture(scope="package", autouse=True)
def _one_torch_thread():
    """One thread: tiny models are all overhead, and extra threads only fight the other test workers."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_processors(tmp_path_factory: pytest.TempPathFactory, tiny_vlm: Path) -> dict[str, Any]:
    """name -> processor (or tokenizer) of each tiny model family."""
    from mmrole.testing import tiny_models
    from mmrole.train.modeling import load_processor

    root = tmp_path_factory.mktemp("tiny-processors")
    folders = {
        "qwen2vl": tiny_vlm,
        "llava": tiny_models.build_tiny_llava(root / "llava"),
        "idefics3": tiny_models.build_tiny_idefics3(root / "idefics3"),
        "causal_lm": tiny_models.build_tiny_causal_lm(root / "lm"),
    }
    return {name: load_processor(str(folder)) for name, folder in folders.items()}


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with two images and a Qwen-VL-format training file (one single-turn, one multi-turn record)."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("train-data")
    (folder / "images").mkdir()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(folder / "images" / "red.png")
    Image.new("RGB", (32, 32), (10, 10, 200)).save(folder / "images" / "blue.png")
    records = [
        {
            "id": "r1",
            "image": "images/red.png",
            "system": SYSTEM,
            "conversations": [{"from": "user", "value": QUESTION}, {"from": "assistant", "value": ANSWER}],
        },
        {
            "id": "r2",
            "image": "images/blue.png",
            "system": SYSTEM,
            "conversations": [
                {"from": "human", "value": "Hello!"},
                {"from": "gpt", "value": "The sky is blue."},
                {"from": "human", "value": "And?"},
                {"from": "gpt", "value": "Goodbye for now!"},
            ],
        },
    ]
    (folder / "train.json").write_text(json.dumps(records), encoding="utf-8")
    return folder
