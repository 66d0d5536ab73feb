"""The web app: build_app constructs the Blocks; its handlers (plain functions) drive ChatSessions."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest

from mmrole.app import callbacks as cb
from mmrole.app.resources import ChatData
from mmrole.app.transcript import load_transcript
from mmrole.data.paths import UnsafePathError
from mmrole.data.sources import copy_demo
from mmrole.errors import BackendError, DataError
from mmrole.testing import ScriptedBackend, StreamingScriptedBackend


def _ctx(data: ChatData, backend, tmp_path: Path, **kwargs) -> cb.AppContext:
    return cb.AppContext(data=data, backend=backend, out_dir=tmp_path, **kwargs)


def _drain(agen) -> list[tuple]:
    async def collect() -> list[tuple]:
        return [update async for update in agen]

    return asyncio.run(collect())


def test_build_app_constructs_the_blocks(demo_data: ChatData, tmp_path: Path) -> None:
    gr = pytest.importorskip("gradio")
    from mmrole.app.web import build_app

    blocks = build_app(ScriptedBackend([]), demo_data, out_dir=tmp_path / "chats")
    assert isinstance(blocks, gr.Blocks)
    cb_app = blocks.mmrole_context
    assert cb_app.data is demo_data and cb_app.out_dir == tmp_path / "chats"
    config = blocks.get_config_file()
    types = [c["type"] for c in config["components"]]
    assert types.count("chatbot") == 2 and "gallery" in types and "image" in types
    dropdown = next(c for c in config["components"] if c["type"] == "dropdown")
    assert [choice[0] for choice in dropdown["props"]["choices"]] == sorted(demo_data.characters)
    assert len(config["dependencies"]) >= 9  # every event is wired


def test_character_and_image_handlers(demo_data: ChatData, tmp_path: Path) -> None:
    ctx = _ctx(demo_data, ScriptedBackend([]), tmp_path)
    profile, messages, session, status = cb.on_character(ctx, "Otto Brass", None)
    assert profile.startswith("### Otto Brass\n*The Lantern Isles*") and "#### Personality" in profile
    assert (messages, status) == ([], "") and session.character.name == "Otto Brass"

    image = str(demo_data.image_root / "The_Lantern_Isles/02.png")
    aux, messages, same, status = cb.on_image(ctx, image, "Otto Brass", session)
    assert same is session and session.image_name == "The_Lantern_Isles/02.png"
    assert "**Character:** A small clockwork robot named Tick" in aux and status == ""
    aux, *_ = cb.on_image(ctx, str(demo_data.image_root / "scenes/house.png"), "Otto Brass", session)
    assert aux == "*No auxiliary information for this image.*"

    *_, status = cb.on_image(ctx, str(tmp_path / "gone.png"), "Otto Brass", session)
    assert status.startswith("⚠️") and "image file not found" in status
    *_, status = cb.on_character(ctx, "Nobody", None)
    assert "no character named" in status

    picked = cb.on_gallery_select(ctx, 0)
    assert picked == str(demo_data.images()[0]) and cb.on_gallery_select(ctx, 999) is None


def test_send_streams_the_reply_and_saves_the_chat(demo_data: ChatData, tmp_path: Path) -> None:
    backend = StreamingScriptedBackend(["Steady light, steady heart."])
    ctx = _ctx(demo_data, backend, tmp_path)
    image = str(demo_data.image_root / "The_Lantern_Isles/01.png")
    updates = _drain(cb.on_send(ctx, "Is the lamp lit?", "Mira Vale", image, None))

    first_messages, box, _, files, _ = updates[0]
    assert first_messages == [{"role": "user", "content": "Is the lamp lit?"}] and box == ""
    shown = [u[0][-1]["content"] for u in updates[1:-1]]
    assert shown == ["Steady", "Steady light,", "Steady light, steady", "Steady light, steady heart."]
    messages, box, session, files, status = updates[-1]
    assert messages == [
        {"role": "user", "content": "Is the lamp lit?"},
        {"role": "assistant", "content": "Steady light, steady heart."},
    ]
    assert status == "" and box == ""
    transcript, records = map(Path, files)
    assert transcript.parent == tmp_path and load_transcript(transcript, backend).turns == session.turns
    assert json.loads(records.read_text())[0]["place_info"].startswith("The lighthouse on Ember Rock")
    assert "Place information" in backend.calls[0].text


def test_failed_send_keeps_the_text_and_the_chat(demo_data: ChatData, tmp_path: Path) -> None:
    ctx = _ctx(demo_data, ScriptedBackend(["Fine.", BackendError("HTTP 503 from server")]), tmp_path)
    *_, (messages, _, session, _, _) = _drain(cb.on_send(ctx, "Hello", "Mira Vale", None, None))
    assert len(session.turns) == 2
    *_, (messages, box, session, files, status) = _drain(cb.on_send(ctx, "Again", "Mira Vale", None, session))
    assert status.startswith("⚠️") and "HTTP 503" in status
    assert box == "Again" and files == (None, None)
    assert [m["content"] for m in messages] == ["Hello", "Fine."] and len(session.turns) == 2
    # An empty message changes nothing.
    (update,) = _drain(cb.on_send(ctx, "   ", "Mira Vale", None, session))
    assert update[2] is session and len(session.turns) == 2


def test_begin_and_new_dialogue(demo_data: ChatData, tmp_path: Path) -> None:
    backend = ScriptedBackend(["Evening, stranger.", "Ask away."])
    ctx = _ctx(demo_data, backend, tmp_path)
    *_, (messages, session, files, status) = _drain(cb.on_begin(ctx, "Mira Vale", None, None))
    assert messages == [{"role": "assistant", "content": "Evening, stranger."}] and status == ""
    assert "Please initiate the conversation with the curious human" in backend.calls[0].text
    # After the character spoke it is the person's turn: speakers alternate, as in MMRole.
    *_, (_, _, _, status) = _drain(cb.on_begin(ctx, "Mira Vale", None, session))
    assert status == "It is your turn: send a message." and len(backend.calls) == 1
    messages, same, _ = cb.on_new(ctx, session)
    assert messages == [] and same.turns == [] and len(same.archive) == 1


def test_character_vs_character_runs_n_alternating_turns(demo_data: ChatData, tmp_path: Path) -> None:
    backend = StreamingScriptedBackend([f"Line number {i}." for i in range(5)])
    ctx = _ctx(demo_data, backend, tmp_path)
    image = str(demo_data.image_root / "scenes/boats.png")
    updates = _drain(cb.on_versus(ctx, "Mira Vale", "Otto Brass", image, 5, "Otto Brass"))
    messages, session, files, status = updates[-1]
    assert [t.speaker for t in session.turns] == ["Otto Brass", "Mira Vale"] * 2 + ["Otto Brass"]
    assert [m["content"] for m in messages][:2] == [
        "**Otto Brass:** Line number 0.",
        "**Mira Vale:** Line number 1.",
    ]
    assert {m["role"] for m in messages if m["content"].startswith("**Mira")} == {"assistant"}
    assert status.startswith("5 turns")
    records = json.loads(Path(files[1]).read_text())
    assert records[0]["id"].startswith("Mira_Vale_role-role-dialogue_web")
    assert len(records[0]["conversations"]) == 5
    # While a turn streams, it is shown growing.
    assert any(u[0][-1]["content"] == "**Otto Brass:** Line" for u in updates)


def test_character_vs_character_reports_errors(demo_data: ChatData, tmp_path: Path) -> None:
    ctx = _ctx(demo_data, ScriptedBackend(["One.", BackendError("quota exceeded")]), tmp_path)
    *_, (messages, session, files, status) = _drain(cb.on_versus(ctx, "Mira Vale", "Otto Brass", None, 4))
    assert "quota exceeded" in status and len(session.turns) == 1 and files[0] is not None
    *_, (_, session, _, status) = _drain(cb.on_versus(ctx, "Mira Vale", "Mira Vale", None, 4))
    assert session is None and "themself" in status


def test_app_command_passes_its_options_to_the_launcher(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    import mmrole.app.web as web
    from mmrole.cli import app

    calls: list[tuple[tuple, dict]] = []
    monkeypatch.setattr(web, "launch_app", lambda *args, **kwargs: calls.append((args, kwargs)))
    result = CliRunner().invoke(
        app,
        ["app", "--agent", "openai:m@http://127.0.0.1:9/v1", "--port", "7999", "--share", "--auth", "a:b",
         "--out", str(tmp_path), "--temperature", "0.2", "--max-image-side", "512"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    ((args, kwargs),) = calls
    assert args == ("openai:m@http://127.0.0.1:9/v1", "demo")
    assert (kwargs["port"], kwargs["share"], kwargs["out_dir"]) == (7999, True, tmp_path)
    assert kwargs["params"].temperature == 0.2 and kwargs["max_image_side"] == 512


def test_the_app_never_lists_opens_or_serves_an_image_linking_out(
    tmp_path: Path, outside_secret: tuple[Path, bytes]
) -> None:
    root = copy_demo(tmp_path / "data")
    isles = root / "images" / "The_Lantern_Isles"
    leak, alias = isles / "00_leak.png", isles / "alias.png"
    leak.symlink_to(outside_secret[0])  # sorts first: it would be the gallery's and the start image
    alias.symlink_to("01.png")  # a link that stays inside images/ is fine
    data = ChatData.open(root)
    assert leak not in data.images() and alias in data.images()
    assert data.images_of(data.characters["Mira Vale"], limit=1) == [isles / "01.png"]
    for name in ("The_Lantern_Isles/00_leak.png", str(leak)):
        with pytest.raises(UnsafePathError, match="resolves outside"):
            data.resolve_image(name)
        aux, messages, session, status = cb.on_image(
            _ctx(data, ScriptedBackend([]), tmp_path), name, "Mira Vale", None
        )
        assert session is None and status.startswith("⚠️") and "resolves outside" in status

    *_, session, status = cb.on_image(
        _ctx(data, ScriptedBackend([]), tmp_path), str(alias), "Mira Vale", None
    )
    assert status == "" and session.image == (isles / "01.png").resolve()
    sent = json.dumps(session.messages())
    assert base64.b64encode((isles / "01.png").read_bytes()).decode() in sent

    pytest.importorskip("gradio")
    from mmrole.app.web import build_app

    config = build_app(ScriptedBackend([]), data, out_dir=tmp_path / "chats").get_config_file()
    # Gradio copies what the app shows (the gallery, the start image) into its cache and serves it.
    values = {
        c["type"]: c["props"].get("value") for c in config["components"] if c["type"] in ("gallery", "image")
    }
    files = [item["image"]["path"] for item in values["gallery"]] + [values["image"]["path"]]
    assert len(files) == len(data.images()) + 1
    assert all(Path(file).read_bytes() != outside_secret[1] for file in files)


def test_a_character_name_climbing_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = copy_demo(tmp_path / "data")
    roles_file = root / "profiles" / "in-distribution" / "roles.json"
    roles = json.loads(roles_file.read_text())
    roles["The Lantern Isles"].append("../../../../outside/Evil")
    roles_file.write_text(json.dumps(roles))
    with pytest.raises(DataError, match="path separator") as caught:
        ChatData.open(root)
    assert (caught.value.file, caught.value.record) == (str(roles_file), "../../../../outside/Evil")


def test_a_given_chat_folder_leaves_no_temporary_folder_behind(
    demo_data: ChatData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from mmrole.app.web import make_context

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    ctx = make_context(ScriptedBackend([]), demo_data, out_dir=tmp_path / "chats")
    assert ctx.out_dir == tmp_path / "chats" and ctx.out_dir.is_dir()
    assert list(temp.iterdir()) == []
    # With no folder given, the chats go to a fresh temporary folder (printed to the user).
    default = make_context(ScriptedBackend([]), demo_data)
    assert [p.name.startswith("mmrole-app-") for p in temp.iterdir()] == [True]
    assert default.out_dir.parent == temp
