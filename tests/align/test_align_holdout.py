"""`mmrole feedback` and `mmrole align` hold the test set out of their prompts (the trainers:
tests/train/test_holdout_training.py).

The data root is a copy of the reference release with MMRole's In-Test files as its data/test/
(Iron Man's dialogues, every out-of-distribution one); see tests/data_roots.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from feedback_helpers import keyword_judge, scripted_policy
from typer.testing import CliRunner

from mmrole.align.feedback import generate_feedback_sync, prompt_slice
from mmrole.align.feedback_config import FeedbackOptions, parse_weights
from mmrole.align.loop_config import AlignConfig
from mmrole.cli import app
from mmrole.data import load_samples
from mmrole.data.holdout import dialogue_id, training_samples
from mmrole.engine.options import EngineOptions
from mmrole.errors import ConfigError, DataError
from mmrole.testing.server import LocalOpenAIServer


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


def _feedback_options(**overrides) -> FeedbackOptions:
    base = dict(
        n_samples=2,
        limit=4,
        weights=parse_weights("Fluency=1"),
        engine=EngineOptions(progress=False),
        missing_image="omit",
    )
    return FeedbackOptions(**{**base, **overrides})


def test_feedback_prompts_leave_the_test_set_out_and_record_it(root, test_ids, tmp_path) -> None:
    prompts, guard = prompt_slice(root, 0, None)
    assert prompts and not _held_out({s.id for s in prompts}, test_ids)
    assert all(s.split == "in-distribution" for s in prompts)
    with LocalOpenAIServer(keyword_judge()) as server:
        generate_feedback_sync(
            scripted_policy(lambda s, k: "Ahoy" + " sparkle" * k), f"openai:j@{server.base_url}", str(root),
            tmp_path / "fb", _feedback_options(),
        )  # fmt: skip
    info = json.loads((tmp_path / "fb" / "run.json").read_text())
    assert info["data"]["held_out"] == dict(guard.excluded) and info["data"]["held_out"]["test"] == 3

    kept, guard = prompt_slice(
        root / "data" / "test", 0, None, _feedback_options(include_test=True).holdout()
    )
    assert {s.id for s in kept} == test_ids and guard.warnings()


def test_feedback_cli_on_a_test_set_refuses_in_one_line(root) -> None:
    result = CliRunner().invoke(
        app,
        [
            "feedback",
            "--policy",
            "demo",
            "--judge",
            "demo",
            "--data",
            str(root / "data" / "test"),
            "--out",
            "x",
        ],
    )
    assert result.exit_code != 0 and isinstance(result.exception, DataError)
    assert "no prompts" in str(result.exception) and "216 test samples" in str(result.exception)
    assert "--include-test" in str(result.exception)


def test_align_evaluates_on_the_test_set_never_the_training_prompts(root, tmp_path) -> None:
    config = AlignConfig(model="m", data=str(root), judge="demo", output_dir="o")
    assert config.test_data == str(root / "data" / "test")
    assert config.test_data in config.feedback_holdout().test_data
    jsonl = tmp_path / "prompts.jsonl"
    jsonl.write_text(json.dumps(training_samples(root)[0][0].model_dump()) + "\n")
    with pytest.raises(ConfigError, match="--eval-data is required"):
        AlignConfig(model="m", data=str(jsonl), judge="demo", output_dir="o")
    # An explicit test set is held out of the prompts: the same file leaves nothing to train on.
    same = AlignConfig(model="m", data=str(jsonl), judge="demo", output_dir="o", eval_data=str(jsonl))
    with pytest.raises(DataError, match="no prompts"):
        prompt_slice(same.data, 0, None, same.feedback_holdout().holdout())
    result = CliRunner().invoke(
        app,
        [
            "align",
            "--model",
            str(tmp_path),
            "--data",
            str(jsonl),
            "--judge",
            "demo",
            "--out",
            str(tmp_path / "a"),
        ],
    )
    assert result.exit_code != 0 and "--eval-data is required" in str(result.exception)
