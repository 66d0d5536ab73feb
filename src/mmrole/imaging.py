"""Opening untrusted image bytes: one place that says, in one line, why an image cannot be used.

Every room that reads images (the data converters, the engine's data URLs, local model
backends, the trainers' collators, the app, HTML reports) opens them here, so an empty file,
an SVG, corrupt or truncated bytes and a decompression bomb are each one
:class:`~mmrole.errors.DataError` naming the file, never a PIL traceback.

The pixel limit is mmrole's own (:data:`MAX_IMAGE_PIXELS`), below PIL's global default
(which only warns up to twice its limit): an image is refused from its header, before any
pixel is decoded.

    image = open_image(path.read_bytes(), file=str(path))   # decoded, or DataError
"""

from __future__ import annotations

import io
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmrole.errors import DataError

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = ["MAX_IMAGE_PIXELS", "check_image", "check_image_file", "image_errors", "open_image"]

#: The most pixels an image may have (8192 x 8192, 192 MiB as RGB); larger ones are refused
#: unread, whatever PIL's own global limit is set to.
MAX_IMAGE_PIXELS = 8192 * 8192

# warnings.catch_warnings swaps process-wide state: our threads (answer prepares images in a
# thread pool) take turns. Only the header read runs under it, so nobody waits long.
_WARNING_FILTERS = threading.Lock()
# Exceptions PIL's decoders raise on bad bytes (besides OSError and UnidentifiedImageError).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)
_PIXELS = re.compile(r"\((\d+) pixels\)")


def _too_large(pixels: int, size: str = "") -> str:
    return (
        f"image is {size}{pixels:,} pixels, over mmrole's limit of {MAX_IMAGE_PIXELS:,} "
        "(a decompression bomb, or a picture to shrink before use)"
    )


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip().lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in data[:4096].lower()


@contextmanager
def image_errors(**where: Any) -> Iterator[None]:
    """Turn PIL's errors while decoding or resizing an image into one DataError.

    Args:
        **where: ``file``, ``record`` and ``field`` of the DataError.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        found = _PIXELS.search(str(exc))
        raise DataError(_too_large(int(found.group(1))) if found else str(exc), **where) from None
    except UnidentifiedImageError:
        raise DataError("not an image file (PIL recognises no image format in it)", **where) from None
    except _DECODE_ERRORS as exc:
        raise DataError(f"corrupt image: {exc}", **where) from None


def open_image(data: bytes, *, decode: bool = True, **where: Any) -> PILImage.Image:
    """Open encoded image bytes with PIL, refusing what cannot or must not be decoded.

    Args:
        data: The file's bytes.
        decode: Decode the pixels now (so corrupt data fails here); False reads only the header,
            for a caller that decodes inside :func:`image_errors` (e.g. a JPEG draft thumbnail).
        **where: ``file``, ``record`` and ``field`` of the DataError.

    Raises:
        DataError: The bytes are empty, an SVG, not an image, corrupt or truncated, or the image
            has more than :data:`MAX_IMAGE_PIXELS` pixels.
    """
    from PIL import Image

    if not data:
        raise DataError("image file is empty (0 bytes)", **where)
    if _looks_like_svg(data):
        raise DataError("an SVG (vector) image: convert it to PNG or JPEG", **where)
    with image_errors(**where):
        with _WARNING_FILTERS, warnings.catch_warnings():
            # PIL only warns between its limit and twice it; ours is lower and always refuses.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise DataError(_too_large(width * height, f"{width}x{height}, "), **where)
        if decode:
            image.load()
    return image


def check_image(data: bytes, **where: Any) -> None:
    """Decode image bytes once to check they are a usable image (see :func:`open_image`)."""
    open_image(data, **where).close()


def check_image_file(path: str | Path, **where: Any) -> None:
    """Check an image file decodes; a file is decoded once while its size and mtime stay the same.

    Raises:
        DataError: The file cannot be read or is not a usable image (names the file).
    """
    path = Path(path)
    where.setdefault("file", str(path))
    try:
        stat = path.stat()
    except OSError as exc:
        raise DataError(f"cannot read image: {exc.strerror or exc}", **where) from None
    reason = _file_problem(str(path), stat.st_mtime_ns, stat.st_size)
    if reason is not None:
        raise DataError(reason, **where)


@lru_cache(maxsize=1024)
def _file_problem(path: str, mtime_ns: int, size: int) -> str | None:
    # 2,000 samples sharing one picture decode it once; only the reason is kept, not the pixels.
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return f"cannot read image: {exc.strerror or exc}"
    try:
        check_image(data)
    except DataError as err:
        return err.reason
    return None
