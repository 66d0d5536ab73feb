"""The rule checks of `mmrole build filter`, each with a dialogue that fails it and one that passes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from curate_helpers import record

from mmrole.build.filter_rules import (
    RuleLimits,
    check_record,
    cjk_ratio,
    dialogue_text,
    near_duplicates,
    read_turns,
)
from mmrole.data.characters import load_characters
from mmrole.data.sources import demo_root

LIMITS = RuleLimits()


@pytest.fixture(scope="module")
def characters():
    return load_characters(demo_root())


def rules(raw, characters, name="Mira Vale", dialogue_type="human-role", kind="COCO", limits=LIMITS):
    found = check_record(
        raw,
        role=characters[name],
        dialogue_type=dialogue_type,
        kind=kind,
        characters=characters,
        limits=limits,
    )
    return [(failure.rule, failure.turn) for failure in found], found


@pytest.mark.parametrize("dialogue_type", ["comment", "human-role", "inter-role"])
def test_a_well_formed_dialogue_of_each_type_passes_every_rule(characters, dialogue_type):
    raw = record("Mira Vale", dialogue_type, "COCO", 0)
    assert rules(raw, characters, dialogue_type=dialogue_type)[0] == []


def test_a_chinese_characters_dialogue_in_chinese_passes(characters):
    raw = record("小月", "human-role", "script", 0, chinese=True)
    assert rules(raw, characters, name="小月", kind="script")[0] == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda r: r.update(id="Otto_Brass_human-role-dialogue_COCO_0"),
            "is not Mira_Vale_human-role-dialogue_COCO_<n>",
        ),
        (lambda r: r.update(id="Mira_Vale_comment_COCO_0"), "is not Mira_Vale_human-role-dialogue_COCO_<n>"),
        (
            lambda r: r.update(id="Mira_Vale_human-role-dialogue_script_0"),
            "is not Mira_Vale_human-role-dialogue_COCO_<n>",
        ),
        (lambda r: r.update(image="../../etc/passwd"), "escapes the image folder"),
        (lambda r: r.update(image="/abs/boats.png"), "escapes the image folder"),
        (lambda r: r.pop("image"), "no image path"),
        (lambda r: r.update(place_info=3), "place_info must be a string"),
        (lambda r: r.update(conversations=[]), "non-empty list"),
        (lambda r: r.update(conversations="hello"), "non-empty list"),
        (lambda r: r["conversations"][1].pop("value"), "needs a speaker"),
    ],
)
def test_structure(characters, change, expected):
    raw = record("Mira Vale", "human-role", "COCO", 0)
    change(raw)
    found = rules(raw, characters)[1]
    assert [f.rule for f in found][:1] == ["structure"]
    assert expected in found[0].detail


def test_a_record_that_is_not_an_object_fails_structure(characters):
    assert rules(["not", "a", "record"], characters)[0][0] == ("structure", None)


@pytest.mark.parametrize(
    ("dialogue_type", "speakers", "expected"),
    [
        ("human-role", ["Mira Vale", "human", "Mira Vale", "human"], "the human must speak first"),
        ("human-role", ["human", "Mira Vale", "human", "Otto Brass"], "unexpected speaker"),
        ("human-role", ["human", "Mira Vale", "Mira Vale", "human", "human", "Mira Vale"], "twice in a row"),
        ("human-role", ["human", "human", "human", "human"], "never speaks"),
        ("inter-role", ["Otto Brass", "Mira Vale", "Nadia Okafor", "Mira Vale"], "one other character"),
        (
            "inter-role",
            ["Nadia Okafor", "Mira Vale", "Nadia Okafor", "Mira Vale"],
            "is not of Mira Vale's series",
        ),
        ("inter-role", ["Ghost", "Mira Vale", "Ghost", "Mira Vale"], "is not in any roles.json"),
        ("inter-role", ["human", "Mira Vale", "human", "Mira Vale"], "is not in any roles.json"),
        ("comment", ["Mira Vale", "human"], "the human must speak first"),
    ],
)
def test_speakers_alternate_and_match_the_assignment(characters, dialogue_type, speakers, expected):
    raw = record("Mira Vale", dialogue_type, "COCO", 0, turns=len(speakers))
    raw["conversations"] = [
        {"role": s, "value": f"Line {i} about the harbour lamp."} for i, s in enumerate(speakers)
    ]
    found = [f for f in rules(raw, characters, dialogue_type=dialogue_type)[1] if f.rule == "speakers"]
    assert len(found) == 1 and expected in found[0].detail


def test_the_release_spelling_from_is_read_like_role(characters):
    raw = record("Mira Vale", "comment", "COCO", 0)
    raw["conversations"][0] = {"from": "human", "value": raw["conversations"][0]["value"]}
    assert rules(raw, characters, dialogue_type="comment")[0] == []


@pytest.mark.parametrize(
    ("dialogue_type", "turns", "limits", "expected"),
    [
        ("comment", 4, LIMITS, "a comment has 2 turns, not 4"),
        ("human-role", 2, LIMITS, "2 turns (allowed: 4 to 30)"),
        ("inter-role", 8, RuleLimits(min_turns=4, max_turns=6), "8 turns (allowed: 4 to 6)"),
    ],
)
def test_turn_counts(characters, dialogue_type, turns, limits, expected):
    raw = record("Mira Vale", dialogue_type, "COCO", 0, turns=turns)
    if dialogue_type == "comment":
        raw["conversations"] = raw["conversations"] * 2
    found = [
        f
        for f in rules(raw, characters, dialogue_type=dialogue_type, limits=limits)[1]
        if f.rule == "turn count"
    ]
    assert [f.detail for f in found] == [expected]


def test_a_human_role_dialogue_that_stops_on_the_human_fails(characters):
    raw = record("Mira Vale", "human-role", "COCO", 0, turns=6)
    raw["conversations"].append({"role": "human", "value": "And then what happened to the"})
    assert ("turn count", 6) in rules(raw, characters)[0]


def test_language_matches_the_character(characters):
    english = record("Mira Vale", "human-role", "COCO", 0)
    english["conversations"][3]["value"] = "灯塔今晚很亮，海上的船都能看见。"
    assert rules(english, characters)[0] == [("language", 3)]
    chinese = record("小月", "human-role", "script", 0, chinese=True)
    chinese["conversations"][1]["value"] = "The lanterns rise over the roofs tonight, one by one."
    assert rules(chinese, characters, name="小月", kind="script")[0] == [("language", 1)]
    # a Chinese turn naming an English place still is Chinese; a turn without letters tells nothing
    chinese["conversations"][1]["value"] = "我在 Ember Rock 的灯塔下看月亮，云中小镇的灯笼真好看。"
    chinese["conversations"][3]["value"] = "……！"
    assert rules(chinese, characters, name="小月", kind="script")[0] == []


def test_cjk_ratio_counts_letters_only():
    assert cjk_ratio("月亮 moon") == pytest.approx(2 / 6)
    assert cjk_ratio("123 !?") is None


def test_length_bounds(characters):
    raw = record("Mira Vale", "human-role", "COCO", 0)
    raw["conversations"][1]["value"] = "  "
    raw["conversations"][3]["value"] = "word " * 1000
    failures = rules(raw, characters)[1]
    assert [(f.rule, f.turn) for f in failures] == [("length", 1), ("length", 3)]
    assert "0 characters (at least 2)" in failures[0].detail and "at most 4000" in failures[1].detail


@pytest.mark.parametrize(
    "text",
    [
        "As an AI language model, I cannot pretend to be Mira Vale.",
        "I'm sorry, but I can't help with that request.",
        "I am an AI assistant created to help you.",
        "I’m unable to see the image you sent.",
        "作为一个人工智能，我没有个人感受。",
        "抱歉，我无法扮演这个角色。",
    ],
)
def test_refusals_and_assistant_tone_in_a_character_turn_fail(characters, text):
    raw = record("Mira Vale", "human-role", "COCO", 0)
    raw["conversations"][1]["value"] = text
    found = rules(raw, characters)[1]
    assert [(f.rule, f.turn) for f in found if f.rule == "refusal"] == [("refusal", 1)]


def test_the_human_may_ask_anything_and_characters_may_talk_of_machines(characters):
    raw = record("Mira Vale", "human-role", "COCO", 0)
    raw["conversations"][0]["value"] = "Are you an AI? As an AI, would you even see the lamp?"
    raw["conversations"][1]["value"] = (
        "I'm a lighthouse keeper, not a machine, though Otto's robot might disagree."
    )
    assert rules(raw, characters)[0] == []


def _text(raw):
    return dialogue_text(read_turns(raw)[0])


def test_near_duplicates_within_a_character_keep_the_first():
    originals = [record("Mira Vale", "human-role", "COCO", n) for n in range(6)]
    copy_of_2 = copy.deepcopy(originals[2])
    copy_of_2["id"] = "Mira_Vale_human-role-dialogue_COCO_6"
    copy_of_2["conversations"][1]["value"] = copy_of_2["conversations"][1]["value"].replace("a", "e", 2)
    texts = [(r["id"], _text(r)) for r in [*originals, copy_of_2]]
    found = near_duplicates(texts, 0.8)
    assert list(found) == ["Mira_Vale_human-role-dialogue_COCO_6"]
    other, similarity = found["Mira_Vale_human-role-dialogue_COCO_6"]
    assert other == "Mira_Vale_human-role-dialogue_COCO_2" and 0.8 <= similarity < 1.0
    assert near_duplicates(texts[:6], 0.8) == {}


def test_near_duplicates_in_chinese_and_the_threshold():
    a = record("小月", "comment", "COCO", 0, chinese=True)
    b = copy.deepcopy(a)
    b["id"] = "小月_comment_COCO_1"
    b["conversations"][1]["value"] += "好看。"
    texts = [(a["id"], _text(a)), (b["id"], _text(b))]
    similarity = near_duplicates(texts, 0.5)[b["id"]][1]
    assert near_duplicates(texts, min(1.0, similarity + 0.01)) == {}


def test_the_defaults_keep_every_well_formed_released_dialogue(mmrole_data_root: Path):
    """On Iron Man's released dialogues the rules only reject the release's own defects (empty
    conversations, one-turn comments, a dialogue ending on the human) and no near-duplicates."""
    characters = load_characters(mmrole_data_root)
    failures: dict[str, list[str]] = {}
    texts = []
    for path in sorted((mmrole_data_root / "dialogues" / "in-distribution").glob("*/Iron_Man_*.json")):
        dialogue_type, kind = path.parent.name, path.stem.rsplit("_", 1)[1]
        for raw in json.loads(path.read_text(encoding="utf-8")):
            found = rules(raw, characters, name="Iron Man", dialogue_type=dialogue_type, kind=kind)[1]
            if found:
                failures[raw["id"]] = [f.detail for f in found]
            else:
                texts.append((raw["id"], _text(raw)))
    defects = ("non-empty list", "a comment has 2 turns, not 1", "never speaks", "ends on the human's turn")
    assert failures and all(
        any(d in detail for d in defects) for details in failures.values() for detail in details
    )
    assert len(texts) > 150 and near_duplicates(texts, LIMITS.duplicate_jaccard) == {}
