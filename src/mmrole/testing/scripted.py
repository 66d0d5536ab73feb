"""A scripted in-process backend: test a pipeline end to end without a model, a server or a network.

Like Inspect's ``mockllm`` or httpx's ``MockTransport``, :class:`ScriptedBackend` answers from a
script and records every call, so a test can say what the model replies and check what it was sent:

    backend = ScriptedBackend(["Ahoy.", BackendError("HTTP 503", retryable=True), "Fair winds."])
    backend = ScriptedBackend(lambda call: f"You said: {call.text}")
    backend = ScriptedBackend({"s1": [BackendError("HTTP 429", retryable=True)]}, default="ok")

It is a real :class:`~mmrole.models.base.Backend`: pass it wherever a spec is accepted
(``run_requests_sync(backend, ...)``, ``judge_run_sync(run, backend)``, ``ChatSession(..., backend)``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from mmrole.errors import BackendError
from mmrole.models.base import (
    Backend,
    Completion,
    GenerationParams,
    Message,
    current_request_id,
    last_user_text,
)

__all__ = ["Call", "ScriptedReply", "ScriptedBackend", "StreamingScriptedBackend"]

#: One scripted answer: its text, a whole Completion (logprobs, finish reason), or an exception
#: instance the call raises (a :class:`~mmrole.errors.BackendError` for a failure the engine retries or not).
ScriptedReply = str | Completion | BaseException


@dataclass(frozen=True)
class Call:
    """One call a :class:`ScriptedBackend` received.

    Attributes:
        messages: The OpenAI chat messages sent.
        params: The sampling parameters.
        request_id: The engine's request id (:data:`~mmrole.models.base.current_request_id`: a
            sample id when answering, ``<sample>#<metric>...`` when judging); None outside the engine.
        streamed: True when it came through :meth:`StreamingScriptedBackend.stream`.
    """

    messages: list[Message]
    params: GenerationParams
    request_id: str | None
    streamed: bool = False

    @property
    def text(self) -> str:
        """The text of the last user message (e.g. the MRPA instruction or the judge prompt)."""
        return last_user_text(self.messages)


#: What a ScriptedBackend answers from: replies in order, a function of the call, or replies by request id.
Script = (
    Iterable[ScriptedReply]
    | Callable[[Call], ScriptedReply]
    | Mapping[str, ScriptedReply | Sequence[ScriptedReply]]
)


class ScriptedBackend(Backend):
    """A backend that answers from a script and records every call.

    Args:
        script: What to answer, in one of three forms:

            * a list of replies, answered in call order;
            * a function ``script(call) -> reply`` of each :class:`Call` (its messages, params,
              request id);
            * a dict keyed by request id: a reply, or a list of replies for that id's 1st, 2nd...
              attempt (e.g. errors to raise before it succeeds).

            A reply is a string, a :class:`~mmrole.models.base.Completion` or an exception instance,
            which the call raises.
        default: The reply (or a function of the call giving it) when the script has none for a
            call: the list is used up, the id is not in the dict, or its attempts are used up.
            Without it such a call raises a non-retryable :class:`~mmrole.errors.BackendError`.
        spec: The backend's spec (it enters the engine's cache keys and run.json).
        delay: Seconds each call takes (an ``asyncio.sleep``: concurrency, timeouts, interrupts).
        max_concurrency: The concurrency the backend claims it can use (the engine caps its pool to it).

    Attributes:
        calls: Every :class:`Call` received, in order (failed ones too).
        in_flight: Calls being answered now; ``peak``: the most at once.

    Example:
        >>> backend = ScriptedBackend(["Steady light."])
        >>> asyncio.run(backend.generate([{"role": "user", "content": "Hi"}], GenerationParams())).text
        'Steady light.'
        >>> backend.calls[0].text
        'Hi'
    """

    def __init__(
        self,
        script: Script = (),
        *,
        default: ScriptedReply | Callable[[Call], ScriptedReply] | None = None,
        spec: str = "scripted",
        delay: float = 0.0,
        max_concurrency: int | None = None,
    ):
        self.spec = spec
        self.delay = delay
        self.max_concurrency = max_concurrency
        self.default = default
        self.calls: list[Call] = []
        self.in_flight = 0
        self.peak = 0
        self._function: Callable[[Call], ScriptedReply] | None = None
        self._by_id: Mapping[str, ScriptedReply | Sequence[ScriptedReply]] | None = None
        self._queue: list[ScriptedReply] = []
        if isinstance(script, Mapping):
            self._by_id = script
        elif callable(script):
            self._function = script
        else:
            self._queue = list(script)

    def attempts(self, request_id: str) -> int:
        """How many calls carried this request id."""
        return sum(1 for call in self.calls if call.request_id == request_id)

    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        """Record the call, wait ``delay``, then answer the scripted reply (or raise it)."""
        return _completion(await self._answer(Call(messages, params, current_request_id.get())))

    async def _answer(self, call: Call) -> ScriptedReply:
        self.calls.append(call)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        reply = self._reply(call)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def _reply(self, call: Call) -> ScriptedReply:
        if self._function is not None:
            return self._function(call)
        if self._by_id is not None:
            planned = self._by_id.get(call.request_id) if call.request_id is not None else None
            if isinstance(planned, (str, Completion, BaseException)):
                return planned
            attempt = self.attempts(call.request_id) if call.request_id is not None else 0
            if planned is not None and attempt <= len(planned):
                return planned[attempt - 1]
        elif self._queue:
            return self._queue.pop(0)
        if self.default is None:
            why = (
                "the script is used up"
                if self._by_id is None
                else f"no reply for request {call.request_id!r}"
            )
            return BackendError(f"{self.spec}: {why} ({len(self.calls)} calls)")
        return self.default(call) if callable(self.default) else self.default


class StreamingScriptedBackend(ScriptedBackend):
    """A :class:`ScriptedBackend` with a ``stream`` method, as streaming backends have (the chat
    app streams from it): each reply comes word by word, the space before a word in its piece.

    Attributes:
        chunks: Every piece streamed, in order.
    """

    def __init__(
        self,
        script: Script = (),
        *,
        default: ScriptedReply | Callable[[Call], ScriptedReply] | None = None,
        spec: str = "scripted-stream",
        delay: float = 0.0,
        max_concurrency: int | None = None,
    ):
        super().__init__(script, default=default, spec=spec, delay=delay, max_concurrency=max_concurrency)
        self.chunks: list[str] = []

    async def stream(self, messages: list[Message], params: GenerationParams) -> AsyncIterator[str]:
        """Yield the scripted reply in pieces (an exception reply is raised before the first)."""
        text = _completion(await self._answer(Call(messages, params, current_request_id.get(), True))).text
        for index, word in enumerate(text.split(" ")):
            chunk = word if index == 0 else " " + word
            self.chunks.append(chunk)
            yield chunk


def _completion(reply: ScriptedReply) -> Completion:
    if isinstance(reply, Completion):
        return reply
    if isinstance(reply, str):
        return Completion(text=reply)
    raise TypeError(f"a scripted reply is a str, a Completion or an exception, not {type(reply).__name__}")
