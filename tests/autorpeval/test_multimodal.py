"""Multimodal AutoRPEval with scripted models: role-file chats anchored in images. The image reaches
the tested model (its first user message) and the evaluator (every question but Role Choice), never
the simulator, who is told the annotation; Grounding is parsed, re-asked, counted and scored as a
hand calculation gives; a text run keeps BeyondDialogue's eight columns."""

from __future__ import annotations

import json
import re
import shutil
import statistics
from pathlib import Path

import pytest
from scripted_models import evaluator_reply, partner_reply, role_reply

from mmrole.autorpeval import AutoRPEvalOptions, autorpeval_sync
from mmrole.autorpeval.questions import parse_answer, question_messages
from mmrole.autorpeval.results import tables_of
from mmrole.data import demo_root
from mmrole.engine.options import EngineOptions
from mmrole.testing import ScriptedBackend

QUIET = EngineOptions(progress=False)
LANTERN = {"place_info": "The lighthouse on Ember Rock", "scene_info": "The sun sets behind the lighthouse."}
#: Per role, the partners of its first two chats (the ones given an image).
PICTURED = {"Harry": ("Elara", "Theron"), "Snape": ("Thaddeus", "Bertram"), "刘备": ("吴良", "慕容雪")}
_CHAT = re.compile(r"^(?:question|dialogue):(en|cn)/([^/]+)/([^/]+)/")


def _with_images(three_roles: Path, tmp_path: Path) -> Path:
    """The three roles, their first chat anchored in an annotated picture, the second in a bare one."""
    images = tmp_path / "pictures"
    images.mkdir()
    shutil.copyfile(demo_root() / "images" / "The_Lantern_Isles" / "01.png", images / "lighthouse.png")
    shutil.copyfile(demo_root() / "images" / "scenes" / "boats.png", images / "boats.png")
    for path in three_roles.rglob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        first, second = PICTURED[data["name"]]
        data["chats"][first]["image"] = {"path": "lighthouse.png", "annotation": LANTERN}
        data["chats"][second]["image"] = "boats.png"  # a bare path: no annotation
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return images


def _chat_of(call) -> tuple[str, str]:
    found = _CHAT.match(call.request_id or "")
    assert found, call.request_id
    return found.group(2), found.group(3)


def _image_urls(messages) -> list[str]:
    return [
        part["image_url"]["url"]
        for message in messages
        if isinstance(message["content"], list)
        for part in message["content"]
        if part["type"] == "image_url"
    ]


def _evaluator(call) -> str:
    """Grounding: Harry's first chat true, his second false; Snape's second never parses; else true."""
    if "is_grounded" not in call.text:
        return evaluator_reply(call.messages)
    role, partner = _chat_of(call)
    if (role, partner) == ("Harry", "Theron"):
        return 'The boats are not there. {"is_grounded": "false"}'
    if (role, partner) == ("Snape", "Bertram"):
        return "It is faithful, I think."  # no {...}: re-asked, then failed
    return 'Faithful. {"is_grounded": "true"}'


def _models() -> dict[str, ScriptedBackend]:
    return {
        "agent": ScriptedBackend(lambda call: role_reply(call.messages), spec="scripted-agent"),
        "simulator": ScriptedBackend(lambda call: partner_reply(call.messages), spec="scripted-sim"),
        "evaluator": ScriptedBackend(_evaluator, spec="scripted-eval"),
    }


