"""Fixtures of the feedback and align tests (the tiny Qwen2-VL is tests/conftest.py's ``tiny_vlm``)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="package", autouse=True)
def _one_torch_thread():
    """One thread: tiny models are all overhead, and extra threads only fight the other test workers."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
