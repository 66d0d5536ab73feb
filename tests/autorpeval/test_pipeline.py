"""AutoRPEval end to end, offline, with scripted models: the table, reruns, stages alone, refusals,
re-asks of unparsed answers and counted failures."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import scripted_models
from beyond_code import load_module, reference_functions
from scripted_models import evaluator_reply, expected, partner_reply, role_reply

from mmrole.autorpeval import (
    AutoRPEvalOptions,
    DialogueOptions,
    QuestionOptions,
    ScenarioOptions,
    autorpeval_sync,
    dialogues_stage,
    questions_stage,
    scenarios_stage,
)
from mmrole.autorpeval.results import tables_of
from mmrole.autorpeval.run_folder import AutoRPEvalRun
from mmrole.engine.failures import TooManyFailures
from mmrole.engine.options import EngineOptions
from mmrole.errors import BackendError, ConfigError, DataError
from mmrole.testing import ScriptedBackend

QUIET = EngineOptions(progress=False)


def _models(evaluator=None) -> dict[str, ScriptedBackend]:
    return {
        "agent": ScriptedBackend(lambda call: role_reply(call.messages), spec="scripted-agent"),
        "simulator": ScriptedBackend(lambda call: partner_reply(call.messages), spec="scripted-sim"),
        "evaluator": ScriptedBackend(
            evaluator or (lambda call: evaluator_reply(call.messages)), spec="scripted-eval"
        ),
    }


def _options(roles: Path, run: Path, **more) -> AutoRPEvalOptions:
    return AutoRPEvalOptions(roles=str(roles), run=str(run), engine=QUIET, **more)


def _role_files(roles: Path) -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(roles.rglob("*.json"))]


def test_a_full_run_over_two_english_and_one_chinese_role_produces_the_table(
    three_roles: Path, tmp_path: Path
):
    models = _models()
    run = tmp_path / "run"
    summary = autorpeval_sync(_options(three_roles, run), models=models)
    assert (summary.n_roles, summary.n_chats) == (3, 30)
    assert len(models["simulator"].calls) == len(models["agent"].calls) == 30 * 5
    assert len(models["evaluator"].calls) == 30 * 8 and summary.questions.total_failed == 0
    tables = tables_of(summary.results)
    roles = _role_files(three_roles)
    by_language = {
        "all": roles,
        "en": [r for r in roles if r["name"] != "刘备"],
        "cn": [r for r in roles if r["name"] == "刘备"],
    }
    for language, chosen in by_language.items():
        for metric in ("character", "style", "emotion", "relationship"):
            mean, sem = expected(chosen, metric)
            got = tables[language].metrics[metric]
            assert got.mean == pytest.approx(mean, abs=1e-12) and got.sem == pytest.approx(sem, abs=1e-12), (
                language,
                metric,
            )
    mean, sem = expected(by_language["en"], "personality")  # Harry ISFP: 1/4 of INTJ, Snape INTJ: 4/4
    assert tables["en"].metrics["personality"].mean == pytest.approx(mean) == pytest.approx(0.625)
    assert tables["all"].metrics["rolechoice"].mean == pytest.approx(2 / 3)  # Harry and 刘备 are B
    assert (
        tables["all"].metrics["coherence"].mean == 0.0 and tables["all"].metrics["human_likeness"].mean == 1.0
    )
    report = (run / "report.md").read_text(encoding="utf-8")
    header = "| Model | Character | Style | Emotion ↓ | Relationship ↓ | Personality | Avg. | Human-likeness | Role Choice | Coherence |"
    assert report.count(header) == 3 and "## English roles (en) (2 roles, 20 chats)" in report
    mean, sem = expected(roles, "character")
    # All roles: Character as worked out from the files, Style 100 (every candidate named).
    assert f"| run | {100 * mean:.2f} ± {100 * sem:.2f} | 100.00 ± 0.00 |" in report
    csv_rows = (run / "report.csv").read_text(encoding="utf-8").splitlines()
    assert len(csv_rows) == 1 + 3 * 9
    assert "<table>" in (run / "report.html").read_text(encoding="utf-8")
    # The files are BeyondDialogue's: each evaluated chat has its 10 turns and the *_eval fields.
    harry = json.loads((run / "evaluations" / "en" / "Harry.json").read_text(encoding="utf-8"))
    chat = harry["chats"]["Elara"]
    assert [turn["role"] for turn in chat["dialogues"]] == ["Elara", "Harry"] * 5
    assert chat["dialogues"][0]["dialogue"] == "Partner line 2: what brings you here?"  # first line only
    assert chat["character_eval"] == ["brave"] and chat["personality_eval"] == "INTJ"

    again = _models()
    rerun = autorpeval_sync(_options(three_roles, run), models=again)
    assert sum(len(backend.calls) for backend in again.values()) == 0  # everything from the store
    assert rerun.results == summary.results


def test_each_stage_runs_alone_and_gives_the_same_files(three_roles: Path, tmp_path: Path):
    models = _models()
    autorpeval_sync(_options(three_roles, tmp_path / "all", limit=2), models=models)
    run, common = tmp_path / "staged", {"run": str(tmp_path / "staged"), "engine": QUIET}
    with pytest.raises(DataError, match="no scenarios yet: run `mmrole autorpeval scenarios` first"):
        asyncio.run(dialogues_stage(DialogueOptions(**common), models=models))
    asyncio.run(scenarios_stage(ScenarioOptions(roles=str(three_roles), limit=2, **common)))
    with pytest.raises(DataError, match="no dialogues yet"):
        asyncio.run(questions_stage(QuestionOptions(**common), models=models))
    asyncio.run(dialogues_stage(DialogueOptions(**common), models=models))
    asyncio.run(questions_stage(QuestionOptions(**common), models=models))
    for name in (
        "evaluations/en/Harry.json",
        "evaluations/cn/刘备.json",
        "dialogues/en/Snape.json",
        "results.json",
    ):
        a, b = (tmp_path / "all" / name).read_text(encoding="utf-8"), (run / name).read_text(encoding="utf-8")
        assert a.replace('"all"', "") == b.replace('"staged"', "").replace('"all"', ""), name


def test_other_models_are_refused_then_overwrite_drops_what_followed(three_roles: Path, tmp_path: Path):
    run = tmp_path / "run"
    autorpeval_sync(_options(three_roles, run, limit=1), models=_models())
    other = {**_models(), "agent": ScriptedBackend(lambda call: "Another role.", spec="other-agent")}
    with pytest.raises(
        ConfigError, match="its dialogues were made by scripted-agent, not other-agent; use --overwrite"
    ):
        asyncio.run(dialogues_stage(DialogueOptions(run=str(run), engine=QUIET), models=other))
    asyncio.run(dialogues_stage(DialogueOptions(run=str(run), engine=QUIET, overwrite=True), models=other))
    assert not (run / "evaluations").exists() and not (run / "results.json").exists()
    with pytest.raises(DataError, match="no questions yet"):
        AutoRPEvalRun(run).results()
    assert json.loads((run / "run.json").read_text())["agent"] == "other-agent"


def test_unparsed_answers_are_asked_again_then_counted_as_failed(three_roles: Path, tmp_path: Path):
    def evaluator(call):
        question = scripted_models.question_of(call.text)
        reminded = call.text.endswith("JSON format given above.") or call.text.endswith("评估结果。")
        if question == "style" and not reminded:
            return "The style is direct."  # parses on the re-ask, with the reminder
        if question == "personality":
            return '{"personality": "INTX"}'  # never an MBTI type: failed after the re-asks
        if question == "rolechoice":
            return '{"answer": "E"}'  # a letter outside A-D: failed
        return evaluator_reply(call.messages)

    models = _models(evaluator)
    run = tmp_path / "run"
    summary = autorpeval_sync(_options(three_roles, run, limit=2), models=models)
    questions = summary.questions
    assert questions.n_failed == {**dict.fromkeys(questions.n_failed, 0), "personality": 6, "rolechoice": 6}
    assert questions.n_retries == 6 + 2 * 12  # style asked again once, personality and role choice twice
    assert len(models["evaluator"].calls) == 6 * 8 + questions.n_retries
    with pytest.raises(TooManyFailures, match="12 of 48 answers failed"):
        summary.check_failures("0")
    summary.check_failures("0.3")
    tables = tables_of(summary.results)
    assert tables["all"].metrics["style"].mean == 1.0 and tables["all"].metrics["personality"].mean is None
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "| run | 6 | 0 | 0 | 0 | 0 | 6 | 0 | 6 | 0 |" in report
    harry = json.loads((run / "evaluations" / "en" / "Harry.json").read_text(encoding="utf-8"))
    chat = harry["chats"]["Elara"]
    assert chat["rolechoice_eval"] is None and chat["rolechoice_analysis_eval"] == '{"answer": "E"}'
    assert "not one of A-D" in chat["eval_errors"]["rolechoice"]


def test_a_dialogue_whose_call_fails_stops_and_its_answers_count_as_failed(three_roles: Path, tmp_path: Path):
    def agent(call):
        if call.request_id == "dialogue:en/Harry/Elara/turn4":
            return BackendError("HTTP 400: context too long")
        return role_reply(call.messages)

    models = {**_models(), "agent": ScriptedBackend(agent, spec="scripted-agent")}
    summary = autorpeval_sync(_options(three_roles, tmp_path / "run", limit=1), models=models)
    assert summary.dialogues.n_failed == 1 and summary.questions.total_failed == 8
    chat = json.loads((tmp_path / "run" / "dialogues" / "en" / "Harry.json").read_text(encoding="utf-8"))[
        "chats"
    ]["Elara"]
    assert len(chat["dialogues"]) == 3 and "turn 4 (role) failed: HTTP 400" in chat["dialogue_error"]
    with pytest.raises(TooManyFailures, match="1 of 3 dialogues failed"):
        summary.check_failures(None)
    # The endpoint is fixed: the rerun makes the failed chat's calls only, and its questions are asked
    # (the evaluations of the old dialogues are dropped, not refused).
    fixed = _models()
    again = autorpeval_sync(_options(three_roles, tmp_path / "run", limit=1), models=fixed)
    assert again.dialogues.n_failed == 0 and again.questions.total_failed == 0
    assert len(fixed["agent"].calls) == 4 and len(fixed["simulator"].calls) == 3  # turns 4-10 of Harry/Elara
    assert len(fixed["evaluator"].calls) == 8


def test_generated_scenarios_follow_beyonddialogues_datagen(three_roles: Path, tmp_path: Path, beyond: Path):
    def generator(call):
        text = call.text
        if call.request_id == "scenarios:en/Harry/partner2":
            return "I cannot decide."  # not parsed: asked again, as another draw of the same prompt
        if call.request_id.startswith("scenarios:") and "/partner" in call.request_id:
            number = call.request_id.split("partner")[1]
            return json.dumps(
                {"chat_role": "Kit" + number.replace("::retry", "-"), "role_des": " A sailor. "}
            )
        if '"scene"' in text:
            return '{"scene": " At the docks. "}'
        if "happiness" in text or "快乐" in text:
            keys = (
                ("快乐", "悲伤", "厌恶", "恐惧", "惊讶", "愤怒")
                if "快乐" in text
                else ("happiness", "sadness", "disgust", "fear", "surprise", "anger")
            )
            return "{" + ", ".join(f'"{k}": "3"' for k in keys) + "}"
        return 'Fairly close. {"relationship": "6"}'

    backend = ScriptedBackend(generator, spec="scripted-generator")
    options = ScenarioOptions(
        roles=str(three_roles), run=str(tmp_path / "run"), generate=True, partners=2, engine=QUIET
    )
    summary = asyncio.run(scenarios_stage(options, models={"generator": backend}))
    assert summary.n_chats == 6 and summary.scenarios.n_failed == 0
    saved = json.loads((tmp_path / "run" / "scenarios" / "en" / "Harry.json").read_text(encoding="utf-8"))
    assert list(saved["chats"]) == ["Kit1", "Kit2-1"]
    chat = saved["chats"]["Kit1"]
    assert (
        chat["role_des"] == "A sailor." and saved["chats"]["Kit2-1"]["role_des"] == " A sailor. "
    )  # as gen_role
    assert chat["scene"] == "At the docks." and chat["relationship_score"] == 6.0
    assert chat["emotions"]["happiness"] == 3 and chat["emotions_analyse"].startswith("{")
    # The prompts are DataGen's, filled as gen_role fills them (the first partner's reference is None,
    # the later ones' is RoleReference around construct_role_reference's RoleReference).
    prompts = load_module(beyond / "prompts" / "DataGen__prompts_en.py")
    utils = load_module(beyond / "protocol" / "utils.py")
    construct = reference_functions(
        beyond / "protocol" / "DataGen__gen_role.py",
        {"construct_role_reference"},
        {"RoleReference": prompts.RoleReference},
    )["construct_role_reference"]
    fields = {
        "role_name": "Harry",
        "character": "brave, kind, strong, clear in love and hate",
        "MBTI": utils.generate_MBTI_str_en("ISFP"),
        "style": "direct, smart",
        "world": saved["world"],
    }
    sent = {call.request_id: call for call in backend.calls}
    assert sent["scenarios:en/Harry/partner1"].text == prompts.RolePrompt.format(
        **fields, role_reference=None
    )
    reference = prompts.RoleReference.format(reference=construct({"Kit1": {"role_des": "A sailor."}}))
    assert sent["scenarios:en/Harry/partner2"].text == prompts.RolePrompt.format(
        **fields, role_reference=reference
    )
    retry = sent["scenarios:en/Harry/partner2::retry1"]
    assert retry.text == sent["scenarios:en/Harry/partner2"].text and retry.params.draw == 1
    scene = sent["scenarios:en/Harry/Kit1/scene"].text
    assert scene == prompts.ScenePrompt.format(**fields, chat_role="Kit1", role_des="A sailor.")
