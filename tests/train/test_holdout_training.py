"""Every training input holds the test set out: `train sft` and `train judge` (feedback and align:
tests/align/test_align_holdout.py).

The data root is a copy of the reference release with MMRole's In-Test files as its data/test/
(Iron Man's dialogues, every out-of-distribution one); see tests/data_roots.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from train_helpers import smoke

from data_roots import build_root_with_test_split
from mmrole.data import load_samples
from mmrole.data.holdout import dialogue_id, training_samples
from mmrole.errors import DataError
from mmrole.eval.results import review_record, write_run
from mmrole.runs import RunFolder, StageInputs
from mmrole.train import JudgeTrainConfig, SFTConfig
from mmrole.train.judge import judge_examples
from mmrole.train.sft import read_sft_data

HOLDOUT_LOG = "mmrole.data.holdout"


@pytest.fixture(scope="module")
def root(small_root_with_test_split: Path) -> Path:
    return small_root_with_test_split


@pytest.fixture(scope="module")
def test_ids(root: Path) -> set[str]:
    return {s.id for s in load_samples(root / "data" / "test")}


def _held_out(ids: set[str], test_ids: set[str]) -> set[str]:
    """The ids among ``ids`` that are test samples or turns of test dialogues."""
    dialogues = {dialogue_id(i) for i in test_ids}
    return {i for i in ids if i in test_ids or dialogue_id(i) in dialogues}


def test_sft_on_a_data_root_leaves_the_test_set_out_unless_asked(root, test_ids, tmp_path, caplog) -> None:
    config = smoke(
        SFTConfig, model="unused", data=str(root), output_dir=str(tmp_path / "o"), missing_images="drop"
    )
    with caplog.at_level(logging.WARNING, logger=HOLDOUT_LOG):
        ids = {e["id"] for e in read_sft_data(config)}
    assert not _held_out(ids, test_ids)
    assert "left out of training: 3 test samples, 18 other turns of test dialogues" in caplog.text
    assert "samples of out-of-distribution characters" in caplog.text

    caplog.clear()
    config = smoke(
        SFTConfig,
        model="unused",
        data=str(root),
        output_dir=str(tmp_path / "o"),
        missing_images="drop",
        include_test=True,
    )
    with caplog.at_level(logging.WARNING, logger=HOLDOUT_LOG):
        ids = {e["id"] for e in read_sft_data(config)}
    assert len(ids & test_ids) == 3 and len(_held_out(ids, test_ids)) == 3 + 18
    assert "warning: --include-test" in caplog.text and "contaminated" in caplog.text


def test_sft_on_a_training_file_of_the_root_drops_test_records_and_dialogues(
    tmp_path, mmrole_data_root, in_test_root, caplog
) -> None:
    root = build_root_with_test_split(tmp_path / "root", mmrole_data_root, in_test_root, ())
    test_id = next(iter(load_samples(root / "data" / "test"))).id
    turn = {"from": "user", "value": "Q"}, {"from": "assistant", "value": "A"}
    records = [
        {"id": test_id, "conversations": list(turn)},  # a test sample
        {"id": dialogue_id(test_id), "conversations": list(turn) * 2},  # its whole dialogue, multi-turn
        {"id": "Penny_comment_COCO_0", "conversations": list(turn)},  # an out-of-distribution character
        {"id": "Iron_Man_comment_COCO_99999", "conversations": list(turn)},
    ]
    (root / "data" / "train").mkdir()
    (root / "data" / "train" / "train.json").write_text(json.dumps(records))
    config = smoke(
        SFTConfig, model="unused", data=str(root / "data" / "train" / "train.json"), output_dir="o"
    )
    assert [e["id"] for e in read_sft_data(config)] == ["Iron_Man_comment_COCO_99999"]
    assert "1 test samples, 1 other turns of test dialogues, 1 samples of out-of-distribution" in caplog.text
    with pytest.raises(DataError, match=r"no training examples \(left out of training: 216 test samples"):
        read_sft_data(smoke(SFTConfig, model="unused", data=str(root / "data" / "test"), output_dir="o"))


def test_judge_training_leaves_out_reviews_of_test_samples(root, test_ids, tmp_path, caplog) -> None:
    test_samples = list(load_samples(root / "data" / "test"))[:2]
    clean = training_samples(root)[0][0]
    run = tmp_path / "run"
    samples = [*test_samples, clean]
    write_run(
        RunFolder(run),
        samples,
        [{"id": s.id, "answer": "An answer.", "error": None, "meta": {}} for s in samples],
        inputs=StageInputs("openai:agent"),
        summary={"data": {"source": str(root / "data" / "test" / "in-distribution")}},
        judge_inputs=StageInputs("openai:judge"),
        reviews=[
            review_record(sample_id=s.id, metric="Fluency", text="Fine. [Scores]: (6, 8)", score=(6, 8))
            for s in samples
        ],
    )
    config = smoke(
        JudgeTrainConfig, model="unused", data=str(run), output_dir=str(tmp_path / "o"), missing_images="drop"
    )
    with caplog.at_level(logging.WARNING, logger=HOLDOUT_LOG):
        examples = judge_examples(config)
    assert [e["id"].split("::")[0] for e in examples] == [clean.id]
    assert "2 test samples" in caplog.text
    config.include_test = True
    assert len(judge_examples(config)) == 3
