"""Exchange with BeyondDialogue's scripts: mmrole's files are theirs (fields and types), their AutoTest
code runs on mmrole's dialogues, and what it writes is scored by mmrole as mmrole scores its own."""

from __future__ import annotations

import ast
import concurrent.futures
import json
import re
from pathlib import Path

import pytest
from beyond_code import load_module, reference_functions
from scripted_models import evaluator_reply, partner_reply, role_reply

from mmrole.autorpeval import AutoRPEvalOptions, autorpeval_sync, export_run, import_results, questions_stage
from mmrole.autorpeval.options import QuestionOptions
from mmrole.autorpeval.questions import QUESTIONS
from mmrole.autorpeval.results import tables_of
from mmrole.engine.options import EngineOptions
from mmrole.errors import DataError
from mmrole.testing import ScriptedBackend

QUIET = EngineOptions(progress=False)

_PROMPT_NAMES = {
    "character": "CharacterClsPrompt",
    "style": "StyleClsPrompt",
    "emotion": "EmotionScalePrompt",
    "relationship": "RelationshipScalePrompt",
    "personality": "PersonalityClsPrompt",
    "human_likeness": "HumanLikenessPrompt",
    "rolechoice": "RoleChoicePrompt",
    "coherence": "CoherencePrompt",
}
_ROLE_FUNCTIONS = {"rolechoice": "eval_rolechoice"}


def _models():
    return {
        "agent": ScriptedBackend(lambda call: role_reply(call.messages), spec="scripted-agent"),
        "simulator": ScriptedBackend(lambda call: partner_reply(call.messages), spec="scripted-sim"),
        "evaluator": ScriptedBackend(lambda call: evaluator_reply(call.messages), spec="scripted-eval"),
    }


class _OpenAIClient:
    """BeyondDialogue's LLMClients.OpenAIClient, answering as the scripted evaluator does."""

    def __init__(self, client_type: str = "openAI"):
        del client_type

    def call(self, messages, model, n=1, temperature=None):
        return [evaluator_reply(messages)], 0


def _their_autotest(beyond: Path, language: str, question: str):
    """``eval_role_<question>(role_file)`` of BeyondDialogue's AutoTest script, runnable here."""
    utils = load_module(beyond / "protocol" / "utils.py")
    prompts = load_module(
        beyond / "prompts" / ("AutoTest__prompts.py" if language == "cn" else "AutoTest__prompts_en.py")
    )
    script = beyond / "protocol" / f"AutoTest__{question}.py"
    names = {
        node.name
        for node in ast.parse(script.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef) and node.name != "main"
    }
    namespace = {
        **{name: getattr(utils, name) for name in dir(utils) if not name.startswith("_")},
        "language": language,
        _PROMPT_NAMES[question]: getattr(prompts, _PROMPT_NAMES[question]),
        "OpenAIClient": _OpenAIClient,
        "AllCost": 0,
        "MaxWorkers": 4,
        "ThreadPoolExecutor": concurrent.futures.ThreadPoolExecutor,
        "as_completed": concurrent.futures.as_completed,
        "json": json,
        "re": re,
        "ast": ast,
    }
    functions = reference_functions(script, names, namespace)
    return functions[_ROLE_FUNCTIONS.get(question, f"eval_role_{question}")]


def test_mmroles_files_have_beyonddialogues_fields_and_types(three_roles: Path, tmp_path: Path, beyond: Path):
    run = tmp_path / "run"
    autorpeval_sync(
        AutoRPEvalOptions(roles=str(three_roles), run=str(run), limit=2, engine=QUIET), models=_models()
    )
    utils = load_module(beyond / "protocol" / "utils.py")
    for released in sorted(three_roles.rglob("*.json")):
        theirs = json.loads(released.read_text(encoding="utf-8"))
        language = "cn" if released.parent.name == "roles_zh" else "en"
        ours = json.loads((run / "evaluations" / language / released.name).read_text(encoding="utf-8"))
        assert {key: ours[key] for key in theirs if key != "chats"} == {
            k: v for k, v in theirs.items() if k != "chats"
        }
        assert set(ours) == set(theirs) and list(ours["chats"]) == list(theirs["chats"])[:2]
        for partner, chat in ours["chats"].items():
            assert chat["chat_role"] == partner
            assert {k: chat[k] for k in theirs["chats"][partner]} == theirs["chats"][
                partner
            ]  # all kept, types too
            turns = chat["dialogues"]
            assert len(turns) == 10 and all(set(t) == {"role", "dialogue"} for t in turns)
            assert all(isinstance(t["dialogue"], str) for t in turns)
            assert isinstance(chat["character_eval"], list) and isinstance(chat["style_eval"], list)
            assert set(chat["emotion_eval"]) == set(chat["emotions"])
            assert all(type(v) is int for v in chat["emotion_eval"].values())
            assert type(chat["relationship_eval"]) is float and isinstance(chat["personality_eval"], str)
            assert chat["human_likeness_eval"] in (0, 1) and chat["coherence_eval"] in (0, 1)
            assert chat["rolechoice_eval"] in "ABCD" and all(
                isinstance(chat[f"{q}_analysis_eval"], str) for q in QUESTIONS
            )
            # Their helpers read our dialogues.
            assert utils.construct_str_dialogue(turns).count("\n") == 9
            masked = (
                utils.construct_masked_dialogue(turns)
                if language == "cn"
                else utils.construct_masked_dialogue_en(turns)
            )
            assert masked.count("\n") == 9


