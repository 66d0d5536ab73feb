"""`mmrole data validate`: every problem located by file, record and field; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_links import CLIMBING_NAME, LINK_DIALOGUES, OUTSIDE_TEXT
from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.data import load_samples, sample_to_qwen
from mmrole.data.sources import copy_demo
from mmrole.data.validate import validate

runner = CliRunner()
HUMAN_ROLE = Path("dialogues/in-distribution/human-role")


def _turns(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"role": speaker, "value": text} for speaker, text in pairs]


@pytest.fixture(scope="module")
def broken_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo set with one of each problem added."""
    root = copy_demo(tmp_path_factory.mktemp("broken") / "data")
    ok_turns = _turns(("human", "Hello?"), ("Mira Vale", "Hello."))
    records = [
        {"id": "Mira_Vale_human-role-dialogue_bad_0", "conversations": ok_turns},  # no image
        {"id": "Mira_Vale_human-role-dialogue_bad_1", "image": "scenes/nope.png", "conversations": ok_turns},
        {"id": "Mira_Vale_human-role-dialogue_bad_2", "image": "../../etc/passwd", "conversations": ok_turns},
        {"id": "Mira_Vale_human-role-dialogue_bad_1", "image": "scenes/house.png", "conversations": ok_turns},
        {
            "id": "Mira_Vale_human-role-dialogue_bad_3",
            "image": "scenes/house.png",
            "conversations": _turns(("human", "Hi"), ("human", "Anyone?"), ("Mira Vale", "Yes.")),
        },
        {
            "id": "Mira_Vale_human-role-dialogue_bad_4",
            "image": "scenes/house.png",
            "conversations": _turns(("human", "Hi"), ("Mira Vale", "   ")),
        },
    ]
    (root / HUMAN_ROLE / "Mira_Vale_bad.json").write_text(json.dumps(records, indent=2))
    stranger_turns = _turns(("human", "Who are you?"), ("Nobody", "Nobody."))
    stranger = [
        {"id": "Nobody_human-role-dialogue_x_0", "image": "scenes/house.png", "conversations": stranger_turns}
    ]
    (root / HUMAN_ROLE / "Nobody_x.json").write_text(json.dumps(stranger))
    (root / HUMAN_ROLE / "Otto_Brass_broken.json").write_text(
        '[\n  {"id": "a",\n   "image": "x.png"\n  ,,\n]'
    )
    test_file = root / "data" / "test" / "in-distribution" / "comment_test.json"
    records = json.loads(test_file.read_text())
    test_file.write_text(json.dumps(records + records[:1], ensure_ascii=False))
    return root


def _by_kind(report) -> dict[str, list]:
    return {kind: problems for kind, problems in report.problems.items()}


def test_clean_sources_validate_clean(mmrole_data_root: Path, in_test_root: Path):
    assert validate("demo").counts == {}
    assert validate(in_test_root / "gpt-4-turbo").counts == {}
    report = validate(mmrole_data_root)
    assert report.ok
    # Only expected, explained warnings: 641 empty dialogues and the COCO images the release leaves out.
    assert set(report.counts) == {"empty-dialogue", "coco-images-absent"}
    assert report.counts["coco-images-absent"] == 10_293
    (coco,) = report.problems["coco-images-absent"]
    assert "10293 dialogues refer to 10293 COCO images not included in this release" in coco.message


def test_every_problem_is_located(broken_root: Path):
    report = validate(broken_root)
    assert not report.ok
    problems = _by_kind(report)
    bad_file = str(broken_root / HUMAN_ROLE / "Mira_Vale_bad.json")

    def one(kind: str):
        (problem,) = problems[kind]
        return problem

    missing = one("missing-field")
    assert (missing.file, missing.record, missing.field) == (
        bad_file,
        "Mira_Vale_human-role-dialogue_bad_0",
        "image",
    )
    image = one("missing-image")
    assert (image.record, image.field) == ("Mira_Vale_human-role-dialogue_bad_1", "image")
    unsafe = one("unsafe-image-path")
    assert unsafe.record == "Mira_Vale_human-role-dialogue_bad_2" and "../../etc/passwd" in unsafe.message
    duplicates = {(p.file, p.record) for p in problems["duplicate-id"]}
    assert (bad_file, "Mira_Vale_human-role-dialogue_bad_1") in duplicates
    test_file = str(broken_root / "data" / "test" / "in-distribution" / "comment_test.json")
    assert (test_file, "Mira_Vale_comment_script_0_1") in duplicates
    alternation = one("broken-alternation")
    assert (alternation.record, alternation.field) == (
        "Mira_Vale_human-role-dialogue_bad_3",
        "conversations[1]",
    )
    empty = one("empty-turn")
    assert (empty.record, empty.field) == ("Mira_Vale_human-role-dialogue_bad_4", "conversations[1].value")
    stranger = one("unknown-character")
    assert stranger.record == "Nobody_human-role-dialogue_x_0" and "'Nobody'" in stranger.message
    malformed = one("malformed-json")
    assert malformed.file.endswith("Otto_Brass_broken.json") and "line 4, column 4" in malformed.message


