"""Images, in one place: opening untrusted bytes, the one downscaler, the one data-URL codec.

Every room that reads, sends or embeds images goes through here, so an image is refused for
the same one-line reason, shrunk to the same bytes and shipped as the same data URL whichever
command shows it:

- :func:`open_image` / :func:`check_image_file`: an empty file, an SVG, corrupt or truncated
  bytes and a decompression bomb are each one :class:`~mmrole.errors.DataError` naming the
  file, never a PIL traceback. The pixel limit is mmrole's own (:data:`MAX_IMAGE_PIXELS`),
  below PIL's global default (which only warns up to twice its limit): an image is refused
  from its header, before any pixel is decoded.
- :func:`downscale`: ``--max-image-side`` for answering, judging, feedback, ``data convert``,
  the app and the OpenAI backend's own ``max_image_side``.
- :func:`file_data_url` (a sample's image file) and :func:`to_data_url` (any ``image_url``: a
  data URL, a ``file://`` URL or a plain path), built on :func:`encode_data_url` /
  :func:`decode_data_url`, cached by content in LRUs bounded by the bytes they hold.
- :func:`image_digest`: the content hash cache keys use; a data URL and the file it was made
  from hash the same, so how a caller ships an image never changes a key.

    image = open_image(path.read_bytes(), file=str(path))   # decoded, or DataError
    url = file_data_url(path, max_side=768, record=sample.id)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import mimetypes
import os
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from mmrole.errors import DataError
from mmrole.lru import SizedLRU

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = [
    "CACHE_BYTES",
    "MAX_IMAGE_PIXELS",
    "cached_data_url",
    "check_image",
    "check_image_file",
    "decode_data_url",
    "downscale",
    "encode_data_url",
    "file_data_url",
    "image_bytes",
    "image_digest",
    "image_errors",
    "is_remote",
    "local_path",
    "mime_type",
    "open_image",
    "read_image",
    "to_data_url",
]

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
    except OSError as exc:
        raise DataError(f"cannot read image: {exc.strerror or exc}", **where) from None
    mime = mime_type(path)
    if max_side is None:
        check_image_file(path, **where)
        return mime, data
    return downscale(data, max_side, mime, **where)


# -- the data-URL codec --------------------------------------------------------------------------


def encode_data_url(mime: str, data: bytes) -> str:
    """``data:MIME;base64,...`` of image bytes."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def decode_data_url(url: str) -> tuple[str, bytes]:
    """``data:image/png;base64,...`` -> (mime type, bytes).

    Raises:
        DataError: the URL is not a base64 data URL.
    """
    header, sep, payload = url.partition(",")
    if not sep or not header.startswith("data:") or not header.endswith(";base64"):
        raise DataError("image URL is not a base64 data URL", field="image_url")
    try:
        return header[5:-7] or "application/octet-stream", base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise DataError(f"image data URL is not valid base64: {exc}", field="image_url") from exc


