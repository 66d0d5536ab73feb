"""The data-URL codec, the content digests cache keys use, and the caches of encoded images.

See :mod:`mmrole.images` for how the rooms use it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mmrole.errors import DataError
from mmrole.images.decode import checked_to_fit, downscale, mime_type, read_image
from mmrole.lru import SizedLRU

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


#: A checked local file up to this size is read and encoded by :func:`quick_data_url` on the
#: caller's thread: about 0.2 ms for MMRole's median 95 KB, less than a worker thread's trip
#: costs an event loop (the hand-off, and waiting for the GIL while the loop runs).
QUICK_BYTES = 1 << 20


def quick_data_url(url: str, max_side: int | None = None) -> str | None:
    """What :func:`to_data_url` returns, when that needs no decoding or resizing: the URL itself,
    a data URL already made (a stat for a file), or that of a local file of at most
    :data:`QUICK_BYTES` that a check already decoded and that fits ``max_side`` (read and
    encoded here). None when the image must be decoded or resized: make it off the event loop.

    For callers on an event loop: a judge's 8 requests per sample, and the first of them too
    once ``judge_run`` has checked every image, find their image here without a worker thread.
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
    made = None if digest is None else _DATA_URLS.get((digest, mime_type(path), max_side))
    if (
        made is None
        and stat.st_size <= QUICK_BYTES
        and checked_to_fit(path, stat.st_mtime_ns, stat.st_size, max_side)
    ):
        made = file_data_url(path, max_side, field="image_url")
    return made


def _downscaled_data_url(url: str, max_side: int | None) -> str:
    mime, data = decode_data_url(url)
    new_mime, new_data = (
        downscale(data, max_side, mime, field="image_url") if max_side is not None else (mime, data)
    )
    return url if new_data is data else encode_data_url(new_mime, new_data)
