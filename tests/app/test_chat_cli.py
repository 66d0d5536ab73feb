"""`mmrole chat`: piped input against a real streaming server, replayed answers, auto mode, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from mmrole.app.transcript import load_transcript
from mmrole.cli import app
from mmrole.models.base import last_user_text
from mmrole.testing import ScriptedBackend
from mmrole.testing.bad_images import BAD_IMAGES
from mmrole.testing.server import LocalOpenAIServer

runner = CliRunner()
MMROLE = [sys.executable, "-m", "mmrole.cli"]


def _last_words(messages: list[dict]) -> str:
    """Answer with the words the MRPA is asked to respond to (the instruction's last line)."""
    return "You said: " + last_user_text(messages).splitlines()[-1]


def test_piped_chat_streams_from_an_openai_compatible_server(tmp_path: Path) -> None:
    transcript, export = tmp_path / "chat.json", tmp_path / "Mira_Vale_chat.json"
    with LocalOpenAIServer(_last_words) as server:
        result = subprocess.run(
            [*MMROLE, "chat", "--agent", f"openai:test-model@{server.base_url}", "--character", "mira vale",
             "--data", "demo", "--image", "scenes/boats.png", "--save", str(transcript), "--export", str(export)],
            input="Would you sail today?\n\nAnd tomorrow?\n",
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        payload = server.last_payload
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Mira Vale: You said: Would you sail today?" in lines
    assert "Mira Vale: You said: And tomorrow?" in lines
    assert payload is not None and payload["stream"] is True
    # The second request carried the first exchange as history.
    instruction = payload["messages"][-1]["content"][-1]["text"]
    assert "[human]: Would you sail today?\n[Mira Vale]: You said: Would you sail today?" in instruction
    assert payload["messages"][-1]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    session = load_transcript(transcript, ScriptedBackend([]))
    assert [t.speaker for t in session.turns] == ["human", "Mira Vale"] * 2
    records = json.loads(export.read_text())
    assert records[0]["image"] == "scenes/boats.png" and len(records[0]["conversations"]) == 4


def _answers(tmp_path: Path, answers: dict[str, str]) -> Path:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers))
    return path


