"""Role files: the released ones load, their system prompts are filled as BeyondDialogue fills them,
the prompt texts are BeyondDialogue's, and bad files are one line naming file, role and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from beyond_code import load_module

from mmrole.autorpeval import load_roles, role_from_character
from mmrole.autorpeval.texts import partner_system_prompt, role_system_prompt
from mmrole.errors import DataError
from mmrole.prompts import autorpeval_cn, autorpeval_en, autorpeval_generation
from mmrole.schema import Character, Profile, Scene


def test_the_released_roles_load_with_their_languages_and_round_trip(beyond: Path) -> None:
    roles = load_roles(beyond / "autorpeval")
    assert [r.language for r in roles].count("en") == 10 and [r.language for r in roles].count("cn") == 20
    assert all(len(role.scenes) == 10 for role in roles)
    for role in roles:
        # Written back, a role is its file as read (key order aside), types included (8.0 stays 8.0).
        assert role.file_data() == json.loads(Path(role.source).read_text(encoding="utf-8"))
    harry = next(r for r in roles if r.name == "Harry")
    assert (
        harry.mbti == "ISFP" and harry.answer == "B" and harry.profile.world == "20th Century Magical World"
    )
    assert isinstance(harry.scenes[0].intimacy, float) and harry.scenes[0].partner == "Elara"


def test_system_prompts_are_filled_as_beyonddialogue_fills_them(beyond: Path) -> None:
    utils = load_module(beyond / "protocol" / "utils.py")
    dialog_prompts = load_module(beyond / "prompts" / "AutoDialog__prompts.py")
    checked = 0
    for role in load_roles(beyond / "autorpeval"):
        data = json.loads(Path(role.source).read_text(encoding="utf-8"))
        construct = utils.construct_emotion if role.language == "cn" else utils.construct_emotion_en
        template = (
            dialog_prompts.ChatRoleSysPrompt if role.language == "cn" else dialog_prompts.ChatRoleSysPromptEN
        )
        for (chat_role, chat), scene in zip(data["chats"].items(), role.scenes, strict=True):
            # AutoDialog/auto_dialogues.py, process_chat_role:
            expected_role = data["sys_prompt"].format(
                chat_role=chat_role,
                emotion=construct(chat["emotions"]),
                relationship=chat["relationship_score"],
                scene=chat["scene"],
            )
            expected_partner = template.format(
                chat_role=chat_role,
                role_name=data["name"],
                role_des=chat["role_des"],
                scene=chat["scene"],
                relationship=chat["relationship_score"],
                world=data["world"],
                chat_role_style="",
            )
            assert role_system_prompt(role, scene) == expected_role
            assert partner_system_prompt(role, scene) == expected_partner
            checked += 1
    assert checked == 300
    harry = load_roles(beyond / "autorpeval" / "roles_en" / "Harry.json")[0]
    filled = role_system_prompt(harry, harry.scenes[0])
    assert "intimacy level with them is 8.0 (0-10" in filled and "happiness: 2, sadness: 0" in filled


def test_the_prompt_texts_are_beyonddialogues_verbatim(beyond: Path) -> None:
    prompts = beyond / "prompts"
    dialog = load_module(prompts / "AutoDialog__prompts.py")
    names = {
        "CHARACTER": "CharacterClsPrompt",
        "STYLE": "StyleClsPrompt",
        "EMOTION": "EmotionScalePrompt",
        "RELATIONSHIP": "RelationshipScalePrompt",
        "PERSONALITY": "PersonalityClsPrompt",
        "HUMAN_LIKENESS": "HumanLikenessPrompt",
        "ROLE_CHOICE": "RoleChoicePrompt",
        "COHERENCE": "CoherencePrompt",
    }
    for ours, file, partner in (
        (autorpeval_en, "AutoTest__prompts_en.py", dialog.ChatRoleSysPromptEN),
        (autorpeval_cn, "AutoTest__prompts.py", dialog.ChatRoleSysPrompt),
    ):
        theirs = load_module(prompts / file)
        assert ours.PARTNER_SYSTEM == partner
        for mine, their_name in names.items():
            assert getattr(ours, mine) == getattr(theirs, their_name), (file, mine)
    generation = {
        "ROLE_REFERENCE": "RoleReference",
        "PARTNER": "RolePrompt",
        "SCENE": "ScenePrompt",
        "EMOTIONS": "EmotionPrompt",
        "INTIMACY": "RelationshipPrompt",
        "SYSTEM_PROMPT_TEMPLATE": "SystemPromptTemplate",
    }
    for suffix, file in (("EN", "DataGen__prompts_en.py"), ("CN", "DataGen__prompts.py")):
        theirs = load_module(prompts / file)
        for mine, their_name in generation.items():
            assert getattr(autorpeval_generation, f"{mine}_{suffix}") == getattr(theirs, their_name)


def _bad(beyond: Path, tmp_path: Path, change) -> str:
    data = json.loads((beyond / "autorpeval" / "roles_en" / "Harry.json").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "Harry.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_roles(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    return str(err.value)


def test_bad_role_files_are_one_line_naming_file_role_and_field(beyond: Path, tmp_path: Path) -> None:
    def drop(key):
        return lambda d: d.pop(key)

    def chat(key, value):
        return lambda d: d["chats"]["Elara"].__setitem__(key, value)

    def emotion(key, value):
        return lambda d: d["chats"]["Elara"]["emotions"].__setitem__(key, value)

    assert "record Harry, field 'world': missing" in _bad(beyond, tmp_path, drop("world"))
    assert "field 'sys_prompt': missing" in _bad(beyond, tmp_path, drop("sys_prompt"))
    assert "field 'chats': missing" in _bad(beyond, tmp_path, drop("chats"))
    assert "field 'chats.Elara.role_des': missing" in _bad(
        beyond, tmp_path, lambda d: d["chats"]["Elara"].pop("role_des")
    )
    line = _bad(beyond, tmp_path, lambda d: d.__setitem__("personality", "ISXP"))
    assert "field 'personality'" in line and "letter 3 of 'ISXP' must be T or F" in line
    assert "four letters" in _bad(beyond, tmp_path, lambda d: d.__setitem__("personality", "ISF"))
    line = _bad(beyond, tmp_path, emotion("fear", 11))
    assert "field 'chats.Elara.emotions'" in line and "'fear' must be a number from 0 to 10, not 11" in line
    assert "from 0 to 10, not -1" in _bad(beyond, tmp_path, emotion("anger", -1))
    assert "unknown emotion 'joy'" in _bad(beyond, tmp_path, emotion("joy", 3))
    assert "'surprise' is missing" in _bad(
        beyond, tmp_path, lambda d: d["chats"]["Elara"]["emotions"].pop("surprise")
    )
    assert "not '5'" in _bad(beyond, tmp_path, emotion("fear", "5"))  # a string is not a score
    line = _bad(beyond, tmp_path, chat("relationship_score", 12.5))
    assert "field 'chats.Elara.relationship_score'" in line and "from 0 to 10" in line
    assert "is 'Eve', not its key 'Elara'" in _bad(beyond, tmp_path, chat("chat_role", "Eve"))
    assert "field 'role_answer': must be one of A, B, C, D, not 'E'" in _bad(
        beyond, tmp_path, lambda d: d.__setitem__("role_answer", "E")
    )
    assert "unknown slot {mood}" in _bad(
        beyond, tmp_path, lambda d: d.__setitem__("sys_prompt", "Be {mood}.")
    )


def test_the_cli_says_so_in_one_line(beyond: Path, tmp_path: Path, run_mmrole) -> None:
    data = json.loads((beyond / "autorpeval" / "roles_zh" / "刘备.json").read_text(encoding="utf-8"))
    first = next(iter(data["chats"]))
    data["chats"][first]["emotions"]["快乐"] = 12
    (tmp_path / "roles").mkdir()
    (tmp_path / "roles" / "刘备.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    line = run_mmrole.refused(
        "autorpeval", "scenarios", "--roles", tmp_path / "roles", "--run", tmp_path / "run"
    )
    assert "刘备.json, record 刘备, field 'chats." in line and "'快乐' must be a number from 0 to 10" in line


def test_scenes_and_profiles_carry_the_typed_fields_and_mmrole_characters_become_roles(beyond: Path) -> None:
    scene = Scene(
        partner="Ana",
        text="A quiet harbour at dusk.",
        emotions=dict.fromkeys(("happiness", "sadness", "disgust", "fear", "surprise", "anger"), 2),
        intimacy=7,
    )
    assert scene.model_dump(by_alias=True)["chat_role"] == "Ana" and scene.image is None
    with pytest.raises(ValueError, match="must be I or E"):
        Profile(mbti="XNTJ")
    profile = Profile(
        introduction="A lighthouse keeper.",  # MMRole's sections and BeyondDialogue's fields together
        world="The Lantern Isles",
        character_traits="calm,patient",
        speaking_style="gentle,brief",
        mbti="ISFJ",
        scenes=[scene],
    )
    role = role_from_character(Character(name="Mira Vale", series="Hypothetical Characters", profile=profile))
    generation = load_module(beyond / "prompts" / "DataGen__prompts_en.py")
    utils = load_module(beyond / "protocol" / "utils.py")
    assert role.sys_prompt == generation.SystemPromptTemplate.format(
        role_name="Mira Vale",
        world="The Lantern Isles",
        character="calm, patient",
        personality=utils.generate_MBTI_str_en("ISFJ"),
        style="gentle, brief",
    )
    assert role.candidates is None and role.language == "en"
    assert "Your intimacy level with them is 7 (0-10" in role_system_prompt(role, scene)
    with pytest.raises(DataError, match="record Otto, field 'profile.mbti'"):
        role_from_character(
            Character(
                name="Otto", series="x", profile=Profile(world="w", character_traits="a", speaking_style="b")
            )
        )


def test_mmrole_detailed_profiles_carry_beyonddialogue_fields_through_the_loader(tmp_path: Path) -> None:
    from mmrole.data import load_characters
    from mmrole.data.sources import copy_demo

    root = copy_demo(tmp_path / "demo")
    path = root / "profiles" / "in-distribution" / "detailed_profiles" / "Mira_Vale.json"
    profile = json.loads(path.read_text(encoding="utf-8"))
    emotions = dict.fromkeys(("happiness", "sadness", "disgust", "fear", "surprise", "anger"), 3)
    scene = {
        "chat_role": "Otto Brass",
        "role_des": "An inventor.",
        "scene": "The lamp room.",
        "emotions": emotions,
        "relationship_score": 9,
    }
    profile.update(
        world="The Lantern Isles",
        character_traits="calm,brave",
        speaking_style="short,sure",
        mbti="ISTJ",
        scenes=[scene],
    )
    path.write_text(json.dumps(profile), encoding="utf-8")
    mira = load_characters(root)["Mira Vale"]
    assert mira.profile.introduction.startswith("Mira Vale keeps") and mira.profile.mbti == "ISTJ"
    assert mira.profile.scenes[0].partner == "Otto Brass" and mira.profile.scenes[0].intimacy == 9
    role = role_from_character(mira)
    assert (
        "Mira Vale's MBTI personality type is Introverted (I), Sensing (S), Thinking (T), Judging (J)."
        in role.sys_prompt
    )
    profile["mbti"] = "ISTX"
    path.write_text(json.dumps(profile), encoding="utf-8")
    with pytest.raises(DataError, match=r"Mira_Vale.json, record Mira Vale, field 'mbti': MBTI letter 4"):
        load_characters(root)
