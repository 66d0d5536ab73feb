"""The web app shared on a network: a login beyond loopback, an upload cap, a folder per session."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrole.app import callbacks as cb
from mmrole.app.access import check_exposure, is_loopback, parse_auth
from mmrole.app.resources import ChatData
from mmrole.errors import ConfigError, DataError
from mmrole.testing import StreamingScriptedBackend

runner = CliRunner()


def _launches(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[object, list[dict]]:
    """Run ``mmrole app ARGS`` with the launcher replaced; (result, the launcher's kwargs per call)."""
    import mmrole.app.web as web
    from mmrole.cli import app

    calls: list[dict] = []
    monkeypatch.setattr(web, "launch_app", lambda *a, **kwargs: calls.append(kwargs))
    return runner.invoke(app, ["app", "--agent", "openai:m@http://127.0.0.1:9/v1", *args]), calls


def test_a_non_loopback_host_without_auth_is_refused_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmrole.cli",
            "app",
            "--agent",
            "demo",
            "--host",
            "0.0.0.0",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "--host 0.0.0.0" in line and "--auth" in line and "--insecure" in line
    assert list(tmp_path.iterdir()) == []  # refused before anything was loaded or written


@pytest.mark.parametrize(
    ("host", "share", "refused"),
    [("0.0.0.0", False, True), ("192.168.1.5", False, True), ("::", False, True), ("myhost", False, True),
     ("127.0.0.1", True, True), ("127.0.0.1", False, False), ("localhost", False, False), ("::1", False, False),
     ("127.5.0.1", False, False)],
)  # fmt: skip
def test_exposure_needs_a_login_or_insecure(host: str, share: bool, refused: bool) -> None:
    assert is_loopback(host) is (not refused or share)
    if refused:
        with pytest.raises(ConfigError, match="--auth USER:PASS"):
            check_exposure(host, share=share, auth=None, insecure=False)
    check_exposure(host, share=share, auth=[("a", "b")], insecure=False)
    check_exposure(host, share=share, auth=None, insecure=True)


def test_auth_and_the_upload_cap_reach_the_launcher(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    logins = tmp_path / "logins.txt"
    logins.write_text("# who may chat\nbob:hunter2\n\ncarol : pass word \n")
    result, calls = _launches(
        monkeypatch,
        "--host",
        "0.0.0.0",
        "--auth",
        "alice:s3:cret",
        "--auth-file",
        str(logins),
        "--max-upload-mb",
        "5",
    )
    assert result.exit_code == 0, result.output
    (kwargs,) = calls
    assert kwargs["auth"] == [("alice", "s3:cret"), ("bob", "hunter2"), ("carol", " pass word")]
    assert kwargs["max_upload_mb"] == 5 and kwargs["host"] == "0.0.0.0" and not kwargs["insecure"]
    result, calls = _launches(monkeypatch, "--host", "0.0.0.0", "--insecure")
    assert result.exit_code == 0 and calls[0]["auth"] is None and calls[0]["insecure"]
    assert _launches(monkeypatch)[1][0]["max_upload_mb"] == 20.0  # the default cap


def test_bad_logins_are_one_clear_error_that_never_quotes_a_password(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="USER:PASS"):
        parse_auth(["alice-without-password:"])
    bad = tmp_path / "logins.txt"
    bad.write_text("bob:ok\nsecret-no-colon\n")
    with pytest.raises(DataError, match="line 2") as caught:
        parse_auth([], bad)
    assert "secret-no-colon" not in str(caught.value)
    (tmp_path / "empty.txt").write_text("# nobody\n")
    with pytest.raises(DataError, match="no USER:PASS"):
        parse_auth([], tmp_path / "empty.txt")
    with pytest.raises(DataError, match="cannot read"):
        parse_auth([], tmp_path / "missing.txt")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_served_app_asks_for_a_login_and_refuses_an_oversize_upload(
    demo_data: ChatData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("gradio")
    import httpx

    from mmrole.app.web import build_app, launch_options

    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    ctx = cb.AppContext(data=demo_data, backend=StreamingScriptedBackend([]), out_dir=tmp_path / "chats")
    port = _free_port()
    options = launch_options(ctx, port=port, auth=[("alice", "pw")], max_upload_mb=16 / 1024)  # 16 KB
    assert options["auth"] == [("alice", "pw")] and options["max_file_size"] == 16 * 1024
    blocks = build_app(ctx)
    blocks.queue().launch(**options, prevent_thread_lock=True, quiet=True)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            files = {"files": ("small.png", b"x" * 8 * 1024, "image/png")}
            assert client.post("/gradio_api/upload", files=files).status_code == 401  # no login yet
            assert client.post("/login", data={"username": "alice", "password": "nope"}).status_code == 400
            assert client.post("/login", data={"username": "alice", "password": "pw"}).status_code == 200
            assert client.post("/gradio_api/upload", files=files).status_code == 200
            big = {"files": ("big.png", b"x" * 64 * 1024, "image/png")}
            refused = client.post("/gradio_api/upload", files=big)
            assert refused.status_code == 413 and "maximum allowed size" in refused.text
    finally:
        blocks.close()


def _drain(agen) -> list[tuple]:
    async def collect() -> list[tuple]:
        return [update async for update in agen]

    return asyncio.run(collect())


def test_two_sessions_save_their_transcripts_in_different_folders(
    demo_data: ChatData, tmp_path: Path
) -> None:
    gr = pytest.importorskip("gradio")
    from gradio.helpers import special_args

    from mmrole.app.web import build_app

    out = tmp_path / "chats"
    blocks = build_app(StreamingScriptedBackend(["Steady light.", "Steady light."]), demo_data, out_dir=out)
    send = next(f.fn for f in blocks.fns.values() if getattr(f.fn, "__name__", "") == "send_message")
    saved = {}
    for visitor in ("session-of-ann", "session-of-ben"):
        # What Gradio does for every event: put the request into the parameter annotated gr.Request.
        inputs, *_ = special_args(
            send, ["Is the lamp lit?", "Mira Vale", None, None], gr.Request(session_hash=visitor)
        )
        *_, (_, _, _, files, status) = _drain(send(*inputs))
        assert status == ""
        saved[visitor] = [Path(f) for f in files]
    ann, ben = saved["session-of-ann"], saved["session-of-ben"]
    assert ann[0].parent != ben[0].parent and {p.parent.parent for p in ann + ben} == {out}
    assert {p.parent for p in ann} == {ann[0].parent} and {p.parent for p in ben} == {ben[0].parent}
    assert sorted(p.name for p in ann[0].parent.iterdir()) == sorted(p.name for p in ann)
    assert "session-of" not in str(ann[0]) and all(c in "0123456789abcdef" for c in ann[0].parent.name)
