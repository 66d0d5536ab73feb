"""CSERP alignment: the metric by hand, the parser next to BeyondDialogue's, an offline test run,
and ``build cserp`` samples read by the SFT data reader."""

from __future__ import annotations

import json
import math
import shutil
import statistics
import sys

import pytest

from mmrole.autorpeval.cserp import cserp_scores, cserp_tasks, item_score, parse_cserp
from mmrole.autorpeval.cserp_run import CserpBuildOptions, CserpEvalOptions, build_cserp, cserp_eval_sync
from mmrole.autorpeval.roles import load_role
from mmrole.cli import main
from mmrole.engine.options import EngineOptions
from mmrole.testing import ScriptedBackend
from mmrole.train.examples import load_examples, sft_examples

TOL = 1e-12


def run_cli(monkeypatch, capsys, *args):
    """``mmrole ARGS`` through the console entry point: (exit status, what it printed)."""
    monkeypatch.setattr(sys, "argv", ["mmrole", *args])
    try:
        main()
        code = 0
    except SystemExit as done:
        code = done.code or 0
    printed = capsys.readouterr()
    return code, printed.out + printed.err


def _sem(values):
    return statistics.stdev(values) / math.sqrt(len(values))


def hand_items():
    emo_label = {"happiness": 2, "sadness": 0, "disgust": 0, "fear": 1, "surprise": 3, "anger": 0}
    return [
        {
            "type": "character",
            "language": "en",
            "A": ["brave", "kind", "strong"],
            "eval_result": ["brave", "strong"],
        },
        {"type": "character", "language": "en", "A": ["brave", "kind"], "eval_result": ""},
        {"type": "style", "language": "cn", "A": ["古风", "直率", "严谨"], "eval_result": ["直率"]},
        {"type": "style", "language": "cn", "A": ["古风"], "eval_result": ["古风"]},
        {
            "type": "emotion",
            "language": "en",
            "A": emo_label,
            "eval_result": {"happiness": 5, "sadness": 0, "disgust": 1, "fear": 1, "surprise": 0, "anger": 0},
        },
        {"type": "emotion", "language": "en", "A": emo_label, "eval_result": ""},
        {"type": "relationship", "language": "cn", "A": 7.5, "eval_result": 6.0},
        {"type": "relationship", "language": "cn", "A": 3.0, "eval_result": ""},
        {"type": "relationship", "language": "en", "A": 2.0, "eval_result": 9.0},
        {"type": "personality", "language": "cn", "A": "ISTJ", "eval_result": "ISFP"},
        {"type": "personality", "language": "en", "A": "ENFJ", "eval_result": "ENFJ"},
        {"type": "personality", "language": "en", "A": "ENFJ", "eval_result": ""},
    ]


def test_metric_equals_hand_calculation():
    scores = cserp_scores(hand_items())["all"]["metrics"]
    character = [2 / 3, 0.0]
    style = [1 / 3, 1.0]
    emotion = [(3 + 0 + 1 + 0 + 3 + 0) / 10 / 6, 1.0]
    relationship = [1.5 / 10, 1.0, 7 / 10]
    personality = [2 / 4, 1.0, 0.0]
    expected = {
        "character": character,
        "style": style,
        "emotion": emotion,
        "relationship": relationship,
        "personality": personality,
    }
    for kind, values in expected.items():
        assert abs(scores[kind]["mean"] - 100 * statistics.fmean(values)) < TOL, kind
        assert abs(scores[kind]["sem"] - 100 * _sem(values)) < TOL, kind
    avg = (
        100 * statistics.fmean(character)
        + 100 * statistics.fmean(style)
        + 100
        - 100 * statistics.fmean(emotion)
        + 100
        - 100 * statistics.fmean(relationship)
        + 100 * statistics.fmean(personality)
    ) / 5
    assert abs(cserp_scores(hand_items())["all"]["avg"] - avg) < TOL
    assert scores["relationship"]["failed"] == 1 and scores["emotion"]["failed"] == 1
    by_language = cserp_scores(hand_items())
    assert abs(by_language["en"]["metrics"]["relationship"]["mean"] - 70.0) < TOL
    assert by_language["cn"]["metrics"]["personality"]["n"] == 1


def test_item_scores_of_empty_answers():
    assert item_score("character", ["a"], "") == 0.0
    assert item_score("emotion", {"happiness": 1}, "") == 1.0
    assert item_score("relationship", 5.0, None) == 1.0
    assert item_score("personality", "INTJ", "") == 0.0


REPLIES = [
    ('Thinking. {"character": "Brave, strong, nosy"}', "character", ["brave", "kind", "strong"], "en"),
    ('{"style": "古风，严谨"}', "style", ["古风", "直率", "严谨"], "cn"),
    (
        '{"happiness": 3, "sadness": "2", "disgust": 0, "fear": 0, "surprise": 1, "anger": 0}',
        "emotion",
        None,
        "en",
    ),
    ('{"快乐": 3, "悲伤": 0, "厌恶": 0, "恐惧": 0, "惊讶": 1}', "emotion", None, "cn"),
    ('{"relationship": "6.5"}', "relationship", None, "cn"),
    ('{"relationship": "close"}', "relationship", None, "en"),
    ('{"personality": " INTJ "}', "personality", None, "en"),
    ('{"personality": "IXTJ"}', "personality", None, "en"),
    ('{"personality": "INTJP"}', "personality", None, "en"),
    ("no json here", "personality", None, "en"),
]


