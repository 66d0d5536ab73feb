"""Scripted backends for the app tests: replies in order, every request recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from mmrole.errors import BackendError
from mmrole.models.base import Backend, Completion, GenerationParams, Message


def instruction_of(messages: list[Message]) -> str:
    """The text part of the last user message (the MRPA instruction)."""
    content = messages[-1]["content"]
    return "".join(part["text"] for part in content if part.get("type") == "text")


class ScriptedBackend(Backend):
    """Answers with the given replies in order and records every request's messages.

    A reply that is an exception instance is raised instead of answered.
    """

    def __init__(self, replies: Iterable[str | Exception], spec: str = "scripted"):
        self.replies = list(replies)
        self.spec = spec
        self.requests: list[list[Message]] = []

    def _next(self, messages: list[Message]) -> str:
        self.requests.append(messages)
        if not self.replies:
            raise BackendError(f"{self.spec}: script exhausted")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        return Completion(text=self._next(messages))

    @property
    def instructions(self) -> list[str]:
        return [instruction_of(m) for m in self.requests]


class StreamingScriptedBackend(ScriptedBackend):
    """A ScriptedBackend with a ``stream`` method yielding each reply word by word."""

    def __init__(self, replies: Iterable[str | Exception], spec: str = "scripted-stream"):
        super().__init__(replies, spec)
        self.chunks: list[str] = []

    async def stream(self, messages: list[Message], params: GenerationParams) -> AsyncIterator[str]:
        words = self._next(messages).split(" ")
        for index, word in enumerate(words):
            chunk = word if index == 0 else " " + word
            self.chunks.append(chunk)
            yield chunk

    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        raise AssertionError("a backend that streams must be streamed")
