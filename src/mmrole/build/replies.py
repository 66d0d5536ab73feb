"""Reading a generator's reply: the JSON object it holds, its text fields, its language.

A reply a stage cannot use raises :class:`ReplyError` with a short stable reason (``"not valid
JSON"``, ``"missing field: name"``); :func:`mmrole.build.generate.run_tasks` asks again with a
format reminder naming it, and counts the reasons of the items that stay failed.
"""

from __future__ import annotations

import json
import re
from typing import Any

_LETTER = re.compile(r"[^\W\d_]")
_CJK = re.compile("[\u4e00-\u9fff]")


class ReplyError(ValueError):
    """A reply a stage cannot use: ``reason`` is a short stable phrase (counted in summaries),
    ``detail`` what exactly was wrong (kept in the failures file)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


def json_object(text: str) -> dict[str, Any]:
    """The JSON object a reply holds: the whole reply, or its first object (a code fence or a
    sentence around it is tolerated).

    Raises:
        ReplyError: ``not valid JSON``, ``stopped mid-reply`` (it ends inside the object), or
            ``not a JSON object``.
    """
    stripped = text.strip()
    try:
        value = json.loads(stripped)
    except ValueError:
        start = stripped.find("{")
        if start < 0:
            raise ReplyError("not valid JSON", "the reply holds no JSON object") from None
        try:
            value, _ = json.JSONDecoder().raw_decode(stripped, start)
        except ValueError as err:
            if isinstance(err, json.JSONDecodeError) and (
                err.pos >= len(stripped) or err.msg.startswith("Unterminated string")
            ):
                raise ReplyError("stopped mid-reply", "the reply ends inside its JSON object") from None
            raise ReplyError("not valid JSON", str(err)) from None
    if not isinstance(value, dict):
        raise ReplyError("not a JSON object", f"the reply is a JSON {type(value).__name__}")
    return value


def text_field(data: dict[str, Any], name: str, *, allow_empty: bool = False) -> str:
    """A string field of a reply's JSON object (a list of strings is joined by lines).

    Raises:
        ReplyError: ``missing field: NAME`` or ``empty field: NAME``.
    """
    value = data.get(name)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = "\n".join(item.strip() for item in value)
    if not isinstance(value, str):
        raise ReplyError(
            f"missing field: {name}", f"{name!r} is {'absent' if value is None else type(value).__name__}"
        )
    if not any(ch.isalnum() for ch in value) and not (allow_empty and not value.strip()):
        raise ReplyError(
            f"empty field: {name}", f"{name!r} is empty (or only punctuation: {value.strip()!r})"
        )
    return value.strip()


def language_problem(text: str, language: str) -> str | None:
    """Why ``text`` is not in ``language`` (None when it is, or too short to tell: under 8 letters).

    The rule is the loaders' (:func:`mmrole.data.characters.looks_chinese`: at least a fifth of the
    letters are CJK ideographs). Every turn of every reply is checked, so the letters are counted
    only when the count of ideographs alone cannot decide (a Python loop over the characters would
    cost more than the rest of the parsing).
    """
    cjk = len(_CJK.findall(text))
    if (language == "English" and cjk == 0) or (language == "Chinese" and cjk * 5 >= len(text) and cjk >= 8):
        return None
    letters = len(_LETTER.findall(text))
    if letters < 8:
        return None
    chinese = cjk * 5 >= letters
    if language == "Chinese" and not chinese:
        return "written in English, not Chinese"
    if language == "English" and chinese:
        return "written in Chinese, not English"
    return None
