"""`build dialogues`: the three types in MMRole-Data's format, clean under `data validate`, turned into
the expected samples by `data samples`; adversarial replies fail with reasons and never reach a file."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from build_roots import ROLES, make_root

from mmrole.build.dialogues import DialogueOptions, build_dialogues
from mmrole.data import build_samples, load_characters
from mmrole.data.paths import UnsafePathError
from mmrole.data.validate import validate
from mmrole.engine.options import EngineOptions
from mmrole.errors import ConfigError, DataError
from mmrole.models.base import Completion
from mmrole.prompts.build_dialogues import COMMENT_QUESTIONS
from mmrole.testing import ScriptedBackend
from mmrole.testing.build_replies import build_reply, placeholder

#: Options of the engine in these tests: no progress bars.
QUIET = EngineOptions(progress=False)

MARKERS = {"comment": "comment", "human-role": "human-role-dialogue", "inter-role": "role-role-dialogue"}
SERIES_OF = {name: series for roles in ROLES.values() for series, names in roles.items() for name in names}


def _build(root: Path, generator, dialogue_type: str, **options):
    options = {
        "coco_count": 2,
        "script_count": 2,
        "min_turns": 4,
        "max_turns": 8,
        "engine": QUIET,
        **options,
    }
    return build_dialogues(DialogueOptions(root=root, generator=generator, type=dialogue_type, **options))


def _records(root: Path, dialogue_type: str) -> dict[str, dict]:
    return {
        record["id"]: record
        for path in sorted(root.glob(f"dialogues/*/{dialogue_type}/*.json"))
        for record in json.loads(path.read_text())
    }


@pytest.mark.parametrize("dialogue_type", ["comment", "human-role", "inter-role"])
def test_every_type_is_written_in_the_release_format_and_becomes_the_expected_samples(
    root, generator, dialogue_type, run_mmrole, tmp_path
):
    summary = _build(root, generator, dialogue_type)
    assert (summary.kept, summary.failed, summary.calls) == (24, 0, 24)  # 6 characters x (2 COCO + 2 stills)
    records = _records(root, dialogue_type)
    assert len(records) == 24
    pattern = re.compile(rf"^(.+)_{MARKERS[dialogue_type]}_(COCO|script)_(\d)$")
    for path in root.glob(f"dialogues/*/{dialogue_type}/*.json"):
        for record in json.loads(path.read_text()):
            stem, kind, _ = pattern.match(record["id"]).groups()
            assert path.name == f"{stem}_{kind}.json"
            assert record["image"].startswith(
                "COCO/train2017/"
                if kind == "COCO"
                else SERIES_OF[stem.replace("_", " ")].replace(" ", "_") + "/"
            )
    report = validate(root)
    assert report.ok and dict(report.counts) == {} and report.checked["dialogues"] == 24

    characters = load_characters(root)
    samples = {sample.id: sample for sample in build_samples(root, types=[dialogue_type])}
    expected = {}
    for record_id, record in records.items():
        turns = record["conversations"]
        role = characters[record["id"].split(f"_{MARKERS[dialogue_type]}_")[0].replace("_", " ")]
        speakers = [turn.get("role", turn.get("from")) for turn in turns]
        if dialogue_type == "comment":
            assert list(turns[0]) == ["from", "value"] and speakers == ["human", role.name]
            assert turns[0]["value"] in COMMENT_QUESTIONS[role.language]
        elif dialogue_type == "human-role":
            assert speakers[::2] == ["human"] * (len(turns) // 2) and set(speakers[1::2]) == {role.name}
            assert 4 <= len(turns) <= 8 and len(turns) % 2 == 0
        else:
            partner = characters[speakers[0]]
            assert (
                partner.series == role.series
                and partner.name != role.name
                and set(speakers[1::2]) == {role.name}
            )
        written = (
            [placeholder(role.language, "image")]
            if dialogue_type == "comment"
            else [placeholder(role.language, "image", n) for n in range(len(turns))]
        )
        assert [turn["value"] for turn in turns][-len(written) :] == written  # the reply's text, unchanged
        for index, turn in enumerate(turns):
            if speakers[index] != "human":
                expected[f"{record_id}_{index}"] = turn["value"]
    assert {sid: sample.reference for sid, sample in samples.items()} == expected
    # `mmrole data samples` builds the same samples unchanged.
    out = tmp_path / "samples.jsonl"
    code, _, err = run_mmrole("data", "samples", root, "--out", out, "--type", dialogue_type)
    assert code == 0, err
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["id"] for s in written] == list(samples) and [s["reference"] for s in written] == list(
        expected.values()
    )


def test_requests_carry_the_image_the_profiles_and_the_annotation_in_the_characters_language(root, generator):
    _build(root, generator, "inter-role", characters=["Woody", "孙悟空"])
    characters = load_characters(root)
    for call in generator.calls:
        record_id = call.request_id.split(":", 1)[1]
        role = characters["Woody" if record_id.startswith("Woody") else "孙悟空"]
        partner = characters["Buzz Lightyear" if role.name == "Woody" else "唐僧"]
        assert role.summary in call.text and partner.summary in call.text
        (image,) = [p["image_url"]["url"] for p in call.messages[-1]["content"] if p["type"] == "image_url"]
        record = _records(root, "inter-role")[record_id]
        assert image == str((root / "images" / record["image"]).resolve())
        assert ("请用中文写作" in call.text) == (role.language == "Chinese")
        if record["image"] == "Toy_Story/01.jpg":  # the annotated still: its annotation is in the request
            assert "Someone." in call.text and record["role_info"] == "Someone."


def test_the_plan_is_the_same_for_the_same_seed(tmp_path):
    def plan(name: str, seed: int) -> dict[str, str]:
        root = make_root(tmp_path / name)
        _build(root, ScriptedBackend(lambda call: build_reply(call.messages)), "human-role", seed=seed)
        return {record_id: record["image"] for record_id, record in _records(root, "human-role").items()}

    assert plan("a", 0) == plan("b", 0) != plan("c", 7)


def _human_role_turns(*pairs: tuple[str, str]) -> str:
    return json.dumps({"dialogue": [{"speaker": s, "text": t} for s, t in pairs]}, ensure_ascii=False)


LINE = "A line that is long enough to tell its language."
ADVERSARIAL = {
    "wrong speaker": _human_role_turns(
        ("human", LINE), ("Buzz Lightyear", LINE), ("human", LINE), ("Woody", LINE)
    ),
    "speakers do not alternate": _human_role_turns(
        ("human", LINE), ("human", LINE), ("Woody", LINE), ("Woody", LINE)
    ),
    "switches language": _human_role_turns(
        ("human", LINE), ("Woody", LINE), ("human", LINE), ("Woody", "我是胡迪，我是一个牛仔玩具。")
    ),
    "stopped mid-dialogue": _human_role_turns(
        ("human", LINE), ("Woody", LINE), ("human", LINE), ("Woody", LINE), ("human", LINE)
    ),
    "too few turns": _human_role_turns(("human", LINE), ("Woody", LINE)),
    "empty turn": _human_role_turns(("human", LINE), ("Woody", "..."), ("human", LINE), ("Woody", LINE)),
    "not valid JSON": "Woody: Howdy partner! That's a fine picture.",
    "stopped mid-reply": '{"dialogue": [{"speaker": "human", "text": "Howdy',
    "no dialogue": '{"reply": "Howdy"}',
}


@pytest.mark.parametrize("reason", ADVERSARIAL)
def test_an_adversarial_reply_is_retried_then_failed_with_its_reason_and_never_written(root, reason):
    bad = ADVERSARIAL[reason]
    target = "dialogues-human-role:Woody_human-role-dialogue_COCO_0"
    backend = ScriptedBackend(
        lambda call: bad if call.request_id.startswith(target) else build_reply(call.messages)
    )
    summary = _build(root, backend, "human-role", characters=["Woody"], format_retries=1)
    assert (summary.kept, summary.failed, summary.reasons) == (3, 1, {reason: 1})
    assert [call.request_id for call in backend.calls if call.request_id.startswith(target)] == [
        target,
        target + "#retry1",
    ]
    assert "Woody_human-role-dialogue_COCO_0" not in _records(root, "human-role")
    assert validate(root).ok
    (record,) = [
        json.loads(line)
        for line in (root / ".build/failures/dialogues-human-role.jsonl").read_text().splitlines()
    ]
    assert (record["key"], record["reason"], record["reply"]) == (
        "Woody_human-role-dialogue_COCO_0",
        reason,
        bad,
    )


def test_a_cut_off_reply_and_a_stranger_in_an_inter_role_dialogue_fail(root):
    stranger = json.dumps(
        {"dialogue": [{"speaker": "Buzz Lightyear", "text": LINE}, {"speaker": "Jessie", "text": LINE}] * 3}
    )

    def reply(call):
        if call.request_id.endswith("_COCO_0"):
            return Completion(
                '{"dialogue": [{"speaker": "Buzz Lightyear", "text": "To infinity', finish_reason="length"
            )
        if call.request_id.endswith("_COCO_1"):
            return stranger
        return build_reply(call.messages)

    summary = _build(root, ScriptedBackend(reply), "inter-role", characters=["Woody"], format_retries=0)
    assert summary.reasons == {"cut off at the token limit": 1, "wrong speaker": 1} and summary.kept == 2


def test_a_reply_fixed_after_the_reminder_is_kept(root):
    target = "dialogues-comment:唐僧_comment_script_1"
    backend = ScriptedBackend(
        lambda call: (
            '{"comment": "Amitabha, what a fine picture."}'
            if call.request_id == target
            else build_reply(call.messages)
        )
    )
    summary = _build(root, backend, "comment", characters=["唐僧"])
    assert (summary.kept, summary.failed) == (4, 0)
    (retry,) = [call for call in backend.calls if call.request_id == target + "#retry1"]
    assert "switches language" in retry.text and "你上一次对这个请求的回复无法使用" in retry.text
    assert _records(root, "comment")["唐僧_comment_script_1"]["conversations"][1]["value"].startswith("这是")


def test_dialogues_already_built_are_kept_and_only_missing_ones_are_written(root, generator):
    _build(root, generator, "human-role", characters=["Woody"])
    path = root / "dialogues/in-distribution/human-role/Woody_COCO.json"
    records = json.loads(path.read_text())
    records[0]["conversations"][1]["value"] = "Edited by hand."
    del records[1]
    path.write_text(json.dumps(records))
    again = _build(root, ScriptedBackend(), "human-role", characters=["Woody"])  # the store answers
    assert (again.kept, again.skipped, again.calls) == (1, 3, 0)
    rebuilt = json.loads(path.read_text())
    assert [r["id"] for r in rebuilt] == [
        "Woody_human-role-dialogue_COCO_0",
        "Woody_human-role-dialogue_COCO_1",
    ]
    assert rebuilt[0]["conversations"][1]["value"] == "Edited by hand."
    _build(root, ScriptedBackend(), "human-role", characters=["Woody"], overwrite=True)
    assert json.loads(path.read_text())[0]["conversations"][1]["value"] != "Edited by hand."


def test_bad_input_is_one_line_naming_file_and_field_and_calls_nothing(root, generator, outside_secret):
    with pytest.raises(
        DataError, match=r"profiles, field 'characters': character 'Jessie' is not in any roles\.json"
    ):
        _build(root, generator, "comment", characters=["Jessie"])
    with pytest.raises(ConfigError, match=r"--type 'debate': choose from comment, human-role, inter-role"):
        _build(root, generator, "debate")
    with pytest.raises(ConfigError, match="--min-turns"):
        _build(root, generator, "human-role", min_turns=9, max_turns=6)
    profiles = root / "profiles/in-distribution/profiles.json"
    summaries = json.loads(profiles.read_text())
    profiles.write_text(json.dumps({**summaries, "Woody": ""}))
    with pytest.raises(DataError, match=r"profiles\.json, record Woody, field 'Woody': no profile text"):
        _build(root, generator, "comment", characters=["Woody"])
    _build(root, generator, "comment", characters=["唐僧"], coco_count=0, script_count=1)  # others are fine
    profiles.write_text(json.dumps(summaries))
    secret, _ = outside_secret
    os.symlink(secret, root / "images/Toy_Story/00.png")
    with pytest.raises(
        UnsafePathError, match=r"Woody_comment_script_\d, field 'image': image path 'Toy_Story/00\.png'"
    ):
        _build(root, generator, "comment", characters=["Woody"], script_count=4)
    for path in (root / "images/COCO/train2017").iterdir():
        path.unlink()
    with pytest.raises(DataError, match=r"COCO, field 'generic_images': no images for the COCO dialogues"):
        _build(root, generator, "comment", characters=["Woody"])
    assert len(generator.calls) == 1
