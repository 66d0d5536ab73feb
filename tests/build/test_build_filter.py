"""`mmrole build filter` over a root: rule rejections, the LLM-judge review (scripted), malformed
reviews, refinement, the audit sidecar, atomic rewrites of the dataset files, and resuming."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from curate_helpers import (
    curated_root,
    dialogue_file,
    dialogue_id_of,
    read_records,
    record,
    review,
    write_records,
)

from mmrole.build.filter_items import read_sidecar, sidecar_path
from mmrole.build.filter_options import FilterOptions
from mmrole.build.filters import build_filter
from mmrole.data.validate import validate
from mmrole.engine.options import EngineOptions
from mmrole.errors import BackendError, ConfigError, DataError
from mmrole.testing import ScriptedBackend

#: Options of the engine in these tests: no progress bars.
QUIET = EngineOptions(progress=False)


def options(root: Path, **more) -> FilterOptions:
    return FilterOptions(root=root, progress=False, **more)


def dialogue_count(root: Path) -> int:
    return sum(len(read_records(p)) for p in (root / "dialogues").rglob("*.json"))


def judge_by_id(scores: dict[str, object], default: float = 8) -> ScriptedBackend:
    """A judge replying per dialogue id: a score, or a reply text as given (a string)."""

    def reply(call):
        wanted = scores.get(dialogue_id_of(call.request_id), default)
        return (
            wanted if isinstance(wanted, (str, BaseException)) else review(float(wanted), reason="scripted")
        )

    return ScriptedBackend(reply)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return curated_root(tmp_path / "root")


def test_rules_reject_broken_dialogues_and_everything_else_is_kept(root: Path):
    path = dialogue_file(root, "Mira Vale", "human-role", "COCO")
    records = read_records(path)
    broken = record("Mira Vale", "human-role", "COCO", 2)
    broken["conversations"][3]["value"] = "As an AI language model, I do not keep lighthouses."
    stopped = record("Mira Vale", "human-role", "COCO", 3)
    stopped["conversations"] = stopped["conversations"][:-1]
    write_records(path, [*records, broken, stopped])
    before = dialogue_count(root)

    summary = build_filter(options(root))

    assert (summary.kept, summary.failed, summary.calls) == (before - 2, 2, 0)
    assert summary.reasons == {"refusal": 1, "turn count": 1}
    assert summary.by_type["human-role"].failed == 2 and summary.by_type["comment"].failed == 0
    assert [r["id"] for r in read_records(path)] == [r["id"] for r in records]
    audit = {r["id"]: r for r in read_sidecar(root)}
    assert len(audit) == before
    assert audit[broken["id"]]["kept"] is False
    assert audit[broken["id"]]["failures"] == [
        {"rule": "refusal", "detail": "breaks character: 'As an AI language model'", "turn": 3}
    ]
    assert audit[stopped["id"]]["failures"][0]["rule"] == "turn count"
    assert all(r["kept"] for i, r in audit.items() if i not in (broken["id"], stopped["id"]))
    assert validate(root).ok
    assert not list(root.rglob("*.partial"))


def test_near_duplicates_within_a_character_are_rejected(root: Path):
    path = dialogue_file(root, "Otto Brass", "comment", "script")
    records = read_records(path)
    again = json.loads(json.dumps(records[0]))
    again["id"] = "Otto_Brass_comment_script_2"
    write_records(path, [*records, again])
    summary = build_filter(options(root))
    assert summary.reasons == {"near-duplicate": 1}
    assert [r["id"] for r in read_records(path)] == [r["id"] for r in records]
    detail = {r["id"]: r for r in read_sidecar(root)}[again["id"]]["failures"][0]["detail"]
    assert detail == "100% like Otto_Brass_comment_script_0"


def test_the_judge_rejects_low_scores_and_every_score_and_reason_is_kept(root: Path):
    low = "Mira_Vale_comment_script_1"
    judge = judge_by_id({low: 3})
    total = dialogue_count(root)
    summary = build_filter(options(root, judge="scripted", min_judge_score=6), judge=judge)
    assert (summary.kept, summary.failed, summary.calls) == (total - 1, 1, total)
    assert summary.reasons == {"judge score": 1}
    audit = {r["id"]: r for r in read_sidecar(root)}
    assert audit[low]["judge"] == {
        "score": 3.0,
        "scores": {"in_character": 3.0, "grounded": 3.0, "consistent": 3.0},
        "reason": "scripted",
        "bad_turns": [],
    }
    assert audit[low]["failures"] == [{"rule": "judge score", "detail": "3 < 6: scripted", "turn": None}]
    assert all(r["judge"]["score"] == 8.0 for i, r in audit.items() if i != low)
    assert low not in {r["id"] for r in read_records(dialogue_file(root, "Mira Vale", "comment", "script"))}
    # the review saw the image, the profile and the dialogue; inter-role ones both profiles
    call = next(c for c in judge.calls if "role-role" in (c.request_id or ""))
    image = call.messages[1]["content"][0]["image_url"]["url"]
    assert Path(image).is_file() and Path(image).is_relative_to((root / "images").resolve())
    assert "## Profile of Mira Vale" in call.text and "## Profile of Otto Brass" in call.text
    chinese = next(c for c in judge.calls if "小月" in (c.request_id or ""))
    assert "## 小月的简介" in chinese.text and "请从 1（最差）到 10（最好）" in chinese.text


def test_a_rerun_makes_no_call_and_keeps_the_earlier_rejection_on_record(root: Path):
    low = "Otto_Brass_human-role-dialogue_COCO_0"
    build_filter(options(root, judge="scripted"), judge=judge_by_id({low: 2}))
    judge = judge_by_id({low: 2})
    summary = build_filter(options(root, judge="scripted"), judge=judge)
    assert judge.calls == [] and summary.calls == 0 and summary.failed == 0
    audit = {r["id"]: r for r in read_sidecar(root)}
    assert audit[low]["kept"] is False and audit[low]["judge"]["score"] == 2.0


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("I think it is a fine dialogue overall.", "no in_character score"),
        ('{"in_character": 8, "grounded": "high", "consistent": 7}', "no grounded score"),
        ('{"in_character": 8, "grounded": 11, "consistent": 7}', "grounded score 11 is outside 1-10"),
        ('{"in_character": 8, "grounded": 7', "no consistent score"),
    ],
)
def test_unreadable_reviews_are_asked_again_then_counted_never_a_crash(root: Path, reply: str, why: str):
    bad = "Nadia_Okafor_comment_COCO_0"
    judge = judge_by_id({bad: reply})
    summary = build_filter(options(root, judge="scripted"), judge=judge)
    assert summary.failed == 1 and summary.reasons == {"judge error": 1}
    asked = [c for c in judge.calls if dialogue_id_of(c.request_id) == bad]
    assert len(asked) == 2 and "could not be read" in asked[1].text  # one re-ask with the reminder
    entry = {r["id"]: r for r in read_sidecar(root)}[bad]
    assert entry["judge_error"] == f"unreadable review: {why}" and entry["judge"] is None


def test_on_judge_error_keep_keeps_unreviewed_dialogues_and_says_so(root: Path):
    bad = "Nadia_Okafor_comment_COCO_0"
    judge = judge_by_id({bad: "no idea"})
    summary = build_filter(
        options(root, judge="scripted", on_judge_error="keep", judge_format_retries=0), judge=judge
    )
    assert summary.failed == 0
    entry = {r["id"]: r for r in read_sidecar(root)}[bad]
    assert entry["kept"] and entry["judge_error"].startswith("unreadable review")
    assert len([c for c in judge.calls if dialogue_id_of(c.request_id) == bad]) == 1


def test_a_failed_review_call_is_a_judge_error(root: Path):
    bad = "Otto_Brass_comment_COCO_1"
    judge = judge_by_id({bad: BackendError("HTTP 400: bad request")})
    summary = build_filter(options(root, judge="scripted"), judge=judge)
    assert summary.reasons == {"judge error": 1}
    assert {r["id"]: r for r in read_sidecar(root)}[bad]["judge_error"].startswith(
        "review call failed: HTTP 400"
    )


def test_a_review_wrapped_in_prose_or_a_code_fence_is_read(root: Path):
    fenced = "Sure!\n```json\n" + review(7, bad_turns=[2, 99]) + "\n```"
    judge = judge_by_id({"Mira_Vale_human-role-dialogue_COCO_0": fenced})
    build_filter(options(root, judge="scripted"), judge=judge)
    entry = {r["id"]: r for r in read_sidecar(root)}["Mira_Vale_human-role-dialogue_COCO_0"]
    assert entry["kept"] and entry["judge"]["score"] == 7.0 and entry["judge"]["bad_turns"] == [1]


def _with_ai_turn(root: Path) -> tuple[Path, str, str]:
    path = dialogue_file(root, "Mira Vale", "human-role", "script")
    records = read_records(path)
    old = "As an AI, I cannot see the lighthouse."
    records[0]["conversations"][3]["value"] = old
    write_records(path, records)
    return path, records[0]["id"], old


def test_refine_rewrites_the_failing_turns_and_checks_them_again(root: Path):
    path, target, old = _with_ai_turn(root)
    new = "The lamp is lit, and Otto's gears are humming again."
    generator = ScriptedBackend(lambda call: json.dumps({"4": new, "2": "not asked for"}))
    judge = judge_by_id({})
    summary = build_filter(
        options(root, judge="scripted", refine=True, generator="scripted"), judge=judge, generator=generator
    )
    assert summary.failed == 0 and len(generator.calls) == 1
    asked = generator.calls[0].text
    assert "[4] Mira Vale: refusal: breaks character: 'As an AI'" in asked and '{"4": "..."}' in asked
    turns = next(r for r in read_records(path) if r["id"] == target)["conversations"]
    assert turns[3]["value"] == new and turns[1]["value"] != "not asked for"
    entry = {r["id"]: r for r in read_sidecar(root)}[target]
    assert entry["kept"] and entry["refined"] == 1 and entry["rewritten"] == {"3": old}
    reviewed = [c for c in judge.calls if dialogue_id_of(c.request_id) == target]
    assert len(reviewed) == 1 and new in reviewed[0].text  # reviewed once: after the rewrite
    assert validate(root).ok


def test_refine_asks_for_the_turns_a_low_review_names(root: Path):
    target = "Otto_Brass_comment_COCO_0"
    calls = {"n": 0}

    def judged(call):
        if dialogue_id_of(call.request_id) != target:
            return review(8)
        calls["n"] += 1
        return review(2, bad_turns=[2], reason="not about the image") if calls["n"] == 1 else review(9)

    generator = ScriptedBackend(lambda call: json.dumps({"2": "Those boats at the pier carry my springs."}))
    summary = build_filter(
        options(root, judge="scripted", refine=True, generator="scripted"),
        judge=ScriptedBackend(judged),
        generator=generator,
    )
    assert summary.failed == 0
    assert "[2] Otto Brass: the review: not about the image" in generator.calls[0].text
    entry = {r["id"]: r for r in read_sidecar(root)}[target]
    assert entry["judge"]["score"] == 9.0 and entry["refined"] == 1


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("I rewrote it for you!", "refine failed"),
        (json.dumps({"4": "As an AI I still cannot."}), "refusal"),
    ],
)
def test_a_rewrite_that_is_unusable_or_still_fails_drops_the_dialogue(root: Path, reply: str, reason: str):
    path, target, _ = _with_ai_turn(root)
    generator = ScriptedBackend(lambda call: reply)
    summary = build_filter(
        options(root, refine=True, refine_rounds=2, generator="scripted"), generator=generator
    )
    assert summary.failed == 1 and reason in summary.reasons
    assert target not in {r["id"] for r in read_records(path)}
    # an unusable rewrite is not asked again; a failing one gets its second round
    assert len(generator.calls) == (1 if reason == "refine failed" else 2)


def test_structural_failures_are_not_refined(root: Path):
    path = dialogue_file(root, "Mira Vale", "comment", "COCO")
    records = read_records(path)
    records[0]["conversations"] = records[0]["conversations"][:1]
    write_records(path, records)
    generator = ScriptedBackend([])
    summary = build_filter(options(root, refine=True, generator="scripted"), generator=generator)
    assert summary.reasons == {"turn count": 1, "speakers": 1} and generator.calls == []


def test_a_missing_image_stops_the_stage_before_any_call_unless_omitted(root: Path):
    (root / "images" / "scenes" / "boats.png").unlink()
    judge = judge_by_id({})
    with pytest.raises(DataError, match=r"image file not found: .*boats\.png.*--missing-image omit"):
        build_filter(options(root, judge="scripted"), judge=judge)
    assert judge.calls == [] and not sidecar_path(root).exists()
    summary = build_filter(options(root, judge="scripted", missing_image="omit"), judge=judge)
    assert summary.failed == 0
    texts_only = [c for c in judge.calls if "COCO_0" in (c.request_id or "")]
    assert texts_only and all(len(c.messages[1]["content"]) == 1 for c in texts_only)


def test_an_image_link_leading_out_of_the_folder_is_a_rejection(root: Path, outside_secret):
    secret, data = outside_secret
    link = root / "images" / "scenes" / "boats.png"
    link.unlink()
    link.symlink_to(secret)
    judge = judge_by_id({})
    summary = build_filter(options(root, judge="scripted"), judge=judge)
    assert summary.failed == summary.reasons["structure"] > 0
    sent = json.dumps([c.messages for c in judge.calls])
    assert judge.calls and str(secret) not in sent and str(link) not in sent


def test_bad_input_is_one_line(root: Path):
    write_records(root / "dialogues" / "in-distribution" / "comment" / "Nobody_COCO.json", [])
    with pytest.raises(DataError, match="no character 'Nobody' in any roles.json"):
        build_filter(options(root))
    with pytest.raises(ConfigError, match="--refine needs --generator"):
        build_filter(options(root, refine=True))
    with pytest.raises(ConfigError, match="--on-judge-error maybe: choose reject or keep"):
        build_filter(options(root, on_judge_error="maybe"))
    with pytest.raises(DataError, match="not an MMRole-Data root"):
        build_filter(options(root / "dialogues"))


def test_a_listed_character_without_a_profile_stops_the_filter_only_when_it_has_dialogues(root: Path):
    roles = root / "profiles" / "in-distribution" / "roles.json"
    listed = json.loads(roles.read_text("utf-8"))
    listed["The Lantern Isles"].append("Tick")  # its profile stage has not run yet
    roles.write_text(json.dumps(listed))
    assert build_filter(options(root)).failed == 0
    write_records(dialogue_file(root, "Tick", "comment", "COCO"), [record("Mira Vale", "comment", "COCO", 9)])
    with pytest.raises(DataError, match="record Tick.*no profile text"):
        build_filter(options(root))


def test_the_dialogue_stage_does_not_write_back_what_the_filter_removed(root: Path):
    from mmrole.build.dialogues import DialogueOptions, build_dialogues
    from mmrole.build.filter_items import rejected_ids

    low = "Otto_Brass_comment_COCO_0"
    build_filter(options(root, judge="scripted"), judge=judge_by_id({low: 2}))
    assert rejected_ids(root) == {low}
    generator = ScriptedBackend(
        lambda call: json.dumps({"comment": "The boats at the pier, every one of them."})
    )
    summary = build_dialogues(
        DialogueOptions(
            root=root, generator=generator, type="comment", characters=["Otto Brass"], coco_count=2,
            script_count=0, generic_images="scenes", engine=QUIET,
        )
    )  # fmt: skip
    assert low not in {r["id"] for r in read_records(dialogue_file(root, "Otto Brass", "comment", "COCO"))}
    assert summary.kept == 0 and summary.skipped == 2 and generator.calls == []
