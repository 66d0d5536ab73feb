"""A live conversation with an MRPA, kept and prompted exactly in MMRole's format (no UI here).

Every request is the MRPA prompt MMRole builds for a character turn of a dialogue, built by the
same function that builds MMRole-Data's samples (:func:`mmrole.data.samples.turn_sample`): the
role-play request, the profile(s), the image's auxiliary information, the conversation history
and the final request. So the model sees the same prompt whether it answers a test sample or
talks to someone live, and a chat exported with :func:`mmrole.app.transcript.to_mmrole_records`
is a dialogue that :func:`mmrole.data.build_samples` turns into samples identical to the prompts
that were sent.

Two modes:

* human-role: a person (MMRole's "curious human", speaker ``human``) talks to the character;
* inter-role: the other party is a character, typed by a person or played by a model
  (:meth:`ChatSession.converse`), which generates MMRole's inter-role dialogues.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from mmrole.data.characters import file_stem
from mmrole.data.convert import to_openai_messages
from mmrole.data.dialogues import ID_MARKERS
from mmrole.data.samples import turn_sample
from mmrole.errors import MMRoleError
from mmrole.images import check_image_file
from mmrole.models.base import Backend, GenerationParams, Message, current_request_id
from mmrole.schema import (
    CURIOUS_HUMAN,
    HUMAN_SPEAKER,
    Character,
    Dialogue,
    DialogueType,
    Image,
    ImageAnnotation,
    Language,
    Sample,
    Turn,
)

__all__ = ["ChatSession", "ConversationError"]


class ConversationError(MMRoleError):
    """A conversation step that cannot be taken (wrong speaker, empty text, empty reply)."""


class ChatSession:
    """One character talking about an image with a person or another character.

    The current dialogue's turns are :class:`~mmrole.schema.Turn` records (speaker ``human`` for the
    person); changing the image starts a new dialogue and keeps the finished one in :attr:`archive`.

    Args:
        character: The character the MRPA plays.
        backend: The model answering as ``character``.
        image: The image talked about (None: text only; MMRole dialogues always have one).
        other: The other character (inter-role mode); None for the curious human.
        other_backend: The model playing ``other`` in :meth:`converse` (default: ``backend``).
        annotation: The image's auxiliary information (character, place, scene).
        image_root: The data root's image folder: images under it are named relative to it in
            samples and exported dialogues, as MMRole names them.
        language: ``English`` or ``Chinese``; default: the character's language.
        params: Sampling parameters of every request.
        max_image_side: Downscale images whose longer side exceeds this many pixels before sending.
        tag: The source tag of dialogue ids (``Mira_Vale_human-role-dialogue_<tag>_<n>``).

    Example:
        >>> session = ChatSession(character, load_backend("openai:gpt-4o"), "images/lighthouse.png")
        >>> reply = await session.ask("What is that light on the rock?")
    """

    def __init__(
        self,
        character: Character,
        backend: Backend,
        image: str | Path | None = None,
        *,
        other: Character | None = None,
        other_backend: Backend | None = None,
        annotation: ImageAnnotation | None = None,
        image_root: str | Path | None = None,
        language: Language | None = None,
        params: GenerationParams | None = None,
        max_image_side: int | None = None,
        tag: str = "chat",
    ):
        if not re.fullmatch(r"[\w-]+", tag):
            raise ConversationError(
                f"tag {tag!r} must be letters, digits, '_' or '-' (it goes into dialogue ids)"
            )
        if other is not None and other.name == character.name:
            raise ConversationError(f"{character.name} cannot talk to themself: pick another character")
        self.character = character
        self.other = other
        self.backend = backend
        self.other_backend = other_backend or backend
        self.language = language or character.language
        self.params = params or GenerationParams()
        self.max_image_side = max_image_side
        self.tag = tag
        self.image_root = Path(image_root).resolve() if image_root is not None else None
        self.image: Path | None = None
        self.annotation: ImageAnnotation | None = None
        self.turns: list[Turn] = []
        #: Earlier dialogues of this session (one per image), oldest first.
        self.archive: list[Dialogue] = []
        self._set_image(image, annotation)

    # -- who is who -------------------------------------------------------------------------------
    @property
    def dialogue_type(self) -> DialogueType:
        """``human-role`` with a person, ``inter-role`` with another character."""
        return "human-role" if self.other is None else "inter-role"

    @property
    def other_role(self) -> str:
        """The other party as MMRole's records name it (``a curious human`` or a character name)."""
        return CURIOUS_HUMAN if self.other is None else self.other.name

    @property
    def other_speaker(self) -> str:
        """The speaker label of the other party's turns (``human`` or the other character's name)."""
        return HUMAN_SPEAKER if self.other is None else self.other.name

    @property
    def dialogue_id(self) -> str:
        """The current dialogue's id in MMRole's form (``Mira_Vale_human-role-dialogue_chat_0``)."""
        marker = ID_MARKERS[self.dialogue_type]
        return f"{file_stem(self.character.name)}_{marker}_{self.tag}_{len(self.archive)}"

    @property
    def image_name(self) -> str:
        """The image as samples and exported dialogues name it: relative to the image root when under it."""
        if self.image is None:
            return ""
        if self.image_root is not None and self.image.is_relative_to(self.image_root):
            return self.image.relative_to(self.image_root).as_posix()
        return str(self.image)

    def next_speaker(self) -> str:
        """Who speaks next: the party that did not speak last (the character opens an empty dialogue)."""
        if not self.turns or self.turns[-1].speaker != self.character.name:
            return self.character.name
        return self.other_speaker

    # -- the prompt -------------------------------------------------------------------------------
    def sample(self, speaker: str | None = None) -> Sample:
        """The MMRole sample for the next turn of ``speaker`` (default: the character).

        ``speaker`` may be the other character in inter-role mode; the person never gets a sample.
        """
        role, partner = self._sides(speaker)
        return turn_sample(
            f"{self.dialogue_id}_{len(self.turns)}",
            role=role,
            partner=partner,
            history=[(turn.speaker, turn.text) for turn in self.turns],
            image=self.image_name,
            annotation=self.annotation,
            language=self.language,
            dialogue_type=self.dialogue_type,
            split=role.split,
        )

    def messages(self, speaker: str | None = None) -> list[Message]:
        """The OpenAI chat messages of :meth:`sample`: the system prompt, the image and the instruction."""
        sample = self.sample(speaker)
        if self.image is None:
            return [
                {"role": "system", "content": sample.system},
                {"role": "user", "content": [{"type": "text", "text": sample.instruction}]},
            ]
        located = sample.model_copy(update={"image": str(self.image)})
        return to_openai_messages(located, None, max_image_side=self.max_image_side)

    # -- taking turns -----------------------------------------------------------------------------
    def say(self, text: str) -> Turn:
        """Add the other party's words (the person's, or the other character's typed by a person)."""
        text = text.strip()
        if not text:
            raise ConversationError("nothing to say: the message is empty")
        if self.turns and self.turns[-1].speaker == self.other_speaker:
            raise ConversationError(
                f"{self.other_speaker} spoke last; {self.character.name} answers before the next message"
            )
        turn = Turn(speaker=self.other_speaker, text=text)
        self.turns.append(turn)
        return turn

    async def reply_stream(self, speaker: str | None = None) -> AsyncIterator[str]:
        """Generate the next turn of ``speaker`` (default: the character), yielding its text as it comes.

        The turn is added to the dialogue once complete; on a failure nothing is added.
        Backends with a ``stream`` method stream; others yield the whole reply at once.

        Raises:
            BackendError: The model call failed.
            ConversationError: It is not ``speaker``'s turn, or the reply is empty.
        """
        role, _ = self._sides(speaker)
        if self.turns and self.turns[-1].speaker == role.name:
            raise ConversationError(f"{role.name} spoke last; it is the other party's turn")
        messages = self.messages(role.name)
        backend = self.backend if role.name == self.character.name else self.other_backend
        parts: list[str] = []
        stream = getattr(backend, "stream", None)
        if callable(stream):
            async for delta in stream(messages, self.params):
                parts.append(delta)
                yield delta
        else:
            # The turn's sample id lets backends that look answers up by id (replay:) serve chats. It is
            # set and reset around one await with no yield between: UIs may resume a generator in
            # another context (Gradio does), where resetting a token from this one would fail.
            token = current_request_id.set(f"{self.dialogue_id}_{len(self.turns)}")
            try:
                completion = await backend.generate(messages, self.params)
            finally:
                current_request_id.reset(token)
            parts.append(completion.text)
            yield completion.text
        text = "".join(parts).strip()
        if not text:
            raise ConversationError(f"{backend.spec or 'the model'} returned an empty reply as {role.name}")
        self.turns.append(Turn(speaker=role.name, text=text))

    async def reply(self, speaker: str | None = None) -> str:
        """Generate the next turn of ``speaker`` (default: the character) and return its text."""
        async for _ in self.reply_stream(speaker):
            pass
        return self.turns[-1].text

    async def ask_stream(self, text: str) -> AsyncIterator[str]:
        """Say ``text`` and stream the character's answer; on a failure the words are taken back too."""
        before = len(self.turns)
        self.say(text)
        try:
            async for delta in self.reply_stream():
                yield delta
        except BaseException:  # failed or cancelled: the person's words were not answered
            del self.turns[before:]
            raise

    async def ask(self, text: str) -> str:
        """Say ``text`` and return the character's answer."""
        async for _ in self.ask_stream(text):
            pass
        return self.turns[-1].text

    async def converse_stream(self, turns: int, first: str | None = None) -> AsyncIterator[tuple[str, str]]:
        """Let the two characters talk for ``turns`` more turns (inter-role dialogue generation).

        Yields ``(speaker, text delta)`` pairs; a new turn starts whenever the speaker changes.

        Args:
            turns: How many turns to generate (each is one character's utterance).
            first: Who opens an empty dialogue (default: the character); ignored once it has turns.

        Raises:
            ConversationError: The session has no other character.
        """
        if self.other is None:
            raise ConversationError("character-vs-character needs another character (other=...)")
        if turns < 1:
            raise ConversationError("turns must be at least 1")
        if first is not None and first not in (self.character.name, self.other.name):
            raise ConversationError(f"{first!r} is neither {self.character.name} nor {self.other.name}")
        for _ in range(turns):
            speaker = self.next_speaker() if self.turns else (first or self.character.name)
            async for delta in self.reply_stream(speaker):
                yield speaker, delta

    async def converse(self, turns: int, first: str | None = None) -> list[Turn]:
        """Like :meth:`converse_stream`, returning the new turns."""
        before = len(self.turns)
        async for _ in self.converse_stream(turns, first):
            pass
        return self.turns[before:]

    # -- dialogues --------------------------------------------------------------------------------
    def new_dialogue(
        self,
        image: str | Path | None = None,
        annotation: ImageAnnotation | None = None,
        *,
        keep_image: bool = False,
    ) -> None:
        """Start a new dialogue (MMRole dialogues are about one image); the current one is archived.

        Args:
            image: The new image (ignored with ``keep_image``).
            annotation: Its auxiliary information.
            keep_image: Talk about the same image again.
        """
        if self.turns:
            self.archive.append(self.dialogue())
        self.turns = []
        if not keep_image:
            self._set_image(image, annotation)

    def dialogue(self) -> Dialogue:
        """The current dialogue as an MMRole record (``role`` is the character)."""
        return Dialogue(
            id=self.dialogue_id,
            type=self.dialogue_type,
            image=Image(path=self.image_name, annotation=self.annotation),
            language=self.language,
            split=self.character.split,
            role=self.character.name,
            other_role=self.other_role,
            turns=[turn.model_copy() for turn in self.turns],
        )

    def dialogues(self) -> list[Dialogue]:
        """Every dialogue with turns: the archived ones, then the current one."""
        return [*self.archive, *([self.dialogue()] if self.turns else [])]

    def describe(self) -> dict[str, Any]:
        """Who talks with whom about what, for headers and logs."""
        return {
            "character": self.character.name,
            "other": self.other_role,
            "image": self.image_name or None,
            "language": self.language,
            "agent": self.backend.spec,
        }

    # -- helpers ----------------------------------------------------------------------------------
    def _set_image(self, image: str | Path | None, annotation: ImageAnnotation | None) -> None:
        if image is not None:
            path = Path(image).expanduser().resolve()
            if not path.is_file():
                raise ConversationError(f"image file not found: {path}")
            check_image_file(path)  # refused when picked, not at the first message
            self.image = path
        else:
            self.image = None
        self.annotation = annotation if annotation is not None and not annotation.is_empty() else None

    def _sides(self, speaker: str | None) -> tuple[Character, Character | None]:
        """(who answers, their partner or None for the curious human) for a speaker name."""
        if speaker is None or speaker == self.character.name:
            return self.character, self.other
        if self.other is not None and speaker == self.other.name:
            return self.other, self.character
        raise ConversationError(
            f"{speaker!r} is not played by a model here (the character is {self.character.name})"
        )
