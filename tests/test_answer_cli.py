"""`mmrole answer` end to end against the local server: run folder, resume, secrets, errors."""

from __future__ import annotations

import base64
import errno
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.data.jsonio import iter_jsonl
from mmrole.data.paths import UnsafePathError
from mmrole.engine.failures import EndpointUnavailable
from mmrole.models.base import last_user_text
from mmrole.runs import read_run_info
from mmrole.testing.bad_images import BAD_IMAGES
from mmrole.testing.responders import InjectedError
from mmrole.testing.server import LocalOpenAIServer

runner = CliRunner()


def read_jsonl(path):
    return [record for _, record in iter_jsonl(path)]


SECRET = "sk-mmrole-test-SECRET-4f9a2c"


def _samples(tmp_path: Path, n: int = 5) -> Path:
    """A samples JSONL with an images/ folder beside it (each sample its own image size)."""
    (tmp_path / "images").mkdir()
    lines = []
    for i in range(n):
        Image.new("RGB", (40 + i, 30), (10 * i, 0, 0)).save(tmp_path / "images" / f"im{i}.png")
        lines.append(
            {
                "id": f"Iron_Man_comment_{i}",
                "image": f"im{i}.png",
                "system": "You are a role-playing assistant.",
                "instruction": f"Please step into the shoes of Iron Man. Question {i}.",
                "reference": "ref",
                "role": "Iron Man",
                "script": "The Avengers",
                "other_role": "a curious human",
                "type": "comment",
            }
        )
    path = tmp_path / "samples.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path


def _image_size_responder(messages):
    """Answers with the instruction's question and the image size it received."""
    url = messages[-1]["content"][0]["image_url"]["url"]
    width, height = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size
    return f"{last_user_text(messages).split('. ')[-1]} {width}x{height}"


def _answer(server: LocalOpenAIServer, data: Path, run: Path, *extra: str):
    args = [
        "answer",
        "--agent",
        f"openai:test-model@{server.base_url}",
        "--data",
        str(data),
        "--run",
        str(run),
    ]
    return runner.invoke(app, [*args, "--no-progress", *extra])


def test_answer_writes_the_run_folder_and_resumes_without_calls(tmp_path):
    data = _samples(tmp_path)
    run = tmp_path / "run"
    with LocalOpenAIServer(_image_size_responder) as server:
        result = _answer(server, data, run, "--max-tokens", "64", "--temperature", "0.2")
        assert result.exit_code == 0, result.output
        assert "5/5 answered" in result.output and server.received == 5
        assert server.last_payload["max_tokens"] == 64 and server.last_payload["temperature"] == 0.2

        answers = read_jsonl(run / "answers.jsonl")
        assert [a["id"] for a in answers] == [f"Iron_Man_comment_{i}" for i in range(5)]
        assert [a["answer"] for a in answers] == [f"Question {i}. {40 + i}x30" for i in range(5)]
        assert all(a["error"] is None and a["meta"]["attempts"] == 1 for a in answers)
        assert [s["id"] for s in read_jsonl(run / "samples.jsonl")] == [a["id"] for a in answers]
        info = read_run_info(run)
        assert info["agent"] == f"openai:test-model@{server.base_url}" and info["data"] == str(data)
        assert info["answer"]["counts"] == {"total": 5, "answered": 5, "failed": 0, "cached": 0, "calls": 5}
        assert info["answer"]["options"]["params"]["max_tokens"] == 64

        again = _answer(server, data, run, "--max-tokens", "64", "--temperature", "0.2")
        assert again.exit_code == 0, again.output
        assert server.received == 5, "a finished job must make no call when rerun"
        rerun = read_jsonl(run / "answers.jsonl")
        assert [a["answer"] for a in rerun] == [a["answer"] for a in answers]
        assert all(a["meta"]["cached"] for a in rerun)


def test_limit_and_image_cap(tmp_path):
    data = _samples(tmp_path)
    with LocalOpenAIServer(_image_size_responder) as server:
        result = _answer(server, data, tmp_path / "run", "--limit", "2", "--max-image-side", "20")
        assert result.exit_code == 0, result.output
    answers = read_jsonl(tmp_path / "run" / "answers.jsonl")
    assert [a["answer"] for a in answers] == ["Question 0. 20x15", "Question 1. 20x15"]