def test_the_image_reaches_the_agent_and_the_evaluator_and_grounding_is_scored(
    three_roles: Path, tmp_path: Path
):
    images = _with_images(three_roles, tmp_path)
    models, run = _models(), tmp_path / "run"
    options = AutoRPEvalOptions(
        roles=str(three_roles), images=str(images), run=str(run), limit=3, rounds=2, engine=QUIET
    )
    summary = autorpeval_sync(options, models=models)
    lighthouse, boats = str((images / "lighthouse.png").resolve()), str((images / "boats.png").resolve())
    picture = {
        (role, partner): (lighthouse if index == 0 else boats)
        for role, partners in PICTURED.items()
        for index, partner in enumerate(partners)
    }

    # The tested model: the image once, before the text of its first user message, in every request.
    agent_calls = models["agent"].calls
    assert len(agent_calls) == 9 * 2
    for call in agent_calls:
        chat = _chat_of(call)
        if chat in picture:
            first_user = call.messages[1]["content"]
            assert first_user[0] == {"type": "image_url", "image_url": {"url": picture[chat]}}
            assert first_user[1]["type"] == "text" and _image_urls(call.messages) == [picture[chat]]
        else:
            assert _image_urls(call.messages) == []
    # The simulator never gets an image; it is told the annotation, or that only the role can see it.
    for call in models["simulator"].calls:
        assert all(isinstance(message["content"], str) for message in call.messages)
        system = call.messages[0]["content"]
        chat = _chat_of(call)
        assert (
            "Place: The lighthouse on Ember Rock" in system or "地点：The lighthouse on Ember Rock" in system
        ) == (picture.get(chat) == lighthouse)
        assert ("only Harry can see it" in system) == (chat == ("Harry", "Theron"))
    # The evaluator: 8 questions per chat, Grounding for the 6 pictured ones, 2 re-asks of Snape's.
    evaluator_calls = models["evaluator"].calls
    assert len(evaluator_calls) == 9 * 8 + 6 + 2
    grounding = [call for call in evaluator_calls if "is_grounded" in call.text]
    assert sorted({_chat_of(call) for call in grounding}) == sorted(picture)
    for call in evaluator_calls:
        chat, question = _chat_of(call), call.request_id.split("/")[3].split("::")[0]
        shown = _image_urls(call.messages)
        assert shown == ([picture[chat]] if chat in picture and question != "rolechoice" else []), (
            call.request_id
        )
        if shown:
            assert call.messages[1]["content"][0]["type"] == "image_url"  # the image, then the prompt
    harry_grounding = next(call.text for call in grounding if _chat_of(call) == ("Harry", "Elara"))
    assert "[Picture Annotation]\nPlace: The lighthouse on Ember Rock\nScene: The sun sets" in harry_grounding
    bare = next(call.text for call in grounding if _chat_of(call) == ("Harry", "Theron"))
    assert "[Picture Annotation]\nNone\n" in bare

    # Parsed, re-asked, counted; the metric as computed by hand (per role, then over roles).
    assert summary.questions.n_failed["grounding"] == 1 and summary.questions.total_failed == 1
    assert summary.n_image_chats == 6
    harry = json.loads((run / "evaluations" / "en" / "Harry.json").read_text(encoding="utf-8"))
    assert harry["chats"]["Elara"]["grounding_eval"] == 1 and harry["chats"]["Theron"]["grounding_eval"] == 0
    assert "grounding_eval" not in harry["chats"]["Alaric"]  # a text chat is not asked
    snape = json.loads((run / "evaluations" / "en" / "Snape.json").read_text(encoding="utf-8"))
    assert snape["chats"]["Bertram"]["grounding_eval"] is None
    assert snape["chats"]["Bertram"]["eval_errors"]["grounding"].startswith("unparsed: no {...}")
    tables = tables_of(summary.results)
    units = {"Harry": 0.5, "Snape": 1.0, "刘备": 1.0}  # Snape's failed chat left out
    for language, roles in (("en", ("Harry", "Snape")), ("cn", ("刘备",)), ("all", tuple(units))):
        score = tables[language].metrics["grounding"]
        values = [units[role] for role in roles]
        assert score.mean == pytest.approx(statistics.fmean(values), abs=1e-12)
        if len(values) > 1:
            assert score.sem == pytest.approx(statistics.stdev(values) / len(values) ** 0.5, abs=1e-12)
        assert score.failed == (0 if language == "cn" else 1) and score.unit == "role"
    assert tables["all"].metrics["coherence"].failed == 0  # the eight are scored as before
    report = (run / "report.md").read_text(encoding="utf-8")
    assert report.count("| Role Choice | Coherence | Grounding |") == 6  # 3 score tables, 3 failure tables
    assert "mmrole's own question, not BeyondDialogue's" in report
    pooled = tables["all"].metrics["grounding"]
    assert (
        f"| {100 * pooled.mean:.2f} ± {100 * pooled.sem:.2f} |\n" in report
    )  # the all-roles row ends with it
    csv_rows = (run / "report.csv").read_text(encoding="utf-8").splitlines()
    assert len(csv_rows) == 1 + 3 * 10 and sum(",grounding," in row for row in csv_rows) == 3


