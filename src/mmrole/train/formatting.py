"""Training examples as chat messages, and where the assistant's text sits in a rendered chat.

Pure functions, no torch: every trainer builds its examples here, so the exact text a model is
trained on can be tested without a model.

A *training example* is ``{"id": str, "messages": [...], "images": [path, ...]}``. Messages are
Hugging Face chat messages whose content is a list of parts, images as ``{"type": "image"}``
placeholders in the order of ``images`` (what processors' chat templates expect)::

    [{"role": "system", "content": [{"type": "text", "text": "You are ..."}]},
     {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Please step into ..."}]},
     {"role": "assistant", "content": [{"type": "text", "text": "Well, well..."}]}]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mmrole.errors import DataError

Message = dict[str, Any]
#: ``render(messages, add_generation_prompt) -> text``: a chat template applied without tokenizing.
Render = Callable[[list[Message], bool], str]

#: Speaker names of Qwen-VL / ShareGPT conversation files, mapped to chat roles.
ROLE_ALIASES: dict[str, str] = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "system": "system",
}


def text_message(role: str, text: str, *, images: int = 0) -> Message:
    """A chat message of ``images`` image placeholders followed by ``text``."""
    parts: list[dict[str, Any]] = [{"type": "image"} for _ in range(images)]
    parts.append({"type": "text", "text": text})
    return {"role": role, "content": parts}


def message_text(message: Message) -> str:
    """The text of a message, whether its content is a string or a list of parts."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if part.get("type") == "text")


def conversation_example(
    record: dict[str, Any],
    *,
    file: str | Path,
    default_system: str | None = None,
    split_image_tag: Callable[[str], tuple[str | None, str]] | None = None,
) -> dict[str, Any]:
    """One Qwen-VL-format record (MMRole's training data, RM_data) as a training example.

    All turns are kept (multi-turn samples train on every assistant turn). The image is the
    record's ``image`` (a path or a list of paths) or, Qwen-VL style, a ``Picture 1: <img>PATH</img>``
    prefix of the first user turn; either way it is shown at the start of the first user turn.

    Args:
        record: ``{"id", "image", "system", "conversations": [{"from", "value"}, ...], ...}``.
        file: The file the record came from, for error messages.
        default_system: System text when the record has none (``None``: no system message).
        split_image_tag: Splits a Qwen-VL image tag off a text: ``(path or None, rest)``.

    Raises:
        DataError: A turn has an unknown speaker or no text, or no assistant turn has text.
    """
    record_id = str(record.get("id", "?"))
    where = {"file": str(file), "record": record_id}
    images = _as_paths(record.get("image"), where)
    messages: list[Message] = []
    system = record.get("system")
    if isinstance(system, str) and system:
        messages.append(text_message("system", system))
    elif default_system:
        messages.append(text_message("system", default_system))
    first_user = True
    for index, turn in enumerate(record.get("conversations") or []):
        field = f"conversations[{index}]"
        speaker = turn.get("from", turn.get("role")) if isinstance(turn, dict) else None
        role = ROLE_ALIASES.get(str(speaker).lower()) if speaker is not None else None
        if role is None:
            raise DataError(
                f"unknown speaker {speaker!r} (expected user/human or assistant/gpt)", **where, field=field
            )
        text = turn.get("value")
        if not isinstance(text, str):
            raise DataError("a turn needs a text 'value'", **where, field=f"{field}.value")
        if role == "system":
            # A system turn inside the conversation replaces the record-level or default one.
            if messages and messages[0]["role"] == "system":
                messages.pop(0)
            messages.insert(0, text_message("system", text))
            continue
        if role == "user" and first_user:
            first_user = False
            if split_image_tag is not None:
                tagged, text = split_image_tag(text)
                if tagged and not images:
                    images = [tagged.removeprefix("images/")]
            messages.append(text_message("user", text, images=len(images)))
            continue
        messages.append(text_message(role, text))
    if not any(m["role"] == "assistant" and message_text(m).strip() for m in messages):
        raise DataError("no assistant turn with text to train on", **where, field="conversations")
    if images and first_user:
        raise DataError(
            "the record has an image but no user turn to show it in", **where, field="conversations"
        )
    return {"id": record_id, "messages": messages, "images": images}