def test_validate_cli_reports_and_exits_non_zero(broken_root: Path):
    result = runner.invoke(app, ["data", "validate", str(broken_root)], terminal_width=200)
    assert result.exit_code == 1, result.output
    for kind in ("malformed-json", "missing-image", "unsafe-image-path", "duplicate-id", "empty-turn"):
        assert kind in result.output
    assert "Traceback" not in result.output
    as_json = runner.invoke(app, ["data", "validate", str(broken_root), "--json"])
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert data["ok"] is False and data["problems"]["duplicate-id"]["count"] == 2
    item = data["problems"]["missing-field"]["items"][0]
    assert item["field"] == "image" and item["record"] == "Mira_Vale_human-role-dialogue_bad_0"


def test_validate_cli_on_the_reference_release(mmrole_data_root: Path):
    result = runner.invoke(app, ["data", "validate", str(mmrole_data_root)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "COCO images not included in this release" in result.output
    assert "no errors" in result.output


def test_samples_files_are_validated_too(tmp_path: Path):
    samples = list(load_samples("demo"))
    lines = [s.model_dump_json() for s in samples[:2]]
    lines.append(json.dumps(samples[0].model_dump() | {"image": "/etc/passwd"}))
    lines.append(
        json.dumps({k: v for k, v in samples[1].model_dump().items() if k != "role"} | {"id": "norole"})
    )
    lines.append("{not json")
    path = tmp_path / "samples.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = validate(path)
    assert {p.record for p in report.problems["duplicate-id"]} == {samples[0].id}
    assert report.problems["unsafe-image-path"][0].record == samples[0].id
    assert (report.problems["missing-field"][0].record, report.problems["missing-field"][0].field) == (
        "norole",
        "role",
    )
    assert "line 5" in report.problems["malformed-json"][0].message
    qwen = tmp_path / "in-distribution" / "human-role_test.json"
    qwen.parent.mkdir()
    record = sample_to_qwen(samples[2])
    record["conversations"][1]["value"] = ""
    qwen.write_text(json.dumps([record]))
    assert validate(qwen).problems["empty-turn"][0].field == "reference"


def test_missing_path_is_one_clear_error(tmp_path: Path):
    result = runner.invoke(app, ["data", "validate", str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert "no such file or folder" in str(result.exception)


def test_links_out_of_the_root_are_reported_and_never_read(linked_root: Path):
    report = validate(linked_root)
    assert not report.ok
    located = {
        kind: sorted((p.file, p.record, p.field) for p in problems)
        for kind, problems in report.problems.items()
    }
    links = str(linked_root / LINK_DIALOGUES)
    assert located["unsafe-image-path"] == [
        (links, "Mira_Vale_human-role-dialogue_links_0", "image"),
        (links, "Mira_Vale_human-role-dialogue_links_1", "image"),
    ]
    assert "resolves outside" in report.problems["unsafe-image-path"][0].message
    assert [file for file, _, _ in located["unsafe-path"]] == [
        str(linked_root / "data" / "test" / "in-distribution" / "human-role_leak_test.json"),
        str(linked_root / LINK_DIALOGUES.with_name("Otto_Brass_elsewhere.json")),
    ]
    roles = str(linked_root / "profiles" / "in-distribution" / "roles.json")
    assert located["unsafe-name"] == [(roles, CLIMBING_NAME, "The Lantern Isles")]
    # Nothing else: the links that stay inside the root (alias.png, mirror/) are fine.
    assert set(report.counts) == {"unsafe-image-path", "unsafe-path", "unsafe-name"}
    result = runner.invoke(app, ["data", "validate", str(linked_root), "--json"])
    assert result.exit_code == 1
    assert OUTSIDE_TEXT not in result.stdout
    assert json.loads(result.stdout)["problems"]["unsafe-name"]["count"] == 1
