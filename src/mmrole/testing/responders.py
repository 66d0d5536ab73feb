"""What the local test server answers, and how it fails: replies, responders and fault rates.

A responder maps the chat messages of a request to a reply; tests plug in their own
(e.g. serving stored judge reviews keyed by the prompt) or raise :class:`InjectedError`
to fail a chosen request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mmrole.models.base import last_user_text

#: What a responder returns: the reply text, or a Reply with logprobs.
Responder = Callable[[list[dict[str, Any]]], "str | Reply"]


#: Bodies a broken proxy or server might send with a 200.
GARBAGE_BODIES = (
    b"<html><body>502 Bad Gateway</body></html>",
    b'{"choices": [{"message": ',
    b"\x00\xff not json",
    b"{}",
)
#: 200s that parse as a chat completion but carry no reply: a null ``content`` (a refusal, a
#: reasoning model out of tokens, a broken proxy), an empty ``choices`` list, or none at all.
EMPTY_BODIES = (
    b'{"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": null},'
    b' "finish_reason": "stop"}]}',
    b'{"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": null,'
    b' "refusal": "I cannot help with that."}, "finish_reason": "stop"}]}',
    b'{"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": null},'
    b' "finish_reason": "length"}]}',
    b'{"object": "chat.completion", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 0}}',
    b'{"object": "chat.completion", "usage": {"prompt_tokens": 5, "completion_tokens": 0}}',
)
#: The faults answered with a 200 and one of these bodies, by fault name.
BODY_FAULTS = {"garbage": GARBAGE_BODIES, "empty": EMPTY_BODIES}


@dataclass
class Reply:
    """A responder's answer: text, and optionally per-token logprobs.

    ``logprobs`` items are ``(token, logprob, {alternative: logprob})``.
    """

    text: str
    logprobs: list[tuple[str, float, dict[str, float]]] | None = None
    finish_reason: str = "stop"


class InjectedError(Exception):
    """Raise it from a responder to answer that request with an HTTP error instead of a reply.

    Args:
        status: The HTTP status to send (e.g. 503, 400).
        message: The error message in the body.
        retry_after: Seconds for a ``Retry-After`` header, if any.
    """

    def __init__(self, status: int, message: str = "injected error", retry_after: float | None = None):
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


@dataclass
class Faults:
    """Probabilities of each injected fault (they must sum to at most 1), drawn per request.

    Attributes:
        rate_limit: 429 with a ``Retry-After`` header of ``retry_after`` seconds (sent at once).
        server_error: 500 after the latency.
        hang: Never answers within ``hang_seconds`` (the client must time out), then closes.
        drop: Closes the connection without a response after the latency.
        garbage: 200 with a body that is not a chat completion.
        empty: 200 with a chat completion that has no reply (:data:`EMPTY_BODIES`).
    """

    rate_limit: float = 0.0
    server_error: float = 0.0
    hang: float = 0.0
    drop: float = 0.0
    garbage: float = 0.0
    retry_after: float = 1.0
    hang_seconds: float = 30.0
    empty: float = 0.0

    def total(self) -> float:
        return self.rate_limit + self.server_error + self.hang + self.drop + self.garbage + self.empty


def echo_responder(messages: list[dict[str, Any]]) -> Reply:
    """The default responder: a deterministic reply naming the prompt, with fake logprobs."""
    text = f"Reply to: {last_user_text(messages)[-60:]}"
    tokens = text.split(" ")
    logprobs = [(tok, -0.25, {tok: -0.25, "<alt>": -2.0}) for tok in tokens]
    return Reply(text=text, logprobs=logprobs)
