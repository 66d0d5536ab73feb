"""`mmrole train dpo` on the tiny VLM: the chosen-vs-rejected reward margin rises."""

from __future__ import annotations

import pytest
from train_helpers import ask, changed, smoke, snapshot

from mmrole.errors import DataError
from mmrole.train import DPOConfig, preference_record, train_dpo, write_preferences

CHOSEN = "I am Iron Man, and this suit is the best thing I have ever built."
REJECTED = "The sky is blue, the grass is green."


@pytest.fixture()
def pairs(tmp_path, data_dir):
    """Four pairs; image paths relative to --image-root."""
    records = [
        preference_record(
            f"p{i}",
            system="You are Iron Man.",
            instruction=f"What do you see? {i}",
            chosen=CHOSEN,
            rejected=REJECTED,
            images=["red.png"],
        )
        for i in range(4)
    ]
    path = tmp_path / "pairs.jsonl"
    write_preferences(path, records)
    return path


def dpo_config(tiny_vlm, pairs, data_dir, out, **options):
    return smoke(
        DPOConfig,
        model=str(tiny_vlm),
        data=str(pairs),
        image_root=str(data_dir / "images"),
        output_dir=str(out),
        per_device_train_batch_size=4,
        **{"learning_rate": 1e-3, **options},
    )


def margins_and_accuracies(result):
    logged = [record for record in result.log_history if "rewards/margins" in record]
    return [r["rewards/margins"] for r in logged], [r["rewards/accuracies"] for r in logged]


def test_full_dpo_raises_the_reward_margin(tiny_vlm, pairs, data_dir, tmp_path):
    seen = {}

    def before_training(trainer):
        seen["model"], seen["before"] = trainer.model, snapshot(trainer.model)

    result = train_dpo(
        dpo_config(tiny_vlm, pairs, data_dir, tmp_path / "run", max_steps=6), on_trainer=before_training
    )

    margins, accuracies = margins_and_accuracies(result)
    print("dpo margins:", [round(m, 3) for m in margins], "accuracies:", accuracies)
    assert len(margins) == 6
    assert margins[0] == pytest.approx(0.0, abs=1e-4)  # step 1: the policy is still the reference
    assert margins[-1] > 0.2 and accuracies[-1] == 1.0
    assert result.losses[-1] < result.losses[0]
    assert changed(seen["before"], seen["model"])
    assert isinstance(ask(result.model_dir, data_dir / "images" / "red.png", "What do you see? 0"), str)


def test_lora_dpo_with_an_sft_term(tiny_vlm, pairs, data_dir, tmp_path):
    config = dpo_config(
        tiny_vlm,
        pairs,
        data_dir,
        tmp_path / "run",
        max_steps=6,
        use_lora=True,
        lora_r=8,
        learning_rate=2e-2,
        sft_weight=0.5,
    )
    result = train_dpo(config)
    margins, _ = margins_and_accuracies(result)
    print("lora dpo margins:", [round(m, 3) for m in margins])
    assert margins[-1] > margins[0] + 0.05
    assert (tmp_path / "run" / "adapter" / "adapter_config.json").is_file()
    assert (tmp_path / "run" / "model.safetensors").is_file()


def test_missing_images_stop_before_training(tiny_vlm, pairs, tmp_path):
    config = smoke(DPOConfig, model=str(tiny_vlm), data=str(pairs), output_dir=str(tmp_path / "run"))
    with pytest.raises(DataError, match=r"record p0.*image not found"):
        train_dpo(config)
    assert not (tmp_path / "run").exists()


def test_text_only_model_dpo_leaves_the_images_out(tiny_processors, pairs, data_dir, tmp_path, caplog):
    lm = tiny_processors["causal_lm"].name_or_path
    config = smoke(
        DPOConfig,
        model=lm,
        data=str(pairs),
        image_root=str(data_dir / "images"),
        output_dir=str(tmp_path / "run"),
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        max_steps=4,
    )
    result = train_dpo(config)
    margins, _ = margins_and_accuracies(result)
    assert margins[-1] > margins[0]
    assert "text-only model" in caplog.text


def test_a_prompt_that_fills_max_length_is_an_error_not_a_silent_no_op(tiny_vlm, data_dir, tmp_path):
    """TRL keeps the start of a too-long sequence: the answers would vanish and DPO would learn nothing."""
    long_pairs = tmp_path / "long.jsonl"
    write_preferences(
        long_pairs,
        [
            preference_record(
                "long-0",
                system="You are Iron Man.",
                instruction="profile " * 400,
                chosen=CHOSEN,
                rejected=REJECTED,
                images=["red.png"],
            )
        ],
    )
    config = dpo_config(tiny_vlm, long_pairs, data_dir, tmp_path / "run", max_steps=1, max_length=64)
    with pytest.raises(DataError, match="record long-0.*max_length=64"):
        train_dpo(config)
