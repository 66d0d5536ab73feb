"""OpenAI chat messages <-> VLMEvalKit's interleaved messages (pure: images go through callbacks).

VLMEvalKit's single-turn message is a list of items, ``[{"type": "image", "value": PATH},
{"type": "text", "value": TEXT}]``; its multi-turn form (``chat_inner``) is a list of turns
``{"role": "user" | "assistant", "content": [items]}``. It has no system slot that every model
reads (a ``role`` key on the first item even makes its API models read the list as chat turns),
so a system message is put in front of the first user text, joined by a blank line: the layout
of :func:`mmrole.data.convert.vlmeval_message`, which the MMRole dataset's ``build_prompt`` uses,
so a VLMEvalKit model sees one MMRole sample the same way from ``mmrole answer --agent vlmeval:M``
and from VLMEvalKit's own inference over ``MMRole_*``.

The other way, an item with ``"role": "system"`` (VLMEvalKit's video datasets mark system text so)
becomes the system message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mmrole.models.base import Message

#: An image part's URL -> the local file a VLMEvalKit model reads.
ImageFile = Callable[[str], str]
#: A local image file -> the URL an mmrole backend is sent (a ``data:`` URL).
ImageURL = Callable[[str], str]
Item = dict[str, Any]
SYSTEM_SEPARATOR = "\n\n"


def _items(content: Any, image_file: ImageFile, where: str) -> list[Item]:
    """The VLMEvalKit items of one OpenAI message's content."""
    if isinstance(content, str):
        return [{"type": "text", "value": content}]
    if not isinstance(content, list):
        raise ValueError(f"{where}: content must be text or a list of parts")
    items = []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            items.append({"type": "text", "value": str(part.get("text", ""))})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str) or not url:
                raise ValueError(f"{where}, part {i}: image_url without a url")
            items.append({"type": "image", "value": image_file(url)})
        else:
            raise ValueError(f"{where}, part {i}: VLMEvalKit models take text and images, not {kind!r}")
    return items


def vlmeval_turns(messages: list[Message], image_file: ImageFile) -> tuple[list[dict[str, Any]], str]:
    """OpenAI chat messages -> (VLMEvalKit chat turns, the system text).

    The system text (system messages joined by a blank line) is already in front of the first
    user text of the turns; it is returned too, for custom prompts that want it apart.

    Raises:
        ValueError: A role other than system, user and assistant; a part other than text and
            image; no user message, or an assistant message last.
    """
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role, where = message.get("role"), f"message {index}"
        items = _items(message.get("content"), image_file, where)
        if role == "system":
            if any(item["type"] != "text" for item in items):
                raise ValueError(f"{where}: a system message holds text only")
            system.extend(item["value"] for item in items)
        elif role in ("user", "assistant"):
            turns.append({"role": role, "content": items})
        else:
            raise ValueError(f"{where}: unknown role {role!r}")
    if not turns or turns[-1]["role"] != "user":
        raise ValueError("the conversation must end with a user message")
    system_text = SYSTEM_SEPARATOR.join(system)
    if system:
        first = next(turn for turn in turns if turn["role"] == "user")["content"]
        text = next((item for item in first if item["type"] == "text"), None)
        if text is None:
            first.append({"type": "text", "value": system_text})
        else:
            text["value"] = system_text + SYSTEM_SEPARATOR + text["value"]
    return turns, system_text


def user_text(messages: list[Message]) -> str:
    """The text parts of the last user message, joined by newlines (a custom prompt's question)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "\n".join(str(p.get("text", "")) for p in content or [] if p.get("type") == "text")
    return ""


def _parts(items: list[Item], image_url: ImageURL) -> tuple[list[dict[str, Any]], list[str]]:
    """OpenAI content parts of VLMEvalKit items, and the texts of items marked ``role: system``."""
    parts: list[dict[str, Any]] = []
    system: list[str] = []
    for item in items:
        kind, value = item.get("type"), item.get("value")
        if kind == "text" and item.get("role") == "system":
            system.append(str(value))
        elif kind == "text":
            parts.append({"type": "text", "text": str(value)})
        elif kind == "image":
            parts.append({"type": "image_url", "image_url": {"url": image_url(str(value))}})
        else:
            raise ValueError(f"mmrole backends take text and images, not {kind!r}")
    return parts, system


def openai_messages(items: list[Item], image_url: ImageURL, system: str | None = None) -> list[Message]:
    """VLMEvalKit items -> OpenAI chat messages: [system,] user.

    Args:
        items: One VLMEvalKit message.
        image_url: Makes the URL of an image file.
        system: A system prompt to send first (with any ``role: system`` items after it).
    """
    parts, marked = _parts(items, image_url)
    system_texts = ([system] if system else []) + marked
    messages: list[Message] = []
    if system_texts:
        messages.append({"role": "system", "content": SYSTEM_SEPARATOR.join(system_texts)})
    messages.append({"role": "user", "content": parts})
    return messages


def openai_chat(turns: list[dict[str, Any]], image_url: ImageURL, system: str | None = None) -> list[Message]:
    """VLMEvalKit chat turns -> OpenAI chat messages (assistant turns as text)."""
    messages: list[Message] = [{"role": "system", "content": system}] if system else []
    for turn in turns:
        role = turn.get("role")
        if role not in ("user", "assistant", "system"):
            raise ValueError(f"unknown role {role!r} in a VLMEvalKit chat")
        content = turn.get("content")
        items = [{"type": "text", "value": content}] if isinstance(content, str) else list(content or [])
        parts, marked = _parts(items, image_url)
        if role == "system" or marked:
            texts = [str(p["text"]) for p in parts] if role == "system" else marked
            messages.append({"role": "system", "content": SYSTEM_SEPARATOR.join(texts)})
            if role == "system":
                continue
        if role == "assistant":
            messages.append({"role": "assistant", "content": "".join(str(p.get("text", "")) for p in parts)})
        else:
            messages.append({"role": "user", "content": parts})
    return messages
