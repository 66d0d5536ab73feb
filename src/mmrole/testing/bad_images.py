"""Image files that must be refused with one clear line: for mmrole's tests and your own.

Each entry is a file name and its bytes; every one of them is a ``DataError`` from
:func:`mmrole.images.open_image`, whichever command reads it::

    for case in BAD_IMAGES:
        (images / case.name).write_bytes(case.data())

The decompression bombs are headers only (a few hundred bytes): they claim a size that would
take gigabytes to decode, which is refused before any pixel is read.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["BAD_IMAGES", "BadImage", "png_header"]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int) -> bytes:
    """A PNG claiming ``width`` x ``height`` RGB pixels, with almost no pixel data behind it."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _chunk(b"IEND", b"")
    )


def _truncated_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.radial_gradient("L").convert("RGB").save(out, format="PNG")
    data = out.getvalue()
    return data[: len(data) // 2]  # an interrupted download: a valid header, half the pixels


_SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48">'
    b'<rect width="64" height="48" fill="teal"/></svg>\n'
)


@dataclass(frozen=True)
class BadImage:
    """A bad image file: its name, how to make its bytes, and a phrase of the error it gets."""

    name: str
    make: Callable[[], bytes]
    error: str

    def data(self) -> bytes:
        return self.make()


BAD_IMAGES: tuple[BadImage, ...] = (
    BadImage("truncated.png", _truncated_png, "corrupt image"),
    BadImage("zero-byte.jpg", lambda: b"", "empty (0 bytes)"),
    BadImage("garbage.jpg", lambda: b"these bytes are no picture\n" * 80, "not an image file"),
    BadImage("vector.svg", lambda: _SVG, "SVG"),
    # Over PIL's hard limit (DecompressionBombError), between its warning and its error
    # (DecompressionBombWarning), and over mmrole's own limit only.
    BadImage("bomb.png", lambda: png_header(30_000, 30_000), "over mmrole's limit"),
    BadImage("bomb-warning.png", lambda: png_header(10_000, 10_000), "over mmrole's limit"),
    BadImage("over-limit.png", lambda: png_header(9_000, 8_000), "9000x8000"),
)