def test_failures_are_recorded_with_their_error_and_exit_1(tmp_path):
    data = _samples(tmp_path)

    def responder(messages):
        if "Question 3." in last_user_text(messages):
            raise InjectedError(400, "context length exceeded")
        return "fine"

    with LocalOpenAIServer(responder) as server:
        result = _answer(server, data, tmp_path / "run")
        assert result.exit_code == 1
        assert server.received == 5  # a 400 is not retried
        answers = {a["id"]: a for a in read_jsonl(tmp_path / "run" / "answers.jsonl")}
        failed = answers["Iron_Man_comment_3"]
        assert (
            failed["answer"] is None and "HTTP 400" in failed["error"] and "context length" in failed["error"]
        )
        assert read_run_info(tmp_path / "run")["answer"]["counts"]["failed"] == 1

        server.responder = lambda messages: "fine"  # the server is fixed: the rerun retries only the failure
        assert _answer(server, data, tmp_path / "run").exit_code == 0
        assert server.received == 6


@pytest.mark.parametrize("key_ok", [True, False])
def test_api_key_never_reaches_files_or_logs(tmp_path, monkeypatch, caplog, key_ok):
    data = _samples(tmp_path, n=3)
    run = tmp_path / "run"
    monkeypatch.setenv("MMROLE_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    # with the wrong key the server quotes the key it got in its 401 error, as real providers do
    with LocalOpenAIServer(require_api_key=SECRET if key_ok else "another-key") as server:
        result = _answer(server, data, run)
    if key_ok:
        assert result.exit_code == 0, result.output
    else:  # a 401 stops the job at once, naming the variable to set, the key scrubbed
        assert isinstance(result.exception, EndpointUnavailable), result.output
        assert "HTTP 401" in str(result.exception) and "***" in str(result.exception)
        assert "MMROLE_API_KEY" in str(result.exception)
    texts = [result.output, caplog.text, str(result.exception)]
    texts += [
        p.read_bytes().decode("latin-1") for p in run.iterdir() if p.is_file()
    ]  # store, WAL, jsonl, run.json
    assert all(SECRET not in text for text in texts)


def test_replayed_answers_match_the_live_run(tmp_path):
    data = _samples(tmp_path, n=3)
    with LocalOpenAIServer(_image_size_responder) as server:
        assert _answer(server, data, tmp_path / "live").exit_code == 0
    replay = f"replay:{tmp_path / 'live' / 'answers.jsonl'}"
    result = runner.invoke(
        app,
        [
            "answer",
            "--agent",
            replay,
            "--data",
            str(data),
            "--run",
            str(tmp_path / "replayed"),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    live = read_jsonl(tmp_path / "live" / "answers.jsonl")
    replayed = read_jsonl(tmp_path / "replayed" / "answers.jsonl")
    assert [a["answer"] for a in replayed] == [a["answer"] for a in live]


def test_missing_image_is_one_clear_line(tmp_path):
    data = _samples(tmp_path, n=2)
    (tmp_path / "images" / "im1.png").unlink()
    mmrole = Path(sys.executable).with_name("mmrole")
    args = [
        "answer",
        "--agent",
        "openai:m@http://127.0.0.1:9/v1",
        "--data",
        str(data),
        "--run",
        str(tmp_path / "r"),
    ]
    done = subprocess.run([str(mmrole), *args], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error:") and "Iron_Man_comment_1" in done.stderr
    assert "image" in done.stderr and "Traceback" not in done.stderr
    # leaving missing images out answers from the text alone
    with LocalOpenAIServer() as server:
        result = runner.invoke(
            app,
            [
                "answer",
                "--agent",
                f"openai:m@{server.base_url}",
                "--data",
                str(data),
                "--run",
                str(tmp_path / "r"),
            ]
            + ["--missing-image", "omit", "--no-progress"],
        )
        assert result.exit_code == 0, result.output
        assert server.received == 2
        assert "image_url" not in json.dumps(server.last_payload)


def _stored_answers(run: Path) -> int:
    """Finished calls in a run's store, read while another process writes it (0 before it exists)."""
    import sqlite3

    if not (run / "store.sqlite").exists():
        return 0
    db = sqlite3.connect(run / "store.sqlite", timeout=30)
    try:
        return db.execute("SELECT COUNT(*) FROM requests WHERE status = 'ok'").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not created yet
        return 0
    finally:
        db.close()


def test_ctrl_c_keeps_finished_answers_and_the_rerun_resumes(tmp_path):
    import signal
    import time

    from mmrole.engine import Store

    data = _samples(tmp_path, n=8)
    run = tmp_path / "run"
    mmrole = Path(sys.executable).with_name("mmrole")
    with LocalOpenAIServer(latency=0.2) as server:
        args = ["answer", "--agent", f"openai:m@{server.base_url}", "--data", str(data), "--run", str(run)]
        job = subprocess.Popen([str(mmrole), *args, "--concurrency", "2"], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        # Wait for 3 answers in the store (the server's own count runs ahead of the client's commits).
        while _stored_answers(run) < 3:
            assert job.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        job.send_signal(signal.SIGINT)
        _, err = job.communicate(timeout=30)
        assert job.returncode == 130 and "interrupted" in err and "Traceback" not in err
        with Store.in_run(run) as store:
            kept = {row.request_id for row in store.rows("ok")}
        assert 3 <= len(kept) < 8
        rerun = runner.invoke(app, [*args, "--no-progress"])
        assert rerun.exit_code == 0, rerun.output
        assert f"8/8 answered ({len(kept)} from the store, {8 - len(kept)} calls)" in rerun.output
        for i in range(8):  # a sample answered before Ctrl-C was never asked again
            if f"Iron_Man_comment_{i}" in kept:
                assert server.by_prompt[f"Please step into the shoes of Iron Man. Question {i}."] == 1


def test_replay_of_mmrole_released_answers(tmp_path, in_test_root, mmrole_data_root):
    """MMRole's released claude-3-opus answers, replayed over its own test files, come back unchanged."""
    folder = in_test_root / "claude-3-opus"
    args = ["answer", "--agent", f"replay:{folder}", "--data", str(folder), "--run", str(tmp_path / "run")]
    extra = ["--image-root", str(mmrole_data_root / "images"), "--missing-image", "omit", "--no-progress"]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output
    released = {}
    for path in folder.glob("*.json"):
        released.update({r["id"]: r["conversations"][1]["answer"] for r in json.loads(path.read_text())})
    answers = read_jsonl(tmp_path / "run" / "answers.jsonl")
    assert len(answers) == len(released) and all(a["answer"] == released[a["id"]] for a in answers)
    info = read_run_info(tmp_path / "run")
    assert info["answer"]["options"]["image_root"] == str(mmrole_data_root / "images")


def _recording(payloads: list[str]):
    """A responder that keeps every request's messages (as JSON) and answers "fine"."""

    def responder(messages):
        payloads.append(json.dumps(messages))
        return "fine"

    return responder


def test_images_linking_out_of_the_image_folder_are_never_sent(tmp_path, outside_secret):
    data = _samples(tmp_path, n=3)
    images = tmp_path / "images"
    (images / "im1.png").unlink()
    (images / "im1.png").symlink_to("im2.png")  # a link that stays inside the folder is fine
    with LocalOpenAIServer(_image_size_responder) as server:
        assert _answer(server, data, tmp_path / "inside").exit_code == 0
    sizes = [a["answer"] for a in read_jsonl(tmp_path / "inside" / "answers.jsonl")]
    assert sizes == ["Question 0. 40x30", "Question 1. 42x30", "Question 2. 42x30"]
    (images / "im0.png").unlink()
    (images / "im0.png").symlink_to(outside_secret[0])  # a file linking out
    (images / "linked").symlink_to(outside_secret[0].parent, target_is_directory=True)  # a folder
    lines = [json.loads(line) for line in data.read_text().splitlines()]
    lines[1]["image"] = "linked/secret.png"
    data.write_text("".join(json.dumps(line) + "\n" for line in lines))
    secret = base64.b64encode(outside_secret[1]).decode()
    payloads: list[str] = []
    with LocalOpenAIServer(_recording(payloads)) as server:
        for extra in ((), ("--missing-image", "omit"), ("--max-image-side", "16")):
            result = _answer(server, data, tmp_path / "run", *extra)
            assert isinstance(result.exception, UnsafePathError), (extra, result.output)
            assert result.exception.record == "Iron_Man_comment_0" and result.exception.field == "image"
            assert "resolves outside" in str(result.exception)
        # `judge` re-reads the images of a finished run: a link planted since is refused too.
        (tmp_path / "clean").mkdir()
        clean = _samples(tmp_path / "clean", n=2)
        run = tmp_path / "clean_run"
        assert _answer(server, clean, run).exit_code == 0
        answered = len(payloads)
        (tmp_path / "clean" / "images" / "im1.png").unlink()
        (tmp_path / "clean" / "images" / "im1.png").symlink_to(outside_secret[0])
        for extra in ((), ("--missing-image", "omit")):
            judged = runner.invoke(
                app,
                [
                    "judge",
                    "--judge",
                    f"openai:j@{server.base_url}",
                    "--run",
                    str(run),
                    "--no-progress",
                    *extra,
                ],
            )
            assert isinstance(judged.exception, UnsafePathError), judged.output
            assert judged.exception.record == "Iron_Man_comment_1"
    assert answered >= 2 and not any(secret in payload for payload in payloads)
    assert server.last_payload is None or secret not in json.dumps(server.last_payload)


# -- bad input: one line, no traceback, nothing sent ----------------------------------------------
@pytest.fixture(scope="module")
def server():
    with LocalOpenAIServer(lambda messages: "fine") as running:
        yield running


def _answer_args(server: LocalOpenAIServer, data: Path, run: Path, *extra: str) -> list[str]:
    agent = f"openai:test-model@{server.base_url}"
    return ["answer", "--agent", agent, "--data", str(data), "--run", str(run), "--no-progress", *extra]


@pytest.mark.parametrize("cap", [[], ["--max-image-side", "20"]], ids=["as-is", "downscaled"])
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in BAD_IMAGES])
def test_a_bad_image_is_one_line_and_nothing_is_sent(tmp_path, server, run_mmrole, case, cap):
    data = _samples(tmp_path, n=3)
    (tmp_path / "images" / "im1.png").write_bytes(case.data())
    before = server.received
    line = run_mmrole.refused(*_answer_args(server, data, tmp_path / "run", *cap))
    assert f"{tmp_path / 'images' / 'im1.png'}, record Iron_Man_comment_1, field 'image'" in line
    assert case.error in line
    assert server.received == before


def _damaged_store(path: Path) -> None:
    """A real store whose pages after the first are overwritten (a disk or copy gone wrong)."""
    from mmrole.engine import Store
    from mmrole.models.base import Completion, Usage

    with Store(path) as store:
        for i in range(50):
            store.record_success(f"k{i}", f"s{i}", "m", Completion("x" * 400, "stop", Usage(1, 1)), 1)
    data = bytearray(path.read_bytes())
    data[4096:] = b"\x5a" * (len(data) - 4096)
    path.write_bytes(bytes(data))


STORES = {
    "zero-byte": (lambda p: p.write_bytes(b""), "is an empty file (0 bytes), not an SQLite store"),
    "garbage": (lambda p: p.write_bytes(b"not sqlite at all\n" * 300), "is not an SQLite database"),
    "directory": (lambda p: p.mkdir(), "is a directory, not an SQLite store"),
    "damaged": (_damaged_store, "is a damaged SQLite database"),
}


@pytest.mark.parametrize("kind", STORES)
def test_a_bad_store_says_what_it_is_and_how_to_start_afresh(tmp_path, server, run_mmrole, kind):
    data = _samples(tmp_path, n=2)
    run = tmp_path / "run"
    run.mkdir()
    make, what = STORES[kind]
    make(run / "store.sqlite")
    before = server.received
    line = run_mmrole.refused(*_answer_args(server, data, run))
    assert line == f"error: {run / 'store.sqlite'}: {what}" + line.split(what, 1)[1]
    assert line.endswith("; move it away or delete it to start afresh")
    assert server.received == before
    if kind == "zero-byte":  # never silently turned into an empty cache
        assert (run / "store.sqlite").stat().st_size == 0


class _FullDiskFile:
    """A file being written on a full disk: it exists, but every write fails with ENOSPC."""

    def __init__(self, handle):
        self._handle = handle

    def write(self, _text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


def _fill_the_disk_for(monkeypatch, name: str) -> None:
    """Writing a file whose name starts with ``name`` fails as on a full disk."""
    from mmrole.engine import store as store_module

    if name == "store.sqlite":
        # SQLite's own full-disk error: no page may be added to the run's store.
        connect = store_module.Store._connect

        def full(path):
            db = connect(path)
            if path.name == "store.sqlite":
                pages = db.execute("PRAGMA page_count").fetchone()[0]
                db.execute(f"PRAGMA max_page_count={pages}")
            return db

        monkeypatch.setattr(store_module.Store, "_connect", staticmethod(full))
        return
    real_open = Path.open

    def open_(self, mode="r", *args, **kwargs):
        handle = real_open(self, mode, *args, **kwargs)
        return _FullDiskFile(handle) if "w" in mode and self.name.startswith(name) else handle

    monkeypatch.setattr(Path, "open", open_)


@pytest.mark.parametrize("name", ["samples.jsonl", "run.json", "store.sqlite", "answers.jsonl"])
def test_a_full_disk_is_one_line_and_leaves_no_partial_file(tmp_path, monkeypatch, run_mmrole, name):
    data = _samples(tmp_path, n=3)
    run = tmp_path / "run"
    with LocalOpenAIServer(lambda messages: "a long answer " * 2000) as server:
        with monkeypatch.context() as patch:
            _fill_the_disk_for(patch, name)
            line = run_mmrole.refused(*_answer_args(server, data, run))
        assert line == f"error: no space left on device writing {run / name}"
        assert not list(run.glob("*.partial")) and not list(run.glob("*.new"))
        # The run files come before any call; answers.jsonl is written from the store at the end.
        calls = server.received
        if name == "store.sqlite":  # the job stops at the first answer it cannot record
            assert 1 <= calls <= 3
        else:
            assert calls == {"samples.jsonl": 0, "run.json": 0}.get(name, 3)
        # Space freed, the rerun finishes; answers stored before the disk filled are not asked again.
        code, _, err = run_mmrole(*_answer_args(server, data, run))
        assert code == 0, err
        assert server.received == calls + (0 if name == "answers.jsonl" else 3)
        assert len(read_jsonl(run / "answers.jsonl")) == 3


def test_dead_endpoint_stops_the_job_in_one_line(tmp_path):
    import socket

    data = _samples(tmp_path, n=300)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mmrole = Path(sys.executable).with_name("mmrole")
    args = [
        "answer",
        "--agent",
        f"openai:m@http://127.0.0.1:{port}/v1",
        "--data",
        str(data),
        "--run",
        str(tmp_path / "r"),
    ]
    done = subprocess.run([str(mmrole), *args, "--no-progress"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # not one line per sample
    assert lines[0].startswith(f"error: openai:m@http://127.0.0.1:{port}/v1 cannot be reached")
    assert "could not connect" in lines[0] and "connection failures in a row" in lines[0]


def test_a_401_names_the_variable_to_set_and_keeps_the_finished_answers(tmp_path, monkeypatch):
    data = _samples(tmp_path, n=40)
    run = tmp_path / "run"

    def first_ten(messages):  # a first run answers 10 samples; 30 fail (HTTP 400) and are left to retry
        if int(last_user_text(messages).split("Question ")[1].rstrip(".")) >= 10:
            raise InjectedError(400, "not now")
        return "fine"

    with LocalOpenAIServer(first_ten) as server:
        assert _answer(server, data, run).exit_code == 1
        server.require_api_key = "a-key-nobody-has"
        server.reset_counts()
        mmrole = Path(sys.executable).with_name("mmrole")
        args = [
            "answer",
            "--agent",
            f"openai:test-model@{server.base_url}",
            "--data",
            str(data),
            "--run",
            str(run),
        ]
        done = subprocess.run(
            [str(mmrole), *args, "--no-progress", "--concurrency", "4"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 3 and server.received <= 4  # 30 samples left, at most one call per worker
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "HTTP 401" in lines[0] and "rejected the credentials" in lines[0]
        assert "no API key was sent: set MMROLE_API_KEY" in lines[0]
    from mmrole.engine import Store

    with Store.in_run(run) as store:
        assert store.counts() == {"ok": 10, "failed": 30}  # the 401s are not stored over them


def test_max_failures_lets_a_few_failed_samples_pass(tmp_path):
    data = _samples(tmp_path)

    def responder(messages):
        if "Question 3." in last_user_text(messages):
            raise InjectedError(400, "context length exceeded")
        return "fine"

    with LocalOpenAIServer(responder) as server:
        assert _answer(server, data, tmp_path / "run").exit_code == 1  # default 0: any failure
        assert _answer(server, data, tmp_path / "run", "--max-failures", "1").exit_code == 0
        assert _answer(server, data, tmp_path / "run", "--max-failures", "0.2").exit_code == 0  # 1 of 5
        refused = _answer(server, data, tmp_path / "run", "--max-failures", "0.1")
        assert refused.exit_code == 1 and "1 of 5 samples failed" in str(refused.exception)


def test_samples_sharing_an_image_share_one_encoded_copy(tmp_path):
    from mmrole.eval.answer import load_test_samples, sample_requests
    from mmrole.models.base import GenerationParams

    data = _samples(tmp_path, n=2)
    lines = [json.loads(line) for line in data.read_text().splitlines()]
    shared = [{**lines[0], "id": f"s{i}", "image": "im0.png" if i % 2 else "copy.png"} for i in range(200)]
    (tmp_path / "images" / "copy.png").write_bytes((tmp_path / "images" / "im0.png").read_bytes())
    data.write_text("\n".join(json.dumps(x) for x in shared) + "\n")
    requests = sample_requests(load_test_samples(data), tmp_path / "images", GenerationParams())
    assert not isinstance(requests, list)  # built as the engine takes them
    urls = [r.messages[1]["content"][0]["image_url"]["url"] for r in requests]
    # one string for all 200 requests, the two files having the same bytes
    assert urls[0].startswith("data:image/png;base64,") and all(url is urls[0] for url in urls)
