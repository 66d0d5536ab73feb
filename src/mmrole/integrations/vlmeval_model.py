"""MMRoleModel: any mmrole model spec as a VLMEvalKit model (a subclass of its ``BaseModel``).

    python -m mmrole.integrations.vlmeval_run --mmrole-model my-mrpa=openai:my-mrpa@http://localhost:8000/v1 \\
        --model my-mrpa --data MMBench_DEV_EN MMRole_InTest

Every call goes through mmrole's engine: the backend of the spec (an OpenAI-compatible server,
``hf:PATH``, ``replay:FILE``, ``demo``) with its retries and its cache, a request store
(``cache``; by default ``$MMROLE_CACHE_DIR/vlmeval/store.sqlite``, else the user cache folder's),
so a rerun answers what was answered from the store. ``is_api`` is set: VLMEvalKit's inference
then calls the model from ``--api-nproc`` threads at once, and each call is one engine request
on one event loop the model keeps in a background thread, so ``hf:`` models batch them.

Messages become OpenAI chat messages (:mod:`mmrole.integrations.vlmeval_messages`), images
``data:`` URLs of their files' bytes. On the MMRole datasets the model builds its own prompt
(``use_custom_prompt``): the row's system prompt as the system message, then its image and
instruction, which are exactly the messages ``mmrole answer`` sends for the same sample (so the
two share cached answers). A failed call answers VLMEvalKit's failure text with the error, which
its inference retries on the next run.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import os
import threading
from pathlib import Path
from typing import Any

from mmrole.integrations.vlmeval_setup import load_vlmeval

load_vlmeval()

from vlmeval.vlm.base import BaseModel  # noqa: E402 - after load_vlmeval, which contains its side effects

from mmrole.errors import MMRoleError  # noqa: E402
from mmrole.integrations.vlmeval_messages import openai_chat, openai_messages  # noqa: E402
from mmrole.models.base import GenerationParams, Message  # noqa: E402

#: What VLMEvalKit's API models answer on a failure; its inference retries answers holding it.
FAIL_MSG = "Failed to obtain answer via API."


def default_store() -> Path:
    """``$MMROLE_CACHE_DIR/vlmeval/store.sqlite``, else the user cache folder's."""
    root = os.environ.get("MMROLE_CACHE_DIR")
    if not root:
        from platformdirs import user_cache_dir

        root = user_cache_dir("mmrole")
    return Path(root) / "vlmeval" / "store.sqlite"


class _EngineLoop:
    """An event loop in a daemon thread holding one backend and one store; ``call`` from any thread."""

    def __init__(self, spec: str, backend_options: dict[str, Any], store: Path | None):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mmrole-engine", daemon=True)
        self._thread.start()
        self._ids = itertools.count()
        try:
            self.backend, self.store = self.call(self._open(spec, backend_options, store))
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise
        atexit.register(self.close)

    @staticmethod
    async def _open(spec: str, options: dict[str, Any], path: Path | None) -> tuple[Any, Any]:
        from mmrole.engine import Store
        from mmrole.models.registry import load_backend

        return load_backend(spec, **options), Store(path) if path is not None else None

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def answer(self, messages: list[Message], params: GenerationParams, engine: dict[str, Any]) -> Any:
        """The engine's Result of one request."""
        from mmrole.engine import Request, run_requests

        request = Request(f"vlmeval-{next(self._ids)}", messages, params)
        results = self.call(
            run_requests(self.backend, [request], self.store, concurrency=1, progress=False, **engine)
        )
        return results[0]

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self.call(self.backend.aclose())
        finally:
            if self.store is not None:
                self.store.close()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)


class MMRoleModel(BaseModel):
    """A VLMEvalKit model answering through an mmrole model spec.

    Args:
        model: The mmrole spec (``openai:MODEL@URL``, ``hf:PATH``, ``replay:FILE``, ``demo``...).
        cache: The request store; None: :func:`default_store`; False: none.
        max_tokens, temperature, top_p, seed: Sampling (mmrole's defaults: what ``mmrole answer`` uses).
        system_prompt: A system message for every request of other benchmarks.
        max_image_side: Downscale images whose longer side exceeds this.
        max_retries, request_timeout: The engine's, per request.
        **backend_options: Passed to the backend (``api_key``, ``timeout``, ``max_batch_size``...).
    """

    INTERLEAVE = True
    is_api = True
    allowed_types = ["text", "image"]

    def __init__(
        self,
        model: str,
        *,
        cache: str | Path | bool | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
        system_prompt: str | None = None,
        max_image_side: int | None = None,
        max_retries: int = 5,
        request_timeout: float | None = None,
        **backend_options: Any,
    ):
        super().__init__()
        self.spec = model
        self.params = GenerationParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed)
        self.system_prompt = system_prompt
        self.max_image_side = max_image_side
        self.fail_msg = FAIL_MSG
        self._engine = {"max_retries": max_retries, "request_timeout": request_timeout}
        store = None if cache is False else default_store() if cache in (None, True) else Path(cache)  # type: ignore[arg-type]
        self._loop = _EngineLoop(model, backend_options, store)

    # -- prompts -----------------------------------------------------------------------------
    def use_custom_prompt(self, dataset: str | None) -> bool:
        from mmrole.integrations.vlmeval_dataset import MMRoleDataset

        return dataset is not None and dataset in MMRoleDataset.supported_datasets()

    def build_prompt(self, line: Any, dataset: str | None = None) -> list[dict[str, Any]]:
        """An MMRole row as mmrole sends it: the system prompt apart, then the image and instruction."""
        images = self.dump_image(line, dataset)
        return [
            {"type": "text", "value": str(line["system"]), "role": "system"},
            *({"type": "image", "value": str(path)} for path in images),
            {"type": "text", "value": str(line["question"])},
        ]

    # -- answering ---------------------------------------------------------------------------
    def _image_url(self, path: str) -> str:
        if path.startswith(("http://", "https://", "data:")):
            return path
        from mmrole.images import file_data_url

        return file_data_url(path, self.max_image_side)

    def _send(self, messages: list[Message]) -> str:
        try:
            result = self._loop.answer(messages, self.params, self._engine)
        except (
            MMRoleError
        ) as err:  # a dead endpoint or a full disk: this answer fails, as VLMEvalKit's APIs do
            return f"{FAIL_MSG} {err}"
        if result.completion is None:
            return f"{FAIL_MSG} {result.error}"
        return result.completion.text

    def generate_inner(self, message: list[dict[str, Any]], dataset: str | None = None) -> str:
        try:
            messages = openai_messages(message, self._image_url, self.system_prompt)
        except (ValueError, MMRoleError) as err:
            return f"{FAIL_MSG} {err}"
        return self._send(messages)

    def chat_inner(self, message: list[dict[str, Any]], dataset: str | None = None) -> str:
        try:
            messages = openai_chat(message, self._image_url, self.system_prompt)
        except (ValueError, MMRoleError) as err:
            return f"{FAIL_MSG} {err}"
        return self._send(messages)

    def close(self) -> None:
        """Close the backend and the store (also done when the process exits)."""
        self._loop.close()
