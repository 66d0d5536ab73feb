"""Atomic JSON/JSONL files, run.json merging, no secrets."""

from __future__ import annotations

import errno
import os

import pytest

from mmrole.data.jsonio import iter_jsonl
from mmrole.errors import ConfigError, DataError, StorageError
from mmrole.files import fresh_folder, open_atomic, read_json, write_json, write_jsonl
from mmrole.runs import read_run_info, update_run_info, without_secrets


def read_jsonl(path):
    return [record for _, record in iter_jsonl(path)]


def test_jsonl_round_trip_is_atomic(tmp_path):
    path = tmp_path / "answers.jsonl"
    records = [{"id": "a", "answer": "日本語"}, {"id": "b", "answer": None, "error": "HTTP 500"}]
    assert write_jsonl(path, records) == 2
    assert read_jsonl(path) == records
    assert not list(tmp_path.glob("*.partial"))


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "answers.jsonl"
    write_jsonl(path, [{"id": "old"}])

    def broken():
        yield {"id": "new"}
        raise RuntimeError("crash while writing")

    with pytest.raises(RuntimeError):
        write_jsonl(path, broken())
    assert read_jsonl(path) == [{"id": "old"}]
    assert not list(tmp_path.glob("*.partial"))


def test_bad_jsonl_names_file_and_line(tmp_path):
    path = tmp_path / "reviews.jsonl"
    path.write_text('{"id": 1}\n\nnot json\n')
    with pytest.raises(DataError, match=r"reviews.jsonl: malformed JSON at line 3, column \d+"):
        read_jsonl(path)
    with pytest.raises(DataError, match="cannot read"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_run_info_merges_sections_and_drops_secrets(tmp_path):
    update_run_info(
        tmp_path, {"agent": "openai:m", "answer": {"options": {"max_tokens": 64, "api_key": "sk-1"}}}
    )
    info = update_run_info(tmp_path, {"judge": "openai:j", "hf_token": "hf_x"})
    assert info == read_run_info(tmp_path)
    assert info["agent"] == "openai:m" and info["judge"] == "openai:j"
    assert info["answer"]["options"] == {"max_tokens": 64}
    assert "hf_token" not in info and "mmrole_version" in info and info["created"] <= info["updated"]
    assert "sk-1" not in (tmp_path / "run.json").read_text()


def test_without_secrets_keeps_look_alikes():
    data = {"max_tokens": 1, "top_logprobs": 2, "API-Key": 3, "nested": [{"password": 4, "keep": 5}]}
    assert without_secrets(data) == {"max_tokens": 1, "top_logprobs": 2, "nested": [{"keep": 5}]}


def test_json_helpers(tmp_path):
    write_json(tmp_path / "results.json", {"score": 1.5})
    assert read_json(tmp_path / "results.json") == {"score": 1.5}
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(DataError, match="not valid JSON"):
        read_json(tmp_path / "bad.json")
    assert read_run_info(tmp_path / "empty") == {}


def test_run_info_shows_url_credentials_as_stars(tmp_path):
    info = update_run_info(
        tmp_path,
        {"agent": "openai:m@http://user:sk-9@h/v1", "data": ["see http://h/v1?token=sk-8&x=1 for details"]},
    )
    assert info["agent"] == "openai:m@http://***@h/v1"
    assert info["data"] == ["see http://h/v1?token=***&x=1 for details"]
    assert (
        "sk-9" not in (tmp_path / "run.json").read_text()
        and "sk-8" not in (tmp_path / "run.json").read_text()
    )
    assert without_secrets({"agent": "openai:m@http://h:8000/v1"}) == {"agent": "openai:m@http://h:8000/v1"}


@pytest.mark.parametrize("writer", ["jsonl", "json", "run-info"])
def test_a_full_disk_is_a_storage_error_naming_the_file_and_leaves_no_partial(tmp_path, monkeypatch, writer):
    path = {"jsonl": tmp_path / "answers.jsonl", "json": tmp_path / "results.json"}.get(
        writer, tmp_path / "run.json"
    )
    write_json(path, {"old": True})

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)  # the data is written, then the disk says it is full
    with pytest.raises(StorageError, match=f"^no space left on device writing {path}$"):
        if writer == "jsonl":
            write_jsonl(path, [{"id": "new"}])
        elif writer == "json":
            write_json(path, {"new": True})
        else:
            update_run_info(tmp_path, {"agent": "openai:m"})
    assert read_json(path) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_other_write_errors_are_one_line_too(tmp_path):
    (tmp_path / "answers.jsonl").mkdir()  # something in the way
    with pytest.raises(StorageError, match=r"^cannot write .*answers\.jsonl: Is a directory$"):
        write_jsonl(tmp_path / "answers.jsonl", [{"id": "a"}])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.jsonl"]


def test_a_handle_written_atomically_keeps_the_old_file_when_its_writer_fails(tmp_path):
    path = tmp_path / "table.tsv"
    with open_atomic(path, newline="") as handle:
        handle.write("a\tb\r\n")
    assert path.read_bytes() == b"a\tb\r\n"  # newline="" writes what it is given, as csv expects
    with pytest.raises(DataError), open_atomic(path) as handle:
        handle.write("half a row")
        raise DataError("image file not found", record="s1")
    assert path.read_bytes() == b"a\tb\r\n" and not list(tmp_path.glob("*.partial"))


def test_a_fresh_folder_replaces_a_non_empty_one_only_when_told(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep")
    with pytest.raises(ConfigError, match="is not empty"):
        fresh_folder(tmp_path / "out")
    assert (tmp_path / "out" / "mine.txt").exists()
    assert list(fresh_folder(tmp_path / "out", overwrite=True).iterdir()) == []
    assert fresh_folder(tmp_path / "new" / "deeper").is_dir()
