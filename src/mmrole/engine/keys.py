"""Cache keys: what makes two requests the same request.

A key hashes the backend spec, answer-changing backend options, the messages (each image by
its content, however it is shipped) and the generation parameters. Operational settings
(timeouts, retries, concurrency, API keys) never enter it.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from mmrole.images import image_digest
from mmrole.models.base import GenerationParams, Message


def request_key(
    spec: str,
    messages: list[Message],
    params: GenerationParams,
    *,
    backend_options: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> str:
    """The sha256 hex key of one request.

    Args:
        spec: The backend's spec (``openai:gpt-4o@http://host/v1``).
        messages: OpenAI chat messages; images are replaced by their content hash.
        params: Sampling parameters (all of them, including ``draw``).
        backend_options: Backend settings that change answers (e.g. an image size cap).
        request_id: Only for backends whose answers depend on the id (replay).
    """
    head = [spec, backend_options or None, request_id, _params_json(params)]
    text = json.dumps([head, _normalize(messages)], ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=256)
def _params_json(params: GenerationParams) -> str:
    return json.dumps(params.to_dict(), sort_keys=True)


def _normalize(messages: list[Message]) -> list[Message]:
    """Messages with each image part's URL replaced by the hash of the image's bytes."""
    if not any(isinstance(m.get("content"), list) for m in messages):
        return messages  # text-only: nothing to rewrite
    normalized = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            parts = []
            for part in content:
                if isinstance(part, dict) and part.get("type") == "image_url":
                    image = part.get("image_url")
                    url = image.get("url") if isinstance(image, dict) else image
                    rest = {k: v for k, v in image.items() if k != "url"} if isinstance(image, dict) else {}
                    part = {"type": "image_url", "image_sha256": image_digest(str(url)), **rest}
                parts.append(part)
            message = {**message, "content": parts}
        normalized.append(message)
    return normalized
