"""What training leaves out of a source: test samples, their dialogues, out-of-distribution characters."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from data_roots import build_root_with_test_split
from mmrole.data import load_samples
from mmrole.data.holdout import Holdout, TrainingSource, default_test_set, dialogue_id, training_samples
from mmrole.schema import Sample


@pytest.fixture(scope="module")
def full_root(tmp_path_factory: pytest.TempPathFactory, mmrole_data_root: Path, in_test_root: Path) -> Path:
    """The whole reference release with MMRole's In-Test files as its data/test/."""
    return build_root_with_test_split(
        tmp_path_factory.mktemp("full") / "MMRole-Data", mmrole_data_root, in_test_root
    )


def _test_ids(root: Path) -> set[str]:
    return {s.id for s in load_samples(root / "data" / "test")}


def test_no_test_sample_or_dialogue_and_no_ood_character_of_a_data_root_reaches_training(
    full_root: Path, reference_sample_ids: list[str]
) -> None:
    test_ids = _test_ids(full_root)
    test_dialogues = {dialogue_id(i) for i in test_ids}
    naive = set(reference_sample_ids)  # what building samples from the root gives
    assert len(test_ids) == 216 and len(naive & test_ids) == 191  # the contamination there was

    guard = TrainingSource(str(full_root))
    kept, ood = set(), 0
    for sample in guard.samples():
        kept.add(sample.id)
        ood += sample.split == "out-of-distribution"
    assert not kept & test_ids
    assert not {dialogue_id(i) for i in kept} & test_dialogues
    assert ood == 0
    # Counted: every test sample the root holds, every other turn of their dialogues, the OOD ones.
    other_turns = {i for i in naive - test_ids if dialogue_id(i) in test_dialogues}
    assert guard.excluded["test"] == 191 and guard.excluded["test-dialogue"] == len(other_turns) > 0
    assert guard.excluded["ood"] > 0
    assert len(kept) == len(naive) - sum(guard.excluded.values())
    assert "191 test samples" in guard.summary() and "--include-test / --include-ood" in guard.summary()


def test_include_test_and_include_ood_keep_them_with_a_warning(
    small_root_with_test_split: Path, caplog
) -> None:
    root = small_root_with_test_split
    test_ids = _test_ids(root)
    default, guard = training_samples(root)
    assert not {s.id for s in default} & test_ids and guard.warnings() == []
    with caplog.at_level(logging.WARNING, logger="mmrole.data.holdout"):
        guard.report()
    assert "left out of training: 3 test samples, 18 other turns of test dialogues" in caplog.text

    caplog.clear()
    both, guard = training_samples(root, include_test=True, include_ood=True)
    ids = {s.id for s in both}
    assert len(ids & test_ids) == 3  # Iron Man's three In-Test samples
    assert any(s.split == "out-of-distribution" for s in both)
    assert len(both) == len(default) + 3 + 18 + guard.included["ood"]
    with caplog.at_level(logging.WARNING, logger="mmrole.data.holdout"):
        guard.report()
    assert (
        "warning: --include-test: 3 test samples, 18 other turns of test dialogues are in the training"
        in caplog.text
    )
    assert "are contaminated" in caplog.text and "warning: --include-ood" in caplog.text


def test_a_root_without_data_test_says_so_and_test_data_names_the_test_set(
    tmp_path: Path, small_root_with_test_split: Path, in_test_root: Path
) -> None:
    import shutil

    root = tmp_path / "release"
    shutil.copytree(small_root_with_test_split, root, ignore=shutil.ignore_patterns("data"))
    bare, guard = training_samples(root)
    assert any("has no data/test/" in w and "--test-data" in w for w in guard.warnings())
    assert {s.id for s in bare} & _test_ids(small_root_with_test_split)  # nothing to recognise them by

    released = in_test_root / "mmrole-agent"  # the release's own test files, outside the root
    named, guard = training_samples(root, test_data=[str(released)])
    assert not {s.id for s in named} & {s.id for s in load_samples(released)}
    assert guard.warnings() == [] and guard.excluded["test"] == 3


def _sample(sample_id: str, **fields) -> Sample:
    base = dict(image="a.png", system="S", instruction="I", reference="R", role="Iron Man", script="X")
    return Sample(id=sample_id, other_role="a curious human", type="comment", **{**base, **fields})


def test_reasons_for_sample_ids_dialogue_records_and_characters() -> None:
    holdout = Holdout(
        test_ids=frozenset({"Iron_Man_comment_COCO_3_1"}),
        test_dialogues=frozenset({"Iron_Man_comment_COCO_3"}),
        ood_stems=frozenset({"Sheldon_Cooper"}),
    )
    assert dialogue_id("Iron_Man_comment_COCO_3_1") == "Iron_Man_comment_COCO_3"
    assert holdout.reason("Iron_Man_comment_COCO_3_1") == "test"
    assert holdout.reason("Iron_Man_comment_COCO_3_5") == "test-dialogue"  # a later turn
    assert holdout.reason("Iron_Man_comment_COCO_3") == "test-dialogue"  # a multi-turn training record
    assert (
        holdout.reason("Iron_Man_comment_COCO_30_1") is None
        and holdout.reason("Iron_Man_comment_COCO_31") is None
    )
    assert holdout.reason("Sheldon_Cooper_comment_COCO_0_1") == "ood"  # the owner, from the id
    assert holdout.reason("x", roles=["Sheldon Cooper"]) == "ood"
    assert holdout.reason("x", split="out-of-distribution") == "ood"


def test_a_test_set_given_as_training_data_is_held_out_whole(tmp_path: Path, in_test_root: Path) -> None:
    released = in_test_root / "gpt-4-turbo"  # outside any data root, but an in-test folder
    kept, guard = training_samples(released)
    assert kept == [] and guard.excluded["test"] == 216
    jsonl = tmp_path / "samples.jsonl"
    jsonl.write_text(json.dumps(_sample("s_comment_0_1").model_dump()) + "\n")
    kept, guard = training_samples(jsonl)  # a samples file of no root: nothing to hold out
    assert [s.id for s in kept] == ["s_comment_0_1"] and not guard.excluded


def test_demo_as_a_training_source_is_its_training_split() -> None:
    kept, guard = training_samples("demo")
    test = {s.id for s in load_samples("demo")}
    assert len(kept) == 6 and not {s.id for s in kept} & test and not guard.excluded
    assert default_test_set("demo") == "demo"
