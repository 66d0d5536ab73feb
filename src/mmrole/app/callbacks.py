"""The web app's event handlers: plain functions over :class:`ChatSession`, no Gradio import.

:mod:`mmrole.app.web` wires them to components; tests call them directly. Each handler takes
the :class:`AppContext` first, then the components' values, and returns (or, when streaming,
yields) the components' new values. Model errors never escape: they become the status text and
the conversation stays as it was before the failed turn.
"""

from __future__ import annotations

import dataclasses
import secrets
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from mmrole.app.access import visitor_folder
from mmrole.app.resources import ChatData
from mmrole.app.session import ChatSession
from mmrole.app.transcript import save_mmrole_records, save_transcript
from mmrole.data.characters import file_stem
from mmrole.errors import MMRoleError
from mmrole.models.base import Backend, GenerationParams
from mmrole.schema import HUMAN_SPEAKER, Character, ImageAnnotation

__all__ = [
    "AppContext",
    "ChatFiles",
    "annotation_markdown",
    "chat_messages",
    "on_begin",
    "on_character",
    "on_gallery_select",
    "on_image",
    "on_new",
    "on_send",
    "on_versus",
    "profile_markdown",
    "temporary_chat_folder",
    "versus_messages",
]

#: A Chatbot's value: OpenAI-style ``{"role": "user" | "assistant", "content": str}`` messages.
ChatMessages = list[dict[str, str]]
#: The (transcript JSON, MMRole dialogue file) of a conversation, for the download buttons.
ChatFiles = tuple[str | None, str | None]
_NO_FILES: ChatFiles = (None, None)


def temporary_chat_folder() -> Path:
    """A fresh folder under the system's temporary folder, for chats when no folder is given."""
    return Path(tempfile.mkdtemp(prefix="mmrole-app-"))


@dataclass
class AppContext:
    """What every handler shares: the data, the models and where chats are saved.

    Attributes:
        data: The data root's characters and images.
        backend: The model playing the chosen character.
        other_backend: The model playing the second character in character-vs-character (default: backend).
        params: Sampling parameters.
        max_image_side: Downscale images whose longer side exceeds this many pixels before sending.
        out_dir: Every conversation's transcript and MMRole dialogue file is rewritten here after each turn;
            the web app gives each browser session its own subfolder (:meth:`for_visitor`).
        secret: Keys the visitors' folder names (random per app).
    """

    data: ChatData
    backend: Backend
    other_backend: Backend | None = None
    params: GenerationParams = field(default_factory=GenerationParams)
    max_image_side: int | None = None
    out_dir: Path = field(default_factory=temporary_chat_folder)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(16), repr=False)

    def for_visitor(self, session_hash: str | None) -> AppContext:
        """This context saving into one browser session's own subfolder of ``out_dir``.

        Visitors share the data and the models, never a transcript folder: the subfolder's name is a
        keyed hash of Gradio's ``session_hash`` (:func:`mmrole.app.access.visitor_folder`). Without a
        session hash (a direct call, not the web app) the context is returned as it is.
        """
        if not session_hash:
            return self
        return dataclasses.replace(self, out_dir=self.out_dir / visitor_folder(self.secret, session_hash))

    def session(self, name: str, image: str | None, other: str | None = None) -> ChatSession:
        """A new conversation of ``name`` (with ``other`` for character-vs-character) about ``image``."""
        path, annotation = self.data.resolve_image(image) if image else (None, None)
        return ChatSession(
            self.data.character(name),
            self.backend,
            path,
            other=self.data.character(other) if other else None,
            other_backend=self.other_backend,
            annotation=annotation,
            image_root=self.data.image_root,
            params=self.params,
            max_image_side=self.max_image_side,
            tag=f"web{uuid.uuid4().hex[:8]}",  # unique ids, so exported chats can be pooled into one dataset
        )

    def save(self, session: ChatSession) -> ChatFiles:
        """Rewrite the conversation's transcript and MMRole dialogue file; returns their paths."""
        stem = self.out_dir / f"{file_stem(session.character.name)}_{session.tag}"
        transcript = save_transcript(session, stem.with_suffix(".json"))
        records = save_mmrole_records(session, stem.with_suffix(".mmrole.json"))
        return str(transcript), str(records)


# -- rendering -----------------------------------------------------------------------------------


def profile_markdown(character: Character) -> str:
    """The character's header and profile text (the one MRPA prompts include)."""
    split = "" if character.split == "in-distribution" else " · out-of-distribution"
    head = f"### {character.name}\n*{character.series}* · {character.language}{split}\n\n"
    # Profiles use ### headings for their sections: demote them under the name.
    body = character.summary.replace("\n### ", "\n#### ")
    return head + (body.replace("### ", "#### ", 1) if body.startswith("### ") else body)


def annotation_markdown(annotation: ImageAnnotation | None) -> str:
    """The image's auxiliary information, as the MRPA prompt gets it."""
    if annotation is None:
        return "*No auxiliary information for this image.*"
    rows = [
        (label, value)
        for label, value in (
            ("Character", annotation.role_info),
            ("Place", annotation.place_info),
            ("Scene", annotation.scene_info),
        )
        if value
    ]
    return "\n".join(f"- **{label}:** {value}" for label, value in rows)


def chat_messages(session: ChatSession | None) -> ChatMessages:
    """The current dialogue for a Chatbot: the person on the right, the character on the left."""
    if session is None:
        return []
    return [
        {"role": "user" if turn.speaker == HUMAN_SPEAKER else "assistant", "content": turn.text}
        for turn in session.turns
    ]


