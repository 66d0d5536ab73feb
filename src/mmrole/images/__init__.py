"""Images, in one place: opening untrusted bytes, the one downscaler, the one data-URL codec.

Every room that reads, sends or embeds images goes through here, so an image is refused for
the same one-line reason, shrunk to the same bytes and shipped as the same data URL whichever
command shows it:

- :func:`open_image` / :func:`check_image_file` (:mod:`.decode`): an empty file, an SVG, corrupt or truncated
  bytes and a decompression bomb are each one :class:`~mmrole.errors.DataError` naming the
  file, never a PIL traceback. The pixel limit is mmrole's own (:data:`MAX_IMAGE_PIXELS`),
  below PIL's global default (which only warns up to twice its limit): an image is refused
  from its header, before any pixel is decoded.
- :func:`downscale`: ``--max-image-side`` for answering, judging, feedback, ``data convert``,
  the app and the OpenAI backend's own ``max_image_side``.
- :func:`file_data_url` (a sample's image file) and :func:`to_data_url` (any ``image_url``: a
  data URL, a ``file://`` URL or a plain path), built on :func:`encode_data_url` /
  :func:`decode_data_url`, cached by content in LRUs bounded by the bytes they hold
  (:mod:`.urls`); :func:`quick_data_url` for an event loop, when no decoding is needed.
- :func:`image_digest`: the content hash cache keys use; a data URL and the file it was made
  from hash the same, so how a caller ships an image never changes a key.

    image = open_image(path.read_bytes(), file=str(path))   # decoded, or DataError
    url = file_data_url(path, max_side=768, record=sample.id)
"""

from mmrole.images.decode import (
    MAX_IMAGE_PIXELS,
    check_image,
    check_image_file,
    downscale,
    image_errors,
    mime_type,
    open_image,
    read_image,
)
from mmrole.images.urls import (  # noqa: F401 - _DATA_URLS: tests read what it made
    _DATA_URLS,
    CACHE_BYTES,
    QUICK_BYTES,
    decode_data_url,
    encode_data_url,
    file_data_url,
    image_bytes,
    image_digest,
    is_remote,
    local_path,
    quick_data_url,
    to_data_url,
)

__all__ = [
    "CACHE_BYTES",
    "MAX_IMAGE_PIXELS",
    "QUICK_BYTES",
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
    "quick_data_url",
    "read_image",
    "to_data_url",
]
