"""Loaders of the MMRole-Data layout, Qwen-VL-format files and samples JSONL."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from data_links import CLIMBING_NAME, LINK_DIALOGUES, OUTSIDE_TEXT

from mmrole.data import (
    Problem,
    build_samples,
    demo_root,
    image_root,
    iter_conversation_records,
    load_characters,
    load_dialogues,
    load_samples,
    read_samples_jsonl,
    sample_to_qwen,
    write_samples_jsonl,
)
from mmrole.data.paths import UnsafePathError
from mmrole.data.qwen import sample_from_qwen
from mmrole.data.sources import copy_demo
from mmrole.errors import DataError
from mmrole.schema import Character, Sample


def test_reference_characters(reference_characters: dict[str, Character]):
    assert len(reference_characters) == 85
    splits = Counter(c.split for c in reference_characters.values())
    assert splits == {"in-distribution": 72, "out-of-distribution": 13}
    iron_man = reference_characters["Iron Man"]
    assert iron_man.series == "The Avengers" and iron_man.language == "English"
    assert iron_man.summary.startswith("### Brief Introduction") and iron_man.profile.catchphrase
    assert reference_characters["孙悟空"].language == "Chinese"
    assert {c.name for c in reference_characters.values() if c.language == "Chinese"} == {
        "孙悟空", "唐僧", "猪八戒", "沙悟净", "成龙", "小玉", "老爹", "杜甫", "李白",
    }  # fmt: skip
    maya = reference_characters["Maya Patel"]
    assert maya.hypothetical and maya.meta["origin"] == "Mumbai, India"
    assert reference_characters['Elizabeth "Lizzy" Thompson'].hypothetical


def test_reference_dialogues_and_samples(
    mmrole_data_root: Path, reference_samples: dict[str, Sample], reference_sample_ids: list[str]
):
    problems = []
    dialogues = list(load_dialogues(mmrole_data_root, report=problems.append))
    # 13,732 records: 641 are empty (failed generations the release keeps); they are reported, not errors.
    assert len(dialogues) + len(problems) == 13_732
    assert {p.kind for p in problems} == {"empty-dialogue"} and not any(p.is_error for p in problems)
    assert len(reference_sample_ids) == sum(sum(t.speaker != "human" for t in d.turns) for d in dialogues)
    ood = [d for d in dialogues if d.split == "out-of-distribution"]
    assert len(ood) == 78 and "Howard_Wolowitz_human-role-dialogue_COCO" in {d.id for d in ood}
    assert "Howard_Wolowitz_human-role-dialogue_COCO_1" in reference_sample_ids
    # Inter-role dialogues give samples for both characters.
    loki = reference_samples["Iron_Man_role-role-dialogue_COCO_47_2"]
    assert (loki.role, loki.other_role, loki.type) == ("Loki", "Iron Man", "inter-role")
    # Annotated script images carry their annotation; COCO images do not.
    script = next(d for d in dialogues if d.id == "Iron_Man_human-role-dialogue_script_0")
    assert script.image.annotation.place_info == "On the spaceship to the planet where the Thanos is in"
    assert all(d.image.annotation is None for d in dialogues if d.image.path.startswith("COCO/"))


def test_sample_ids_point_at_character_turns(
    reference_samples: dict[str, Sample], reference_sample_ids: list[str]
):
    comment = reference_samples["Iron_Man_comment_COCO_0_1"]
    assert comment.type == "comment" and comment.instruction.endswith(
        "vocabulary of Iron Man:\nWhat are your thoughts when you see this image?"
    )
    assert "Iron_Man_comment_COCO_0_0" not in reference_sample_ids  # the human question is not a sample


def test_load_samples_sources(tmp_path: Path, in_test_root: Path):
    demo = list(load_samples("demo"))
    assert len(demo) == 8 and {s.type for s in demo} == {"comment", "human-role", "inter-role"}
    assert image_root("demo") == demo_root() / "images"
    assert all((image_root("demo") / s.image).is_file() for s in demo)
    # A data root builds every character turn; a test folder or file loads its records.
    assert len(list(load_samples(demo_root()))) == 19
    split_folder = demo_root() / "data" / "test" / "out-of-distribution"
    assert {s.split for s in load_samples(split_folder)} == {"out-of-distribution"}
    assert image_root(split_folder) == demo_root() / "images"
    one_file = in_test_root / "qwen-vl-chat" / "comment_test.reviews.json"
    assert [s.type for s in load_samples(one_file)] == ["comment"] * 72
    assert image_root(one_file) is None
    # JSONL round trip.
    out = tmp_path / "samples.jsonl"
    assert write_samples_jsonl(demo, out) == 8
    assert list(load_samples(out)) == demo
    assert image_root(out) == tmp_path
    with pytest.raises(DataError, match="no such file"):
        list(load_samples(tmp_path / "nothing-here"))


def test_bad_jsonl_lines_are_located(tmp_path: Path):
    sample = next(load_samples("demo"))
    path = tmp_path / "s.jsonl"
    broken = sample.model_dump() | {"type": "monologue"}
    path.write_text(sample.model_dump_json() + "\n{oops\n")
    with pytest.raises(DataError, match=r"malformed JSON at line 2"):
        list(read_samples_jsonl(path))
    path.write_text(json.dumps(broken) + "\n")
    with pytest.raises(DataError) as info:
        list(read_samples_jsonl(path))
    assert info.value.record == sample.id and info.value.field == "type"


def test_qwen_records_with_image_tags_and_missing_fields(tmp_path: Path):
    sample = next(load_samples("demo"))
    record = sample_to_qwen(sample)
    tagged = {"id": sample.id, "conversations": [dict(turn) for turn in record["conversations"]]}
    tagged["conversations"][0]["value"] = f"Picture 1: <img>images/{sample.image}</img>\n{sample.instruction}"
    parsed = sample_from_qwen(tagged, file="train.json")
    assert (parsed.image, parsed.instruction, parsed.role, parsed.script) == (
        sample.image, sample.instruction, sample.role, sample.script,
    )  # fmt: skip
    assert parsed.other_role == sample.other_role and parsed.type == sample.type
    with pytest.raises(DataError) as info:
        sample_from_qwen({"id": "x_comment_COCO_0_1", "conversations": [{"from": "user"}]}, file="t.json")
    assert info.value.record == "x_comment_COCO_0_1" and info.value.field == "conversations"
    path = tmp_path / "RM-train.json"
    path.write_text(json.dumps([tagged, {"id": "bad", "conversations": "nope"}]))
    records = iter_conversation_records(path)
    assert next(records)["id"] == sample.id
    with pytest.raises(DataError, match="record bad, field 'conversations'"):
        next(records)


def test_demo_train_split_loads_as_conversation_records():
    records = list(iter_conversation_records(demo_root() / "data" / "train" / "train_demo.json"))
    test_dialogues = {s.id.rpartition("_")[0] for s in load_samples("demo")}
    built = {s.id for s in build_samples(demo_root()) if s.split == "in-distribution"}
    # Every in-distribution turn of a dialogue with no test sample: no test dialogue is trained on.
    assert {r["id"] for r in records} == {i for i in built if i.rpartition("_")[0] not in test_dialogues}
    assert len(records) == 6
    assert all(r["conversations"][1]["from"] == "assistant" for r in records)


def test_public_surface_of_mmrole_data():
    import types

    import mmrole.data as data

    public = {
        n for n, v in vars(data).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)
    }
    assert public - {"annotations"} == set(data.__all__)
    assert {
        "load_samples",
        "image_root",
        "build_samples",
        "load_characters",
        "load_dialogues",
        "demo_root",
    } <= public


def test_a_climbing_character_name_is_refused_and_its_file_never_read(linked_root: Path):
    roles = str(linked_root / "profiles" / "in-distribution" / "roles.json")
    with pytest.raises(DataError, match="path separator") as caught:
        load_characters(linked_root)
    assert (caught.value.file, caught.value.record, caught.value.field) == (
        roles,
        CLIMBING_NAME,
        "The Lantern Isles",
    )
    problems: list[Problem] = []
    characters = load_characters(linked_root, report=problems.append)
    assert CLIMBING_NAME not in characters and "Mira Vale" in characters
    assert [(p.kind, p.record) for p in problems] == [("unsafe-name", CLIMBING_NAME)]
    assert OUTSIDE_TEXT not in json.dumps([c.model_dump() for c in characters.values()])


@pytest.mark.parametrize("name", ["Otto/Brass", "..", "C:Otto", "Otto\0Brass", "Otto\\Brass"])
def test_names_that_cannot_be_file_names_are_refused(tmp_path: Path, name: str):
    root = copy_demo(tmp_path / "data")
    roles_file = root / "profiles" / "in-distribution" / "roles.json"
    roles = json.loads(roles_file.read_text())
    roles["The Lantern Isles"] += [name, "Dr. Who .. again"]  # dots inside a name are fine
    roles_file.write_text(json.dumps(roles))
    with pytest.raises(DataError, match="cannot name a file") as caught:
        load_characters(root)
    assert (caught.value.file, caught.value.record) == (str(roles_file), name)
    problems: list[Problem] = []
    assert "Dr. Who .. again" in load_characters(root, report=problems.append)
    assert [(p.kind, p.record) for p in problems if p.kind != "missing-profile"] == [("unsafe-name", name)]


def test_data_files_linking_out_of_the_root_are_never_read(linked_root: Path):
    problems: list[Problem] = []
    characters = load_characters(linked_root, report=problems.append)
    samples = list(build_samples(linked_root, characters=characters, report=problems.append))
    elsewhere = str(linked_root / LINK_DIALOGUES.with_name("Otto_Brass_elsewhere.json"))
    assert ("unsafe-path", elsewhere) in [(p.kind, p.file) for p in problems]
    assert OUTSIDE_TEXT not in json.dumps([s.model_dump() for s in samples])
    # The loader checks image paths as text; the links among them are refused when read.
    assert {s.image for s in samples if s.id.startswith("Mira_Vale_human-role-dialogue_links_")} == {
        "scenes/leak.png",
        "linked/secret.png",
        "scenes/alias.png",
        "mirror/01.png",
    }
    with pytest.raises(DataError, match="resolves outside") as caught:
        list(load_samples(linked_root / "data" / "test"))
    assert caught.value.file.endswith("human-role_leak_test.json")


def test_an_images_folder_linking_out_is_refused_and_one_inside_is_fine(
    tmp_path: Path, outside_secret: tuple[Path, bytes]
):
    data = tmp_path / "set"
    data.mkdir()
    (data / "samples.jsonl").write_text("")
    (data / "images").symlink_to(outside_secret[0].parent, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="--images"):
        image_root(data / "samples.jsonl")
    root = copy_demo(tmp_path / "data")
    (root / "images").rename(root / "real_images")
    (root / "images").symlink_to("real_images", target_is_directory=True)
    assert image_root(root) == root / "images"
    assert len(list(build_samples(root))) == len(list(build_samples(demo_root())))
