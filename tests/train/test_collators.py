"""The SFT collator puts the loss on the assistant's tokens only, with every processor family."""

from __future__ import annotations

import logging

import pytest

from mmrole.errors import DataError
from mmrole.train.collators import IGNORE_INDEX, ChatCollator
from mmrole.train.examples import load_examples, sft_examples

FAMILIES = ("qwen2vl", "llava", "idefics3", "causal_lm")


@pytest.fixture(scope="module")
def examples(data_dir):
    return load_examples(
        str(data_dir / "train.json"), lambda source, guard: sft_examples(source, guard=guard)
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_labels_are_exactly_the_assistant_turns(family, tiny_processors, examples):
    processor = tiny_processors[family]
    tokenizer = getattr(processor, "tokenizer", processor)
    batch = ChatCollator(processor, max_length=None)(examples)

    assert batch["labels"].shape == batch["input_ids"].shape
    learned = [tokenizer.decode([t for t in row.tolist() if t != IGNORE_INDEX]) for row in batch["labels"]]
    # Both answers of the multi-turn record, each with the end-of-turn marker (so the model learns to stop).
    assert learned == [
        "I am Iron Man.<|im_end|>\n",
        "The sky is blue.<|im_end|>\nGoodbye for now!<|im_end|>\n",
    ]
    # Where a label is kept, it is the input token itself; padding is never learned.
    kept = batch["labels"] != IGNORE_INDEX
    assert (batch["labels"][kept] == batch["input_ids"][kept]).all()
    assert not (kept & (batch["attention_mask"] == 0)).any()
    if family != "causal_lm":
        assert "pixel_values" in batch
        image_token = tokenizer.convert_tokens_to_ids("<|image_pad|>" if family == "qwen2vl" else "<image>")
        assert not kept[batch["input_ids"] == image_token].any()


def test_truncation_through_image_tokens_is_a_clear_error(tiny_processors, examples):
    with pytest.raises(DataError, match=r"record r1.*max-length"):
        ChatCollator(tiny_processors["qwen2vl"], max_length=6)(examples[:1])


def test_truncation_that_cuts_off_every_answer_warns(tiny_processors, examples, caplog):
    batch_full = ChatCollator(tiny_processors["qwen2vl"], max_length=None)(examples[:1])
    prompt_length = int((batch_full["labels"][0] != IGNORE_INDEX).nonzero()[0])  # where the answer starts
    with caplog.at_level(logging.WARNING, logger="mmrole.train.collators"):
        batch = ChatCollator(tiny_processors["qwen2vl"], max_length=prompt_length)(examples[:1])
    assert batch["input_ids"].shape[1] == prompt_length
    assert (batch["labels"] == IGNORE_INDEX).all()
    assert "r1" in caplog.text and "trains nothing" in caplog.text
