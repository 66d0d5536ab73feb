"""The one Backend protocol every model call goes through.

Messages are OpenAI chat messages. Images travel as ``image_url`` parts whose
``url`` is a ``data:`` URL or a local file path (``file://`` or plain); backends
decide how to ship them (base64 for HTTP servers, PIL images for transformers).

    [{"role": "system", "content": "..."},
     {"role": "user", "content": [
         {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,..."}},
         {"type": "text", "text": "..."}]}]
"""

from __future__ import annotations

import abc
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Any

from mmrole.models.endpoint import redact_urls

Message = dict[str, Any]

#: The id of the request being answered: the engine sets it around each ``generate`` call, so
#: backends that look answers up by id (replay) can read it without a change to the protocol.
current_request_id: ContextVar[str | None] = ContextVar("mmrole_current_request_id", default=None)


@dataclass(frozen=True)
class GenerationParams:
    """Sampling parameters; all of them enter the cache key.

    Operational settings (timeouts, retries, concurrency) live in the engine and
    backends, not here, so changing them never invalidates cached answers.
    """

    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] | None = None
    #: Ask for per-token logprobs (and this many alternatives per position).
    logprobs: bool = False
    top_logprobs: int = 0
    #: Index of one of several samples drawn for the same prompt (RLAIF-V style
    #: sampling): distinct draws get distinct cache keys.
    draw: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class TokenLogprob:
    """One generated token, its logprob, and the top alternatives at that position."""

    token: str
    logprob: float
    top: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


#: The metadata of every completion without any (an immutable, shared empty mapping).
NO_METADATA: Mapping[str, Any] = MappingProxyType({})


@dataclass(slots=True)
class Completion:
    """What a backend returns for one request (slotted, as are its parts: a job keeps one per request)."""

    text: str
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)
    logprobs: list[TokenLogprob] | None = None
    #: Backend notes, e.g. ``{"image_bridge": "annotation"}`` when a text-only model got the image as
    #: text. Read-only: completions without notes share one empty mapping (a job keeps thousands).
    metadata: Mapping[str, Any] = field(default_factory=lambda: NO_METADATA)

    def __post_init__(self) -> None:
        if type(self.finish_reason) is str:  # a handful of values, one copy each however many completions
            self.finish_reason = sys.intern(self.finish_reason)
        if not self.metadata:
            self.metadata = NO_METADATA

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "finish_reason": self.finish_reason,
            "usage": asdict(self.usage),
            "logprobs": None if self.logprobs is None else [asdict(t) for t in self.logprobs],
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Completion:
        logprobs = data.get("logprobs")
        return cls(
            text=data["text"],
            finish_reason=data.get("finish_reason", "stop"),
            usage=Usage(**(data.get("usage") or {})),
            logprobs=[TokenLogprob(**t) for t in logprobs] if logprobs is not None else None,
            metadata=dict(data.get("metadata") or {}),
        )


def last_user_text(messages: list[Message]) -> str:
    """The text of the last user message (its text parts joined): what replay and test servers key on."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "\n".join(part.get("text", "") for part in content or [] if part.get("type") == "text")
    return ""


class Backend(abc.ABC):
    """A model that answers chat messages.

    Subclasses implement :meth:`generate`. ``spec`` identifies the backend and model
    (``openai:gpt-4o@http://host/v1``, ``hf:/path``) and enters the cache key; it must
    never contain secrets: a URL's credentials show as ``***`` (``openai:m@http://***@host/v1``).
    Writers go through :func:`display_spec`, which enforces that for any backend.
    """

    spec: str = ""
    #: The concurrency this backend can actually use (a local model runs one batch at a time).
    max_concurrency: int | None = None

    @abc.abstractmethod
    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        """Answer one conversation."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections or memory."""

    async def __aenter__(self) -> Backend:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def display_spec(backend: Any) -> str:
    """A backend's spec (or a spec string) as it may be written or printed: URL credentials show as ``***``.

    Built-in backends' specs are already so; this keeps a third-party backend whose spec holds a
    credentialed URL out of store keys, run.json and logs. A spec without credentials is unchanged.
    """

    if isinstance(backend, str):
        return redact_urls(backend)
    return redact_urls(str(getattr(backend, "spec", "") or type(backend).__name__))
