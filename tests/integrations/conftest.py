"""Fixtures of the VLMEvalKit tests: the real ``vlmeval`` (imported once, see vlmeval_import.py),
mmrole's classes registered in it, a private VLMEvalKit data folder, the tiny models in its registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from vlmeval_import import import_vlmeval


@pytest.fixture(scope="session")
def vlmeval():
    module = import_vlmeval()
    from mmrole.integrations.vlmeval_register import register

    register()
    return module


@pytest.fixture
def lmu_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vlmeval) -> Path:
    """An empty VLMEvalKit data folder ($LMUData) for this test."""
    root = tmp_path / "LMUData"
    root.mkdir()
    monkeypatch.setenv("LMUData", str(root))
    return root


@pytest.fixture
def tiny_models(vlmeval, monkeypatch: pytest.MonkeyPatch) -> dict[str, type]:
    """The tiny models in VLMEvalKit's model registry (``vlmeval.config.supported_VLM``)."""
    import tiny_vlmeval
    import vlmeval.config

    for name, model in tiny_vlmeval.TINY_MODELS.items():
        monkeypatch.setitem(vlmeval.config.supported_VLM, name, model)
    tiny_vlmeval.TinyRolePlayer.received = []
    return tiny_vlmeval.TINY_MODELS


@pytest.fixture(scope="session")
def demo_images() -> set[bytes]:
    """The bytes of every image of the bundled demo set."""
    from mmrole.data import image_root, load_samples

    return {(image_root("demo") / s.image).read_bytes() for s in load_samples("demo")}
