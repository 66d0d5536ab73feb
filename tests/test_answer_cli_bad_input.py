"""`mmrole answer` on bad input: one line, no traceback, nothing sent; damaged stores, full disks, dead endpoints."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from answer_helpers import answer_args, failing_question, read_jsonl, run_answer, samples_file
from mmrole.models.base import last_user_text
from mmrole.testing.bad_images import BAD_IMAGES
from mmrole.testing.responders import InjectedError
from mmrole.testing.server import LocalOpenAIServer


@pytest.fixture(scope="module")
def server():
    with LocalOpenAIServer(lambda messages: "fine") as running:
        yield running


@pytest.mark.parametrize("cap", [[], ["--max-image-side", "20"]], ids=["as-is", "downscaled"])
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in BAD_IMAGES])
def test_a_bad_image_is_one_line_and_nothing_is_sent(tmp_path, server, run_mmrole, case, cap):
    data = samples_file(tmp_path, n=3)
    (tmp_path / "images" / "im1.png").write_bytes(case.data())
    before = server.received
    line = run_mmrole.refused(*answer_args(f"test-model@{server.base_url}", data, tmp_path / "run", *cap))
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
    data = samples_file(tmp_path, n=2)
    run = tmp_path / "run"
    run.mkdir()
    make, what = STORES[kind]
    make(run / "store.sqlite")
    before = server.received
    line = run_mmrole.refused(*answer_args(f"test-model@{server.base_url}", data, run))
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
    data = samples_file(tmp_path, n=3)
    run = tmp_path / "run"
    with LocalOpenAIServer(lambda messages: "a long answer " * 2000) as server:
        with monkeypatch.context() as patch:
            _fill_the_disk_for(patch, name)
            line = run_mmrole.refused(*answer_args(f"test-model@{server.base_url}", data, run))
        assert line == f"error: no space left on device writing {run / name}"
        assert not list(run.glob("*.partial")) and not list(run.glob("*.new"))
        # The run files come before any call; answers.jsonl is written from the store at the end.
        server.wait_until_idle()  # requests the job sent before it stopped are counted too
        calls = server.received
        if name == "store.sqlite":  # the job stops at the first answer it cannot record
            assert 1 <= calls <= 3
        else:
            assert calls == {"samples.jsonl": 0, "run.json": 0}.get(name, 3)
        # Space freed, the rerun finishes; answers stored before the disk filled are not asked again.
        code, _, err = run_mmrole(*answer_args(f"test-model@{server.base_url}", data, run))
        assert code == 0, err
        assert server.received == calls + (0 if name == "answers.jsonl" else 3)
        assert len(read_jsonl(run / "answers.jsonl")) == 3


def test_dead_endpoint_stops_the_job_in_one_line(tmp_path):
    import socket

    data = samples_file(tmp_path, n=300)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mmrole = Path(sys.executable).with_name("mmrole")
    args = answer_args(f"m@http://127.0.0.1:{port}/v1", data, tmp_path / "r")
    done = subprocess.run([str(mmrole), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # not one line per sample
    assert lines[0].startswith(f"error: openai:m@http://127.0.0.1:{port}/v1 cannot be reached")
    assert "could not connect" in lines[0] and "connection failures in a row" in lines[0]


def test_a_401_names_the_variable_to_set_and_keeps_the_finished_answers(tmp_path, monkeypatch):
    data = samples_file(tmp_path, n=40)
    run = tmp_path / "run"

    def first_ten(messages):  # a first run answers 10 samples; 30 fail (HTTP 400) and are left to retry
        if int(last_user_text(messages).split("Question ")[1].rstrip(".")) >= 10:
            raise InjectedError(400, "not now")
        return "fine"

    with LocalOpenAIServer(first_ten) as server:
        assert run_answer(server, data, run).exit_code == 1
        server.require_api_key = "a-key-nobody-has"
        server.reset_counts()
        mmrole = Path(sys.executable).with_name("mmrole")
        args = answer_args(f"test-model@{server.base_url}", data, run, "--concurrency", "4")
        done = subprocess.run(
            [str(mmrole), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        server.wait_until_idle()  # the process has exited; count what it sent before stopping
        assert done.returncode == 3 and server.received <= 4  # 30 samples left, at most one call per worker
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "HTTP 401" in lines[0] and "rejected the credentials" in lines[0]
        assert "no API key was sent: set MMROLE_API_KEY" in lines[0]
    from mmrole.engine import Store

    with Store.in_run(run) as store:
        assert store.counts() == {"ok": 10, "failed": 30}  # the 401s are not stored over them


def test_max_failures_lets_a_few_failed_samples_pass(tmp_path):
    data = samples_file(tmp_path)

    with LocalOpenAIServer(failing_question(3)) as server:
        assert run_answer(server, data, tmp_path / "run").exit_code == 1  # default 0: any failure
        assert run_answer(server, data, tmp_path / "run", "--max-failures", "1").exit_code == 0
        assert run_answer(server, data, tmp_path / "run", "--max-failures", "0.2").exit_code == 0  # 1 of 5
        refused = run_answer(server, data, tmp_path / "run", "--max-failures", "0.1")
        assert refused.exit_code == 1 and "1 of 5 samples failed" in str(refused.exception)
