"""Pure formatting: records to chat messages, assistant spans, token masks and expansion alignment."""

from __future__ import annotations

import pytest

from mmrole.errors import DataError
from mmrole.train.formatting import (
    align_to_expanded,
    assistant_spans,
    conversation_example,
    drop_images,
    message_text,
    prompt_completion_example,
    text_message,
    token_mask_from_offsets,
)


def chatml(messages, add_generation_prompt):
    """A ChatML renderer like the tiny models' template, images as <image>."""
    out = ""
    for m in messages:
        parts = m["content"] if isinstance(m["content"], list) else [{"type": "text", "text": m["content"]}]
        body = "".join("<image>" if p["type"] == "image" else p["text"] for p in parts)
        out += f"<|im_start|>{m['role']}\n{body}<|im_end|>\n"
    return out + ("<|im_start|>assistant\n" if add_generation_prompt else "")


def test_qwen_record_keeps_every_turn_and_maps_speakers():
    record = {
        "id": "x",
        "image": "COCO/a.jpg",
        "system": "S",
        "conversations": [
            {"from": "human", "value": "q1"},
            {"from": "gpt", "value": "a1"},
            {"from": "user", "value": "q2"},
            {"from": "assistant", "value": "a2"},
        ],
    }
    example = conversation_example(record, file="f.json")
    assert [m["role"] for m in example["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    assert example["images"] == ["COCO/a.jpg"]
    # The image is shown once, at the start of the first user turn.
    assert example["messages"][1]["content"][0] == {"type": "image"}
    assert all(p["type"] == "text" for m in example["messages"][2:] for p in m["content"])
    assert message_text(example["messages"][4]) == "a2"


def test_qwen_vl_image_tag_becomes_the_image_and_default_system_applies():
    from mmrole.data.qwen import split_image_tag

    record = {
        "id": "t",
        "conversations": [
            {"from": "user", "value": "Picture 1: <img>images/COCO/b.jpg</img>\nDescribe."},
            {"from": "assistant", "value": "ok"},
        ],
    }
    example = conversation_example(
        record, file="f.json", default_system="JUDGE", split_image_tag=split_image_tag
    )
    assert example["images"] == ["COCO/b.jpg"]
    assert message_text(example["messages"][0]) == "JUDGE"
    assert message_text(example["messages"][1]) == "Describe."


@pytest.mark.parametrize(
    ("conversations", "field"),
    [
        ([{"from": "narrator", "value": "x"}], "conversations[0]"),
        ([{"from": "user", "value": 3}], "conversations[0].value"),
        ([{"from": "user", "value": "only a question"}], "conversations"),
    ],
)
def test_bad_records_name_file_record_and_field(conversations, field):
    with pytest.raises(DataError) as err:
        conversation_example({"id": "bad", "conversations": conversations}, file="train.json")
    assert (err.value.file, err.value.record, err.value.field) == ("train.json", "bad", field)


def test_assistant_spans_cover_answers_and_end_of_turn_only():
    messages = [
        text_message("system", "S"),
        text_message("user", "q1", images=1),
        text_message("assistant", "a1"),
        text_message("user", "q2"),
        text_message("assistant", "a2"),
    ]
    full = chatml(messages, False)
    spans = assistant_spans(chatml, messages)
    assert [full[a:b] for a, b in spans] == ["a1<|im_end|>\n", "a2<|im_end|>\n"]


def test_assistant_spans_reject_templates_that_rewrite_history():
    def forgetful(
        messages, add_generation_prompt
    ):  # drops all but the last turn, like some reasoning templates
        return chatml(messages[-1:], add_generation_prompt)

    messages = [
        text_message("user", "q"),
        text_message("assistant", "a"),
        text_message("user", "q2"),
        text_message("assistant", "b"),
    ]
    with pytest.raises(ValueError, match="prefix"):
        assistant_spans(forgetful, messages)


def test_token_mask_from_offsets():
    offsets = [(0, 3), (3, 5), (5, 9), (9, 10), (10, 14)]
    assert token_mask_from_offsets(offsets, [(5, 10)]) == [0, 0, 1, 1, 0]
    assert token_mask_from_offsets(offsets, [(0, 3), (9, 14)]) == [1, 0, 0, 1, 1]
    assert token_mask_from_offsets(offsets, []) == [0] * 5


def test_align_to_expanded_maps_inserted_image_tokens_to_none():
    image = 99
    short = [1, 2, image, 3, 4, 5]
    long = [1, 2, 7, image, image, image, 8, 3, 4, 5]  # framing token 7/8 and 3 image tokens
    origin = align_to_expanded(short, long)
    assert [origin[j] for j in (7, 8, 9)] == [3, 4, 5]  # the text after the image is pinned exactly
    assert origin[:2] == [0, 1]
    assert sum(k is None for k in origin) == len(long) - len(short)
    with pytest.raises(ValueError):
        align_to_expanded([1, 2, 3], [1, 3])


def test_prompt_completion_example_and_drop_images():
    example = prompt_completion_example("s1", system="S", prompt="P", completion="C", images=["a.png"])
    assert [m["role"] for m in example["messages"]] == ["system", "user", "assistant"]
    assert example["images"] == ["a.png"]
    stripped = drop_images(example["messages"])
    assert all(p["type"] == "text" for m in stripped for p in m["content"])
    assert message_text(stripped[1]) == "P"
