"""Stepwise generation (``generation = "stepwise"``): one plain-text call per profile section or
dialogue turn, the structure fixed by the pipeline, every call through the engine's store."""

from __future__ import annotations

import json
from pathlib import Path

from build_roots import make_root

from mmrole.build.dialogues import DialogueOptions, build_dialogues
from mmrole.build.profiles import ProfileOptions, build_profiles
from mmrole.data.validate import validate
from mmrole.engine.options import EngineOptions
from mmrole.prompts.build_profiles import SECTIONS
from mmrole.testing import ScriptedBackend

QUIET = EngineOptions(progress=False)


def _speaker_of(call) -> str:
    """The label the turn request ends with (``Woody:``, ``Human:``)."""
    return call.text.rstrip().rsplit("\n", 1)[-1].rstrip(":：")


def _turn_reply(call) -> str:
    """An echo of the speaker's label, the turn, then the model going on as the other speaker."""
    who = _speaker_of(call)
    other = "Human" if who != "Human" else "Woody"
    return f"{who}: Look at the boats, {call.request_id}.\n{other}: And then I said"


def _dialogues(root: Path, generator, dialogue_type: str, **more):
    options = {"coco_count": 1, "script_count": 0, "min_turns": 4, "max_turns": 4, "engine": QUIET, **more}
    return build_dialogues(
        DialogueOptions(
            root=root, generator=generator, type=dialogue_type, characters=["Woody"], generation="stepwise",
            **options,
        )
    )  # fmt: skip


def _records(root: Path, dialogue_type: str) -> list[dict]:
    path = root / "dialogues" / "in-distribution" / dialogue_type / "Woody_COCO.json"
    return json.loads(path.read_text())


def test_dialogues_are_written_one_turn_per_call_with_the_speakers_fixed_and_echoes_stripped(tmp_path):
    root = make_root(tmp_path / "root")
    backend = ScriptedBackend(_turn_reply)
    summary = _dialogues(root, backend, "human-role")
    assert (summary.kept, summary.failed, summary.calls) == (1, 0, 4)
    (record,) = _records(root, "human-role")
    turns = record["conversations"]
    assert [t["role"] for t in turns] == ["human", "Woody", "human", "Woody"]  # by construction
    for number, turn in enumerate(turns):  # the "Name:" echo and the next speaker's line are gone
        assert turn["value"] == f"Look at the boats, dialogues-human-role:{record['id']}#turn{number}."
    # each request holds the turns before it, in the order they were written
    assert "Look at the boats" not in backend.calls[0].text
    assert turns[2]["value"] in backend.calls[3].text and turns[3]["value"] not in backend.calls[3].text
    assert validate(root).ok


def test_a_comment_is_one_call_answering_the_planned_question(tmp_path):
    root = make_root(tmp_path / "root")
    backend = ScriptedBackend(_turn_reply)
    summary = _dialogues(root, backend, "comment")
    assert (summary.kept, summary.calls) == (1, 1)
    (record,) = _records(root, "comment")
    question, comment = record["conversations"]
    assert question["from"] == "human" and f"Human: {question['value']}" in backend.calls[0].text
    assert comment["role"] == "Woody" and comment["value"].startswith("Look at the boats")


def test_an_empty_turn_is_asked_again_then_the_dialogue_fails(tmp_path):
    root = make_root(tmp_path / "root")
    replies = {"Human": "Woody: ...", "Woody": "It is a pier."}  # the human's turns stay empty
    backend = ScriptedBackend(lambda call: replies[_speaker_of(call)])
    summary = _dialogues(root, backend, "human-role", format_retries=1)
    assert (summary.kept, summary.failed, summary.calls) == (0, 1, 2)  # turn 0, its retry: no turn 1
    assert summary.reasons == {"empty turn": 1}
    retry = backend.calls[1]
    assert retry.request_id.endswith("#retry1") and retry.text.startswith(
        "(Your previous reply could not be used: empty turn"
    )
    assert retry.text.endswith("Human:")  # the reminder goes first: the request still ends with the label
    failure = json.loads((root / ".build" / "failures" / "dialogues-human-role.jsonl").read_text())
    assert failure["reason"] == "empty turn" and failure["key"].endswith("_0")
    assert not (root / "dialogues" / "in-distribution" / "human-role" / "Woody_COCO.json").exists()


def test_a_rerun_repeats_no_call(tmp_path):
    root = make_root(tmp_path / "root")
    first = ScriptedBackend(_turn_reply)
    _dialogues(root, first, "inter-role")
    written = _records(root, "inter-role")
    again = ScriptedBackend()  # answers nothing: any call would fail
    summary = _dialogues(root, again, "inter-role", overwrite=True)
    assert again.calls == [] and summary.calls == 0 and summary.kept == 1
    assert _records(root, "inter-role") == written
    speakers = [t["role"] for t in written[0]["conversations"]]
    assert speakers[1::2] == ["Woody", "Woody"] and len(set(speakers[0::2])) == 1 != "Woody"


def test_profiles_are_written_one_section_per_call_and_assembled(tmp_path):
    root = make_root(tmp_path / "root", profiles=False)
    backend = ScriptedBackend(lambda call: f"### Heading\n{call.request_id} says hello.\n")
    summary = build_profiles(
        ProfileOptions(
            root=root, generator=backend, characters=["Woody"], generation="stepwise", engine=QUIET
        )
    )
    assert (summary.kept, summary.failed, summary.calls) == (1, 0, 10)  # 5 sections, then 5 condensed
    detailed = json.loads(
        (root / "profiles" / "in-distribution" / "detailed_profiles" / "Woody.json").read_text()
    )
    assert list(detailed) == list(SECTIONS)
    for section in SECTIONS:  # heading lines dropped, one call per section
        assert detailed[section] == f"profiles:detailed:in-distribution/Woody#{section} says hello."
    short = json.loads((root / "profiles" / "in-distribution" / "profiles.json").read_text())["Woody"]
    assert short.startswith("### Brief Introduction\nprofiles:summary:in-distribution/Woody#introduction")
    assert detailed["experience"] in backend.calls[-1].text  # the short sections read the detailed ones


def test_a_profile_with_an_empty_section_is_failed_and_not_written(tmp_path):
    root = make_root(tmp_path / "root", profiles=False)
    backend = ScriptedBackend(lambda call: "" if "#relationship" in call.request_id else "Some text.")
    summary = build_profiles(
        ProfileOptions(
            root=root, generator=backend, characters=["Woody"], generation="stepwise", format_retries=1, engine=QUIET,
        )
    )  # fmt: skip
    assert (summary.kept, summary.failed) == (0, 1) and summary.reasons == {"empty section": 1}
    assert backend.attempts("profiles:detailed:in-distribution/Woody#relationship#retry1") == 1
    assert not (root / "profiles" / "in-distribution" / "detailed_profiles" / "Woody.json").exists()
