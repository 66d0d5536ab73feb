"""The judge texts are byte-identical to the prompt specification (JUDGE_PROMPT.md), for every released sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from eval_spec_prompt import read_spec, released_records

from mmrole.prompts.judge import FORMAT_REMINDER, JUDGE_SYSTEM, judge_user_text, with_format_reminder
from mmrole.schema import METRICS


def _mine(record: dict, metric: str) -> str:
    turns = record["conversations"]
    return judge_user_text(
        question=turns[0]["value"],
        answer_a=turns[1]["answer"],
        answer_b=turns[1]["value"],
        role=record["role"],
        script=record["script"],
        other_role=record["other_role"],
        metric=metric,
    )


def test_system_and_metric_order_match_the_spec(reference_root: Path) -> None:
    spec = read_spec(reference_root / "mmrole-eval" / "JUDGE_PROMPT.md")
    assert JUDGE_SYSTEM == spec.system
    assert tuple(spec.aspects) == METRICS


def test_user_text_matches_the_spec_for_every_released_sample_and_metric(
    reference_root: Path, in_test_root: Path
) -> None:
    spec = read_spec(reference_root / "mmrole-eval" / "JUDGE_PROMPT.md")
    for kind in ("comment", "human-role", "inter-role"):
        for record in released_records(in_test_root / "mmrole-agent" / f"{kind}_test.reviews.json"):
            for metric in METRICS:
                assert _mine(record, metric) == spec.user_text(record, metric), (record["id"], metric)


def test_derived_names() -> None:
    def text(role: str, script: str, other: str, metric: str) -> str:
        return judge_user_text(
            question="Q",
            answer_a="A",
            answer_b="B",
            role=role,
            script=script,
            other_role=other,
            metric=metric,
        )

    hypothetical = text("Maya Patel", "Hypothetical Characters", "Liam Johnson", "Response Accuracy")
    assert (
        "role-play as Maya Patel, a person who is one of the Hypothetical Characters, and talk with "
        "Liam Johnson, a person who is one of the Hypothetical Characters, about the given image"
    ) in hypothetical
    assert "accurately answer Liam Johnson's words" in hypothetical
    human = text("Iron Man", "The Avengers", "a curious human", "Response Accuracy")
    assert "role-play as Iron Man from The Avengers and talk with a curious human about" in human
    assert "accurately answer the curious human's words" in human
    assert human.startswith("## **[Question Start]**\n\nQ\n\n## **[Question End]**")
    assert not human.endswith("\n")
    # Braces in answers are text, not format fields.
    braces = judge_user_text(
        question="{q}",
        answer_a="{x} {0}",
        answer_b="}{",
        role="Loki",
        script="The Avengers",
        other_role="Thor",
        metric="Fluency",
    )
    assert "\n\n{q}\n\n" in braces and "\n\n{x} {0}\n\n" in braces and "\n\n}{\n\n" in braces
    with pytest.raises(KeyError):
        text("Loki", "The Avengers", "Thor", "Humour")
    assert with_format_reminder("T") == "T\n\n" + FORMAT_REMINDER and "[Scores]: (" in FORMAT_REMINDER