def test_their_autotest_scripts_evaluate_our_dialogues_and_we_score_theirs_as_our_own(
    three_roles: Path, tmp_path: Path, beyond: Path
):
    run = tmp_path / "run"
    ours = autorpeval_sync(
        AutoRPEvalOptions(roles=str(three_roles), run=str(run), limit=2, engine=QUIET), models=_models()
    )
    exported = export_run(run, tmp_path / "beyond", model="scripted", stage="dialogues")
    assert sorted(p.relative_to(tmp_path / "beyond").as_posix() for p in exported) == [
        "chat_dialogues/scripted/刘备.json",
        "chat_dialogues_en/scripted/Harry.json",
        "chat_dialogues_en/scripted/Snape.json",
    ]
    for path in exported:
        language = "cn" if path.parent.parent.name == "chat_dialogues" else "en"
        for question in QUESTIONS:
            _their_autotest(beyond, language, question)(str(path))  # writes the *_eval fields in place
    summary = import_results(tmp_path / "beyond", tmp_path / "theirs", name="run")
    assert summary.stage == "questions"
    theirs_tables, our_tables = tables_of(summary.results), tables_of(ours.results)
    for language in ("cn", "en", "all"):
        for question in QUESTIONS:
            assert theirs_tables[language].metrics[question] == our_tables[language].metrics[question], (
                language,
                question,
            )
    # Field for field, their evaluation of our dialogues is ours.
    theirs = json.loads(
        (tmp_path / "theirs" / "evaluations" / "en" / "Harry.json").read_text(encoding="utf-8")
    )
    mine = json.loads((run / "evaluations" / "en" / "Harry.json").read_text(encoding="utf-8"))
    assert theirs == mine


def test_dialogues_from_their_scripts_are_evaluated_by_mmrole(three_roles: Path, tmp_path: Path):
    run = tmp_path / "run"
    autorpeval_sync(
        AutoRPEvalOptions(roles=str(three_roles), run=str(run), limit=1, engine=QUIET), models=_models()
    )
    export_run(run, tmp_path / "beyond", model="m", stage="dialogues")
    summary = import_results(tmp_path / "beyond", tmp_path / "imported")
    assert summary.stage == "dialogues" and summary.results is None
    evaluator = ScriptedBackend(lambda call: evaluator_reply(call.messages), spec="scripted-eval")
    import asyncio

    scored = asyncio.run(
        questions_stage(
            QuestionOptions(run=str(tmp_path / "imported"), engine=QUIET), models={"evaluator": evaluator}
        )
    )
    assert len(evaluator.calls) == 3 * 8 and tables_of(scored.results)["all"].metrics["style"].mean == 1.0


def test_result_files_with_wrong_types_are_one_line_errors(tmp_path: Path, beyond: Path):
    data = json.loads((beyond / "autorpeval" / "roles_en" / "Harry.json").read_text(encoding="utf-8"))
    chat = data["chats"]["Elara"]
    chat["dialogues"] = [{"role": "Elara", "dialogue": "Hi."}, {"role": "Harry", "text": "Hello."}]
    path = tmp_path / "Harry.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DataError, match=r"Harry.json, record Harry, field 'chats.Elara.dialogues.1'"):
        import_results(path, tmp_path / "run")
    chat["dialogues"][1] = {"role": "Harry", "dialogue": "Hello."}
    chat["emotion_eval"] = "calm"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(
        DataError, match=r"field 'chats.Elara.emotion_eval': must be an object of six numbers or null"
    ):
        import_results(path, tmp_path / "run")
