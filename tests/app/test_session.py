"""ChatSession: live chats prompted exactly as MMRole's samples, streaming, failures, inter-role mode."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mmrole.app.resources import ChatData
from mmrole.app.session import ChatSession, ConversationError
from mmrole.data import load_dialogues, load_samples, samples_of_dialogue
from mmrole.data.convert import to_openai_messages
from mmrole.errors import BackendError
from mmrole.models import load_backend
from mmrole.models.base import GenerationParams, Message
from mmrole.schema import HUMAN_SPEAKER
from mmrole.testing import ScriptedBackend, StreamingScriptedBackend

HUMAN_ROLE_ID = "Mira_Vale_human-role-dialogue_scenes_0"
INTER_ROLE_ID = "Mira_Vale_role-role-dialogue_script_0"


def _dialogue(data: ChatData, dialogue_id: str):
    return next(d for d in load_dialogues(data.root, characters=data.characters) if d.id == dialogue_id)


def _session(data: ChatData, backend, image: str, **kwargs) -> ChatSession:
    path, annotation = data.resolve_image(image)
    return ChatSession(
        data.character(kwargs.pop("character", "Mira Vale")),
        backend,
        path,
        annotation=annotation,
        image_root=data.image_root,
        **kwargs,
    )


def test_human_role_chat_sends_the_samples_mmrole_builds(demo_data: ChatData) -> None:
    """Replaying a demo dialogue live: every request equals the sample (and its messages) of that turn."""
    dialogue = _dialogue(demo_data, HUMAN_ROLE_ID)
    references = [t.text for t in dialogue.turns if t.speaker != HUMAN_SPEAKER]
    backend = ScriptedBackend(references)
    session = _session(demo_data, backend, dialogue.image.path)

    for turn in dialogue.turns:
        if turn.speaker == HUMAN_SPEAKER:
            assert asyncio.run(session.ask(turn.text)) == references[len(backend.calls) - 1]

    expected = list(samples_of_dialogue(dialogue, demo_data.characters))
    assert len(backend.calls) == len(expected) == 2
    for messages, sample in zip([call.messages for call in backend.calls], expected, strict=True):
        assert messages == to_openai_messages(sample, demo_data.image_root)
    # The second request carries the first exchange as MMRole's "conversation history".
    assert (
        "The conversation history between Mira Vale and the curious human is as follows:\n[human]: "
        in backend.calls[1].text
    )
    assert [(t.speaker, t.text) for t in session.turns] == [(t.speaker, t.text) for t in dialogue.turns]


def test_prompt_matches_the_released_demo_test_sample(demo_data: ChatData) -> None:
    """The demo test split (Qwen-VL format, as MMRole releases it) holds this turn: same instruction."""
    released = {s.id: s for s in load_samples("demo")}[f"{HUMAN_ROLE_ID}_3"]
    dialogue = _dialogue(demo_data, HUMAN_ROLE_ID)
    session = _session(demo_data, ScriptedBackend([]), dialogue.image.path)
    for turn in dialogue.turns[:3]:
        session.turns.append(turn)
    sample = session.sample()
    assert (sample.system, sample.instruction, sample.image) == (
        released.system,
        released.instruction,
        released.image,
    )
    assert (sample.role, sample.other_role, sample.type) == (
        released.role,
        released.other_role,
        released.type,
    )


def test_character_vs_character_sends_mmrole_inter_role_samples(demo_data: ChatData) -> None:
    """Two models play the two characters of the demo inter-role dialogue; prompts match its samples."""
    dialogue = _dialogue(demo_data, INTER_ROLE_ID)
    assert dialogue.turns[0].speaker == "Otto Brass"  # the other character opens this one
    mira = ScriptedBackend([t.text for t in dialogue.turns if t.speaker == "Mira Vale"], spec="mira-model")
    otto = ScriptedBackend([t.text for t in dialogue.turns if t.speaker == "Otto Brass"], spec="otto-model")
    session = _session(
        demo_data, mira, dialogue.image.path, other=demo_data.character("Otto Brass"), other_backend=otto
    )
    new = asyncio.run(session.converse(len(dialogue.turns), first="Otto Brass"))

    assert [t.speaker for t in new] == ["Otto Brass", "Mira Vale", "Otto Brass", "Mira Vale"]
    assert [(t.speaker, t.text) for t in session.turns] == [(t.speaker, t.text) for t in dialogue.turns]
    expected = {s.id.rsplit("_", 1)[1]: s for s in samples_of_dialogue(dialogue, demo_data.characters)}
    sent = {
        0: otto.calls[0].messages,
        1: mira.calls[0].messages,
        2: otto.calls[1].messages,
        3: mira.calls[1].messages,
    }
    for index, messages in sent.items():
        assert messages == to_openai_messages(expected[str(index)], demo_data.image_root), index
    # The annotated image's auxiliary information is in every prompt.
    assert all(
        "Place information: The lighthouse on Ember Rock" in call.text for call in otto.calls + mira.calls
    )
    assert session.dialogue().type == "inter-role" and session.dialogue().other_role == "Otto Brass"


def test_one_model_plays_both_characters_for_n_turns(demo_data: ChatData) -> None:
    backend = ScriptedBackend([f"line {i}" for i in range(6)])
    session = _session(demo_data, backend, "scenes/house.png", other=demo_data.character("Otto Brass"))
    turns = asyncio.run(session.converse(5))
    assert [t.speaker for t in turns] == ["Mira Vale", "Otto Brass"] * 2 + ["Mira Vale"]
    assert backend.calls[0].text.startswith("Please step into the shoes of Mira Vale")
    assert "Please initiate the conversation with Otto Brass" in backend.calls[0].text
    assert backend.calls[1].text.startswith("Please step into the shoes of Otto Brass")
    assert backend.calls[1].text.endswith(
        "words of Mira Vale about the image in English using the distinctive "
        "tone, manner and vocabulary of Otto Brass:\nline 0"
    )
    # Going on continues the alternation; 'first' only matters for an empty dialogue.
    asyncio.run(session.converse(1, first="Mira Vale"))
    assert session.turns[-1].speaker == "Otto Brass"


def test_converse_needs_another_character(demo_data: ChatData) -> None:
    session = _session(demo_data, ScriptedBackend(["x"]), "scenes/house.png")
    with pytest.raises(ConversationError, match="another character"):
        asyncio.run(session.converse(2))


def test_streaming_backend_streams_and_keeps_the_whole_reply(demo_data: ChatData) -> None:
    backend = StreamingScriptedBackend(["Steady light, steady heart."])
    session = _session(demo_data, backend, "scenes/boats.png")

    async def collect() -> list[str]:
        return [delta async for delta in session.ask_stream("Hello?")]

    assert asyncio.run(collect()) == ["Steady", " light,", " steady", " heart."]
    assert session.turns[-1].text == "Steady light, steady heart."
    assert len(session.turns) == 2
    assert [call.streamed for call in backend.calls] == [True]  # streamed, not generated


class _FailsMidStream(StreamingScriptedBackend):
    async def stream(self, messages: list[Message], params: GenerationParams) -> AsyncIterator[str]:
        yield "half a "
        raise BackendError("connection dropped", retryable=True)


def test_failed_reply_leaves_the_conversation_as_it_was(demo_data: ChatData) -> None:
    session = _session(
        demo_data, ScriptedBackend(["first answer", BackendError("HTTP 500"), ""]), "scenes/boats.png"
    )
    asyncio.run(session.ask("one"))
    with pytest.raises(BackendError, match="HTTP 500"):
        asyncio.run(session.ask("two"))
    assert [t.text for t in session.turns] == ["one", "first answer"]
    with pytest.raises(ConversationError, match="empty reply"):
        asyncio.run(session.ask("three"))
    assert len(session.turns) == 2

    broken = _session(demo_data, _FailsMidStream(["unused"]), "scenes/boats.png")
    with pytest.raises(BackendError, match="dropped"):
        asyncio.run(broken.ask("hello"))
    assert broken.turns == []


def test_turn_taking_is_enforced(demo_data: ChatData) -> None:
    session = _session(demo_data, ScriptedBackend(["a"]), "scenes/boats.png")
    session.say("hello")
    with pytest.raises(ConversationError, match="spoke last"):
        session.say("hello again")
    with pytest.raises(ConversationError, match="empty"):
        ChatSession(demo_data.character("Otto Brass"), ScriptedBackend([])).say("   ")
    asyncio.run(session.reply())
    with pytest.raises(ConversationError, match="spoke last"):
        asyncio.run(session.reply())
    with pytest.raises(ConversationError, match="not played by a model"):
        session.sample("human")
    with pytest.raises(ConversationError, match="themself"):
        ChatSession(
            demo_data.character("Mira Vale"), ScriptedBackend([]), other=demo_data.character("Mira Vale")
        )


def test_character_opens_an_empty_dialogue(demo_data: ChatData) -> None:
    backend = ScriptedBackend(["Evening. The lamp is lit."])
    session = _session(demo_data, backend, "The_Lantern_Isles/01.png")
    assert asyncio.run(session.reply()) == "Evening. The lamp is lit."
    assert backend.calls[0].text.endswith(
        "Please initiate the conversation with the curious human in English using the distinctive tone, manner "
        "and vocabulary of Mira Vale, raising questions or commenting about the image."
    )


def test_language_follows_the_character(demo_data: ChatData) -> None:
    backend = ScriptedBackend(["月亮真圆。"])
    session = _session(demo_data, backend, "云中小镇/01.png", character="小月")
    assert session.language == "Chinese"
    asyncio.run(session.ask("你看到了什么？"))
    assert "in Chinese using the distinctive tone" in backend.calls[0].text
    assert "中秋之夜" in backend.calls[0].text  # the image's scene information


def test_new_image_starts_a_new_dialogue_and_archives_the_old(demo_data: ChatData) -> None:
    session = _session(demo_data, ScriptedBackend(["one", "two"]), "scenes/boats.png")
    asyncio.run(session.ask("first"))
    first_id = session.dialogue_id
    session.new_dialogue(*demo_data.resolve_image("The_Lantern_Isles/02.png"))
    assert session.turns == [] and session.annotation is not None
    asyncio.run(session.ask("second"))
    dialogues = session.dialogues()
    assert [d.image.path for d in dialogues] == ["scenes/boats.png", "The_Lantern_Isles/02.png"]
    assert [d.id for d in dialogues] == [first_id, first_id[:-1] + "1"]
    assert first_id == "Mira_Vale_human-role-dialogue_chat_0"
    assert dialogues[1].image.annotation.role_info.startswith("A small clockwork robot")


def test_text_only_chat_sends_no_image(demo_data: ChatData) -> None:
    backend = ScriptedBackend(["Hm."])
    session = ChatSession(demo_data.character("Otto Brass"), backend)
    asyncio.run(session.ask("Hi"))
    assert [part["type"] for part in backend.calls[0].messages[1]["content"]] == ["text"]


def test_replay_backend_answers_chat_turns_by_sample_id(demo_data: ChatData, tmp_path: Path) -> None:
    """Requests carry the turn's sample id, so stored answers replay a chat (replay: backend)."""
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps(
            {
                "Mira_Vale_human-role-dialogue_chat_0_1": "The sea always answers.",
                "Mira_Vale_human-role-dialogue_chat_0_3": "Just not politely.",
            }
        )
    )
    session = _session(demo_data, load_backend(f"replay:{answers}"), "scenes/boats.png")
    assert asyncio.run(session.ask("Will it rain?")) == "The sea always answers."
    assert asyncio.run(session.ask("Really?")) == "Just not politely."


def test_replies_survive_being_resumed_in_other_contexts(demo_data: ChatData, tmp_path: Path) -> None:
    """Gradio advances a streaming handler from fresh contexts; context variables must not span yields."""
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"Mira_Vale_human-role-dialogue_chat_0_1": "Calm."}))

    async def step_by_step(session: ChatSession, text: str) -> list[str]:
        agen, deltas = session.ask_stream(text), []
        while True:
            try:  # each step in its own task, hence its own copy of the context
                deltas.append(await asyncio.create_task(agen.__anext__()))
            except StopAsyncIteration:
                return deltas

    replayed = _session(demo_data, load_backend(f"replay:{answers}"), "scenes/boats.png")
    assert asyncio.run(step_by_step(replayed, "Weather?")) == ["Calm."]
    streamed = _session(demo_data, StreamingScriptedBackend(["Rain by noon."]), "scenes/boats.png")
    assert asyncio.run(step_by_step(streamed, "Weather?")) == ["Rain", " by", " noon."]
    assert [t.text for t in replayed.turns + streamed.turns] == [
        "Weather?",
        "Calm.",
        "Weather?",
        "Rain by noon.",
    ]
