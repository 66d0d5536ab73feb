"""Helpers of the trainer tests (a module of its own: conftest files are not for importing)."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

SYSTEM = "You are Iron Man."
#: The first training conversation: after training on it, the model should answer exactly this.
QUESTION, ANSWER = "What do you see?", "I am Iron Man."


def smoke(config_class: type, **options: Any) -> Any:
    """A config with the smoke preset, no progress bar and the given options."""
    from mmrole.train.base_config import build_config

    return build_config(config_class, "smoke", progress=False, **options)


def snapshot(model: Any) -> dict[str, Any]:
    """A copy of every parameter, by name."""
    return {name: param.detach().clone() for name, param in model.named_parameters()}


def changed(before: dict[str, Any], model: Any) -> set[str]:
    """Names of the parameters that differ from ``before``."""
    import torch

    now = dict(model.named_parameters())
    return {name for name, value in before.items() if not torch.equal(value, now[name].detach())}


def ask(model_dir: Path, image: Path, question: str, *, system: str = SYSTEM, max_tokens: int = 12) -> str:
    """Load ``model_dir`` through the ``hf:`` backend and answer one question about ``image``."""
    from mmrole.models.base import GenerationParams
    from mmrole.models.hf import HFBackend

    url = "data:image/png;base64," + base64.b64encode(image.read_bytes()).decode()
    messages = [
        {"role": "system", "content": system},
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": question}],
        },
    ]
    backend = HFBackend(str(model_dir))
    return asyncio.run(backend.generate(messages, GenerationParams(max_tokens=max_tokens))).text
