"""Judge options beyond MMRole: --swap, --repeats, --scoring logprob, --metrics, prefill."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from eval_spec_prompt import answers_run

from mmrole.engine.options import EngineOptions
from mmrole.errors import ConfigError
from mmrole.eval.judge import judge_run_sync
from mmrole.eval.judge_plan import JudgeOptions
from mmrole.eval.pipeline import judge_options_for
from mmrole.eval.presets import DEMO_JUDGE
from mmrole.models.base import last_user_text
from mmrole.prompts.judge import JUDGE_SYSTEM
from mmrole.schema import METRICS
from mmrole.testing.responders import Reply
from mmrole.testing.server import LocalOpenAIServer

N = 3  # samples


def _a_and_b(messages: list[dict]) -> tuple[str, str]:
    text = last_user_text(messages)
    a = text.split("## **[Model A's Response Start]**\n\n", 1)[1].split(
        "\n\n## **[Model A's Response End]**"
    )[0]
    b = text.split("## **[Model B's Response Start]**\n\n", 1)[1].split(
        "\n\n## **[Model B's Response End]**"
    )[0]
    return a, b


class BiasedJudge:
    """Knows the references; truly rates the MRPA 6 and the reference 8, but adds 2 to whoever is Model A."""

    def __init__(self, references: set[str]):
        self.references = references

    def __call__(self, messages: list[dict]) -> str:
        assert messages[0]["content"] == JUDGE_SYSTEM
        a, b = _a_and_b(messages)
        truth = {True: 8, False: 6}
        return f"Fine. [Scores]: ({truth[a in self.references] + 2}, {truth[b in self.references]})"


@pytest.fixture()
def small_run(in_test_root: Path, tmp_path: Path) -> tuple[Path, set[str]]:
    run, records = answers_run(in_test_root / "gpt-4-turbo", tmp_path, types=("comment",), limit=N)
    return run, {r["conversations"][1]["value"] for r in records}


def _results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())


def test_swap_cancels_position_bias_and_repeats_are_distinct_calls(small_run: tuple[Path, set[str]]) -> None:
    run, references = small_run
    with LocalOpenAIServer(BiasedJudge(references)) as server:
        judge = f"openai:j@{server.base_url}"
        judge_run_sync(
            run, judge, JudgeOptions(missing_image="omit"), engine=EngineOptions(progress=False), n_boot=20
        )
        assert _results(run)["overall"]["mean"] == pytest.approx(8 / 8)  # MMRole order: (6+2)/8, biased
        assert server.received == N * 8

        before = server.received
        options = JudgeOptions(missing_image="omit", swap=True, repeats=2)
        with pytest.raises(ConfigError, match="judged with swap=False, repeats=1, not swap=True, repeats=2"):
            judge_run_sync(run, judge, options, engine=EngineOptions(progress=False), n_boot=20)
        summary = judge_run_sync(
            run, judge, options, engine=EngineOptions(progress=False), n_boot=20, overwrite=True
        )
        # The AB order of repeat 0 is cached from the first run; the other three judgements are new calls.
        assert server.received - before == N * 8 * 3 == summary.n_calls
        # Both sides get the +2 half the time: (6 + 1) / (8 + 1).
        assert _results(run)["overall"]["mean"] == pytest.approx(7 / 9)
        reviews = [json.loads(line) for line in (run / "reviews.jsonl").read_text().splitlines()]
        assert len(reviews) == N * 8 * 4
        assert {(r["order"], r["repeat"]) for r in reviews} == {("AB", 0), ("AB", 1), ("BA", 0), ("BA", 1)}
        assert json.loads((run / "run.json").read_text())["judge_options"]["swap"] is True


def test_metrics_subset(small_run: tuple[Path, set[str]]) -> None:
    run, references = small_run
    with LocalOpenAIServer(BiasedJudge(references)) as server:
        options = JudgeOptions(missing_image="omit", metrics=("Tone Consistency", "Fluency"))
        judge_run_sync(
            run, f"openai:j@{server.base_url}", options, engine=EngineOptions(progress=False), n_boot=20
        )
        assert server.received == N * 2
    results = _results(run)
    assert list(results["metrics"]) == ["Fluency", "Tone Consistency"]  # paper order
    assert list(results["dimensions"]) == ["Fundamental Conversational Skills", "Role-Playing Qualities"]
    with pytest.raises(ConfigError, match="unknown metric"):
        JudgeOptions(metrics=("Fluency", "Humour"))


def _logprob_reply(messages: list[dict]) -> Reply:
    # "[Scores]: (7, 8)" with alternatives: first 7 (0.5) / 9 (0.5), second 8 (0.75) / 4 (0.25).
    tokens = [
        ("Ok. [Scores]: (", 0.0, {}),
        ("7", math.log(0.5), {"7": math.log(0.5), "9": math.log(0.5)}),
        (", ", 0.0, {}),
        ("8", math.log(0.75), {"8": math.log(0.75), "4": math.log(0.25)}),
        (")", 0.0, {}),
    ]
    return Reply(text="".join(t[0] for t in tokens), logprobs=tokens)


def test_logprob_scoring_uses_expected_scores(small_run: tuple[Path, set[str]]) -> None:
    run, _ = small_run
    with LocalOpenAIServer(_logprob_reply) as server:
        options = JudgeOptions(missing_image="omit", scoring="logprob", top_logprobs=5)
        summary = judge_run_sync(
            run, f"openai:j@{server.base_url}", options, engine=EngineOptions(progress=False), n_boot=20
        )
    assert summary.n_logprob_fallbacks == 0
    assert _results(run)["overall"]["mean"] == pytest.approx(8.0 / 7.0)  # E[a]=8, E[b]=7
    review = json.loads((run / "reviews.jsonl").read_text().splitlines()[0])
    assert (
        review["scoring"] == "logprob"
        and review["score"] == [8.0, 7.0]
        and review["sampled_score"] == [7.0, 8.0]
    )


def test_logprob_scoring_without_logprobs_falls_back_and_says_so(small_run: tuple[Path, set[str]]) -> None:
    run, _ = small_run
    with LocalOpenAIServer(lambda messages: "Ok. [Scores]: (6, 8)") as server:
        options = JudgeOptions(missing_image="omit", scoring="logprob")
        summary = judge_run_sync(
            run, f"openai:j@{server.base_url}", options, engine=EngineOptions(progress=False), n_boot=20
        )
    assert summary.n_logprob_fallbacks == N * 8
    assert _results(run)["overall"]["mean"] == pytest.approx(0.75)


def test_prefill_is_sent_as_an_assistant_message_and_parsed_with_the_reply(
    small_run: tuple[Path, set[str]],
) -> None:
    run, _ = small_run

    def continuing(messages: list[dict]) -> str:
        assert messages[-1] == {"role": "assistant", "content": "[Scores]: ("}
        return "5, 10)"

    with LocalOpenAIServer(continuing) as server:
        options = JudgeOptions(missing_image="omit", prefill="[Scores]: (", max_tokens=6)
        judge_run_sync(
            run, f"openai:j@{server.base_url}", options, engine=EngineOptions(progress=False), n_boot=20
        )
    assert _results(run)["overall"]["mean"] == pytest.approx(0.5)
    assert json.loads((run / "reviews.jsonl").read_text().splitlines()[0])["text"] == "[Scores]: (5, 10)"


def test_demo_preset_only_fills_what_the_user_left_unset() -> None:
    demo = judge_options_for("demo", {"scoring": None})
    assert (demo.scoring, demo.max_tokens, demo.prefill) == (
        "logprob",
        DEMO_JUDGE["max_tokens"],
        "[Scores]: (",
    )
    assert judge_options_for("demo", {"scoring": "sampled"}).scoring == "sampled"
    assert judge_options_for("openai:gpt-4o", {}) == JudgeOptions()
    assert JudgeOptions().metrics == METRICS and JudgeOptions().scoring == "sampled"


def test_demo_judge_from_the_cli_uses_the_preset_and_says_it_is_a_demonstration(
    small_run: tuple[Path, set[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--judge demo` without options: prefilled, short, logprob-scored requests, and the disclaimer.
    (A stand-in answers for the 135M model, which the models tests cover.)"""
    from typer.testing import CliRunner

    from mmrole.cli import app
    from mmrole.models import registry
    from mmrole.models.base import Completion, TokenLogprob
    from mmrole.testing import ScriptedBackend

    tokens = [
        TokenLogprob("6", math.log(0.5), {"6": math.log(0.5), "8": math.log(0.5)}),
        TokenLogprob(", ", 0.0, {}),
        TokenLogprob("8", 0.0, {"8": 0.0}),
        TokenLogprob(")", 0.0, {}),
    ]
    fake_demo = ScriptedBackend(default=Completion(text="6, 8)", logprobs=tokens), spec="demo")
    monkeypatch.setitem(registry._FACTORIES, "demo", lambda argument, options: fake_demo)
    run, _ = small_run
    result = CliRunner().invoke(
        app,
        [
            "judge",
            "--judge",
            "demo",
            "--run",
            str(run),
            "--missing-image",
            "omit",
            "--no-progress",
            "--n-boot",
            "20",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "demonstrate the pipeline" in " ".join(result.output.split())
    assert len(fake_demo.calls) == N * 8
    first = fake_demo.calls[0]
    assert first.messages[-1] == {"role": "assistant", "content": "[Scores]: ("}
    params = first.params
    assert params.logprobs and params.max_tokens == DEMO_JUDGE["max_tokens"]
    assert _results(run)["overall"]["mean"] == pytest.approx(7 / 8)


class OffScaleFirst:
    """Replies with an unusable pair to the first ask, and with ``(6, 8)`` once reminded of the format."""

    def __init__(self, first: str):
        self.first = first

    def __call__(self, messages: list[dict]) -> str:
        reminded = last_user_text(messages).endswith("[Scores]: (7, 8).")
        return "Ok. [Scores]: (6, 8)" if reminded else f"Ok. [Scores]: {self.first}"


@pytest.mark.parametrize(
    "first", ["(1e308, 0.5)", "(7, 1e-7)", "(inf, 1)", "(-2, 5)", "(8, 0)", "(11, 10)", "(0, 9)"]
)
def test_an_unusable_pair_is_a_parse_failure_asked_again(
    small_run: tuple[Path, set[str]], first: str
) -> None:
    run, _ = small_run
    with LocalOpenAIServer(OffScaleFirst(first)) as server:
        summary = judge_run_sync(
            run,
            f"openai:j@{server.base_url}",
            JudgeOptions(missing_image="omit"),
            engine=EngineOptions(progress=False),
            n_boot=20,
        )
        assert server.received == N * 8 * 2  # each first reply was re-asked once, with the reminder
    assert (summary.n_scored, summary.n_failed, summary.n_retries) == (N * 8, 0, N * 8)
    assert _results(run)["overall"]["mean"] == pytest.approx(0.75)
    reviews = [json.loads(line) for line in (run / "reviews.jsonl").read_text().splitlines()]
    assert all(r["score"] == [6.0, 8.0] and r["attempts"] == 2 for r in reviews)


def test_a_judge_that_stays_off_the_scale_ends_failed_and_results_stay_valid_json(
    small_run: tuple[Path, set[str]],
) -> None:
    run, _ = small_run
    with LocalOpenAIServer(lambda messages: "Ok. [Scores]: (1e308, 0.5)") as server:
        summary = judge_run_sync(
            run,
            f"openai:j@{server.base_url}",
            JudgeOptions(missing_image="omit"),
            engine=EngineOptions(progress=False),
            n_boot=20,
        )
    assert (summary.n_scored, summary.n_failed) == (0, N * 8)
    text = (run / "results.json").read_text()
    results = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in results.json"))
    assert results["overall"]["mean"] is None and all(results["metrics"][m]["n"] == 0 for m in METRICS)
    review = json.loads((run / "reviews.jsonl").read_text().splitlines()[0])
    assert review["error"] == "no usable score pair in the judge's reply (scale 1-10)"


def test_the_scale_is_a_judge_option(small_run: tuple[Path, set[str]]) -> None:
    run, _ = small_run
    assert JudgeOptions().scale == (1.0, 10.0)  # MMRole's
    with LocalOpenAIServer(lambda messages: "Ok. [Scores]: (60, 80)") as server:
        options = JudgeOptions(missing_image="omit", scale=(0, 100))
        summary = judge_run_sync(
            run, f"openai:j@{server.base_url}", options, engine=EngineOptions(progress=False), n_boot=20
        )
        assert server.received == N * 8
    assert summary.n_scored == N * 8 and _results(run)["overall"]["mean"] == pytest.approx(0.75)
    assert json.loads((run / "run.json").read_text())["judge_options"]["scale"] == [0.0, 100.0]
    for bad in [(10, 1), (-1, 10), (1, float("inf")), (1,), "1-10"]:
        with pytest.raises(ConfigError, match="scale"):
            JudgeOptions(scale=bad)  # type: ignore[arg-type]


def test_scale_from_the_command_line(small_run: tuple[Path, set[str]]) -> None:
    from typer.testing import CliRunner

    from mmrole.cli import app

    run, _ = small_run
    with LocalOpenAIServer(lambda messages: "Ok. [Scores]: (3, 4)") as server:
        judge = f"openai:j@{server.base_url}"
        args = ["judge", "--judge", judge, "--run", str(run), "--missing-image", "omit", "--no-progress"]
        result = CliRunner().invoke(app, [*args, "--scale", "0-5", "--n-boot", "20"])
        assert result.exit_code == 0, result.output
        assert _results(run)["overall"]["mean"] == pytest.approx(0.75)
        bad = CliRunner().invoke(app, [*args, "--scale", "ten"])
    # A ConfigError: the CLI's entry point prints it as one line and exits non-zero.
    assert isinstance(bad.exception, ConfigError) and "--scale takes LOW-HIGH" in str(bad.exception)
