"""Multimodal AutoRPEval on an MMRole-Data root (``--data``): roles from its characters, chats from the
images of their dialogues; generated emotions and intimacy; the demo model in every seat; and bad
input refused in one line before any call."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from scripted_models import evaluator_reply, partner_reply, role_reply

from mmrole.autorpeval import AutoRPEvalOptions, DialogueOptions, ScenarioOptions, autorpeval_sync
from mmrole.autorpeval.pipeline import dialogues_stage, scenarios_stage
from mmrole.data.sources import copy_demo
from mmrole.engine.options import EngineOptions
from mmrole.errors import DataError
from mmrole.testing import ScriptedBackend
from mmrole.testing.bad_images import BAD_IMAGES

QUIET = EngineOptions(progress=False)
EMOTIONS = ("happiness", "sadness", "disgust", "fear", "surprise", "anger")


def _grounded(call) -> str:
    return '{"is_grounded": "true"}' if "is_grounded" in call.text else evaluator_reply(call.messages)


def _models(**more) -> dict[str, ScriptedBackend]:
    return {
        "agent": ScriptedBackend(lambda call: role_reply(call.messages), spec="scripted-agent"),
        "simulator": ScriptedBackend(lambda call: partner_reply(call.messages), spec="scripted-sim"),
        "evaluator": ScriptedBackend(_grounded, spec="scripted-eval"),
        **more,
    }


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _with_labels(root: Path) -> None:
    """Give Mira Vale's MMRole profile BeyondDialogue's labels."""
    path = root / "profiles" / "in-distribution" / "detailed_profiles" / "Mira_Vale.json"
    profile = _read(path)
    profile.update(
        world="The Lantern Isles", character_traits="calm,brave", speaking_style="short,sure", mbti="ISTJ"
    )
    path.write_text(json.dumps(profile), encoding="utf-8")


def test_the_demo_dataset_becomes_roles_with_chats_about_its_images(tmp_path: Path):
    root = copy_demo(tmp_path / "demo")
    _with_labels(root)
    models, run = _models(), tmp_path / "run"
    summary = autorpeval_sync(
        AutoRPEvalOptions(data=str(root), run=str(run), rounds=1, engine=QUIET), models=models
    )
    assert (summary.n_roles, summary.n_chats, summary.n_image_chats) == (4, 10, 10)
    mira = _read(run / "scenarios" / "en" / "Mira Vale.json")
    assert list(mira["chats"]) == ["a curious human", "a curious human (2)", "Otto Brass"]
    human, second, otto = mira["chats"].values()
    images = (root / "images").resolve()
    assert human["image"] == {"path": str(images / "scenes" / "boats.png")}  # COCO-like: no annotation
    assert second["image"]["annotation"]["place_info"].startswith("The lighthouse on Ember Rock")
    assert (
        second["scene"]
        == "Mira Vale and a curious human are looking at a picture together and talking about what it shows."
    )
    assert otto["role_des"].startswith("Otto Brass is the inventor") and otto["relationship_score"] == 5
    assert human["relationship_score"] == 3 and human["emotions"] == {
        **dict.fromkeys(EMOTIONS, 0),
        "happiness": 5,
    }
    assert "Mira Vale's MBTI personality type is Introverted (I), Sensing (S)" in mira["sys_prompt"]
    moon = _read(run / "scenarios" / "cn" / "小月.json")
    assert list(moon["chats"]) == ["好奇的人", "好奇的人 (2)"] and moon["personality"] is None
    assert (
        "快乐" in moon["chats"]["好奇的人"]["emotions"]
        and "小月的角色资料：\n### 简要介绍" in moon["sys_prompt"]
    )
    # Every tested-model request shows its chat's image; the simulator's none.
    assert all(isinstance(call.messages[1]["content"], list) for call in models["agent"].calls)
    assert all(isinstance(m["content"], str) for call in models["simulator"].calls for m in call.messages)
    # Mira has the labels: eight questions and Grounding; the others lack them, and Role Choice too.
    asked = [call.request_id.split("/")[1] for call in models["evaluator"].calls]
    assert asked.count("Mira Vale") == 3 * 8 and asked.count("小月") == 2 * 5 and len(asked) == 3 * 8 + 7 * 5
    assert summary.questions.n_not_asked == 3 * 1 + 7 * 4 and summary.questions.total_failed == 31
    assert summary.questions.not_asked == {"character": 7, "style": 7, "personality": 7, "rolechoice": 10}
    summary.check_failures(None)  # answers not asked are no failures
    tables = summary.results["tables"]
    assert (
        tables["all"]["metrics"]["grounding"]["mean"] == 1.0
        and tables["all"]["metrics"]["character"]["n"] == 3
    )
    otto_file = _read(run / "evaluations" / "en" / "Otto Brass.json")
    chat = next(iter(otto_file["chats"].values()))
    assert chat["eval_errors"]["character"] == "the role has no character traits"
    assert chat["eval_errors"]["rolechoice"] == "the role has no role_candidates"


def test_generate_makes_the_emotions_and_intimacy_of_the_datas_chats(tmp_path: Path):
    def generator(call) -> str:
        if call.request_id.endswith("/intimacy"):
            return '{"relationship": 8}'
        keys = (
            ("快乐", "悲伤", "厌恶", "恐惧", "惊讶", "愤怒")
            if call.request_id.startswith("scenarios:cn")
            else EMOTIONS
        )
        return "{" + ", ".join(f'"{key}": 2' for key in keys) + "}"

    models = _models(generator=ScriptedBackend(generator, spec="scripted-gen"))
    run = tmp_path / "run"
    options = ScenarioOptions(data="demo", run=str(run), limit=1, generate=True, engine=QUIET)
    summary = asyncio.run(scenarios_stage(options, models=models))
    assert len(models["generator"].calls) == 4 * 2 and summary.scenarios.n_made == 4
    assert summary.scenarios.n_failed == 0
    mira = _read(run / "scenarios" / "en" / "Mira Vale.json")["chats"]["a curious human"]
    assert mira["emotions"] == dict.fromkeys(EMOTIONS, 2) and mira["relationship_score"] == 8
    assert mira["image"]["path"].endswith("scenes/boats.png") and "relationship_analyse" in mira
    prompt = next(
        call.text
        for call in models["generator"].calls
        if call.request_id.endswith("Mira Vale/a curious human/emotions")
    )
    assert "Mira Vale and a curious human are looking at a picture together" in prompt


@pytest.mark.slow
def test_the_multimodal_variant_runs_offline_on_the_demo_dataset_with_the_demo_model(
    tmp_path: Path, run_mmrole
):
    run = tmp_path / "demo"
    seats = ["--agent", "demo", "--simulator", "demo", "--evaluator", "demo"]
    code, out, err = run_mmrole(
        "autorpeval", *seats, "--data", "demo", "--names", "Mira Vale", "--run", run,
        "--limit", "1", "--rounds", "1", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    report = (run / "report.md").read_text(encoding="utf-8")
    assert report.count("| Role Choice | Coherence | Grounding |") == 4 and "135M demo model" in out
    chat = _read(run / "evaluations" / "en" / "Mira Vale.json")["chats"]["a curious human"]
    assert [turn["role"] for turn in chat["dialogues"]] == ["a curious human", "Mira Vale"]
    assert "grounding_analysis_eval" in chat and chat["image"]["path"].endswith("boats.png")


def _role_with_image(beyond: Path, tmp_path: Path, image: str) -> Path:
    folder = tmp_path / "roles"
    folder.mkdir(exist_ok=True)
    data = _read(beyond / "autorpeval" / "roles_en" / "Harry.json")
    data["chats"]["Elara"]["image"] = image
    (folder / "Harry.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def test_bad_input_is_one_line_before_any_call(beyond: Path, tmp_path: Path, run_mmrole):
    run = tmp_path / "run"
    assert "--roles and --data: give one of them" in run_mmrole.refused(
        "autorpeval", "scenarios", "--roles", tmp_path, "--data", "demo", "--run", run
    )
    assert "--roles or --data is required" in run_mmrole.refused("autorpeval", "scenarios", "--run", run)
    assert "--roles or --data is required" in run_mmrole.refused(
        "autorpeval", "--agent", "demo", "--simulator", "demo", "--evaluator", "demo", "--run", run
    )
    assert "--images is for --roles files" in run_mmrole.refused(
        "autorpeval", "scenarios", "--data", "demo", "--images", tmp_path, "--run", run
    )
    assert "no character named 'Nobody'" in run_mmrole.refused(
        "autorpeval", "scenarios", "--data", "demo", "--names", "Nobody", "--run", run
    )
    assert "not an MMRole-Data root" in run_mmrole.refused(
        "autorpeval", "scenarios", "--data", tmp_path, "--run", run
    )

    roles = _role_with_image(beyond, tmp_path, "missing.png")
    line = run_mmrole.refused("autorpeval", "scenarios", "--roles", roles, "--run", run)
    assert f"{roles / 'Harry.json'}, record Harry, field 'chats.Elara.image': image file not found" in line
    (roles / "corrupt.png").write_bytes(BAD_IMAGES[0].data())
    _role_with_image(beyond, tmp_path, "corrupt.png")
    line = run_mmrole.refused("autorpeval", "scenarios", "--roles", roles, "--run", run)
    assert "field 'chats.Elara.image': image " in line and "corrupt.png: " in line
    _role_with_image(beyond, tmp_path, "../outside.png")
    assert "field 'chats.Elara.image'" in run_mmrole.refused(
        "autorpeval", "scenarios", "--roles", roles, "--run", run
    )

    root = copy_demo(tmp_path / "demo")
    (root / "images" / "scenes" / "boats.png").unlink()
    line = run_mmrole.refused("autorpeval", "scenarios", "--data", root, "--run", run)
    assert "record Mira_Vale_comment_scenes_0, field 'image': image file not found" in line


def test_an_image_gone_before_the_dialogues_stops_them_before_any_call(tmp_path: Path):
    root = copy_demo(tmp_path / "demo")
    run = tmp_path / "run"
    asyncio.run(scenarios_stage(ScenarioOptions(data=str(root), run=str(run), limit=1, engine=QUIET)))
    (root / "images" / "scenes" / "boats.png").write_bytes(b"")
    models = _models()
    with pytest.raises(DataError) as err:
        asyncio.run(dialogues_stage(DialogueOptions(run=str(run), engine=QUIET), models=models))
    message = str(err.value)
    assert message.startswith(str(run / "scenarios" / "en" / "Mira Vale.json") + ", record Mira Vale")
    assert "field 'chats.a curious human.image': image " in message and "\n" not in message
    assert models["agent"].calls == [] and models["simulator"].calls == []


def test_missing_image_omit_runs_a_role_files_chat_as_text_and_leaves_the_datas_chats_out(
    beyond: Path, tmp_path: Path, run_mmrole
):
    roles = _role_with_image(beyond, tmp_path, "missing.png")
    run = tmp_path / "run"
    summary = autorpeval_sync(
        AutoRPEvalOptions(roles=str(roles), run=str(run), rounds=1, missing_image="omit", engine=QUIET),
        models=_models(),
    )
    assert len(summary.images_omitted) == 1
    assert "record Harry, field 'chats.Elara.image': image file not found" in summary.images_omitted[0]
    assert summary.n_image_chats == 0  # the chat ran as text: no Grounding question
    chat = _read(run / "scenarios" / "en" / "Harry.json")["chats"]["Elara"]
    assert "image" not in chat
    record = _read(run / "run.json")["scenarios"]
    assert record["inputs"]["options"]["missing_image"] == "omit"
    assert record["counts"]["images_omitted"] == 1
    code, out, err = run_mmrole(
        "autorpeval", "scenarios", "--roles", roles, "--run", tmp_path / "run2", "--missing-image", "omit"
    )
    assert code == 0, err
    assert "images omitted (--missing-image omit): 1 chat image(s): " in out and "missing.png" in out
    # a path leaving the folder is no missing image: refused all the same
    _role_with_image(beyond, tmp_path, "../outside.png")
    assert "field 'chats.Elara.image'" in run_mmrole.refused(
        "autorpeval", "scenarios", "--roles", roles, "--run", tmp_path / "run3", "--missing-image", "omit"
    )

    root = copy_demo(tmp_path / "demo")
    (root / "images" / "scenes" / "boats.png").unlink()
    data_run = tmp_path / "data-run"
    summary = asyncio.run(
        scenarios_stage(
            ScenarioOptions(data=str(root), run=str(data_run), missing_image="omit", engine=QUIET)
        )
    )
    assert summary.images_omitted and all("boats.png" in line for line in summary.images_omitted)
    kept = [
        chat["image"]["path"]
        for path in (data_run / "scenarios").rglob("*.json")
        for chat in _read(path)["chats"].values()
    ]
    assert kept and not any(path.endswith("boats.png") for path in kept)
    assert summary.n_chats == len(kept) == 10 - len(summary.images_omitted)
