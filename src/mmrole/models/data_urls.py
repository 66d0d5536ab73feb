"""Chat messages with their images as data URLs, for backends that ship images inline.

    shipper = DataURLs(max_side=1024)
    messages = await shipper.prepare(messages)   # each image_url part's url now a data: URL

An image that must be decoded (checked, or resized) is made in a worker thread, off the event
loop, once: the requests asking while it is being made (a judge sends a sample's 8 requests
together) wait for that one making rather than each reading and encoding the file again. One
already made, or a small file a check already decoded (``judge_run`` checks every image before
its first call), is made on the loop (:func:`mmrole.images.quick_data_url`): a thread's trip
would cost more than the encoding, and the first calls of a job would wait on it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mmrole.errors import BackendError
from mmrole.images import quick_data_url, to_data_url
from mmrole.models.base import Message

__all__ = ["DataURLs", "image_url"]


class DataURLs:
    """Makes messages' images into data URLs, at most ``max_side`` pixels on their longer side.

    Args:
        max_side: Downscale images whose longer side exceeds this; None ships them as they are
            (a data URL given in a message is then passed through untouched).
    """

    def __init__(self, max_side: int | None = None):
        self.max_side = max_side
        #: Images being made now, by (URL, side cap).
        self.making: dict[tuple[str, int | None], asyncio.Future[str]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def prepare(self, messages: list[Message]) -> list[Message]:
        """The messages with every image part's URL a data URL (others unchanged, never mutated)."""
        if not any(isinstance(m.get("content"), list) for m in messages):
            return messages
        prepared = []
        for message in messages:
            content = message.get("content")
            if isinstance(content, list):
                parts = []
                for part in content:
                    if part.get("type") == "image_url":
                        url = image_url(part)
                        if not url.startswith("data:") or self.max_side:
                            url = await self.data_url(url)
                        part = {**part, "image_url": {**(part.get("image_url") or {}), "url": url}}
                    parts.append(part)
                message = {**message, "content": parts}
            prepared.append(message)
        return prepared

    async def data_url(self, url: str) -> str:
        """The data URL of one image (a file path, ``file://`` or data URL), made once.

        Raises:
            DataError: The image cannot be read or decoded (every request waiting for it gets it).
        """
        side = self.max_side
        made = quick_data_url(url, side)
        if made is not None:
            return made
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # futures belong to one loop (sync callers run one each)
            self.making, self._loop = {}, loop
        key = (url, side)
        making = self.making.get(key)
        if making is None:
            making = asyncio.ensure_future(asyncio.to_thread(to_data_url, url, side))
            self.making[key] = making
            making.add_done_callback(lambda done: self._made(key, done))
        return await asyncio.shield(making)  # one waiter's timeout does not cancel the others'

    def _made(self, key: tuple[str, int | None], done: asyncio.Future[str]) -> None:
        if self.making.get(key) is done:
            del self.making[key]
        if not done.cancelled():
            done.exception()  # retrieved: every waiter may have given up


def image_url(part: dict[str, Any]) -> str:
    """The URL of an ``image_url`` content part (``{"url": ...}`` or the bare string)."""
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise BackendError("image_url part without a url")
    return url
