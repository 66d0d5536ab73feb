"""Tiny randomly initialised models, built once per test session, and test images."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest

TINY_VLMS = ("llava", "idefics3", "qwen2vl")


@pytest.fixture(scope="session")
def tiny_model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="session")
def tiny_models(tiny_model_root: Path) -> dict[str, Path]:
    """name -> saved folder, for the three tiny VLMs and the tiny text-only causal LM."""
    from mmrole.testing import tiny_models

    builders = {
        "llava": tiny_models.build_tiny_llava,
        "idefics3": tiny_models.build_tiny_idefics3,
        "qwen2vl": tiny_models.build_tiny_qwen2vl,
        "causal_lm": tiny_models.build_tiny_causal_lm,
    }
    return {name: build(tiny_model_root / name) for name, build in builders.items()}


def _png_data_url(image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="session")
def blue_data_url() -> str:
    """A 64x48 blue picture as a data: URL."""
    from PIL import Image

    return _png_data_url(Image.new("RGB", (64, 48), (20, 30, 200)))


@pytest.fixture(scope="session")
def yellow_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30x50 yellow picture as a PNG file."""
    from PIL import Image

    path = tmp_path_factory.mktemp("images") / "yellow.png"
    Image.new("RGB", (30, 50), (230, 210, 30)).save(path)
    return path
