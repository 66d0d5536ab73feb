"""`mmrole answer` end to end against the local server: run folder, resume, secrets, errors."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from answer_helpers import (
    SECRET,
    failing_question,
    image_size_responder,
    read_jsonl,
    run_answer,
    runner,
    samples_file,
)
from mmrole.cli import app
from mmrole.data.paths import UnsafePathError
from mmrole.engine.failures import EndpointUnavailable
from mmrole.runs import read_run_info
from mmrole.testing.server import LocalOpenAIServer


def test_answer_writes_the_run_folder_and_resumes_without_calls(tmp_path):
    data = samples_file(tmp_path)
    run = tmp_path / "run"
    with LocalOpenAIServer(image_size_responder) as server:
        result = run_answer(server, data, run, "--max-tokens", "64", "--temperature", "0.2")
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

        again = run_answer(server, data, run, "--max-tokens", "64", "--temperature", "0.2")
        assert again.exit_code == 0, again.output
        assert server.received == 5, "a finished job must make no call when rerun"
        rerun = read_jsonl(run / "answers.jsonl")
        assert [a["answer"] for a in rerun] == [a["answer"] for a in answers]
        assert all(a["meta"]["cached"] for a in rerun)


def test_limit_and_image_cap(tmp_path):
    data = samples_file(tmp_path)
    with LocalOpenAIServer(image_size_responder) as server:
        result = run_answer(server, data, tmp_path / "run", "--limit", "2", "--max-image-side", "20")
        assert result.exit_code == 0, result.output
    answers = read_jsonl(tmp_path / "run" / "answers.jsonl")
    assert [a["answer"] for a in answers] == ["Question 0. 20x15", "Question 1. 20x15"]


def test_failures_are_recorded_with_their_error_and_exit_1(tmp_path):
    data = samples_file(tmp_path)

    with LocalOpenAIServer(failing_question(3)) as server:
        result = run_answer(server, data, tmp_path / "run")
        assert result.exit_code == 1
        assert server.received == 5  # a 400 is not retried
        answers = {a["id"]: a for a in read_jsonl(tmp_path / "run" / "answers.jsonl")}
        failed = answers["Iron_Man_comment_3"]
        assert (
            failed["answer"] is None and "HTTP 400" in failed["error"] and "context length" in failed["error"]
        )
        assert read_run_info(tmp_path / "run")["answer"]["counts"]["failed"] == 1

        server.responder = lambda messages: "fine"  # the server is fixed: the rerun retries only the failure
        assert run_answer(server, data, tmp_path / "run").exit_code == 0
        assert server.received == 6


@pytest.mark.parametrize("key_ok", [True, False])
def test_api_key_never_reaches_files_or_logs(tmp_path, monkeypatch, caplog, key_ok):
    data = samples_file(tmp_path, n=3)
    run = tmp_path / "run"
    monkeypatch.setenv("MMROLE_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    # with the wrong key the server quotes the key it got in its 401 error, as real providers do
    with LocalOpenAIServer(require_api_key=SECRET if key_ok else "another-key") as server:
        result = run_answer(server, data, run)
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
    data = samples_file(tmp_path, n=3)
    with LocalOpenAIServer(image_size_responder) as server:
        assert run_answer(server, data, tmp_path / "live").exit_code == 0
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
    data = samples_file(tmp_path, n=2)
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

    data = samples_file(tmp_path, n=8)
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
    data = samples_file(tmp_path, n=3)
    images = tmp_path / "images"
    (images / "im1.png").unlink()
    (images / "im1.png").symlink_to("im2.png")  # a link that stays inside the folder is fine
    with LocalOpenAIServer(image_size_responder) as server:
        assert run_answer(server, data, tmp_path / "inside").exit_code == 0
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
            result = run_answer(server, data, tmp_path / "run", *extra)
            assert isinstance(result.exception, UnsafePathError), (extra, result.output)
            assert result.exception.record == "Iron_Man_comment_0" and result.exception.field == "image"
            assert "resolves outside" in str(result.exception)
        # `judge` re-reads the images of a finished run: a link planted since is refused too.
        (tmp_path / "clean").mkdir()
        clean = samples_file(tmp_path / "clean", n=2)
        run = tmp_path / "clean_run"
        assert run_answer(server, clean, run).exit_code == 0
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


def test_samples_sharing_an_image_share_one_encoded_copy(tmp_path):
    from mmrole.eval.answer import load_test_samples, sample_requests
    from mmrole.models.base import GenerationParams

    data = samples_file(tmp_path, n=2)
    lines = [json.loads(line) for line in data.read_text().splitlines()]
    shared = [{**lines[0], "id": f"s{i}", "image": "im0.png" if i % 2 else "copy.png"} for i in range(200)]
    (tmp_path / "images" / "copy.png").write_bytes((tmp_path / "images" / "im0.png").read_bytes())
    data.write_text("\n".join(json.dumps(x) for x in shared) + "\n")
    requests = sample_requests(load_test_samples(data), tmp_path / "images", GenerationParams())
    assert not isinstance(requests, list)  # built as the engine takes them
    urls = [r.messages[1]["content"][0]["image_url"]["url"] for r in requests]
    # one string for all 200 requests, the two files having the same bytes
    assert urls[0].startswith("data:image/png;base64,") and all(url is urls[0] for url in urls)
