"""mmrole.app: talk to an MRPA in MMRole's format (terminal chat, Gradio web app, dialogue generation).

    session = ChatSession(character, load_backend("openai:gpt-4o"), "images/lighthouse.png")
    reply = await session.ask("What is that light on the rock?")
    save_mmrole_records(session, "dialogues/in-distribution/human-role/Mira_Vale_chat.json")

Gradio is imported only by :func:`mmrole.app.web.build_app` and :func:`mmrole.app.web.launch_app`.
"""

from __future__ import annotations

from mmrole.app.resources import ChatData
from mmrole.app.session import ChatSession, ConversationError
from mmrole.app.transcript import (
    load_transcript,
    save_mmrole_records,
    save_transcript,
    to_mmrole_records,
    to_transcript,
)

__all__ = [
    "ChatData",
    "ChatSession",
    "ConversationError",
    "load_transcript",
    "save_mmrole_records",
    "save_transcript",
    "to_mmrole_records",
    "to_transcript",
]
