"""`mmrole build filter|split|run` on the command line: what they print, one-line errors, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from curate_helpers import curated_root, is_review, review

from mmrole.build.filter_items import sidecar_path
from mmrole.models.base import last_user_text
from mmrole.testing.server import LocalOpenAIServer


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return curated_root(tmp_path / "root")


def test_filter_then_split_on_the_command_line(root: Path, run_mmrole):
    def judge(messages):
        text = last_user_text(messages)
        assert is_review(text)
        return review(3 if "Nadia Okafor" in text.split("## The dialogue")[0] else 9)

    with LocalOpenAIServer(judge) as server:
        code, out, err = run_mmrole(
            "build", "filter", root, "--judge", f"openai:j@{server.base_url}", "--no-progress"
        )
    assert code == 0, err
    assert out.splitlines() == [
        f"filter: 32 kept, 8 rejected, 40 calls; every decision in {sidecar_path(root)}",
        "rejected: judge score (8)",
    ]
    code, out, err = run_mmrole("build", "split", root)
    assert code == 0, err
    assert out.splitlines() == [
        "in-distribution test: comment 2, human-role 2, inter-role 2 samples",
        "out-of-distribution test: comment 2, human-role 2 samples",
        "train: comment 6, human-role 18, inter-role 36 samples",
        "left out of training: 4 dialogues of held-out characters, 10 test dialogues; 0 file(s) unchanged",
    ]
    code, out, err = run_mmrole("data", "validate", root)
    assert code == 0, out + err


def test_bad_options_and_configs_are_refused_in_one_line(root: Path, tmp_path: Path, run_mmrole):
    assert "--duplicate-jaccard 1.5: a share in (0, 1]" in run_mmrole.refused(
        "build", "filter", root, "--duplicate-jaccard", "1.5"
    )
    assert "must be 0 or more" in run_mmrole.refused("build", "split", root, "--in-test-per-type", "-1")
    code, _, err = run_mmrole("build", "filter", root, "--on-judge-error", "maybe")  # a choice: click says so
    assert code == 2 and "'maybe' is not one of 'reject', 'keep'" in err and "Traceback" not in err
    config = tmp_path / "build.toml"
    config.write_text(f'stages = ["split"]\nroot = "{root}"\n[split]\nin_test = 1\n')
    line = run_mmrole.refused("build", "run", config)
    assert line == f"error: {config}: [split] in_test: unknown key (no such option in [split])"
