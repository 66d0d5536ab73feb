"""The build prompts: pure text in English and Chinese, each naming what its parser checks."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from mmrole.prompts.build_annotate import annotation_request
from mmrole.prompts.build_common import format_reminder
from mmrole.prompts.build_dialogues import (
    COMMENT_QUESTIONS,
    ImageNotes,
    Speaker,
    comment_request,
    human_role_request,
    inter_role_request,
)
from mmrole.prompts.build_profiles import (
    SECTIONS,
    profile_from_meta,
    profile_from_source,
    summary_from_profile,
)

WOODY = Speaker("Woody", "Toy Story", "### Brief Introduction\nA cowboy doll.")
BUZZ = Speaker("Buzz Lightyear", "Toy Story", "### Brief Introduction\nA space ranger.")
WUKONG = Speaker("孙悟空", "西游记", "### 简要介绍\n美猴王。")
TANG = Speaker("唐僧", "西游记", "### 简要介绍\n取经人。")
NOTES = ImageNotes("Woody and Buzz.", "Andy's room", "")


def _requests(language: str) -> dict[str, str]:
    role, partner = (WOODY, BUZZ) if language == "English" else (WUKONG, TANG)
    profile = {name: f"{name} text" for name in SECTIONS}
    return {
        "source": profile_from_source(role.name, role.series, "SOURCE TEXT", language),
        "meta": profile_from_meta({"name": role.name, "age": "30"}, "Hypothetical Characters", language),
        "summary": summary_from_profile(role.name, role.series, profile, language),
        "annotate": annotation_request(role.series, [role.name, partner.name], language),
        "comment": comment_request(role, COMMENT_QUESTIONS[language][0], NOTES, language),
        "human-role": human_role_request(role, 10, NOTES, language),
        "inter-role": inter_role_request(role, partner, 9, NOTES, language),
    }


@pytest.mark.parametrize("language", ["English", "Chinese"])
def test_every_request_names_its_reply_shape_in_the_characters_language(language):
    requests = _requests(language)
    rule = "Write in English." if language == "English" else "请用中文写作。"
    assert all(rule in text for text in requests.values())
    for kind in ("source", "meta", "summary"):
        assert all(f'"{name}": "..."' in requests[kind] for name in SECTIONS)
    assert "SOURCE TEXT" in requests["source"] and "- age: 30" in requests["meta"]
    assert "introduction text" in requests["summary"]
    role, partner = ("Woody", "Buzz Lightyear") if language == "English" else ("孙悟空", "唐僧")
    assert f'{{"speaker": "human", "text": "..."}}, {{"speaker": "{role}"' in requests["human-role"]
    assert f'{{"speaker": "{partner}", "text": "..."}}, {{"speaker": "{role}"' in requests["inter-role"]
    assert ("10 turns" in requests["human-role"]) or ("共10轮" in requests["human-role"])
    assert all("Andy's room" in requests[kind] for kind in ("comment", "human-role", "inter-role"))
    assert (
        COMMENT_QUESTIONS[language][0] in requests["comment"] and '{"comment": "..."}' in requests["comment"]
    )
    english_words = {"Write", "Reply", "profile", "dialogue turns"}
    if language == "Chinese":  # the instructions are Chinese (names, JSON keys and the schema aside)
        assert not any(word in text for text in requests.values() for word in english_words)


def test_the_comment_questions_are_the_releases(mmrole_data_root):
    asked = Counter()
    files = [
        *mmrole_data_root.glob("dialogues/*/comment/*.json"),
        *mmrole_data_root.glob("dialogues/*/comment.json"),
    ]
    for path in files:
        for record in json.loads(path.read_text()):
            if record["conversations"]:
                asked[record["conversations"][0]["value"]] += 1
    ours = [q for questions in COMMENT_QUESTIONS.values() for q in questions]
    assert len(set(ours)) == 20 and set(ours) == set(asked)


def test_the_reminder_names_the_reason_and_other_languages_are_refused():
    assert "wrong speaker" in format_reminder("wrong speaker", "English")
    assert "wrong speaker" in format_reminder("wrong speaker", "Chinese")
    with pytest.raises(ValueError, match="French"):
        human_role_request(WOODY, 8, None, "French")
