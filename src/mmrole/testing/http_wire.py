"""The HTTP/1.1 and OpenAI wire format of :class:`~mmrole.testing.server.LocalOpenAIServer`.

Just enough HTTP for the clients it tests (keep-alive, ``Content-Length`` bodies, server-sent
events), written by hand over asyncio streams to stay at a few hundred microseconds of CPU per
call: the server shares its cores with the client a benchmark measures. Which answer to give
(latency, faults, replies) is the server's business; this module only reads and writes bytes.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from mmrole.testing.responders import Reply

#: What an image counts for in ``usage.prompt_tokens``, as a server counts an image's tokens, not
#: its base64 characters (re-serialising a 95 KB image for every request was most of this
#: server's CPU per call, which it shares with the client it measures).
IMAGE_PROMPT_CHARS = 4 * 256


@dataclass(frozen=True)
class Request:
    """One request as read off the connection; ``arrived`` is the loop time its head came in."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    arrived: float

    @property
    def closes(self) -> bool:
        """The client asked to close the connection after this request."""
        return self.headers.get("connection", "").lower() == "close"


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on a keep-alive connection, or None once it closed or sent garbage."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        arrived = asyncio.get_running_loop().time()
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = dict(_split_header(line) for line in lines[1:] if line)
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        return None
    return Request(method, target.split("?", 1)[0], headers, body, arrived)


def error_body(message: str) -> dict[str, Any]:
    """An OpenAI-style error object."""
    return {"error": {"message": message, "type": "mmrole_test_server"}}


def retry_after(seconds: float) -> dict[str, str]:
    """A ``Retry-After`` header, in whole seconds when they are whole."""
    value = str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
    return {"Retry-After": value}


async def respond(
    writer: asyncio.StreamWriter, status: int, data: Any, extra: dict[str, str] | None = None
) -> bool:
    """Write a JSON response; True (the connection stays open)."""
    return await respond_raw(writer, status, json.dumps(data).encode(), "application/json", extra)


async def respond_raw(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    content_type: str,
    extra: dict[str, str] | None = None,
) -> bool:
    """Write a response with a ``Content-Length`` body; True (the connection stays open)."""
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"Content-Type: {content_type}"]
    lines.append(f"Content-Length: {len(body)}")
    lines.extend(f"{k}: {v}" for k, v in (extra or {}).items())
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()
    return True


def completion_body(
    payload: dict[str, Any], messages: list[dict[str, Any]], reply: Reply, model: str
) -> dict[str, Any]:
    """A ``chat.completion`` answering ``payload`` with ``reply`` (logprobs when asked and known)."""
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": reply.text},
        "finish_reason": reply.finish_reason,
    }
    if payload.get("logprobs") and reply.logprobs is not None:
        top_n = int(payload.get("top_logprobs") or 0)
        choice["logprobs"] = {
            "content": [
                {
                    "token": tok,
                    "logprob": lp,
                    "top_logprobs": [{"token": t, "logprob": v} for t, v in list(top.items())[:top_n]],
                }
                for tok, lp, top in reply.logprobs
            ]
        }
    prompt_chars = sum(_content_chars(m.get("content", "")) for m in messages)
    return {
        "id": "chatcmpl-local",
        "object": "chat.completion",
        "model": payload.get("model", model),
        "choices": [choice],
        "usage": {"prompt_tokens": prompt_chars // 4, "completion_tokens": len(reply.text.split())},
    }


async def stream_reply(writer: asyncio.StreamWriter, reply: Reply) -> None:
    """Server-sent events, one per word, then ``[DONE]``; the body ends when the connection closes."""
    head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
    writer.write(head.encode())
    words = reply.text.split(" ")
    for i, word in enumerate(words):
        delta = word if i == 0 else " " + word
        chunk = {"choices": [{"index": 0, "delta": {"content": delta}, "finish_reason": None}]}
        writer.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    final = {"choices": [{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}]}
    writer.write(b"data: " + json.dumps(final).encode() + b"\n\ndata: [DONE]\n\n")
    await writer.drain()


def _content_chars(content: Any) -> int:
    """Characters of a message's text (text parts summed), an image counted as ``IMAGE_PROMPT_CHARS``."""
    if isinstance(content, str):
        return len(content)
    if not isinstance(content, list):
        return len(str(content))
    return sum(
        len(str(part.get("text", ""))) if part.get("type") == "text" else IMAGE_PROMPT_CHARS
        for part in content
        if isinstance(part, dict)
    )


def _split_header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()