def _as_paths(value: Any, where: dict[str, str]) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) and item for item in value):
        return list(value)
    raise DataError("must be an image path or a list of paths", **where, field="image")


def prompt_completion_example(
    example_id: str, *, system: str | None, prompt: str, completion: str, images: Sequence[str] = ()
) -> dict[str, Any]:
    """A single-turn example: system, user (images + prompt), assistant (completion).

    This is how an MMRole sample (instruction -> reference answer) and a judge trajectory
    (judge prompt -> review) become training examples.
    """
    messages = [text_message("system", system)] if system else []
    messages.append(text_message("user", prompt, images=len(images)))
    messages.append(text_message("assistant", completion))
    return {"id": example_id, "messages": messages, "images": list(images)}


def drop_images(messages: list[Message]) -> list[Message]:
    """The messages without their image parts (for text-only models)."""
    return [
        {**m, "content": [p for p in m["content"] if p.get("type") != "image"]}
        if not isinstance(m["content"], str)
        else m
        for m in messages
    ]


def text_only(messages: list[Message]) -> list[Message]:
    """The messages with string contents and no image parts.

    Text-only models' chat templates (SmolLM2's, Llama's...) concatenate ``content`` as a
    string: a list of parts would fail inside the template.
    """
    return [{**m, "content": message_text(m)} for m in messages]


def assistant_spans(render: Render, messages: list[Message]) -> list[tuple[int, int]]:
    """Character spans of the assistant turns in ``render(messages, False)``.

    Each span runs from the end of the generation prompt before an assistant turn (what
    ``add_generation_prompt=True`` appends) to the end of that turn as the template renders it,
    so it covers the answer and the template's end-of-turn marker: the model learns to stop.
    This works with any chat template, no ``{% generation %}`` markers needed, as long as
    rendering a conversation prefix gives a prefix of the full text.

    Raises:
        ValueError: The chat template is not prefix-preserving for these messages.
    """
    full = render(messages, False)
    spans: list[tuple[int, int]] = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = render(messages[:index], True)
        through = render(messages[: index + 1], False)
        if not (through.startswith(before) and full.startswith(through)):
            raise ValueError(
                "the chat template does not render a conversation prefix as a prefix of the full text, "
                f"so the assistant turn #{index} cannot be located"
            )
        if len(through) > len(before):
            spans.append((len(before), len(through)))
    return spans


def token_mask_from_offsets(
    offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]
) -> list[int]:
    """1 for each token whose text starts inside one of ``spans``, else 0.

    Args:
        offsets: ``(start, end)`` character offsets of each token (a fast tokenizer's offset mapping).
        spans: Character spans, sorted and non-overlapping.
    """
    mask = [0] * len(offsets)
    span_index = 0
    for index, (start, _end) in enumerate(offsets):
        while span_index < len(spans) and start >= spans[span_index][1]:
            span_index += 1
        if span_index < len(spans) and spans[span_index][0] <= start < spans[span_index][1]:
            mask[index] = 1
    return mask


def align_to_expanded(short_ids: Sequence[int], long_ids: Sequence[int]) -> list[int | None]:
    """Match a tokenizer's tokens to the tokens a processor made by expanding image placeholders.

    Processors turn one image placeholder into many image tokens (and some add framing tokens);
    everything else is the same token sequence. Returns, for each position of ``long_ids``, the
    index in ``short_ids`` it matches, or ``None`` for an inserted token. Matching right to left
    pins the text after the last image exactly (where the answers are), whatever the expansion.

    Raises:
        ValueError: ``long_ids`` is not ``short_ids`` with tokens inserted.
    """
    origin: list[int | None] = [None] * len(long_ids)
    i, j = len(short_ids) - 1, len(long_ids) - 1
    while i >= 0 and j >= 0:
        if short_ids[i] == long_ids[j]:
            origin[j] = i
            i -= 1
        j -= 1
    if i >= 0:
        raise ValueError("the processor's tokens are not the tokenizer's tokens with image tokens inserted")
    return origin
