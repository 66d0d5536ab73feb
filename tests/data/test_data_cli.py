"""`mmrole data samples | stats | convert | demo` on the reference release and the demo set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.data import build_samples, demo_root, image_root, load_samples
from mmrole.schema import Sample

runner = CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_samples_command_on_demo_and_reference(tmp_path: Path, mmrole_data_root: Path):
    out = tmp_path / "demo.jsonl"
    result = runner.invoke(app, ["data", "samples", "demo", "--out", str(out), "--absolute-images"])
    assert result.exit_code == 0, result.output
    samples = [Sample.model_validate_json(line) for line in out.read_text().splitlines()]
    assert len(samples) == 8 and all(Path(s.image).is_absolute() and Path(s.image).is_file() for s in samples)

    # The whole reference build is checked in test_mrpa_reference; here one split, through the CLI.
    out = tmp_path / "reference-ood.jsonl"
    args = ["data", "samples", str(mmrole_data_root), "-o", str(out), "--split", "out-of-distribution"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    expected = list(build_samples(mmrole_data_root, splits=["out-of-distribution"]))
    assert f"wrote {len(expected)} samples" in result.output and len(expected) == 455
    required = {
        "id",
        "image",
        "system",
        "instruction",
        "reference",
        "role",
        "script",
        "other_role",
        "type",
        "split",
    }
    assert required <= set(json.loads(lines[0]))
    assert [Sample.model_validate_json(line) for line in lines] == expected
    bad = runner.invoke(
        app, ["data", "samples", str(mmrole_data_root), "-o", str(out), "--type", "monologue"]
    )
    assert bad.exit_code != 0 and "'monologue' is none of comment, human-role, inter-role" in str(
        bad.exception
    )


def test_stats_command(mmrole_data_root: Path):
    result = runner.invoke(app, ["data", "stats", str(mmrole_data_root), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["characters"]["The Avengers / in-distribution"] == 16
    assert sum(stats["characters"].values()) == 85
    assert sum(stats["dialogues"].values()) == 13_091
    assert stats["languages"] == {"Chinese": 1599, "English": 11492}
    assert stats["images"]["character (script) images"] == 188 and stats["images"]["COCO present"] == 0
    assert stats["problems"] == {"empty-dialogue": 641}
    table = runner.invoke(app, ["data", "stats", "demo"])
    assert table.exit_code == 0, table.output
    text = _flat(table.output)
    for title in ("Characters", "Dialogues", "Turns", "Samples", "Languages", "Images"):
        assert title in text
    assert "云中小镇" in text and "inter-role" in text


def test_stats_of_a_test_folder(in_test_root: Path):
    result = runner.invoke(app, ["data", "stats", str(in_test_root / "yi-vl-6b"), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["kind"] == "samples" and sum(stats["samples"].values()) == 216


def test_convert_and_demo_commands(tmp_path: Path):
    tsv = tmp_path / "demo.tsv"
    assert (
        runner.invoke(app, ["data", "convert", "demo", "--to", "vlmeval-tsv", "-o", str(tsv)]).exit_code == 0
    )
    assert tsv.read_text().splitlines()[0].startswith("index\timage\tquestion\tanswer")
    messages = tmp_path / "messages.jsonl"
    result = runner.invoke(app, ["data", "convert", "demo", "--to", "openai", "-o", str(messages)])
    assert result.exit_code == 0, result.output
    first = json.loads(messages.read_text().splitlines()[0])
    assert first["messages"][1]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    qwen = tmp_path / "test.json"
    assert runner.invoke(app, ["data", "convert", "demo", "--to", "qwen", "-o", str(qwen)]).exit_code == 0
    assert [s.id for s in load_samples(qwen)] == [s.id for s in load_samples("demo")]

    copy = tmp_path / "my-data"
    assert runner.invoke(app, ["data", "demo", str(copy)]).exit_code == 0
    assert len(list(load_samples(copy))) == 19 and image_root(copy) == copy / "images"
    refused = runner.invoke(app, ["data", "demo", str(copy)])
    assert refused.exit_code != 0 and "not empty" in str(refused.exception)


def test_convert_with_a_missing_image_writes_nothing_or_leaves_it_out(tmp_path: Path):
    import hashlib

    from mmrole.data.convert import md5_file_of

    copy = tmp_path / "my-data"
    assert runner.invoke(app, ["data", "demo", str(copy)]).exit_code == 0
    first = next(load_samples(copy))
    (copy / "images" / first.image).unlink()
    without = {s.id for s in load_samples(copy) if s.image == first.image}
    for to in ("vlmeval-tsv", "openai"):
        out = tmp_path / to / "converted"
        failed = runner.invoke(app, ["data", "convert", str(copy), "--to", to, "-o", str(out)])
        assert failed.exit_code != 0 and "--missing-image omit" in str(failed.exception)
        assert not out.parent.exists() or list(out.parent.iterdir()) == []  # no partial file

        result = runner.invoke(
            app, ["data", "convert", str(copy), "--to", to, "-o", str(out), "--missing-image", "omit"]
        )
        assert result.exit_code == 0, result.output
        # A TSV comes with its MD5 beside it (what VLMEvalKit's MMRole dataset checks it against).
        md5 = [md5_file_of(out)] if to == "vlmeval-tsv" else []
        assert sorted(out.parent.iterdir()) == sorted([out, *md5])
        if md5:
            assert md5[0].read_text() == f"{hashlib.md5(out.read_bytes()).hexdigest()}  converted\n"
    from mmrole.data.convert import read_vlmeval_tsv

    rows = list(read_vlmeval_tsv(tmp_path / "vlmeval-tsv" / "converted", tmp_path / "images"))
    assert len(rows) == 19 - len(without) and not {s.id for s in rows} & without
    records = [json.loads(line) for line in (tmp_path / "openai" / "converted").read_text().splitlines()]
    textual = {r["id"] for r in records if all(p["type"] == "text" for p in r["messages"][1]["content"])}
    assert len(records) == 19 and textual == without
    assert f"{len(without)} samples written without their image" in result.output


def test_console_script_turns_data_errors_into_one_line(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": "x", ')
    result = subprocess.run(
        [sys.executable, "-m", "mmrole.cli", "data", "stats", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"error: {bad}: malformed JSON at line 1" in result.stderr


def test_demo_root_is_the_bundled_folder():
    assert demo_root().is_dir() and (demo_root() / "profiles" / "in-distribution" / "roles.json").is_file()