@pytest.mark.parametrize(("reply", "kind", "label", "language"), REPLIES)
def test_parser_agrees_with_beyonddialogue(beyond, reply, kind, label, language):
    protocol = beyond / "protocol"
    sys.path.insert(0, str(protocol))
    try:
        from beyond_code import load_module

        utils = load_module(protocol / "utils.py")
        sys.modules["utils"] = utils
        theirs = load_module(protocol / "CESRPExp__parse_uitls.py").ExtractFuncs[kind]
    finally:
        sys.path.remove(str(protocol))
        sys.modules.pop("utils", None)
    second = label if kind in ("character", "style") else language
    try:
        expected = theirs(reply, second)
    except Exception:  # noqa: BLE001 - theirs raises bare ValueErrors or worse
        with pytest.raises(ValueError):
            parse_cserp(kind, reply, label, language)
        return
    assert parse_cserp(kind, reply, label, language) == expected


def _answer(call):
    """Answers the CSERP test set's items: the right label for English items, a fixed wrong one for
    Chinese; an unparsable first reply to the first item (it is asked again)."""
    text = call.messages[-1]["content"]
    if call.request_id == "cserp:0":
        return "I cannot say."
    if '{"character"' in text:
        return '{"character": "nothing"}'
    if '{"relationship"' in text:
        return '{"relationship": 5}'
    if '{"personality"' in text:
        return '{"personality": "ISTJ"}'
    if '{"style"' in text:
        return '{"style": "none"}'
    return '{"快乐": 0, "悲伤": 0, "厌恶": 0, "恐惧": 0, "惊讶": 0, "愤怒": 0, "happiness": 0, "sadness": 0, "disgust": 0, "fear": 0, "surprise": 0, "anger": 0}'


def test_offline_cserp_run_scores_and_resumes(beyond, tmp_path):
    data = json.loads((beyond / "cserp" / "CESRP_test.json").read_text(encoding="utf-8"))
    # a few items of each type and language
    picked = []
    for kind in ("character", "style", "emotion", "relationship", "personality"):
        for language in ("cn", "en"):
            picked += [item for item in data if item["type"] == kind and item["language"] == language][:2]
    test_file = tmp_path / "cserp.json"
    test_file.write_text(json.dumps(picked, ensure_ascii=False), encoding="utf-8")
    options = CserpEvalOptions(
        data=str(test_file), run=str(tmp_path / "run"), retries=1, engine=EngineOptions(progress=False)
    )
    agent = ScriptedBackend(_answer, spec="scripted-cserp")
    scores = cserp_eval_sync(options, agent=agent)
    assert len(agent.calls) == len(picked) + 1  # the first item asked again
    assert agent.calls[0].messages == picked[0]["Q"]
    results = json.loads((tmp_path / "run" / "cserp_results.json").read_text(encoding="utf-8"))
    expected = [
        item_score(
            item["type"],
            item["A"],
            {
                "character": "",
                "style": "",
                "relationship": 5.0,
                "personality": "ISTJ",
                "emotion": dict.fromkeys(item["A"], 0) if item["type"] == "emotion" else None,
            }[item["type"]],
        )
        for item in picked
    ]
    for kind in ("relationship", "personality", "emotion"):
        values = [score for score, item in zip(expected, picked, strict=True) if item["type"] == kind]
        assert abs(scores["all"]["metrics"][kind]["mean"] - 100 * statistics.fmean(values)) < TOL
    assert scores["all"]["metrics"]["character"]["mean"] == 0.0
    assert results[2]["rsp"] and "eval_result" in results[2]
    assert "± " in (tmp_path / "run" / "cserp.md").read_text(encoding="utf-8")
    again = ScriptedBackend(_answer, spec="scripted-cserp")
    assert cserp_eval_sync(options, agent=again) == scores
    assert again.calls == []


def test_bad_cserp_item_is_one_line(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps([{"Q": [{"role": "user", "content": "x"}], "A": 1, "type": "mood", "language": "en"}])
    )
    code, printed = run_cli(
        monkeypatch,
        capsys,
        "autorpeval",
        "cserp",
        "--agent",
        "demo",
        "--data",
        str(bad),
        "--run",
        str(tmp_path / "r"),
    )
    assert code == 2
    assert "bad.json, record 0, field 'type'" in printed and "Traceback" not in printed


def _role_with_dialogue(beyond, tmp_path, name):
    data = json.loads((beyond / "autorpeval" / name).read_text(encoding="utf-8"))
    first = next(iter(data["chats"]))
    partner = data["chats"][first]["chat_role"]
    data["chats"] = {first: data["chats"][first]}
    data["chats"][first]["dialogues"] = [
        {"role": partner, "dialogue": "Hello there."},
        {"role": data["name"], "dialogue": "Hello yourself."},
    ]
    target = tmp_path / "roles" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return target


