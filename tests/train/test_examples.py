"""Reading SFT sources: Qwen-VL files and folders, samples JSONL, the demo set; image checks."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from mmrole.data import write_samples_jsonl
from mmrole.errors import DataError
from mmrole.schema import Sample
from mmrole.train.examples import load_examples, sft_examples, to_dataset
from mmrole.train.formatting import message_text


def read(data, **options):
    return load_examples(str(data), lambda source, guard: sft_examples(source, guard=guard), **options)


def test_samples_jsonl_trains_each_reference_with_images_beside_it(tmp_path, data_dir):
    shutil.copytree(data_dir / "images", tmp_path / "images")
    sample = Sample(
        id="s1",
        image="red.png",
        system="S",
        instruction="Speak.",
        reference="Hi.",
        role="R",
        script="X",
        other_role="a curious human",
        type="comment",
    )
    write_samples_jsonl([sample], tmp_path / "samples.jsonl")
    (example,) = read(tmp_path / "samples.jsonl")
    assert [message_text(m) for m in example["messages"]] == ["S", "Speak.", "Hi."]
    assert example["messages"][1]["content"][0] == {"type": "image"}
    assert example["images"] == [str(tmp_path / "images" / "red.png")]


def test_demo_and_folders_of_qwen_files(tmp_path, data_dir):
    demo = read("demo")
    assert len(demo) == 6 and all(len(e["images"]) == 1 for e in demo)
    folder = tmp_path / "train"
    folder.mkdir()
    shutil.copy(data_dir / "train.json", folder / "a.json")
    shutil.copytree(data_dir / "images", folder / "images")
    records = json.loads((data_dir / "train.json").read_text())
    (folder / "b.json").write_text(json.dumps([{**r, "id": r["id"] + "-b"} for r in records]))
    both = read(folder)
    assert [e["id"] for e in both] == ["r1", "r2", "r1-b", "r2-b"]
    assert [e["id"] for e in read(folder, max_samples=3)] == ["r1", "r2", "r1-b"]
    assert [e["id"] for e in read(f"{folder / 'a.json'},{folder / 'a.json'}")] == ["r1", "r2", "r1#1", "r2#1"]


def test_missing_images_error_skip_or_drop(tmp_path, data_dir, caplog):
    shutil.copy(data_dir / "train.json", tmp_path / "train.json")
    (tmp_path / "images").mkdir()
    shutil.copy(data_dir / "images" / "blue.png", tmp_path / "images" / "blue.png")  # red.png is missing
    with pytest.raises(DataError, match="image not found") as err:
        read(tmp_path / "train.json")
    assert (err.value.record, err.value.field) == ("r1", "image")
    with caplog.at_level(logging.WARNING):
        assert [e["id"] for e in read(tmp_path / "train.json", missing_images="skip")] == ["r2"]
    dropped = read(tmp_path / "train.json", missing_images="drop")
    assert dropped[0]["images"] == [] and all(
        p["type"] == "text" for m in dropped[0]["messages"] for p in m["content"]
    )
    assert "1 examples skipped" in caplog.text


def test_dataset_columns(data_dir):
    examples = read(data_dir / "train.json")
    vision = to_dataset(examples, with_images=True)
    assert vision.column_names == ["id", "messages", "images"]
    assert json.loads(vision[1]["messages"]) == examples[1]["messages"]
    assert to_dataset(examples, with_images=False).column_names == ["id", "messages"]
