"""Images inside chat messages: content hashes for cache keys, data URLs for HTTP backends.

An ``image_url`` part's ``url`` is a ``data:`` URL, a ``file://`` URL or a plain local path
(or an ``http(s)`` URL, passed through untouched). A data URL and the file it was made from
hash the same, so how a caller ships an image never changes a cache key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import mimetypes
import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mmrole.errors import DataError
from mmrole.imaging import check_image, image_errors, open_image
from mmrole.lru import SizedLRU


def is_remote(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def local_path(url: str) -> Path | None:
    """The file a ``file://`` URL or a plain path names; None for data and http(s) URLs."""
    if url.startswith("data:") or is_remote(url):
        return None
    if url.startswith("file://"):
        return Path(unquote(urlsplit(url).path))
    return Path(url)


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
    path = local_path(url)
    if path is None:
        return "url:" + hashlib.sha256(url.encode()).hexdigest()
    try:
        stat = path.stat()
    except OSError:
        return "missing:" + hashlib.sha256(str(path).encode()).hexdigest()
    return _file_digest(str(path), stat.st_mtime_ns, stat.st_size)


#: Image caches are bounded by what they hold, not by entry counts: an entry may be a 10 MB
#: data URL (as a value, or as the key of its digest). Judges send one image with 8 metric
#: prompts, one after another, and samples of one dialogue share their image: a few hundred
#: images of MMRole's median size (95 KB) fit.
CACHE_BYTES = 32 * 2**20
_URL_DIGESTS: SizedLRU[str] = SizedLRU(CACHE_BYTES)
_DATA_URLS: SizedLRU[str] = SizedLRU(CACHE_BYTES)


def _data_url_digest(url: str) -> str:
    # Keyed by the URL itself (the same string object for every request showing the image: the
    # lookup costs one identity check); the entry costs the URL's length.
    return _URL_DIGESTS.get_or_make(
        url, lambda: hashlib.sha256(decode_data_url(url)[1]).hexdigest(), nbytes=len(url)
    )


@lru_cache(maxsize=1024)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(image_bytes(path)).hexdigest()


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
        try:
            stat = os.stat(path)
        except OSError as exc:
            raise DataError(
                f"cannot read image: {exc.strerror or exc}", file=str(path), field="image_url"
            ) from exc
        # Keyed by content (and the type the name gives it): a file shown by many requests, under
        # one name or several, is encoded once while it stays in the cache.
        digest = _file_digest(str(path), stat.st_mtime_ns, stat.st_size)
        mime = mimetypes.guess_type(str(path))[0] or "image/jpeg"
        return _DATA_URLS.get_or_make(
            ("file", digest, mime, max_side), lambda: _file_data_url(str(path), mime, max_side)
        )
    return _DATA_URLS.get_or_make(
        ("data", _data_url_digest(url), max_side), lambda: _downscaled_data_url(url, max_side)
    )


def _file_data_url(path: str, mime: str, max_side: int | None) -> str:
    data = image_bytes(path)
    try:
        if max_side is not None:
            mime, data = downscale(data, max_side, mime)
        else:
            check_image(data, field="image_url")  # sent as is: a server must get an image it can read
    except DataError as err:
        raise DataError(err.reason, file=path, field="image_url") from None
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _downscaled_data_url(url: str, max_side: int | None) -> str:
    mime, data = decode_data_url(url)
    new_mime, new_data = downscale(data, max_side, mime) if max_side is not None else (mime, data)
    if new_data is data:
        return url
    return f"data:{new_mime};base64,{base64.b64encode(new_data).decode('ascii')}"


def downscale(data: bytes, max_side: int, mime: str = "image/jpeg") -> tuple[str, bytes]:
    """Shrink encoded image bytes so the longer side is at most ``max_side`` (aspect kept).

    Returns the input unchanged (same object) when it already fits.

    Raises:
        DataError: the bytes are not a usable image (see :func:`mmrole.imaging.open_image`).
    """
    from PIL import Image

    image = open_image(data, field="image_url")  # decoded in full: corrupt bytes fail here
    if max(image.size) <= max_side:
        return mime, data
    source_format = (image.format or "").upper()
    with image_errors(field="image_url"):
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        if image.mode in ("RGBA", "LA", "P") or source_format == "PNG" or mime == "image/png":
            image.save(out, format="PNG")
            return "image/png", out.getvalue()
        image.convert("RGB").save(out, format="JPEG", quality=90)
        return "image/jpeg", out.getvalue()
