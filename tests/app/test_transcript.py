"""Transcripts round-trip; exported MMRole dialogue files build back into the prompts that were sent."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from mmrole.app.resources import ChatData
from mmrole.app.session import ChatSession
from mmrole.app.transcript import (
    load_transcript,
    save_mmrole_records,
    save_transcript,
    to_mmrole_records,
)
from mmrole.data import build_samples, demo_root
from mmrole.data.convert import to_openai_messages
from mmrole.errors import DataError
from mmrole.models.base import GenerationParams
from mmrole.testing import ScriptedBackend


def _chat(data: ChatData, backend: ScriptedBackend) -> ChatSession:
    path, annotation = data.resolve_image("The_Lantern_Isles/01.png")
    session = ChatSession(
        data.character("Mira Vale"),
        backend,
        path,
        annotation=annotation,
        image_root=data.image_root,
        params=GenerationParams(temperature=0.5, stop=("\n\n",), max_tokens=99),
    )
    asyncio.run(session.ask("Is the lamp lit?"))
    asyncio.run(session.ask("Why so early?"))
    session.new_dialogue(*data.resolve_image("scenes/boats.png"))
    asyncio.run(session.ask("And these boats?"))
    return session


def _data_root_copy(tmp_path: Path) -> Path:
    """The demo profiles and images, without its dialogues, to add exported chats to."""
    root = tmp_path / "data"
    for part in ("profiles", "images"):
        shutil.copytree(demo_root() / part, root / part)
    (root / "dialogues").mkdir()
    return root


def test_transcript_round_trip_resumes_the_same_conversation(demo_data: ChatData, tmp_path: Path) -> None:
    session = _chat(demo_data, ScriptedBackend(["Yes.", "Storm coming.", "Good boats."]))
    path = save_transcript(session, tmp_path / "chat.json")
    assert json.loads(path.read_text())["agent"] == "scripted"

    resumed = load_transcript(path, ScriptedBackend(["Two bells."]))
    assert resumed.character == session.character and resumed.other is None
    assert resumed.turns == session.turns
    assert [d.model_dump() for d in resumed.archive] == [d.model_dump() for d in session.archive]
    assert (resumed.image, resumed.annotation, resumed.image_root) == (
        session.image,
        session.annotation,
        session.image_root,
    )
    assert resumed.params == session.params and resumed.language == "English"
    # The next prompt is the one the original session would have sent.
    session.say("When would you call them back?")
    resumed.say("When would you call them back?")
    assert resumed.sample() == session.sample()
    assert asyncio.run(resumed.reply()) == "Two bells."
    assert resumed.dialogue_id == "Mira_Vale_human-role-dialogue_chat_1"


def test_inter_role_transcript_round_trip(demo_data: ChatData, tmp_path: Path) -> None:
    session = ChatSession(
        demo_data.character("Mira Vale"),
        ScriptedBackend(["a", "b", "c"]),
        demo_data.image_root / "scenes/house.png",
        other=demo_data.character("Otto Brass"),
        image_root=demo_data.image_root,
    )
    asyncio.run(session.converse(3))
    resumed = load_transcript(save_transcript(session, tmp_path / "t.json"), ScriptedBackend(["d"]))
    assert resumed.other == session.other and resumed.turns == session.turns
    asyncio.run(resumed.converse(1))
    assert [t.speaker for t in resumed.turns] == ["Mira Vale", "Otto Brass"] * 2


def test_exported_chat_builds_into_the_prompts_that_were_sent(demo_data: ChatData, tmp_path: Path) -> None:
    """A chat saved as an MMRole dialogue file is data: build_samples gives back every prompt sent."""
    backend = ScriptedBackend(["Yes.", "Storm coming.", "Good boats."])
    session = _chat(demo_data, backend)
    root = _data_root_copy(tmp_path)
    save_mmrole_records(session, root / "dialogues/in-distribution/human-role/Mira_Vale_chat.json")

    samples = list(build_samples(root))
    assert [s.id for s in samples] == [
        "Mira_Vale_human-role-dialogue_chat_0_1",
        "Mira_Vale_human-role-dialogue_chat_0_3",
        "Mira_Vale_human-role-dialogue_chat_1_1",
    ]
    assert [s.reference for s in samples] == ["Yes.", "Storm coming.", "Good boats."]
    for messages, sample in zip([call.messages for call in backend.calls], samples, strict=True):
        assert messages == to_openai_messages(sample, root / "images")


def test_exported_inter_role_chat_builds_into_both_sides_prompts(demo_data: ChatData, tmp_path: Path) -> None:
    backend = ScriptedBackend(["Otto, the lamp hums.", "It sings, Mira!", "Then it sings off key."])
    session = ChatSession(
        demo_data.character("Mira Vale"),
        backend,
        demo_data.image_root / "The_Lantern_Isles/02.png",
        annotation=demo_data.annotation_of(demo_data.image_root / "The_Lantern_Isles/02.png"),
        other=demo_data.character("Otto Brass"),
        image_root=demo_data.image_root,
    )
    asyncio.run(session.converse(3))
    records = to_mmrole_records(session)
    assert records[0]["id"] == "Mira_Vale_role-role-dialogue_chat_0"
    assert records[0]["role_info"].startswith("A small clockwork robot")
    root = _data_root_copy(tmp_path)
    save_mmrole_records(session, root / "dialogues/in-distribution/inter-role/Mira_Vale_chat.json")
    samples = list(build_samples(root))
    assert [s.role for s in samples] == ["Mira Vale", "Otto Brass", "Mira Vale"]
    for messages, sample in zip([call.messages for call in backend.calls], samples, strict=True):
        assert messages == to_openai_messages(sample, root / "images")


def test_bad_transcripts_are_reported_with_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read transcript"):
        load_transcript(tmp_path / "missing.json", ScriptedBackend([]))
    not_chat = tmp_path / "other.json"
    not_chat.write_text('{"id": 1}')
    with pytest.raises(DataError, match="not an mmrole chat transcript") as info:
        load_transcript(not_chat, ScriptedBackend([]))
    assert info.value.file == str(not_chat)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"format": "mmrole-chat", "character": {"series": "No Name"}}))
    with pytest.raises(DataError) as info:
        load_transcript(broken, ScriptedBackend([]))
    assert info.value.field == "name"


def test_a_transcript_of_an_unknown_language_is_refused_on_loading(
    demo_data: ChatData, tmp_path: Path
) -> None:
    path = save_transcript(
        _chat(demo_data, ScriptedBackend(["Yes.", "No.", "Maybe."])), tmp_path / "chat.json"
    )
    raw = json.loads(path.read_text())
    raw["language"] = "Klingon"  # before: accepted, then a pydantic traceback at the next sample
    path.write_text(json.dumps(raw))
    with pytest.raises(DataError, match="unknown language 'Klingon'") as info:
        load_transcript(path, ScriptedBackend([]))
    assert (info.value.file, info.value.field) == (str(path), "language")


def test_saving_is_atomic_and_leaves_no_partial_files(demo_data: ChatData, tmp_path: Path) -> None:
    session = _chat(demo_data, ScriptedBackend(["a", "b", "c"]))
    save_transcript(session, tmp_path / "out" / "chat.json")
    save_transcript(session, tmp_path / "out" / "chat.json")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["chat.json"]
