"""Streaming a local transformers model's reply: ``HFBackend.stream``.

``model.generate`` runs in a worker thread with a streamer that hands each new token id to the
event loop; the reply is decoded from all the ids so far and each call yields what is new, so
multi-token characters and tokenizers that merge spaces come out right and the pieces join to
exactly the text ``generate()`` returns. Closing the stream early (Ctrl-C in ``mmrole chat``, a
web visitor leaving) stops the generation at the next token.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from mmrole.errors import BackendError

#: What a decoded text ends with while a multi-byte character still misses its last tokens.
_INCOMPLETE = "\ufffd"


class _TokenQueue(BaseStreamer):
    """Puts each generated token id on an asyncio queue (the prompt, put first, is skipped)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[list[int] | None]):
        self.loop, self.queue, self.prompt_seen = loop, queue, False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        self.loop.call_soon_threadsafe(self.queue.put_nowait, value.reshape(-1).tolist())

    def end(self) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, None)


class _StopWhenSet(StoppingCriteria):
    """Stops generating once the event is set (the consumer went away)."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        return torch.full(
            (input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device
        )


def _generate(backend: Any, request: Any, streamer: _TokenQueue, stop: threading.Event) -> None:
    """One request through ``model.generate`` with the streamer (a worker thread; one generation at a time)."""
    params = request.params
    try:
        with backend._batcher.lock:  # never beside a batch on the same model
            inputs = backend._encode([request])
            if params.temperature > 0 and params.seed is not None:
                torch.manual_seed(params.seed)
            with torch.inference_mode():
                backend.model.generate(
                    **inputs,
                    **backend._generation_kwargs(params),
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([_StopWhenSet(stop)]),
                )
    finally:
        streamer.end()  # also after a failure, so the consumer never waits forever


def _reply_ids(ids: list[int], backend: Any) -> list[int]:
    """The ids up to the end-of-sequence token (which generate() does not put in the text either)."""
    for position, token_id in enumerate(ids):
        if token_id in backend._eos_ids or token_id == backend.tokenizer.pad_token_id:
            return ids[:position]
    return ids


async def stream_reply(backend: Any, request: Any) -> AsyncIterator[str]:
    """Yield the new text of ``backend``'s reply to ``request`` as its tokens come.

    Raises:
        BackendError: The generation failed.
    """

    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[list[int] | None] = asyncio.Queue()
    stop = threading.Event()
    worker = asyncio.ensure_future(
        asyncio.to_thread(_generate, backend, request, _TokenQueue(loop, queue), stop)
    )
    worker.add_done_callback(lambda done: done.cancelled() or done.exception())  # seen, even if not awaited
    ids: list[int] = []
    shown = ""
    try:
        while (new := await queue.get()) is not None:
            ids.extend(new)
            text = backend.tokenizer.decode(_reply_ids(ids, backend), skip_special_tokens=True)
            if text.startswith(shown) and len(text) > len(shown) and not text.endswith(_INCOMPLETE):
                yield text[len(shown) :]
                shown = text
        try:
            await worker
        except Exception as exc:
            raise BackendError(f"{backend.spec}: generation failed: {type(exc).__name__}: {exc}") from exc
        text = backend.tokenizer.decode(_reply_ids(ids, backend), skip_special_tokens=True)
        if text != shown:
            # What is left; if decoding rewrote text already shown (a tokenizer's space clean-up
            # across pieces, rare), the rest after the part both agree on.
            yield text[len(os.path.commonprefix([text, shown])) :]
    finally:
        stop.set()
