"""Chat request bodies as JSON bytes, each image's JSON text made once and reused.

A judge sends a sample's image with each of its 8 metric prompts; a 95 KB JPEG is a 127 KB
base64 data URL, and ``json.dumps`` scans and escapes every character of it again for every
request: about 0.3 ms of CPU a request, a third of the engine's budget per call. Here each
image URL's JSON string literal is encoded once (cached by the URL, the same string object
for every request showing it) and spliced into the body dumped around it, so the bytes sent
are exactly ``json.dumps(payload).encode()``, made for the price of the text alone.

    body = encode_body({"model": "m", "messages": messages, "max_tokens": 256})
"""

from __future__ import annotations

import json
import string
from typing import Any

from mmrole.images import CACHE_BYTES
from mmrole.lru import SizedLRU

__all__ = ["encode_body"]

#: Stands for an image URL in the body dumped around it. Its JSON text (control characters
#: escaped) is split on; a body where that text appears more often than images were taken out
#: (a message quoting it) is dumped whole instead.
_TOKEN = "\x00mmrole:image-url\x00"
_TOKEN_JSON = json.dumps(_TOKEN)
#: URLs this short cost less to dump again than to look up.
_MIN_CACHED = 1024
#: The JSON text of image URLs, by URL. An entry holds its URL as key besides the text: it
#: costs both (the URL is usually shared with the data-URL cache, but may outlive it here).
_FRAGMENTS: SizedLRU[bytes] = SizedLRU(CACHE_BYTES)


def encode_body(payload: dict[str, Any]) -> bytes:
    """``json.dumps(payload).encode()``, with the ``url`` of each ``image_url`` part in
    ``payload["messages"]`` encoded once per URL rather than once per request."""
    messages = payload.get("messages")
    urls: list[str] = []
    swapped = [_without_images(m, urls) for m in messages] if isinstance(messages, list) else messages
    if not urls:
        return json.dumps(payload).encode()
    pieces = json.dumps({**payload, "messages": swapped}).split(_TOKEN_JSON)
    if len(pieces) != len(urls) + 1:
        return json.dumps(payload).encode()
    out = [pieces[0].encode()]
    for url, piece in zip(urls, pieces[1:], strict=True):
        out += (_url_json(url), piece.encode())
    return b"".join(out)


def _url_json(url: str) -> bytes:
    if len(url) < _MIN_CACHED:
        return json.dumps(url).encode()
    return _FRAGMENTS.get_or_make(url, lambda: _string_json(url), nbytes=2 * len(url))


#: Characters JSON never escapes that a data URL is made of (base64, its header's punctuation).
_PLAIN = (string.ascii_letters + string.digits + "+/=:;,.-_ ").encode()


def _string_json(text: str) -> bytes:
    """``json.dumps(text).encode()``: a string of nothing but :data:`_PLAIN` characters (every
    base64 data URL) is quoted as it is, a quarter of the cost of JSON's escaping scan."""
    if text.isascii():
        raw = text.encode("ascii")
        if not raw.translate(None, _PLAIN):
            return b'"' + raw + b'"'
    return json.dumps(text).encode()


def _without_images(message: Any, urls: list[str]) -> Any:
    """The message with each image part's URL string replaced by the token (appended to ``urls``)."""
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return message
    parts = []
    for part in content:
        image = part.get("image_url") if isinstance(part, dict) else None
        if isinstance(image, dict) and isinstance(image.get("url"), str):
            urls.append(image["url"])
            part = {**part, "image_url": {**image, "url": _TOKEN}}  # same keys, same order
        parts.append(part)
    return {**message, "content": parts}
