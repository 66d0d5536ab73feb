"""Opening untrusted image bytes, checking image files once, and the one downscaler.

See :mod:`mmrole.images` for how the rooms use it.
"""

from __future__ import annotations

import io
import mimetypes
import os
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mmrole.errors import DataError
from mmrole.lru import SizedLRU

if TYPE_CHECKING:
    from PIL import Image as PILImage

# -- opening untrusted bytes ---------------------------------------------------------------------

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
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    found = _CHECKED.get_or_make(key, lambda: _check_file(key[0]), nbytes=len(key[0]) + 150)
    if found.problem is not None:
        raise DataError(found.problem, **where)


class _FileCheck(NamedTuple):
    problem: str | None  # why the file is unusable; None when it decoded
    side: int  # its longer side in pixels (0 when unusable)


#: Files checked, by (path, mtime, size): 2,000 samples sharing one picture decode it once. Only
#: the verdict is kept, not the pixels, about 200 bytes an entry (MMRole-Data's 11K images fit).
_CHECKED: SizedLRU[_FileCheck] = SizedLRU(4 * 2**20)


def _check_file(path: str) -> _FileCheck:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return _FileCheck(f"cannot read image: {exc.strerror or exc}", 0)
    try:
        image = open_image(data)
    except DataError as err:
        return _FileCheck(err.reason, 0)
    side = max(image.size)
    image.close()
    return _FileCheck(None, side)


def checked_to_fit(path: str, mtime_ns: int, size: int, max_side: int | None) -> bool:
    """True when this file (as of ``mtime_ns`` and ``size``) already decoded in a check and fits
    ``max_side`` (None: any size), so it can be sent as it is without decoding it again."""
    found = _CHECKED.get((path, mtime_ns, size))
    return found is not None and found.problem is None and (max_side is None or found.side <= max_side)


# -- the downscaler ------------------------------------------------------------------------------


def downscale(data: bytes, max_side: int, mime: str = "image/jpeg", **where: Any) -> tuple[str, bytes]:
    """Shrink encoded image bytes so the longer side is at most ``max_side`` (aspect kept).

    An image that fits comes back unchanged (the same object, not re-encoded), but decoded once
    to check it: a server would otherwise get bytes it cannot read. A larger one is shrunk by
    PIL's ``thumbnail`` (a JPEG decoded at a reduced draft size first) and saved as PNG when it
    has alpha or a palette, else as JPEG at quality 90.

    Args:
        data: The encoded image.
        max_side: The longest side allowed, in pixels.
        mime: The type ``data`` has, returned when it is passed through.
        **where: ``file``, ``record`` and ``field`` of a DataError.

    Returns:
        ``(mime type, bytes)``.

    Raises:
        DataError: The bytes are not a usable image (see :func:`open_image`).
    """
    image = open_image(data, decode=False, **where)
    with image_errors(**where):
        if max(image.size) <= max_side:
            image.load()  # sent as is: it must decode
            return mime, data
        image.thumbnail((max_side, max_side))  # decodes (a JPEG at a reduced draft size)
        out = io.BytesIO()
        if image.mode in ("RGBA", "LA", "P"):
            image.save(out, format="PNG")
            return "image/png", out.getvalue()
        image.convert("RGB").save(out, format="JPEG", quality=90)
        return "image/jpeg", out.getvalue()


_MIME = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def mime_type(path: str | Path) -> str:
    """The MIME type an image file's name gives it (``image/jpeg`` when the name says nothing)."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    guessed = _MIME.get(suffix) or mimetypes.guess_type(f"x{suffix}")[0] or ""
    return guessed if guessed.startswith("image/") else "image/jpeg"


def read_image(
    path: str | Path, max_side: int | None = None, *, record: str | None = None, field: str = "image"
) -> tuple[str, bytes]:
    """An image file's MIME type and bytes, downscaled to ``max_side`` (see :func:`downscale`).

    Always checked to decode, also when passed through unchanged.

    Raises:
        DataError: The file cannot be read, or is not a usable image (empty, SVG, corrupt,
            over :data:`MAX_IMAGE_PIXELS`); names the file, ``record`` and ``field``.
    """
    where = {"file": str(path), "record": record, "field": field}
    try:
        data = Path(path).read_bytes()
        stat = os.stat(path)
    except OSError as exc:
        raise DataError(f"cannot read image: {exc.strerror or exc}", **where) from None
    mime = mime_type(path)
    if max_side is None:
        check_image_file(path, **where)
        return mime, data
    if checked_to_fit(str(path), stat.st_mtime_ns, stat.st_size, max_side):
        return mime, data  # decoded by a check already, and small enough: no second decode
    return downscale(data, max_side, mime, **where)
