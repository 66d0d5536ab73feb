"""`mmrole feedback` with the MMRole-Eval scorer: a scripted policy, a judge behind the local server."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from feedback_helpers import judged_metric, keyword_judge, model_a_response, sample_of, scripted_policy
from typer.testing import CliRunner

from mmrole.align.feedback import generate_feedback_sync
from mmrole.align.feedback_config import FeedbackOptions, parse_weights
from mmrole.cli import app
from mmrole.data import load_samples
from mmrole.data.holdout import training_samples
from mmrole.engine.options import EngineOptions
from mmrole.models.base import last_user_text
from mmrole.prompts.judge import JUDGE_SYSTEM
from mmrole.testing.server import LocalOpenAIServer

N_PROMPTS, K = 3, 4
TWO_METRICS = parse_weights("Fluency=1, response accuracy=1")


def _script(sample_id: str, draw: int) -> str:
    """Draw k says 'sparkle' k times (the keyword judge scores it 1 + 2k), padded to varied lengths."""
    pad = (7 * draw + len(sample_id) + 3) % 5 + 1
    return " ".join(["Ahoy!"] + ["sparkle"] * draw + ["ok"] * pad)


def _sparkle_score(text: str) -> int:
    return min(10, 1 + 2 * text.count("sparkle"))


def _pairs(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "pairs.jsonl").read_text().splitlines()]


def _options(**overrides) -> FeedbackOptions:
    base = dict(
        n_samples=K, limit=N_PROMPTS, weights=TWO_METRICS, engine=EngineOptions(progress=False), max_tokens=64
    )
    return FeedbackOptions(**{**base, **overrides})


def test_feedback_pairs_follow_the_rules_and_rerun_makes_no_calls(tmp_path: Path) -> None:
    policy = scripted_policy(_script)
    with LocalOpenAIServer(keyword_judge()) as server:
        judge = f"openai:judge@{server.base_url}"
        summary = generate_feedback_sync(policy, judge, "demo", tmp_path / "fb", _options())
        calls = server.received

        # K samples per prompt, distinct draws, sampled at temperature 0.7.
        draws = defaultdict(set)
        for call in policy.calls:
            draws[sample_of(call)].add(call.params.draw)
            assert call.params.temperature == 0.7 and call.params.max_tokens == 64
        assert len(policy.calls) == N_PROMPTS * K and all(d == set(range(K)) for d in draws.values())
        # Every response judged once per weighted metric, nothing more.
        assert calls == N_PROMPTS * K * 2
        assert Counter(judged_metric_of(t) for t in server.by_prompt) == {
            "Fluency": 12,
            "Response Accuracy": 12,
        }

        pairs = _pairs(tmp_path / "fb")
        assert summary.n_pairs == len(pairs) > 0
        per_prompt = Counter(p["meta"]["sample_id"] for p in pairs)
        assert max(per_prompt.values()) <= 2
        for pair in pairs:
            chosen, rejected = pair["chosen"][0]["content"], pair["rejected"][0]["content"]
            # Scores recomputed from the texts, independently of what the code recorded.
            assert _sparkle_score(chosen) - _sparkle_score(rejected) >= 1
            assert pair["meta"]["chosen_score"] == _sparkle_score(chosen)
            assert Path(pair["images"][0]).is_file()
            assert pair["prompt"][-1]["role"] == "user"
        longer = sum(len(p["chosen"][0]["content"]) > len(p["rejected"][0]["content"]) for p in pairs)
        shorter = sum(len(p["chosen"][0]["content"]) < len(p["rejected"][0]["content"]) for p in pairs)
        assert longer == shorter
        assert (
            summary.n_selected == N_PROMPTS * 2
            and summary.n_pairs == summary.n_selected - summary.n_dropped_length
        )
        # Each prompt had 6 eligible pairs (scores 1, 3, 5, 7 all differ by >= 2).
        assert summary.n_eligible == N_PROMPTS * 6
        # Judged in memory, no run folder made for it: the reviews sit beside the pairs, one per judgement.
        reviews = [json.loads(line) for line in (tmp_path / "fb" / "reviews.jsonl").read_text().splitlines()]
        assert len(reviews) == calls and not (tmp_path / "fb" / "judge").exists()
        assert {r["sample_id"].rpartition("#")[2] for r in reviews} == {str(k) for k in range(K)}

        # Rerun: everything from the stores, same pairs.
        again_policy = scripted_policy(_script)
        generate_feedback_sync(again_policy, judge, "demo", tmp_path / "fb", _options())
        assert server.received == calls and again_policy.calls == []
        assert _pairs(tmp_path / "fb") == pairs


def judged_metric_of(user_text: str) -> str:
    return judged_metric([{"role": "user", "content": user_text}])


def test_pairs_are_readable_by_the_dpo_trainer(tmp_path: Path) -> None:
    from mmrole.train.base_config import build_config
    from mmrole.train.dpo import read_dpo_data
    from mmrole.train.dpo_config import DPOConfig

    with LocalOpenAIServer(keyword_judge()) as server:
        generate_feedback_sync(
            scripted_policy(_script),
            f"openai:j@{server.base_url}",
            "demo",
            tmp_path / "fb",
            _options(balance_length=False),
        )
    config = build_config(
        DPOConfig, model="unused", data=str(tmp_path / "fb" / "pairs.jsonl"), output_dir=str(tmp_path)
    )
    examples = read_dpo_data(config)
    # Without balancing every prompt keeps its 2 pairs.
    assert len(examples) == N_PROMPTS * 2
    assert all(e["chosen"][0]["role"] == "assistant" and e["images"] for e in examples)


def test_min_gap_is_inclusive_and_smaller_gaps_give_no_pair(tmp_path: Path) -> None:
    def half_points(messages):  # scores 5, 5.5, 6 for 0, 1, 2 sparkles
        return f"ok [Scores]: ({5 + 0.5 * model_a_response(messages).count('sparkle')}, 8)"

    with LocalOpenAIServer(half_points) as server:
        summary = generate_feedback_sync(
            scripted_policy(_script),
            f"openai:j@{server.base_url}",
            "demo",
            tmp_path / "fb",
            _options(n_samples=3, balance_length=False),
        )
    pairs = _pairs(tmp_path / "fb")
    # Only (2 sparkles, 0 sparkles) differs by 1.0; 0.5 gaps are not enough.
    assert summary.n_eligible == N_PROMPTS and len(pairs) == N_PROMPTS
    assert {(p["meta"]["chosen_draw"], p["meta"]["rejected_draw"]) for p in pairs} == {(2, 0)}


@pytest.mark.parametrize("reward", ["score", "ratio"])
def test_weighted_reward_combines_metric_scores(tmp_path: Path, reward: str) -> None:
    def by_metric(messages):
        count = model_a_response(messages).count("sparkle")
        a = 2 + count if judged_metric(messages) == "Fluency" else 9 - count
        return f"ok [Scores]: ({a}, 5)"

    weights = parse_weights("Fluency=3,Coherency=1")
    with LocalOpenAIServer(by_metric) as server:
        generate_feedback_sync(
            scripted_policy(_script),
            f"openai:j@{server.base_url}",
            "demo",
            tmp_path / "fb",
            _options(weights=weights, reward=reward, limit=1),
        )
    candidates = [
        json.loads(line) for line in (tmp_path / "fb" / "candidates.jsonl").read_text().splitlines()
    ]
    assert len(candidates) == K
    for record in candidates:
        count = record["text"].count("sparkle")
        fluency, coherency = 2 + count, 9 - count
        if reward == "ratio":
            fluency, coherency = 10 * fluency / 5, 10 * coherency / 5
        assert record["score"] == pytest.approx((3 * fluency + coherency) / 4)


def test_feedback_cli_with_policy_and_judge_on_one_server(tmp_path: Path) -> None:
    texts = Counter()

    def respond(messages):
        if messages[0].get("content") == JUDGE_SYSTEM:
            return keyword_judge()(messages)
        prompt = last_user_text(messages)  # the policy: the k-th call for a prompt gets script k
        draw = texts[prompt]
        texts[prompt] += 1
        return _script(prompt[:10], draw)

    with LocalOpenAIServer(respond) as server:
        result = CliRunner().invoke(
            app,
            [
                "feedback",
                "--policy",
                f"openai:policy@{server.base_url}",
                "--judge",
                f"openai:judge@{server.base_url}",
                "--data",
                "demo",
                "--out",
                str(tmp_path / "fb"),
                "--k",
                "3",
                "--limit",
                "2",
                "--weights",
                "Fluency=1",
                "--concurrency",
                "1",
                "--no-progress",
            ],
        )
    assert result.exit_code == 0, result.output
    assert "pairs from 2 prompts" in result.output
    info = json.loads((tmp_path / "fb" / "feedback.json").read_text())
    assert (
        info["n_responses"] == 6 and info["n_scored"] == 6 and info["n_pairs"] == len(_pairs(tmp_path / "fb"))
    )


def test_feedback_cli_reports_bad_weights_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "feedback",
            "--policy",
            "demo",
            "--judge",
            "demo",
            "--data",
            "demo",
            "--out",
            str(tmp_path / "x"),
            "--weights",
            "Charm=2",
        ],
    )
    assert result.exit_code != 0
    assert "unknown metric 'Charm'" in str(result.exception) + result.output


def test_the_demo_sets_training_split_gives_the_prompts(tmp_path: Path) -> None:
    with LocalOpenAIServer(keyword_judge()) as server:
        generate_feedback_sync(
            scripted_policy(_script),
            f"openai:j@{server.base_url}",
            "demo",
            tmp_path / "fb",
            _options(n_samples=2, offset=1, limit=2),
        )
    written = [
        json.loads(line)["id"] for line in (tmp_path / "fb" / "samples.jsonl").read_text().splitlines()
    ]
    assert written == [s.id for s in training_samples("demo")[0][1:3]]
    assert not set(written) & {s.id for s in load_samples("demo")}  # "demo" as a test set


def test_a_missing_image_names_the_sample_unless_omitted(tmp_path: Path) -> None:
    from mmrole.data import write_samples_jsonl
    from mmrole.errors import DataError

    sample = next(iter(load_samples("demo"))).model_copy(update={"image": "gone/nowhere.png"})
    write_samples_jsonl([sample], tmp_path / "samples.jsonl")
    policy = scripted_policy(_script)
    with LocalOpenAIServer(keyword_judge()) as server:
        judge = f"openai:j@{server.base_url}"
        with pytest.raises(DataError, match="image file not found") as err:
            generate_feedback_sync(policy, judge, tmp_path / "samples.jsonl", tmp_path / "fb", _options())
        assert err.value.record == sample.id and policy.calls == [] and server.received == 0
        generate_feedback_sync(
            policy,
            judge,
            tmp_path / "samples.jsonl",
            tmp_path / "fb",
            _options(missing_image="omit", balance_length=False),
        )
    pairs = _pairs(tmp_path / "fb")
    assert len(pairs) == 2 and all(p["images"] == [] for p in pairs)


def test_feedback_cli_exits_1_when_more_responses_went_unscored_than_max_failures(tmp_path: Path) -> None:
    texts = Counter()

    def respond(messages):
        if messages[0].get("content") == JUDGE_SYSTEM:  # the judge gives draw 2's responses no score
            return "Hmm." if model_a_response(messages).count("sparkle") == 2 else keyword_judge()(messages)
        prompt = last_user_text(messages)
        texts[prompt] += 1
        return _script(prompt[:10], texts[prompt] - 1)

    with LocalOpenAIServer(respond) as server:
        base = f"openai:m@{server.base_url}"
        args = [
            "feedback",
            "--policy",
            base,
            "--judge",
            base,
            "--data",
            "demo",
            "--out",
            str(tmp_path / "fb"),
        ]
        args += ["--k", "3", "--limit", "2", "--weights", "Fluency=1", "--concurrency", "1", "--no-progress"]
        failed = CliRunner().invoke(app, args)
        assert failed.exit_code == 1
        assert "2 of 6 responses failed" in str(failed.exception) and "candidates.jsonl" in str(
            failed.exception
        )
        assert CliRunner().invoke(app, [*args, "--max-failures", "2"]).exit_code == 0


def test_empty_responses_are_left_out_but_are_no_failure(tmp_path: Path) -> None:
    policy = scripted_policy(lambda sample_id, draw: "" if draw == 0 else _script(sample_id, draw))
    with LocalOpenAIServer(keyword_judge()) as server:
        summary = generate_feedback_sync(
            policy, f"openai:j@{server.base_url}", "demo", tmp_path / "fb", _options()
        )
    assert summary.n_failed_responses == N_PROMPTS and summary.n_empty_responses == N_PROMPTS
    assert summary.n_unscored == 0 and summary.n_scored == N_PROMPTS * (K - 1)
