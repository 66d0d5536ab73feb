"""The preference-pair JSONL that `mmrole feedback` writes and `mmrole train dpo` reads."""

from __future__ import annotations

import json

import pytest

from mmrole.errors import DataError
from mmrole.train.preference_format import preference_record, read_preferences, write_preferences


def test_round_trip_and_trl_shape(tmp_path):
    record = preference_record(
        "s1#0",
        system="S",
        instruction="Q",
        chosen="good",
        rejected="bad",
        images=["images/a.png"],
        meta={"chosen_score": 8.0},
    )
    path = tmp_path / "pairs.jsonl"
    assert write_preferences(path, [record]) == 1
    line = json.loads(path.read_text(encoding="utf-8"))
    assert line["prompt"] == [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]
    assert line["chosen"] == [{"role": "assistant", "content": "good"}]
    (back,) = read_preferences(path)
    trl = back.to_trl(tmp_path)
    assert trl["images"] == [str(tmp_path / "images" / "a.png")]
    assert trl["rejected"][0]["content"] == "bad"
    assert back.meta == {"chosen_score": 8.0}


def test_identical_answers_are_rejected():
    with pytest.raises(DataError, match="identical"):
        preference_record("s", system=None, instruction="Q", chosen="same", rejected="same")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"prompt": [{"role": "assistant", "content": "x"}]}, None, "user message"),
        ({"chosen": [{"role": "user", "content": "x"}]}, None, "assistant"),
        (
            {
                "images": ["a.png", "b.png"],
                "prompt": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Q"}]}],
            },
            None,
            "image parts",
        ),
        ({"rejected": "not a list"}, "rejected", "list"),
    ],
)
def test_invalid_lines_name_file_record_and_reason(tmp_path, change, field, message):
    good = preference_record("p1", system=None, instruction="Q", chosen="a", rejected="b").model_dump()
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({**good, **change}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=message) as err:
        list(read_preferences(path))
    assert err.value.file == str(path) and err.value.record == "p1"
    if field:
        assert err.value.field == field


def test_malformed_json_and_duplicate_ids(tmp_path):
    good = json.dumps(
        preference_record("p1", system=None, instruction="Q", chosen="a", rejected="b").model_dump()
    )
    path = tmp_path / "pairs.jsonl"
    path.write_text(good + "\n{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"malformed JSON at line 2, column \d+"):
        list(read_preferences(path))
    path.write_text(good + "\n" + good + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate id"):
        list(read_preferences(path))