def is_remote(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def local_path(url: str) -> Path | None:
    """The file a ``file://`` URL or a plain path names; None for data and http(s) URLs."""
    if url.startswith("data:") or is_remote(url):
        return None
    if url.startswith("file://"):
        return Path(unquote(urlsplit(url).path))
    return Path(url)


@lru_cache(maxsize=4096)
def _local_path_text(url: str) -> str | None:
    # str(local_path(url)), parsed once per URL: a judge's 8 requests per sample each key and
    # ship the image, and pathlib's parsing cost more than the stat it leads to.
    path = local_path(url)
    return None if path is None else str(path)


def image_bytes(url: str) -> bytes:
    """The bytes of a data URL or local file.

    Raises:
        DataError: the file is missing or the data URL is malformed.
    """
    if url.startswith("data:"):
        return decode_data_url(url)[1]
    path = local_path(url)
    if path is None:
        raise DataError(f"remote image {url!r} cannot be read locally", field="image_url")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(
            f"cannot read image: {exc.strerror or exc}", file=str(path), field="image_url"
        ) from exc


def image_digest(url: str) -> str:
    """A content hash of the image a URL carries (sha256 hex).

    Remote URLs hash their text; a missing local file hashes its path (the backend reports the
    error when the request is sent).
    """
    if url.startswith("data:"):
        return _data_url_digest(url)
    path = _local_path_text(url)
    if path is None:
        return "url:" + hashlib.sha256(url.encode()).hexdigest()
    try:
        stat = os.stat(path)
    except OSError:
        return "missing:" + hashlib.sha256(path.encode()).hexdigest()
    return _file_digest(path, stat.st_mtime_ns, stat.st_size)


#: Image caches are bounded by what they hold, not by entry counts: an entry may be a 10 MB
#: data URL (as a value, or as the key of its digest). Judges send one image with 8 metric
#: prompts, one after another, and samples of one dialogue share their image: a few hundred
#: images of MMRole's median size (95 KB) fit, and 2,000 samples showing one image share one string.
CACHE_BYTES = 32 * 2**20
_URL_DIGESTS: SizedLRU[str] = SizedLRU(CACHE_BYTES)
_DATA_URLS: SizedLRU[str] = SizedLRU(CACHE_BYTES)
#: File digests by (path, mtime, size): a changed file is hashed again. About 200 bytes an entry.
_FILE_DIGESTS: SizedLRU[str] = SizedLRU(2**20)


def _data_url_digest(url: str) -> str:
    # Keyed by the URL itself (the same string object for every request showing the image: the
    # lookup costs one identity check); the entry costs the URL's length.
    return _URL_DIGESTS.get_or_make(
        url, lambda: hashlib.sha256(decode_data_url(url)[1]).hexdigest(), nbytes=len(url)
    )


def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    return _FILE_DIGESTS.get_or_make(
        (path, mtime_ns, size),
        lambda: hashlib.sha256(Path(path).read_bytes()).hexdigest(),
        nbytes=len(path) + 150,
    )


def file_data_url(
    path: str | Path, max_side: int | None = None, *, record: str | None = None, field: str = "image"
) -> str:
    """The data URL of an image file (see :func:`read_image`), made once per distinct content
    (and type and size cap) while it stays cached: files with the same bytes share one string.

    Raises:
        DataError: The file cannot be read or is not a usable image (names file, record, field).
    """
    path = Path(path)

    def encode() -> str:
        return encode_data_url(*read_image(path, max_side, record=record, field=field))

    try:
        stat = path.stat()
        digest = _file_digest(str(path), stat.st_mtime_ns, stat.st_size)
    except OSError:
        return encode()  # raises the DataError naming the file
    return _DATA_URLS.get_or_make((digest, mime_type(path), max_side), encode)


def to_data_url(url: str, max_side: int | None = None) -> str:
    """A data URL for a local image or data URL, downscaled so neither side exceeds ``max_side``.

    Remote URLs come back unchanged; a data URL already within the cap is returned as is.

    Raises:
        DataError: the image cannot be read or decoded.
    """
    if is_remote(url) or (url.startswith("data:") and max_side is None):
        return url
    path = local_path(url)
    if path is not None:
        return file_data_url(path, max_side, field="image_url")
    return _DATA_URLS.get_or_make(
        ("data", _data_url_digest(url), max_side), lambda: _downscaled_data_url(url, max_side)
    )


def cached_data_url(url: str, max_side: int | None = None) -> str | None:
    """What :func:`to_data_url` returns, when that takes no work: the URL itself, or a data URL
    already made (a stat for a file); None when it must be made (a file read, a resize).

    For callers on an event loop: the 8 judge requests of a sample find their image here instead
    of taking a trip through a worker thread each (about 50 us of CPU a trip).
    """
    if is_remote(url) or (url.startswith("data:") and max_side is None):
        return url
    path = _local_path_text(url)
    if path is None:  # a data URL to downscale
        digest = _URL_DIGESTS.get(url)
        return None if digest is None else _DATA_URLS.get(("data", digest, max_side))
    try:
        stat = os.stat(path)
    except OSError:
        return None  # to_data_url raises the error naming the file
    digest = _FILE_DIGESTS.get((path, stat.st_mtime_ns, stat.st_size))
    return None if digest is None else _DATA_URLS.get((digest, mime_type(path), max_side))


def _downscaled_data_url(url: str, max_side: int | None) -> str:
    mime, data = decode_data_url(url)
    new_mime, new_data = (
        downscale(data, max_side, mime, field="image_url") if max_side is not None else (mime, data)
    )
    return url if new_data is data else encode_data_url(new_mime, new_data)
