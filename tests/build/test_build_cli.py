"""`mmrole build ...` on the command line, against the local OpenAI-compatible server (faults
injected): exit statuses, one-line errors, the stages in order on one root."""

from __future__ import annotations

import json

import pytest

from mmrole.data.validate import validate
from mmrole.testing.build_replies import build_reply
from mmrole.testing.responders import Faults
from mmrole.testing.server import LocalOpenAIServer


@pytest.fixture
def server():
    with LocalOpenAIServer(build_reply) as server:
        yield server


def _spec(server) -> str:
    return f"openai:generator@{server.base_url}"


def test_the_stages_build_a_root_that_validates_through_a_faulty_server(root, server, run_mmrole):
    common = ("--generator", _spec(server), "--no-progress")
    code, out, err = run_mmrole("build", "profiles", root, *common, "--overwrite")
    assert (code, out.strip()) == (0, "profiles: 6 built, 0 failed, 0 already built, 12 calls"), err
    code, out, err = run_mmrole("build", "annotate", root, *common)
    assert (code, out.strip()) == (0, "annotate: 4 built, 0 failed, 3 already built, 4 calls"), err
    # Garbage bodies, empty completions and 429s are retried by the engine: nothing is lost.
    server.faults = Faults(garbage=0.15, empty=0.1, rate_limit=0.1, retry_after=0.01)
    for dialogue_type in ("comment", "human-role", "inter-role"):
        code, out, err = run_mmrole(
            "build", "dialogues", root, *common, "--type", dialogue_type, "--coco-count", "1", "--script-count", "1",
            "--min-turns", "2", "--max-turns", "6", "--characters", "Woody", "--characters", "孙悟空",
        )  # fmt: skip
        assert code == 0, err
        assert out.startswith(f"dialogues-{dialogue_type}: 4 built, 0 failed")
    assert sum(server.outcomes[kind] for kind in ("garbage", "empty", "429")) > 0
    report = validate(root)
    assert report.ok and report.checked["dialogues"] == 12


def test_more_failures_than_allowed_exit_1_naming_the_failures_file(root, server, run_mmrole):
    server.responder = lambda messages: (
        "no JSON here" if "Woody" in messages[-1]["content"][-1]["text"] else build_reply(messages)
    )
    args = ("build", "dialogues", root, "--generator", _spec(server), "--no-progress", "--type", "comment")
    args += ("--coco-count", "1", "--script-count", "0", "--format-retries", "0")
    code, out, err = run_mmrole(*args)
    failures = root / ".build/failures/dialogues-comment.jsonl"
    assert code == 1 and out.startswith("dialogues-comment: 5 built, 1 failed")
    assert "not valid JSON (1)" in err and f"see {failures}" in err and "--max-failures 0" in err
    assert [json.loads(line)["key"] for line in failures.read_text().splitlines()] == ["Woody_comment_COCO_0"]
    code, _, err = run_mmrole(*args, "--max-failures", "1")
    assert code == 0, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("build", "dialogues", "{root}", "--type", "comment", "--characters", "Jessie"),
            "character 'Jessie' is not in any roles.json",
        ),
        (
            ("build", "dialogues", "{root}", "--type", "duet"),
            "--type 'duet': choose from comment, human-role, inter-role",
        ),
        (("build", "profiles", "{root}", "--characters", "Nobody"), "no raw_info_en/Nobody.txt"),
        (("build", "profiles", "{root}", "--languages", "French"), "--languages: unknown ['French']"),
        (("build", "annotate", "{root}", "--max-failures", "many"), "--max-failures"),
        (("build", "annotate", "{root}/nowhere"), "no image folder"),
    ],
)
def test_bad_input_is_one_error_line_with_exit_2(root, server, run_mmrole, args, message):
    line = run_mmrole.refused(
        *(a.format(root=root) for a in args), "--generator", _spec(server), "--no-progress"
    )
    assert message in line
    assert server.received == 0