def test_commands_change_image_start_over_and_save(tmp_path: Path) -> None:
    answers = _answers(
        tmp_path,
        {
            "Otto_Brass_human-role-dialogue_chat_0_1": "Gears! Lovely gears.",
            "Otto_Brass_human-role-dialogue_chat_1_1": "That lamp is mine.",
            "Otto_Brass_human-role-dialogue_chat_2_0": "Did you see Tick?",
        },
    )
    saved = tmp_path / "later.json"
    stdin = "\n".join(
        [
            "What is on the bench?",
            "/image The_Lantern_Isles/01.png",
            "Whose lamp is that?",
            "This one has no stored answer",
            "/new",
            "/start",
            "/bogus",
            f"/save {saved}",
            "/quit",
            "never read",
        ]
    )
    result = runner.invoke(
        app,
        [
            "chat",
            "--agent",
            f"replay:{answers}",
            "--character",
            "Otto_Brass",
            "--image",
            "The_Lantern_Isles/02.png",
        ],
        input=stdin + "\n",
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Otto Brass: Gears! Lovely gears." in out
    assert "place: The lighthouse on Ember Rock" in out  # the new image's auxiliary information
    assert "Otto Brass: That lamp is mine." in out
    assert "no stored answer" in out and "the message was not kept" in out
    assert "Otto Brass: Did you see Tick?" in out
    assert "unknown command /bogus" in out
    session = load_transcript(saved, ScriptedBackend([]))
    assert [d.image.path for d in session.archive] == ["The_Lantern_Isles/02.png", "The_Lantern_Isles/01.png"]
    assert [t.text for t in session.turns] == ["Did you see Tick?"]


def test_auto_mode_lets_two_characters_talk_for_n_turns(tmp_path: Path) -> None:
    stem = "Mira_Vale_role-role-dialogue_duo7_0"
    answers = _answers(tmp_path, {f"{stem}_{i}": f"turn {i}" for i in range(3)})
    export = tmp_path / "inter.json"
    result = runner.invoke(
        app,
        ["chat", "--agent", f"replay:{answers}", "--character", "Mira Vale", "--other", "Otto Brass",
         "--turns", "3", "--export", str(export), "--image", "scenes/house.png", "--tag", "duo7"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    spoken = [line for line in result.output.splitlines() if line.startswith(("Mira Vale:", "Otto Brass:"))]
    assert spoken == ["Mira Vale: turn 0", "Otto Brass: turn 1", "Mira Vale: turn 2"]
    records = json.loads(export.read_text())
    assert [c["role"] for c in records[0]["conversations"]] == ["Mira Vale", "Otto Brass", "Mira Vale"]


def test_auto_mode_failure_keeps_finished_turns_and_exits_1(tmp_path: Path) -> None:
    answers = _answers(tmp_path, {"Mira_Vale_role-role-dialogue_chat_0_0": "only one"})
    transcript = tmp_path / "t.json"
    result = runner.invoke(
        app,
        ["chat", "--agent", f"replay:{answers}", "-c", "Mira Vale", "--other", "Otto Brass", "--turns", "4",
         "--save", str(transcript)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "no stored answer" in result.output
    assert [t.text for t in load_transcript(transcript, ScriptedBackend([])).turns] == ["only one"]


def test_resume_goes_on_from_a_transcript(tmp_path: Path) -> None:
    answers = _answers(
        tmp_path,
        {
            "Mira_Vale_human-role-dialogue_chat_0_1": "Calm sea.",
            "Mira_Vale_human-role-dialogue_chat_0_3": "Still calm.",
        },
    )
    transcript = tmp_path / "t.json"
    args = ["chat", "--agent", f"replay:{answers}"]
    first = runner.invoke(
        app, [*args, "-c", "Mira Vale", "--save", str(transcript)], input="How is the sea?\n"
    )
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, [*args, "--resume", str(transcript)], input="And now?\n")
    assert second.exit_code == 0, second.output
    assert "Mira Vale: Still calm." in second.output
    assert len(load_transcript(transcript, ScriptedBackend([])).turns) == 4


def test_user_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    answers = _answers(tmp_path, {})
    bad = {case.name: case for case in BAD_IMAGES}
    for name in ("vector.svg", "truncated.png"):
        (tmp_path / name).write_bytes(bad[name].data())
    cases = [
        (["-c", "Nobody"], "no character named 'Nobody'"),
        (["-c", "Mira Vale", "--turns", "2"], "--turns (auto mode) needs --other"),
        (["-c", "Mira Vale", "--image", "nope.png"], "image file not found"),
        (["-c", "Mira Vale", "--image", str(tmp_path / "vector.svg")], "an SVG (vector) image"),
        (["-c", "Mira Vale", "--image", str(tmp_path / "truncated.png")], "corrupt image"),
        (["-c", "Mira Vale", "--tag", "my chat"], "tag 'my chat' must be"),
        ([], "--character is required"),
    ]
    for extra, message in cases:
        result = subprocess.run(
            [*MMROLE, "chat", "--agent", f"replay:{answers}", *extra],
            capture_output=True, text=True, input="", timeout=60,
        )  # fmt: skip
        assert result.returncode == 2, (extra, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


class _Writes:
    """A terminal that records each write the console makes."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_a_local_model_reply_is_shown_as_it_streams(tmp_path: Path, demo_data) -> None:
    """The demo model's path (HFBackend): the terminal prints the reply piece by piece, not at the end."""
    import asyncio

    from rich.console import Console

    from mmrole.app.session import ChatSession
    from mmrole.app.terminal import TerminalChat
    from mmrole.models.base import GenerationParams
    from mmrole.models.hf import HFBackend
    from mmrole.testing.tiny_models import build_tiny_causal_lm

    backend = HFBackend(build_tiny_causal_lm(tmp_path / "lm"), spec="demo")
    role = demo_data.character("Mira Vale")
    image = demo_data.images_of(role, limit=1)[0]
    session = ChatSession(
        role,
        backend,
        image,
        image_root=demo_data.image_root,
        params=GenerationParams(max_tokens=12, temperature=0),
    )
    screen = _Writes()
    lines = iter(["Would you sail today?\n", ""])
    terminal = TerminalChat(
        session, demo_data, Console(file=screen, width=200), read_line=lambda: next(lines)
    )
    asyncio.run(terminal.run())
    reply = session.turns[-1].text
    start = next(i for i, w in enumerate(screen.writes) if w.startswith("Mira Vale:"))
    pieces = []
    for write in screen.writes[start + 1 :]:
        if write == "\n":
            break
        pieces.append(write)
    assert len(pieces) > 3 and "".join(pieces).strip() == reply


def test_chat_with_the_demo_model_defaults_to_a_short_reply(monkeypatch) -> None:
    from mmrole.models.demo import CHAT_MAX_TOKENS
    from mmrole.testing import StreamingScriptedBackend

    loaded: list[StreamingScriptedBackend] = []

    def load(spec, **_):
        loaded.append(StreamingScriptedBackend(["Ahoy there."], spec=spec))
        return loaded[-1]

    monkeypatch.setattr("mmrole.models.load_backend", load)
    for extra, expected in (([], CHAT_MAX_TOKENS), (["--max-tokens", "300"], 300)):
        result = runner.invoke(app, ["chat", "--agent", "demo", "-c", "Mira Vale", *extra], input="Hello!\n")
        assert result.exit_code == 0, result.output
        assert "Mira Vale: Ahoy there." in result.output
        assert [call.params.max_tokens for call in loaded.pop().calls] == [expected]
    assert CHAT_MAX_TOKENS <= 128  # seconds, not minutes, on a laptop CPU
