"""Claim-level feedback: a splitter and a checker behind the local server score responses by rejected claims."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from feedback_helpers import scripted_policy
from typer.testing import CliRunner

from mmrole.align.claims import CLAIMS_SYSTEM, ClaimCheck, ClaimScore, parse_questions, parse_verdict
from mmrole.align.feedback import generate_feedback_sync
from mmrole.align.feedback_config import FeedbackOptions
from mmrole.cli import app
from mmrole.engine.options import EngineOptions
from mmrole.models.base import last_user_text
from mmrole.testing.server import LocalOpenAIServer

TRUE_THINGS = {"boat", "lantern", "house"}
FALSE_THINGS = ["dragon", "unicorn", "spaceship"]


def _script(sample_id: str, draw: int) -> str:
    """Draw k makes two true claims and k false ones (a score of -k)."""
    things = ["boat", "lantern", *FALSE_THINGS[:draw]]
    return f"Ahoy, {sample_id or 'friend'}! " + " ".join(f"There is a {thing}." for thing in things)


class ClaimServer:
    """Splits 'There is a X.' sentences into questions; answers yes exactly for TRUE_THINGS; counts calls."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.images_seen = 0

    def __call__(self, messages: list[dict]) -> str:
        assert messages[0]["content"] == CLAIMS_SYSTEM
        text = last_user_text(messages)
        if "List the atomic claims" in text:
            self.calls["split"] += 1
            response = text.split("Response:\n", 1)[1]
            things = re.findall(r"There is a (\w+)\.", response)
            return "Here are the questions:\n" + "\n".join(f"Q: Is there a {t} in the image?" for t in things)
        self.calls["check"] += 1
        self.images_seen += any(p.get("type") == "image_url" for p in messages[1]["content"])
        thing = re.search(r"Is there a (\w+) in the image\?", text).group(1)
        return "Yes." if thing in TRUE_THINGS else "No, there is not."


def test_claims_scorer_counts_rejected_claims(tmp_path: Path) -> None:
    claims = ClaimServer()
    options = FeedbackOptions(
        n_samples=3, limit=2, scorer="claims", balance_length=False, engine=EngineOptions(progress=False)
    )
    with LocalOpenAIServer(claims) as server:
        judge = f"openai:claims@{server.base_url}"
        summary = generate_feedback_sync(scripted_policy(_script), judge, "demo", tmp_path / "fb", options)
        calls = server.received
        # Rerun: every split and check is answered from the feedback folder's store.
        generate_feedback_sync(scripted_policy(_script), judge, "demo", tmp_path / "fb", options)
        assert server.received == calls == 14
    # One split per response; one check per distinct question about each image (the engine shares
    # identical requests): boat, lantern, dragon, unicorn for each of the 2 prompts.
    assert claims.calls == {"split": 6, "check": 2 * 4}
    assert claims.images_seen == claims.calls["check"]
    candidates = [
        json.loads(line) for line in (tmp_path / "fb" / "candidates.jsonl").read_text().splitlines()
    ]
    for record in candidates:
        assert record["score"] == -record["draw"]
        assert (
            record["details"]["claims"] == 2 + record["draw"]
            and record["details"]["rejected"] == record["draw"]
        )
    pairs = [json.loads(line) for line in (tmp_path / "fb" / "pairs.jsonl").read_text().splitlines()]
    assert summary.n_eligible == 2 * 3 and len(pairs) == 2 * 2
    for pair in pairs:
        chosen, rejected = pair["chosen"][0]["content"], pair["rejected"][0]["content"]
        false_in = [sum(f"a {thing}" in text for thing in FALSE_THINGS) for text in (chosen, rejected)]
        assert false_in[1] - false_in[0] >= 1


def test_claims_cli_with_separate_splitter_and_checker(tmp_path: Path) -> None:
    claims = ClaimServer()
    texts: Counter[str] = Counter()

    def respond(messages: list[dict]) -> str:
        if messages[0]["content"] == CLAIMS_SYSTEM:
            return claims(messages)
        prompt = last_user_text(messages)
        texts[prompt] += 1
        return _script("", texts[prompt] - 1)

    with LocalOpenAIServer(respond) as server:
        url = server.base_url
        result = CliRunner().invoke(
            app,
            [
                "feedback",
                "--policy",
                f"openai:policy@{url}",
                "--scorer",
                "claims",
                "--splitter",
                f"openai:s@{url}",
                "--checker",
                f"openai:c@{url}",
                "--data",
                "demo",
                "--out",
                str(tmp_path / "fb"),
                "--k",
                "2",
                "--limit",
                "1",
                "--concurrency",
                "1",
                "--no-progress",
                "--no-balance-length",
            ],
        )
    assert result.exit_code == 0, result.output
    assert claims.calls == {"split": 2, "check": 3}  # boat, lantern, dragon
    # One pair (the true response over the one with a dragon); kept since balancing is off.
    assert "1 pairs from 1 prompts" in result.output


def test_parse_questions() -> None:
    reply = (
        "Sure! Here they are:\nQ: Is there a boat?\nQ2: Is the boat red?\n1. Are there two people?\n"
        "- Is it night?\n- A statement, not a question\nQ: Is there a boat?\nNONE"
    )
    assert parse_questions(reply) == [
        "Is there a boat?",
        "Is the boat red?",
        "Are there two people?",
        "Is it night?",
    ]
    assert parse_questions(reply, max_questions=2) == ["Is there a boat?", "Is the boat red?"]
    assert parse_questions("NONE") == [] and parse_questions("") == []
    assert parse_questions("Q：图中有船吗？") == ["图中有船吗？"]


def test_parse_verdict() -> None:
    assert [
        parse_verdict(t)
        for t in ("Yes", "yes, clearly.", "**No**", "No.", "是的", "不是", "没有", "maybe", "", "N/A")
    ] == [
        True,
        True,
        False,
        False,
        True,
        False,
        False,
        None,
        None,
        None,
    ]


def test_claim_score() -> None:
    score = ClaimScore(
        [ClaimCheck("a?", True), ClaimCheck("b?", False), ClaimCheck("c?", None), ClaimCheck("d?", False)]
    )
    assert score.score == -2.0 and score.details()["unclear"] == 1
    assert ClaimScore([], error="claim split failed").score is None