def versus_messages(session: ChatSession | None, pending: tuple[str, str] | None = None) -> ChatMessages:
    """A character-vs-character dialogue: the first character on the left, the other on the right.

    Args:
        session: The conversation.
        pending: (speaker, text so far) of a turn still streaming.
    """
    if session is None:
        return []
    turns = [(t.speaker, t.text) for t in session.turns] + ([pending] if pending else [])
    return [
        {
            "role": "assistant" if speaker == session.character.name else "user",
            "content": f"**{speaker}:** {text}",
        }
        for speaker, text in turns
    ]


# -- handlers ------------------------------------------------------------------------------------


def on_character(
    ctx: AppContext, name: str, image: str | None
) -> tuple[str, ChatMessages, ChatSession | None, str]:
    """A character was chosen: show the profile and start a new conversation with them.

    Returns:
        (profile markdown, chat messages, session, status).
    """
    try:
        session = ctx.session(name, image)
    except MMRoleError as err:
        return "", [], None, f"⚠️ {err}"
    return profile_markdown(session.character), [], session, ""


def on_image(
    ctx: AppContext, image: str | None, name: str, session: ChatSession | None
) -> tuple[str, ChatMessages, ChatSession | None, str]:
    """An image was uploaded or picked: a new dialogue about it (the previous one stays in the transcript).

    Returns:
        (auxiliary-information markdown, chat messages, session, status).
    """
    try:
        path, annotation = ctx.data.resolve_image(image) if image else (None, None)
        if session is None or session.character.name != name:
            session = ctx.session(name, image)
        elif path != session.image:
            session.new_dialogue(path, annotation)
    except MMRoleError as err:
        return "", chat_messages(session), session, f"⚠️ {err}"
    return annotation_markdown(annotation), chat_messages(session), session, ""


def on_gallery_select(ctx: AppContext, index: int | None) -> str | None:
    """The path of the gallery image clicked (the gallery lists :meth:`ChatData.images`)."""
    images = ctx.data.images()
    return str(images[index]) if index is not None and 0 <= index < len(images) else None


def on_new(ctx: AppContext, session: ChatSession | None) -> tuple[ChatMessages, ChatSession | None, str]:
    """Start over about the same image (the finished dialogue stays in the transcript)."""
    if session is not None:
        session.new_dialogue(keep_image=True)
    return [], session, ""


async def _stream_reply(
    ctx: AppContext, session: ChatSession, deltas: AsyncIterator[str]
) -> AsyncIterator[tuple[ChatMessages, ChatSession, ChatFiles, str]]:
    """Yield the chat with the reply growing, then saved; on a failure the chat as it was, and why."""
    partial = ""
    try:
        async for delta in deltas:
            partial += delta
            yield chat_messages(session) + [{"role": "assistant", "content": partial}], session, _NO_FILES, ""
    except MMRoleError as err:  # BackendError included
        yield chat_messages(session), session, _NO_FILES, f"⚠️ {err}"
        return
    yield chat_messages(session), session, ctx.save(session), ""


async def on_send(
    ctx: AppContext, text: str, name: str, image: str | None, session: ChatSession | None
) -> AsyncIterator[tuple[ChatMessages, str, ChatSession | None, ChatFiles, str]]:
    """The person sent a message: stream the character's answer.

    Yields:
        (chat messages, text box value, session, (transcript, MMRole file), status). The text box is
        emptied while answering and given back when the answer failed, so nothing typed is lost.
    """
    if not text.strip():
        yield chat_messages(session), text, session, _NO_FILES, ""
        return
    try:
        if session is None:
            session = ctx.session(name, image)
        deltas = session.ask_stream(text)
        shown = chat_messages(session) + [{"role": "user", "content": text.strip()}]
    except MMRoleError as err:
        yield chat_messages(session), text, session, _NO_FILES, f"⚠️ {err}"
        return
    yield shown, "", session, _NO_FILES, ""
    async for messages, state, files, status in _stream_reply(ctx, session, deltas):
        yield messages, (text if status else ""), state, files, status


async def on_begin(
    ctx: AppContext, name: str, image: str | None, session: ChatSession | None
) -> AsyncIterator[tuple[ChatMessages, ChatSession | None, ChatFiles, str]]:
    """The character opens the dialogue (when it is their turn: speakers alternate, as in MMRole)."""
    try:
        if session is None:
            session = ctx.session(name, image)
        if session.turns and session.next_speaker() != session.character.name:
            yield chat_messages(session), session, _NO_FILES, "It is your turn: send a message."
            return
    except MMRoleError as err:
        yield chat_messages(session), session, _NO_FILES, f"⚠️ {err}"
        return
    async for update in _stream_reply(ctx, session, session.reply_stream()):
        yield update


async def on_versus(
    ctx: AppContext, name: str, other: str, image: str | None, turns: int, first: str | None = None
) -> AsyncIterator[tuple[ChatMessages, ChatSession | None, ChatFiles, str]]:
    """Two characters talk about the image for ``turns`` turns (a new inter-role dialogue).

    Yields:
        (chat messages, session, (transcript, MMRole file), status), after every streamed piece.
    """
    try:
        session = ctx.session(name, image, other=other)
    except MMRoleError as err:
        yield [], None, _NO_FILES, f"⚠️ {err}"
        return
    speaker, text, files = "", "", _NO_FILES
    try:
        async for who, delta in session.converse_stream(int(turns), first or None):
            if who != speaker:
                if speaker:
                    files = ctx.save(session)  # the previous turn is complete
                speaker, text = who, ""
            text += delta
            yield versus_messages(session, (speaker, text)), session, files, ""
    except MMRoleError as err:  # BackendError included
        files = ctx.save(session) if session.turns else _NO_FILES
        yield versus_messages(session), session, files, f"⚠️ {err}"
        return
    done = f"{len(session.turns)} turns; download them as an MMRole dialogue file below."
    yield versus_messages(session), session, ctx.save(session), done