def test_tasks_follow_the_test_sets_format(beyond, tmp_path):
    role = load_role(_role_with_dialogue(beyond, tmp_path, "roles_en/Harry.json"))
    chat = role.chat(role.scenes[0].partner)
    tasks = cserp_tasks(role, chat, distractors=["nosy"])
    assert [task["type"] for task in tasks] == [
        "character",
        "style",
        "emotion",
        "relationship",
        "personality",
    ]
    assert tasks[0]["A"] == ["brave", "kind", "strong", "clear in love and hate"]
    assert "nosy" in tasks[0]["Q"][1]["content"]
    assert (
        "Harry's character is ['brave', 'kind', 'strong', 'clear in love and hate'], MBTI type is "
        in (tasks[2]["Q"][1]["content"])
    )
    assert "Introverted (I), Sensing (S), Feeling (F), Perceiving (P)" in tasks[3]["Q"][1]["content"]
    assert f"{role.scenes[0].partner}: Hello there.\nHarry: Hello yourself." in tasks[4]["Q"][1]["content"]
    assert tasks[4]["A"] == "ISFP"


def test_build_cserp_output_loads_as_sft_data(beyond, tmp_path, monkeypatch, capsys):
    _role_with_dialogue(beyond, tmp_path, "roles_en/Harry.json")
    _role_with_dialogue(beyond, tmp_path, "roles_zh/刘备.json")
    shutil.copyfile(
        beyond / "autorpeval" / "roles_en" / "Snape.json", tmp_path / "roles" / "roles_en" / "Snape.json"
    )
    out = tmp_path / "cserp_train.json"
    command = ("build", "cserp", "--roles", str(tmp_path / "roles"), "--out", str(out))
    code, printed = run_cli(monkeypatch, capsys, *command)
    assert code == 0, printed
    assert "10 alignment samples" in printed
    # Snape's chats have no dialogues: two chats, five tasks each
    examples = load_examples(str(out), lambda source, guard: sft_examples(source, guard=guard))
    assert len(examples) == 10
    harry = [e for e in examples if e["id"].startswith("cserp/en/Harry/")]
    personality = next(e for e in harry if e["id"].endswith("/personality"))
    assert [m["role"] for m in personality["messages"]] == ["system", "user", "assistant"]
    assert json.loads(json.dumps(personality["messages"][-1]["content"]))  # text or parts
    written = json.loads(out.read_text(encoding="utf-8"))
    answers = {
        record["id"].rsplit("/", 1)[1]: record["conversations"][1]["value"]
        for record in written
        if record["id"].startswith("cserp/en/Harry/")
    }
    assert json.loads(answers["personality"]) == {"personality": "ISFP"}
    assert parse_cserp(
        "character", answers["character"], ["brave", "kind", "strong", "clear in love and hate"], "en"
    )
    assert run_cli(monkeypatch, capsys, *command)[0] == 2  # --out exists
    assert (
        build_cserp(CserpBuildOptions(roles=str(tmp_path / "roles"), out=str(out), overwrite=True))[1] == 10
    )


def test_chats_of_unlabelled_roles_give_only_the_tasks_they_have_labels_for(tmp_path, monkeypatch, capsys):
    """An MMRole character has no traits, style or MBTI: no task may teach an empty label."""
    from mmrole.autorpeval.mmrole_data import roles_from_mmrole_data
    from mmrole.autorpeval.run_folder import role_file_text

    role = roles_from_mmrole_data("demo", names=["Mira Vale"])[0]
    assert not (role.traits or role.style or role.mbti)
    partner = role.scenes[0].partner
    chat = role.chat(partner)
    chat["dialogues"] = [
        {"role": partner, "dialogue": "Look at this."},
        {"role": role.name, "dialogue": "Oh!"},
    ]
    role = role.with_chats({partner: chat})
    tasks = cserp_tasks(role, chat)
    assert [task["type"] for task in tasks] == ["emotion", "relationship"]
    for task in tasks:  # the role information says what is not known, not "[]" or nothing
        asked = task["Q"][1]["content"]
        assert (
            "Mira Vale's character is unknown, MBTI type is unknown, and speaking style is unknown." in asked
        )
        assert "[]" not in asked
    (tmp_path / "roles").mkdir()
    (tmp_path / "roles" / "Mira Vale.json").write_text(role_file_text(role.file_data()), encoding="utf-8")
    out = tmp_path / "cserp.json"
    code, printed = run_cli(
        monkeypatch, capsys, "build", "cserp", "--roles", str(tmp_path / "roles"), "--out", str(out)
    )
    assert code == 0, printed
    assert "2 alignment samples" in printed
    assert (
        "not derived (the roles lack those labels): character in 1 chat(s), style in 1 chat(s), personality in 1 chat(s)"
        in printed
    )
    written = json.loads(out.read_text(encoding="utf-8"))
    assert [record["type"] for record in written] == ["emotion", "relationship"]
    assert json.loads(written[1]["conversations"][1]["value"]) == {
        "relationship": float(chat["relationship_score"])
    }
