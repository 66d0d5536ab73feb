"""A stand-in generator for `mmrole build`: a well-formed reply to every build request, read off the
request itself, so build stages run end to end offline (with :class:`~mmrole.testing.ScriptedBackend`
or as the responder of :class:`~mmrole.testing.server.LocalOpenAIServer`):

    backend = ScriptedBackend(lambda call: build_reply(call.messages))
    server = LocalOpenAIServer(build_reply)

It recognises the request by the JSON shape the request asks for (a profile, an annotation, a
comment, a dialogue with its two speakers and its number of turns) and writes placeholder text in
the request's language. Quality is not the point: the reply is exactly what the stage's parser
accepts, so tests can change one thing in it and check the stage refuses it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mmrole.models.base import last_user_text

__all__ = ["build_reply", "placeholder", "request_language"]

_SPEAKER = re.compile(r'\{"speaker": "((?:[^"\\]|\\.)*)", "text": "\.\.\."\}')
_TURNS = re.compile(r"(\d+) turns in all|共(\d+)轮发言")
_SECTIONS = ("introduction", "personality", "experience", "relationship", "catchphrase")


def request_language(text: str) -> str:
    """``Chinese`` when a build request asks for Chinese text, else ``English``."""
    return "Chinese" if "请用中文写作" in text else "English"


def placeholder(language: str, what: str, number: int = 0) -> str:
    """A sentence of placeholder text in ``language`` (``what`` and ``number`` keep sentences apart)."""
    if language == "Chinese":
        return f"这是第{number + 1}句关于{what}的话，说得清清楚楚，也很有分寸。"
    return f"This is line {number + 1} about the {what}, spoken plainly and with care."


def build_reply(messages: list[dict[str, Any]]) -> str:
    """The reply a build stage accepts for ``messages`` (the request's last user text decides it).

    Raises:
        ValueError: The messages are not a build request.
    """
    text = last_user_text(messages)
    language = request_language(text)
    speakers = [json.loads(f'"{name}"') for name in _SPEAKER.findall(text)]
    if len(speakers) >= 2:
        found = _TURNS.search(text)
        turns = int(next(group for group in found.groups() if group)) if found else 8
        dialogue = [
            {"speaker": speakers[number % 2], "text": placeholder(language, "image", number)}
            for number in range(turns)
        ]
        return json.dumps({"dialogue": dialogue}, ensure_ascii=False)
    if '{"comment": "..."}' in text:
        return json.dumps({"comment": placeholder(language, "image")}, ensure_ascii=False)
    if '"role_info": "..."' in text:
        annotation = {
            "role_info": placeholder(language, "people"),
            "place_info": placeholder(language, "place"),
            "scene_info": "",
        }
        return json.dumps(annotation, ensure_ascii=False)
    if '"introduction": "..."' in text:
        sections = {name: placeholder(language, name, number) for number, name in enumerate(_SECTIONS)}
        return json.dumps(sections, ensure_ascii=False)
    raise ValueError("not a build request")
