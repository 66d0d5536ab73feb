"""AutoRPEval's dialogue stage: the simulator plays the partner, the tested model plays the role.

As BeyondDialogue's ``AutoDialog/auto_dialogues.py`` (``process_chat_role``) runs a chat: turns
alternate, the partner first; each side has its own system prompt (the partner's
``ChatRoleSysPrompt``, the role's filled ``sys_prompt``) and its own history of
``(what it was told, what it said)`` pairs, sent as user/assistant messages, then the other side's
last line as the user message. The partner's first message is the empty string. Every reply is
cut to its first line (``rsp.strip().split("\\n")[0]``) before either side sees it. Each chat
gets ``dialogues``: ``[{"role": speaker, "dialogue": line}, ...]``, ``2 * rounds`` entries.

A chat anchored in an image (multimodal AutoRPEval) shows it to the tested model: its first user
message (the partner's first line) carries the image before the text, in every request of the
chat, as MMRole's MRPA prompts carry theirs. The simulator, a text model, gets no image: its
scene says what the picture shows (:func:`mmrole.autorpeval.texts.partner_system_prompt`).

The chats of every role advance together, one turn at a time: each turn is one batch through the
engine, so the calls of a turn run concurrently and a killed run resumes from the store. A chat
whose call fails (after the engine's retries) stops there; it keeps the turns it has and
``dialogue_error`` says why, and the questions stage counts it as failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.autorpeval.calls import Calls
from mmrole.autorpeval.roles import Role
from mmrole.autorpeval.scene_images import image_parts
from mmrole.autorpeval.texts import partner_system_prompt, role_system_prompt
from mmrole.engine import Request
from mmrole.models.base import Backend, GenerationParams, Message
from mmrole.schema import Scene

__all__ = ["DIALOGUE_ERROR", "DialogueSummary", "ChatState", "first_line", "run_dialogues"]

#: The chat field saying why a dialogue stopped early (absent when it is complete).
DIALOGUE_ERROR = "dialogue_error"


def first_line(reply: str) -> str:
    """What BeyondDialogue keeps of a reply: its first line, stripped."""
    return reply.strip().split("\n")[0]


@dataclass
class ChatState:
    """One chat in progress: both sides' prompts and histories, the turns so far."""

    role: Role
    scene: Scene
    partner_system: str
    role_system: str
    partner_history: list[tuple[str, str]] = field(default_factory=list)
    role_history: list[tuple[str, str]] = field(default_factory=list)
    partner_instruction: str = ""
    role_instruction: str = ""
    turns: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    image: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(cls, role: Role, scene: Scene, image: list[dict[str, Any]] | None = None) -> ChatState:
        """A chat about to begin; ``image``: the ``image_url`` parts the tested model is shown."""
        prompts = partner_system_prompt(role, scene), role_system_prompt(role, scene)
        return cls(role, scene, *prompts, image=list(image or []))

    def _user(self, text: str, first: bool, partner_speaks: bool) -> Message:
        if first and self.image and not partner_speaks:
            return {"role": "user", "content": [*self.image, {"type": "text", "text": text}]}
        return {"role": "user", "content": text}

    def messages(self, partner_speaks: bool) -> list[Message]:
        """What the side about to speak is sent: its system prompt, its history, the other's last line."""
        system, history, instruction = (
            (self.partner_system, self.partner_history, self.partner_instruction)
            if partner_speaks
            else (self.role_system, self.role_history, self.role_instruction)
        )
        messages: list[Message] = [{"role": "system", "content": system}]
        for index, (told, said) in enumerate(history):
            messages += [self._user(told, index == 0, partner_speaks), {"role": "assistant", "content": said}]
        messages.append(self._user(instruction, not history, partner_speaks))
        return messages

    def speak(self, partner_speaks: bool, reply: str) -> None:
        line = first_line(reply)
        if partner_speaks:
            self.partner_history.append((self.partner_instruction, line))
            self.role_instruction = line
            self.turns.append({"role": self.scene.partner, "dialogue": line})
        else:
            self.role_history.append((self.role_instruction, line))
            self.partner_instruction = line
            self.turns.append({"role": self.role.name, "dialogue": line})

    def request_id(self, turn: int) -> str:
        return f"dialogue:{self.role.language}/{self.role.name}/{self.scene.partner}/turn{turn + 1}"

    def chat(self) -> dict[str, Any]:
        """The chat as BeyondDialogue writes it: the role file's chat plus ``dialogues``."""
        chat = self.role.chat(self.scene.partner)
        for stale in (DIALOGUE_ERROR, "dialogues"):
            chat.pop(stale, None)
        chat["dialogues"] = list(self.turns)
        if self.error is not None:
            chat[DIALOGUE_ERROR] = self.error
        return chat


@dataclass
class DialogueSummary:
    """What the dialogue stage did: chats run, chats that stopped early, turns, calls made."""

    n_chats: int = 0
    n_failed: int = 0
    n_turns: int = 0
    n_calls: int = 0


async def run_dialogues(
    roles: Sequence[Role],
    agent: Backend,
    simulator: Backend,
    calls: Calls,
    *,
    rounds: int = 5,
    agent_params: GenerationParams | None = None,
    simulator_params: GenerationParams | None = None,
    max_image_side: int | None = None,
) -> tuple[list[Role], DialogueSummary]:
    """Run every chat of every role for ``rounds`` rounds (chat images checked by the caller;
    ``max_image_side`` downscales them).

    Returns:
        The roles with each chat's ``dialogues`` (and ``dialogue_error`` where it stopped early),
        and what was done.
    """
    agent_params = agent_params or GenerationParams(max_tokens=256)
    simulator_params = simulator_params or GenerationParams(max_tokens=256, temperature=1.0)
    chats = [
        ChatState.start(
            role, scene, image_parts(Path(scene.image.path) if scene.image else None, max_image_side)
        )
        for role in roles
        for scene in role.scenes
    ]
    before = calls.made
    for turn in range(2 * rounds):
        partner_speaks = turn % 2 == 0
        live = [chat for chat in chats if chat.error is None]
        who, backend, params = (
            ("partner", simulator, simulator_params) if partner_speaks else ("role", agent, agent_params)
        )
        requests = [Request(chat.request_id(turn), chat.messages(partner_speaks), params) for chat in live]
        results = await calls.run(backend, requests, f"dialogues: turn {turn + 1}/{2 * rounds} ({who})")
        for chat, result in zip(live, results, strict=True):
            if result.completion is None:
                chat.error = f"turn {turn + 1} ({who}) failed: {result.error}"
            else:
                chat.speak(partner_speaks, result.completion.text)
    by_role: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for chat in chats:
        by_role.setdefault((chat.role.language, chat.role.name), {})[chat.scene.partner] = chat.chat()
    done = [role.with_chats(by_role.get((role.language, role.name), {})) for role in roles]
    summary = DialogueSummary(
        n_chats=len(chats),
        n_failed=sum(1 for chat in chats if chat.error is not None),
        n_turns=sum(len(chat.turns) for chat in chats),
        n_calls=calls.made - before,
    )
    return done, summary
