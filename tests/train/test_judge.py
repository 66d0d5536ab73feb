"""`mmrole train judge`: trajectories from a judge run folder and from RM_data, and training on them."""

from __future__ import annotations

import json

import pytest
from train_helpers import ask, smoke

from mmrole.errors import DataError
from mmrole.eval.results import review_record, write_run
from mmrole.prompts.judge import JUDGE_SYSTEM, judge_user_text
from mmrole.runs import RunFolder, StageInputs
from mmrole.schema import Sample
from mmrole.train import JudgeTrainConfig, train_judge
from mmrole.train.formatting import message_text
from mmrole.train.judge import judge_examples

SAMPLE = Sample(
    id="Iron_Man_comment_0_1",
    image="red.png",
    system="S",
    instruction="Speak as Iron Man.",
    reference="I am Iron Man.",
    role="Iron Man",
    script="The Avengers",
    other_role="a curious human",
    type="comment",
)
ANSWER = "Genius, billionaire."
REVIEW = "Both stay in character. [Scores]: (7, 8)"


@pytest.fixture()
def run_dir(tmp_path, data_dir):
    """A judge run: one sample, its answer, and reviews (two usable, one failed, one unscored)."""
    folder = tmp_path / "judge-run"
    reviews = [
        review_record(sample_id=SAMPLE.id, metric="Fluency", text=REVIEW, score=(7, 8)),
        review_record(
            sample_id=SAMPLE.id, metric="Fluency", text="A wins. [Scores]: (9, 6)", score=(9, 6), order="BA"
        ),
        review_record(sample_id=SAMPLE.id, metric="Coherency", text="", score=None, error="timeout"),
        review_record(sample_id=SAMPLE.id, metric="Coherency", text="no scores here", score=None),
    ]
    write_run(
        RunFolder(folder),
        [SAMPLE],
        [{"id": SAMPLE.id, "answer": ANSWER, "error": None, "meta": {}}],
        inputs=StageInputs("openai:agent"),
        summary={"data": {"source": "x", "image_root": str(data_dir / "images")}},
        reviews=reviews,
        judge_inputs=StageInputs("openai:judge"),
    )
    return folder


def config_for(data, tmp_path, **options):
    return smoke(
        JudgeTrainConfig, model="unused", data=str(data), output_dir=str(tmp_path / "out"), **options
    )


def test_run_folder_trajectories_rebuild_the_judge_prompt(run_dir, tmp_path, data_dir):
    examples = judge_examples(config_for(run_dir, tmp_path))
    assert [e["id"] for e in examples] == [f"{SAMPLE.id}::Fluency::AB::0", f"{SAMPLE.id}::Fluency::BA::0"]
    ab, ba = examples
    common = dict(
        question=SAMPLE.instruction,
        role="Iron Man",
        script="The Avengers",
        other_role="a curious human",
        metric="Fluency",
    )
    assert message_text(ab["messages"][0]) == JUDGE_SYSTEM
    assert message_text(ab["messages"][1]) == judge_user_text(
        answer_a=ANSWER, answer_b=SAMPLE.reference, **common
    )
    assert message_text(ba["messages"][1]) == judge_user_text(
        answer_a=SAMPLE.reference, answer_b=ANSWER, **common
    )
    assert message_text(ab["messages"][2]) == REVIEW
    assert ab["images"] == [str(data_dir / "images" / "red.png")]
    # The failed review never trains; the unscored one only when scores are not required.
    with pytest.raises(DataError, match="no training examples"):
        judge_examples(config_for(run_dir, tmp_path, metrics="Coherency"))
    (unscored,) = judge_examples(config_for(run_dir, tmp_path, metrics="Coherency", require_score=False))
    assert message_text(unscored["messages"][2]) == "no scores here"
    with pytest.raises(DataError, match="unknown metric"):
        judge_examples(config_for(run_dir, tmp_path, metrics="Politeness"))


def test_rm_data_trajectories_and_metric_filter(tmp_path, data_dir):
    prompts = {
        metric: judge_user_text(
            question="Q",
            answer_a="A",
            answer_b="B",
            role="Iron Man",
            script="The Avengers",
            other_role="a curious human",
            metric=metric,
        )
        for metric in ("Fluency", "Tone Consistency")
    }
    records = [
        {
            "id": f"rm{i}",
            "image": "images/red.png",
            "conversations": [{"from": "user", "value": text}, {"from": "assistant", "value": REVIEW}],
        }
        for i, text in enumerate(prompts.values())
    ]
    records.append(
        {
            "id": "rm-unscored",
            "conversations": [{"from": "user", "value": "x"}, {"from": "assistant", "value": "no pair"}],
        }
    )
    path = data_dir / "rm_train.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    examples = judge_examples(config_for(path, tmp_path))
    assert [e["id"] for e in examples] == ["rm0", "rm1"]  # the unscored review is left out
    assert message_text(examples[0]["messages"][0]) == JUDGE_SYSTEM  # RM_data has no system: the judge's
    only_tone = judge_examples(config_for(path, tmp_path, metrics="Tone Consistency"))
    assert [e["id"] for e in only_tone] == ["rm1"]


def test_judge_training_lowers_the_loss_and_reloads(run_dir, tiny_vlm, tmp_path, data_dir):
    config = smoke(
        JudgeTrainConfig,
        model=str(tiny_vlm),
        data=str(run_dir),
        output_dir=str(tmp_path / "judge"),
        max_length=1024,
        max_steps=12,
        learning_rate=1e-2,
        lr_scheduler_type="constant",
    )
    result = train_judge(config)
    print("judge losses:", [round(loss, 3) for loss in result.losses])
    assert result.global_step == 12
    assert result.losses[-1] < 0.5 * result.losses[0]
    summary = json.loads((tmp_path / "judge" / "mmrole_train.json").read_text())
    assert summary["method"] == "judge"
    prompt = judge_user_text(
        question=SAMPLE.instruction,
        answer_a=ANSWER,
        answer_b=SAMPLE.reference,
        role="Iron Man",
        script="The Avengers",
        other_role="a curious human",
        metric="Fluency",
    )
    reply = ask(result.model_dir, data_dir / "images" / "red.png", prompt, system=JUDGE_SYSTEM, max_tokens=24)
    assert isinstance(reply, str) and reply
