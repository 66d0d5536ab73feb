"""End to end: `mmrole judge` over imported MMRole answers reproduces MMRole's released results.

A local OpenAI-compatible server plays the MMRole-Eval reward model: for each judge request it
returns the released review of that (sample, metric), keyed by the exact user text built
*independently* from JUDGE_PROMPT.md (tests/eval/eval_spec_prompt.py), and only when the
system text is the spec's. A prompt that differs by one byte gets a reply without scores, which
ends as a failed judgement and breaks the CSV comparison. So passing proves the prompt, the
transport, the parsing and the aggregation together.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from eval_spec_prompt import PromptSpec, ReviewServer, answers_run, read_spec

from mmrole.engine.options import EngineOptions
from mmrole.eval.judge import judge_run_sync
from mmrole.eval.judge_plan import JudgeOptions
from mmrole.schema import METRICS
from mmrole.testing.server import LocalOpenAIServer

TYPES = ("comment", "human-role", "inter-role")
#: All 11 MRPAs of the paper in full: 216 samples x 8 metrics each, ~19k local calls (~20 s).
MODELS = (
    "gpt-4-turbo",
    "claude-3-opus",
    "gemini-pro-vision",
    "qwen-vl-max",
    "llava-next-yi-34b",
    "yi-vl-34b",
    "internvl-chat-v1-5",
    "qwen-vl-chat",
    "llava-next-mistral-7b",
    "yi-vl-6b",
    "mmrole-agent",
)


def _csv(path: Path) -> dict[str, float]:
    with path.open(encoding="utf-8") as handle:
        return {k: float(v) for k, v in next(csv.DictReader(handle)).items()}


@pytest.fixture(scope="module")
def spec(reference_root: Path) -> PromptSpec:
    return read_spec(reference_root / "mmrole-eval" / "JUDGE_PROMPT.md")


def test_judging_imported_answers_reproduces_released_csvs(
    spec: PromptSpec, in_test_root: Path, tmp_path: Path
) -> None:
    responder = ReviewServer(spec)
    runs = {}
    for model in MODELS:
        run, records = answers_run(in_test_root / model, tmp_path)
        responder.add_model(records)
        runs[model] = (run, records)
    # The released reward model wrote (0, x) 16 times, off its prompt's 1-10 scale; MMRole's numbers
    # count them, so replaying its reviews uses the scale it actually wrote.
    options = JudgeOptions(missing_image="omit", scale=(0, 10))
    with LocalOpenAIServer(responder) as server:
        judge = f"openai:mmrole-eval-rm@{server.base_url}"
        for model, (run, records) in runs.items():
            calls_before = server.received
            summary = judge_run_sync(run, judge, options, engine=EngineOptions(progress=False), n_boot=200)
            reviewed = sum(1 for r in records if "rm_review" in r)
            assert responder.unknown == [], responder.unknown[:3]
            assert server.received - calls_before == reviewed * 8  # empty answers are never sent
            assert (summary.n_scored, summary.n_failed, summary.n_unjudged) == (
                reviewed * 8,
                0,
                216 - reviewed,
            )
            results = json.loads((run / "results.json").read_text())
            for kind in TYPES:
                expected = _csv(in_test_root / model / f"{kind}_test.results.csv")
                group = results["by_type"][kind]
                for metric in METRICS:
                    assert group["metrics"][metric]["mean"] == pytest.approx(
                        expected[metric], abs=1e-9, rel=0
                    )
                    assert group["metrics"][metric]["n"] == int(expected["count"])
                assert group["n_missing"] == 72 - int(expected["count"])
            assert results["n_missing"] == 216 - reviewed and results["n_failed"] == 0

        # A rerun is answered from the run's store: no calls, same results.
        run = runs["claude-3-opus"][0]
        before = (run / "results.json").read_text()
        calls_before = server.received
        summary = judge_run_sync(run, judge, options, engine=EngineOptions(progress=False), n_boot=200)
        assert server.received == calls_before and summary.n_calls == 0
        assert json.loads((run / "results.json").read_text())["metrics"] == json.loads(before)["metrics"]


def test_a_wrong_prompt_gets_no_scores_and_ends_failed_and_counted(
    spec: PromptSpec, in_test_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check is real: a judge prompt one character off is not answered with scores; each such
    judgement is re-asked with a format reminder (new prompts), then recorded failed and counted."""
    import mmrole.eval.judge_plan as judge_module

    run, records = answers_run(in_test_root / "gpt-4-turbo", tmp_path, types=("comment",), limit=3)
    responder = ReviewServer(spec)
    responder.add_model(records)
    original = judge_module.judge_user_text
    monkeypatch.setattr(
        judge_module,
        "judge_user_text",
        lambda **kw: original(**kw).replace("Model B's Response End", "Model B's response End"),
    )
    with LocalOpenAIServer(responder) as server:
        options = JudgeOptions(missing_image="omit", format_retries=2)
        summary = judge_run_sync(
            run, f"openai:rm@{server.base_url}", options, engine=EngineOptions(progress=False), n_boot=50
        )
        assert server.received == 3 * 8 * 3  # first ask + two reminders per judgement
        assert len(server.by_prompt) == 3 * 8 * 2  # the reminder changes the prompt; retry 2 reuses it
        assert sum(1 for prompt in server.by_prompt if prompt.endswith("[Scores]: (7, 8).")) == 3 * 8
    assert (summary.n_scored, summary.n_failed, summary.n_retries) == (0, 24, 48)
    results = json.loads((run / "results.json").read_text())
    assert results["n_failed"] == 3 and results["n_failed_judgements"] == 24
    assert all(results["metrics"][m]["n"] == 0 and results["metrics"][m]["n_failed"] == 3 for m in METRICS)
    assert results["overall"]["mean"] is None
    reviews = [json.loads(line) for line in (run / "reviews.jsonl").read_text().splitlines()]
    assert len(reviews) == 24 and all(r["score"] is None and r["attempts"] == 3 for r in reviews)
    assert all(r["error"] == "no usable score pair in the judge's reply (scale 1-10)" for r in reviews)