def test_a_text_run_keeps_the_eight_questions_and_columns(three_roles: Path, tmp_path: Path):
    models, run = _models(), tmp_path / "run"
    summary = autorpeval_sync(
        AutoRPEvalOptions(roles=str(three_roles), run=str(run), limit=1, rounds=1, engine=QUIET),
        models=models,
    )
    assert len(models["evaluator"].calls) == 3 * 8 and "grounding" not in summary.questions.n_failed
    assert all(_image_urls(call.messages) == [] for backend in models.values() for call in backend.calls)
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    assert all("grounding" not in table["metrics"] for table in results["tables"].values())
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "Grounding" not in report and "| Role Choice | Coherence |\n" in report
    scenario = json.loads((run / "scenarios" / "en" / "Harry.json").read_text(encoding="utf-8"))
    assert all("image" not in chat for chat in scenario["chats"].values())


def test_grounding_is_asked_and_parsed_like_coherence(beyond: Path):
    from mmrole.autorpeval import load_roles

    harry = load_roles(beyond / "autorpeval" / "roles_en" / "Harry.json")[0]
    chat = harry.chat("Elara")
    chat["dialogues"] = [
        {"role": "Elara", "dialogue": "Look!"},
        {"role": "Harry", "dialogue": "A lighthouse."},
    ]
    chat["image"] = {"path": "/pictures/lighthouse.png", "annotation": LANTERN}
    part = {"type": "image_url", "image_url": {"url": "/pictures/lighthouse.png"}}
    messages = question_messages("grounding", harry, chat, image=[part])
    assert messages[0] == {"role": "system", "content": "You are a helpful assistant."}
    assert messages[1]["content"][0] == part and "Harry: A lighthouse." in messages[1]["content"][1]["text"]
    assert question_messages("rolechoice", harry, chat, image=[part])[1]["content"].startswith("You are")
    assert parse_answer("grounding", 'ok {"is_grounded": "true"}', harry) == 1
    assert parse_answer("grounding", '{"is_grounded": "false"}', harry) == 0
    with pytest.raises(ValueError, match="'is_grounded' is 'yes'"):
        parse_answer("grounding", '{"is_grounded": "yes"}', harry)


def _imported_images(run: Path) -> dict[tuple[str, str], str]:
    from mmrole.autorpeval.run_folder import AutoRPEvalRun

    return {
        (role.name, scene.partner): scene.image.path
        for role in AutoRPEvalRun(run).roles("scenarios")
        for scene in role.scenes
        if scene.image is not None
    }


def test_an_import_resolves_relative_image_paths_where_the_files_are_not_where_it_runs(
    three_roles: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from mmrole.autorpeval import export_run, import_results
    from mmrole.errors import DataError

    images = _with_images(three_roles, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "pictures").mkdir(parents=True)
    (elsewhere / "pictures" / "boats.png").write_bytes(b"another file of the same relative name")
    monkeypatch.chdir(elsewhere)
    lighthouse, boats = str((images / "lighthouse.png").resolve()), str((images / "boats.png").resolve())
    expected = {
        (role, partner): (lighthouse if index == 0 else boats)
        for role, partners in PICTURED.items()
        for index, partner in enumerate(partners)
    }
    import_results(three_roles, tmp_path / "given", images=images)
    assert _imported_images(tmp_path / "given") == expected
    # Beside the role files, paths relative to their own folder; never the working directory's.
    for path in three_roles.rglob("*.json"):
        for picture in ("lighthouse.png", "boats.png"):
            shutil.copyfile(images / picture, path.parent / picture)
    import_results(three_roles, tmp_path / "beside")
    beside = _imported_images(tmp_path / "beside")
    assert sorted(beside) == sorted(expected)
    folders = {path.stem: str(path.parent.resolve()) for path in three_roles.rglob("*.json")}
    for (role, _), path in beside.items():
        assert Path(path).is_absolute() and str(Path(path).parent) == folders[role]
    # A run exported and imported again keeps its (absolute) paths.
    run = tmp_path / "run"
    autorpeval_sync(
        AutoRPEvalOptions(roles=str(three_roles), images=str(images), run=str(run), limit=2, engine=QUIET),
        models=_models(),
    )
    export_run(run, tmp_path / "beyond", model="m", stage="dialogues")
    import_results(tmp_path / "beyond", tmp_path / "again")
    assert _imported_images(tmp_path / "again") == _imported_images(run) == expected
    # A path leaving the files' folder is refused, naming the file, the role and the chat.
    harry = next(three_roles.rglob("Harry.json"))
    data = json.loads(harry.read_text(encoding="utf-8"))
    data["chats"]["Elara"]["image"] = "../../secret.png"
    harry.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DataError, match=r"Harry.json, record Harry, field 'chats.Elara.image'"):
        import_results(three_roles, tmp_path / "refused")
