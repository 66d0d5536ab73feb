"""`build run --dry-run`: the estimate of calls and tokens equals a hand calculation from the config."""

from __future__ import annotations

from pathlib import Path

from curate_helpers import scratch_root

from mmrole.build.config import read_config
from mmrole.build.estimate import estimate_build
from mmrole.prompts.curation import DialogueView, judge_messages_text, refine_messages_text

CONFIG = """
root = "{root}"
generator = "openai:gpt-4o"
judge = "openai:gpt-4o"

[dialogues]
coco_count = 3
script_count = 1

[filter]
refine = true

[estimate]
instruction_tokens = 100
profile_tokens = 1000
summary_tokens = 500
image_tokens = 10
annotation_tokens = 5
comment_tokens = 50
human_role_tokens = 200
inter_role_tokens = 300
review_tokens = 20
refine_share = 0.5
refine_tokens = 40
"""


def test_the_estimate_is_the_hand_calculation(tmp_path: Path):
    root = scratch_root(tmp_path / "root")
    sources = root / "profiles" / "in-distribution" / "raw_info_en"
    (sources / "Mira_Vale.txt").write_text("m" * 4000)  # 1,000 tokens at 4 characters a token
    (sources / "Otto_Brass.txt").write_text("o" * 400)  # 100 tokens
    (root / "profiles" / "out-of-distribution" / "raw_info_zh" / "小月.txt").write_text(
        "月" * 300
    )  # 300 tokens
    path = tmp_path / "build.toml"
    path.write_text(CONFIG.format(root=root))
    estimate = estimate_build(read_config(path))
    rows = {row.stage: row for row in estimate.rows}
    assert estimate.characters == 3 and estimate.dialogues == 32

    # profiles: a detailed profile from each source (instruction + source), then a short one from it
    assert (rows["profiles"].calls, rows["profiles"].prompt_tokens, rows["profiles"].completion_tokens) == (
        6,
        (100 + 1000) + (100 + 100) + (100 + 300) + 3 * (100 + 1000),
        3 * 1000 + 3 * 500,
    )
    # annotate: the series' stills (The Lantern Isles: 2, 云中小镇: 1)
    annotate = rows["annotate"]
    assert (annotate.calls, annotate.prompt_tokens, annotate.completion_tokens, annotate.images) == (
        3,
        330,
        15,
        3,
    )
    # dialogues: 3 generic images + 1 still per character (the still's annotation in the prompt);
    # inter-role for the two partners only, with both profiles
    one, script = 100 + 500 + 10, 100 + 500 + 10 + 5
    two, two_script = 100 + 1000 + 10, 100 + 1000 + 10 + 5
    assert [
        (rows[f"dialogues-{t}"].calls, rows[f"dialogues-{t}"].prompt_tokens)
        for t in ("comment", "human-role", "inter-role")
    ] == [
        (12, 9 * one + 3 * script),
        (12, 9 * one + 3 * script),
        (8, 6 * two + 2 * two_script),
    ]
    assert [rows[f"dialogues-{t}"].completion_tokens for t in ("comment", "human-role", "inter-role")] == [
        12 * 50,
        12 * 200,
        8 * 300,
    ]
    # filter: a review of each dialogue, a rewrite of half of them, and a second review of those
    view = DialogueView("human-role", "", "", [])
    review = round(sum(map(len, judge_messages_text(view))) / 4)
    rewrite = round(sum(map(len, refine_messages_text(view, []))) / 4)
    bodies = {"comment": 500 + 50 + 10, "human-role": 500 + 200 + 10, "inter-role": 1000 + 300 + 10}
    counts = {"comment": 12, "human-role": 12, "inter-role": 8}
    reviews = rows["filter review"]
    assert reviews.calls == 32 + 16 and reviews.completion_tokens == 48 * 20
    assert reviews.prompt_tokens == sum(1.5 * counts[t] * (review + bodies[t]) for t in counts)
    refine = rows["filter refine"]
    assert (refine.calls, refine.completion_tokens) == (16, 16 * 40)
    assert refine.prompt_tokens == sum(0.5 * counts[t] * (rewrite + bodies[t]) for t in counts)
    total = estimate.total
    assert (total.calls, total.images) == (6 + 3 + 32 + 48 + 16, 3 + 32 + 48 + 16)


def test_a_full_mmrole_size_build_from_the_released_profiles(mmrole_data_root: Path, tmp_path: Path):
    """docs/build.md's configuration over MMRole-Data's 85 released characters (read only)."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "build.md"
    text = docs.read_text(encoding="utf-8")
    config = text.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "mmrole-size.toml"
    path.write_text(config.replace('root = "MMRole-Data"', f'root = "{mmrole_data_root}"'))
    estimate = estimate_build(read_config(path))
    assert estimate.characters == 85 and 13_000 <= estimate.dialogues <= 15_000
    total = estimate.total
    # the numbers docs/build.md shows are these
    assert f"{total.calls:,} calls" in text and f"{estimate.dialogues:,} dialogues" in text
