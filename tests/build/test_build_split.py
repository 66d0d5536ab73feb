"""`mmrole build split`: In-Test and Out-Test files in MMRole's format, training files without them,
prompts byte-identical to evaluation's, and the contamination guard holding on built data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from curate_helpers import curated_root, dialogue_file, record, write_records

from mmrole.build.split import SplitOptions, build_split
from mmrole.data.characters import load_characters
from mmrole.data.dialogues import load_dialogues
from mmrole.data.holdout import TrainingSource, dialogue_id
from mmrole.data.samples import samples_of_dialogue
from mmrole.data.sources import load_samples
from mmrole.data.validate import validate
from mmrole.errors import ConfigError
from mmrole.eval.answer import load_test_samples


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return curated_root(tmp_path / "root", per_kind=3)


def ids_in(folder: Path) -> set[str]:
    return {record["id"] for path in folder.rglob("*.json") for record in json.loads(path.read_text("utf-8"))}


def test_the_split_writes_mmroles_files_and_holds_out_whole_dialogues(root: Path):
    summary = build_split(SplitOptions(root=root, in_test_per_type=1, out_test_per_type=2))
    test, train = root / "data" / "test", root / "data" / "train"
    assert sorted(p.relative_to(root).as_posix() for p in (root / "data").rglob("*.json")) == [
        "data/test/in-distribution/comment_test.json",
        "data/test/in-distribution/human-role_test.json",
        "data/test/in-distribution/inter-role_test.json",
        "data/test/out-of-distribution/comment_test.json",
        "data/test/out-of-distribution/human-role_test.json",
        "data/train/comment_train.json",
        "data/train/human-role_train.json",
        "data/train/inter-role_train.json",
    ]
    # one test dialogue per seen character and type, one turn each (MMRole's In-Test); two per type for
    # the held-out character
    assert summary.tests == {
        "in-distribution": {"comment": 3, "human-role": 3, "inter-role": 2},
        "out-of-distribution": {"comment": 2, "human-role": 2},
    }
    in_test = ids_in(test / "in-distribution")
    assert {dialogue_id(i).rsplit("_", 3)[0] for i in in_test} == {"Mira_Vale", "Otto_Brass", "Nadia_Okafor"}
    assert {dialogue_id(i).split("_")[0] for i in ids_in(test / "out-of-distribution")} == {"小月"}
    # training: every turn of every other in-distribution dialogue, no turn of a test dialogue, no 小月
    characters = load_characters(root)
    dialogues = list(load_dialogues(root, characters=characters))
    test_dialogues = {dialogue_id(i) for i in ids_in(test)}
    expected = {
        s.id
        for d in dialogues
        if d.id not in test_dialogues and characters[d.role].split == "in-distribution"
        for s in samples_of_dialogue(d, characters)
    }
    assert ids_in(train) == expected
    assert not {dialogue_id(i) for i in ids_in(train)} & test_dialogues
    assert not any("小月" in i for i in ids_in(train))
    assert summary.left_out == {"test": 12, "held-out": 12 - 4}
    assert summary.train == {"comment": 15, "human-role": 15 * 3, "inter-role": 10 * 6}
    assert validate(root).ok


def test_test_files_hold_the_samples_evaluation_builds_byte_for_byte(root: Path):
    build_split(SplitOptions(root=root))
    characters = load_characters(root)
    built = {
        s.id: s
        for d in load_dialogues(root, characters=characters)
        for s in samples_of_dialogue(d, characters)
    }
    loaded = load_test_samples(root / "data" / "test")
    assert len(loaded) == 12
    for sample in loaded:
        assert sample.model_dump() == built[sample.id].model_dump(), sample.id
    assert {s.split for s in loaded} == {"in-distribution", "out-of-distribution"}
    assert any(s.language == "Chinese" for s in loaded)
    for sample in load_samples(root / "data" / "train"):
        assert sample.model_dump(exclude={"split"}) == built[sample.id].model_dump(exclude={"split"})


def test_the_contamination_guard_holds_for_built_data(root: Path):
    build_split(SplitOptions(root=root, test_turns="all"))
    guard = TrainingSource(str(root / "data" / "train"))
    kept = list(guard.samples())
    assert guard.holdout.test_ids == ids_in(root / "data" / "test") and guard.holdout.ood_stems == {"小月"}
    assert kept and guard.excluded == {}  # nothing leaks, so the guard leaves nothing out
    whole = TrainingSource(str(root))
    assert {s.id for s in whole.samples()} == {s.id for s in kept}
    assert set(whole.excluded) == {"test", "test-dialogue", "ood"}


def test_test_turns_all_takes_every_turn_of_the_character(root: Path):
    summary = build_split(SplitOptions(root=root, test_turns="all", in_test_per_type=1, out_test_per_type=1))
    assert summary.tests["in-distribution"] == {"comment": 3, "human-role": 9, "inter-role": 6}
    roles = {
        json.loads(p.read_text("utf-8"))[0]["role"]
        for p in (root / "data" / "test").rglob("inter-role_test.json")
    }
    assert roles <= {"Mira Vale", "Otto Brass"}
    for sample in json.loads(
        (root / "data" / "test" / "in-distribution" / "inter-role_test.json").read_text("utf-8")
    ):
        assert sample["id"].startswith(sample["role"].replace(" ", "_"))  # the dialogue owner's turns


def test_the_choice_is_seeded_and_a_rerun_changes_nothing(root: Path, tmp_path: Path):
    build_split(SplitOptions(root=root, seed=1))
    first = ids_in(root / "data" / "test")
    again = build_split(SplitOptions(root=root, seed=1))
    assert again.skipped == len(again.outputs) == 8
    other = curated_root(tmp_path / "other", per_kind=3)
    build_split(SplitOptions(root=other, seed=1))
    assert ids_in(other / "data" / "test") == first
    seeds = set()
    for seed in range(2, 6):
        build_split(SplitOptions(root=other, seed=seed, overwrite=True))
        seeds.add(frozenset(ids_in(other / "data" / "test")))
    assert len(seeds) > 1


def test_another_split_is_not_overwritten_without_overwrite(root: Path):
    build_split(SplitOptions(root=root))
    before = (root / "data" / "train" / "comment_train.json").read_bytes()
    with pytest.raises(ConfigError, match=r"comment_test\.json holds another split; pass --overwrite"):
        build_split(SplitOptions(root=root, seed=7, in_test_per_type=2))
    assert (root / "data" / "train" / "comment_train.json").read_bytes() == before
    summary = build_split(SplitOptions(root=root, seed=7, in_test_per_type=2, overwrite=True))
    assert summary.tests["in-distribution"]["comment"] == 6


def test_files_a_new_split_no_longer_writes_are_removed_with_overwrite(root: Path):
    build_split(SplitOptions(root=root))
    stale = root / "data" / "test" / "out-of-distribution" / "human-role_test.json"
    assert stale.exists()
    build_split(SplitOptions(root=root, out_test_per_type=0, overwrite=True))
    assert not (root / "data" / "test" / "out-of-distribution").exists() or not list(
        (root / "data" / "test" / "out-of-distribution").glob("*.json")
    )


def test_bad_options_are_one_line(root: Path):
    with pytest.raises(ConfigError, match="--test-turns some: choose one or all"):
        build_split(SplitOptions(root=root, test_turns="some"))
    with pytest.raises(ConfigError, match="must be 0 or more"):
        build_split(SplitOptions(root=root, in_test_per_type=-1))


def test_a_dialogue_with_a_held_out_partner_is_in_neither_in_test_nor_training(root: Path):
    talk = record("Nadia Okafor", "human-role", "COCO", 0)
    talk["id"] = "Nadia_Okafor_role-role-dialogue_COCO_0"
    for number, turn in enumerate(talk["conversations"]):
        turn["role"] = "小月" if number % 2 == 0 else "Nadia Okafor"
    write_records(dialogue_file(root, "Nadia Okafor", "inter-role", "COCO"), [talk])
    summary = build_split(SplitOptions(root=root))
    assert summary.tests["in-distribution"]["inter-role"] == 2  # Mira's and Otto's, not Nadia's
    assert not {i for i in ids_in(root / "data") if i.startswith(talk["id"])}
    assert summary.left_out["held-out"] == 12 - 4 + 1
