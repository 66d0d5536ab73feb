"""Images in chat messages: loading them, and bridging them as text for text-only models.

A text-only model cannot see an image, so the bridge replaces each ``image_url``
part by the best text it has, and says which kind it used:

``annotation``
    MMRole instructions of annotated images already carry "The auxiliary
    information of the image is as follows" (characters, place, scene), so the
    image part just points at that text.
``caption``
    A caption given with the image: ``caption`` on the part, on its
    ``image_url``, or in the part's ``metadata``; or a sidecar text file beside
    an image file (``photo.jpg`` -> ``photo.txt``).
``placeholder``
    Otherwise a plain note that an image is attached and cannot be seen, plus
    what PIL can tell cheaply: size, orientation and dominant colours.

When several images get different kinds, the weakest one is reported
(placeholder < caption < annotation), so a caller never overstates what the model saw.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

from mmrole.errors import BackendError, DataError
from mmrole.images import decode_data_url, local_path, open_image
from mmrole.models.base import Message

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = [
    "ANNOTATION_MARKER",
    "bridge_messages",
    "describe_image",
    "image_caption",
    "image_url_of",
    "load_image",
    "text_of",
]

#: The phrase MMRole's MRPA instruction introduces an image's annotation with.
ANNOTATION_MARKER = "The auxiliary information of the image is as follows"

_ANNOTATION_NOTE = "[An image is attached; its auxiliary information is given in the text.]"
_CAPTION_NOTE = "[An image is attached. Its description: {caption}]"
_PLACEHOLDER_NOTE = "[An image is attached; this text-only model cannot see it. {facts}]"

# Weakest first: the completion reports the weakest bridge any image of the request got.
_BRIDGE_STRENGTH = {"placeholder": 0, "caption": 1, "annotation": 2}

# A small palette for naming dominant colours (RGB).
_COLOUR_NAMES: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "dark gray": (64, 64, 64),
    "gray": (128, 128, 128),
    "light gray": (192, 192, 192),
    "white": (255, 255, 255),
    "red": (200, 30, 30),
    "dark red": (110, 20, 20),
    "orange": (240, 140, 30),
    "yellow": (240, 220, 40),
    "brown": (120, 80, 40),
    "beige": (220, 200, 160),
    "green": (40, 160, 60),
    "dark green": (20, 80, 30),
    "cyan": (40, 200, 210),
    "blue": (40, 80, 220),
    "navy": (20, 30, 100),
    "sky blue": (130, 190, 240),
    "purple": (130, 50, 160),
    "pink": (240, 150, 190),
}


def image_url_of(part: dict[str, Any]) -> str:
    """The ``url`` of an ``image_url`` part (also accepts the bare-string form)."""
    ref = part.get("image_url")
    url = ref.get("url") if isinstance(ref, dict) else ref
    if not isinstance(url, str) or not url:
        raise BackendError("an image_url part has no url", retryable=False)
    return url


def _file_of(url: str) -> Path:
    """The file of a URL that is neither ``data:`` nor remote (a ``file://`` URL or a plain path)."""
    return local_path(url) or Path(url)


def load_image(url: str) -> PILImage.Image:
    """Open an image given as a ``data:`` URL, a ``file://`` URL or a local path, as RGB.

    Raises:
        BackendError: (not retryable) when the image cannot be read; the message names it.
    """
    if url.startswith(("http://", "https://")):
        raise BackendError(
            f"local models take images as data: URLs or file paths, not web URLs ({url[:80]})",
            retryable=False,
        )
    shown = url[:60] + "..." if url.startswith("data:") else url
    try:
        if url.startswith("data:"):
            header, _, payload = url.partition(",")
            raw = decode_data_url(url)[1] if header.endswith(";base64") else unquote(payload).encode()
        else:
            raw = _file_of(url).read_bytes()
        image = open_image(raw)
    except (OSError, ValueError) as exc:
        raise BackendError(f"cannot read image {shown}: {exc}", retryable=False) from None
    except DataError as err:  # empty, SVG, corrupt or too large: the same for every retry
        raise BackendError(f"cannot read image {shown}: {err.reason}", retryable=False) from None
    return image.convert("RGB")


def text_of(content: Any) -> str:
    """The text parts of a message's content, joined by blank lines (images left out)."""
    if isinstance(content, str):
        return content
    if not content:
        return ""
    return "\n\n".join(part.get("text", "") for part in content if part.get("type") == "text")


def image_caption(part: dict[str, Any]) -> str | None:
    """A caption given with an image part, or in a sidecar ``.txt`` beside an image file; None if none."""
    ref = part.get("image_url")
    if not isinstance(ref, dict):
        ref = {}
    for holder in (part, ref, part.get("metadata") or {}, ref.get("metadata") or {}):
        caption = holder.get("caption") if isinstance(holder, dict) else None
        if isinstance(caption, str) and caption.strip():
            return caption.strip()
    url = image_url_of(part)
    if not url.startswith(("data:", "http://", "https://")):
        sidecar = _file_of(url).with_suffix(".txt")
        if sidecar.is_file():
            text = sidecar.read_text(encoding="utf-8").strip()
            return text or None
    return None


def _colour_name(rgb: tuple[int, int, int]) -> str:
    return min(
        _COLOUR_NAMES,
        key=lambda name: sum((a - b) ** 2 for a, b in zip(rgb, _COLOUR_NAMES[name], strict=True)),
    )


def describe_image(image: PILImage.Image, max_colours: int = 3) -> str:
    """Cheap facts about an image: size, orientation and its dominant colours by name.

    >>> from PIL import Image
    >>> describe_image(Image.new("RGB", (640, 480), (250, 250, 250)))
    'It is 640x480 pixels (landscape); its dominant colour is white.'
    """
    from PIL import Image

    width, height = image.size
    shape = "square" if width == height else "landscape" if width > height else "portrait"
    small = image.convert("RGB").resize((48, 48), Image.Resampling.BILINEAR)
    quantised = small.quantize(colors=8, method=Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette() or []
    shares: dict[str, int] = {}
    # A palette ("P") image's colours are (count, palette index); PIL's stub allows every mode's.
    counts = cast("list[tuple[int, int]]", quantised.getcolors() or [])
    for count, index in sorted(counts, reverse=True):
        red, green, blue = palette[3 * index : 3 * index + 3]
        name = _colour_name((red, green, blue))
        shares[name] = shares.get(name, 0) + count
    ranked = sorted(shares, key=shares.__getitem__, reverse=True)
    # Colours under a tenth of the picture are mostly blends at edges: not worth naming.
    names = [name for name in ranked if shares[name] >= 0.1 * 48 * 48][:max_colours] or ranked[:1]
    if len(names) == 1:
        colours = f"its dominant colour is {names[0]}"
    else:
        colours = "its dominant colours are " + ", ".join(names[:-1]) + f" and {names[-1]}"
    return f"It is {width}x{height} pixels ({shape}); {colours}."


def _bridge_part(part: dict[str, Any], annotated: bool) -> tuple[str, str]:
    """Text standing in for one image part, and the bridge kind used."""
    if annotated:
        return _ANNOTATION_NOTE, "annotation"
    caption = image_caption(part)
    if caption:
        return _CAPTION_NOTE.format(caption=caption), "caption"
    try:
        facts = describe_image(load_image(image_url_of(part)))
    except BackendError:
        facts = "It could not be opened."
    return _PLACEHOLDER_NOTE.format(facts=facts), "placeholder"


def bridge_messages(messages: list[Message]) -> tuple[list[Message], str | None]:
    """Replace every image part by text, for a text-only model.

    Args:
        messages: OpenAI chat messages, possibly with ``image_url`` parts.

    Returns:
        The messages with string contents only, and the bridge kind used
        (``"annotation"``, ``"caption"`` or ``"placeholder"``; the weakest if several),
        or None when there was no image.
    """
    annotated = any(ANNOTATION_MARKER in text_of(message.get("content")) for message in messages)
    bridged: list[Message] = []
    kinds: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            pieces = []
            for part in content:
                if part.get("type") == "image_url":
                    text, kind = _bridge_part(part, annotated)
                    kinds.append(kind)
                    pieces.append(text)
                elif part.get("type") == "text":
                    pieces.append(part.get("text", ""))
            content = "\n\n".join(piece for piece in pieces if piece)
        bridged.append({**message, "content": content if content is not None else ""})
    weakest = min(kinds, key=_BRIDGE_STRENGTH.__getitem__) if kinds else None
    return bridged, weakest
