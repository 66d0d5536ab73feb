"""mmrole.models: the Backend protocol and the spec -> backend registry.

    backend = load_backend("openai:gpt-4o")                       # api.openai.com
    backend = load_backend("openai:qwen2-vl@http://localhost:8000/v1")  # vLLM, SGLang, Ollama...
    backend = load_backend("replay:runs/old/answers.jsonl")       # stored answers
    completion = await backend.generate(messages, GenerationParams(max_tokens=256))

Backends with heavy dependencies (``hf:``, ``demo``) import them only when loaded.
"""

from __future__ import annotations

from mmrole.models.base import (
    Backend,
    Completion,
    GenerationParams,
    Message,
    TokenLogprob,
    Usage,
    current_request_id,
)
from mmrole.models.registry import backend_prefixes, load_backend, register_backend

__all__ = [
    "Backend",
    "Completion",
    "GenerationParams",
    "Message",
    "TokenLogprob",
    "Usage",
    "backend_prefixes",
    "current_request_id",
    "load_backend",
    "register_backend",
]
