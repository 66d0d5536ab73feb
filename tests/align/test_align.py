"""`mmrole align`: two iterations end to end on CPU (tiny Qwen2-VL policy, judge on the local server)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from feedback_helpers import model_a_response
from typer.testing import CliRunner

from mmrole.align.feedback_config import FeedbackOptions, parse_weights
from mmrole.align.loop import align
from mmrole.align.loop_config import AlignConfig, parse_overrides
from mmrole.cli import app
from mmrole.engine.options import EngineOptions
from mmrole.errors import ConfigError
from mmrole.testing.server import LocalOpenAIServer

PROMPTS, K, EVAL_SAMPLES = 3, 3, 2


def _judge(messages: list[dict]) -> str:
    """Scores a response by a hash of its text: arbitrary, deterministic, spread over 1..9."""
    a = 1 + sum(map(ord, model_a_response(messages))) % 9
    return f"Model A is so-so. [Scores]: ({a}, 7)"


def _weights(folder: Path) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


def _config(model: Path, judge: str, out: Path) -> AlignConfig:
    return AlignConfig(
        model=f"hf:{model}",
        data="demo",
        judge=judge,
        output_dir=str(out),
        iterations=2,
        eval_limit=EVAL_SAMPLES,
        eval_max_tokens=8,
        eval_checkpoints=True,
        feedback=FeedbackOptions(
            n_samples=K,
            max_tokens=8,
            limit=PROMPTS,
            weights=parse_weights("Fluency=1,Coherency=1"),
            balance_length=False,
        ),
        dpo_preset="smoke",
        dpo=parse_overrides("max_steps=2,max_length=4096,save_strategy=steps,save_steps=1"),
        engine=EngineOptions(progress=False, max_failures=None),
    )


@pytest.fixture(scope="module")
def server():
    with LocalOpenAIServer(_judge) as running:
        yield running


@pytest.fixture(scope="module")
def aligned(tiny_vlm: Path, server: LocalOpenAIServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two iterations through the CLI."""
    out = tmp_path_factory.mktemp("align") / "out"
    result = CliRunner().invoke(
        app,
        [
            "align",
            "--model",
            str(tiny_vlm),
            "--data",
            "demo",
            "--judge",
            f"openai:j@{server.base_url}",
            "--out",
            str(out),
            "--iterations",
            "2",
            "--eval-limit",
            str(EVAL_SAMPLES),
            "--eval-max-tokens",
            "8",
            "--eval-checkpoints",
            "--k",
            str(K),
            "--max-tokens",
            "8",
            "--weights",
            "Fluency=1,Coherency=1",
            "--no-balance-length",
            "--prompts-per-iteration",
            str(PROMPTS),
            "--dpo-preset",
            "smoke",
            "--dpo-args",
            "max_steps=2,max_length=4096,save_strategy=steps,save_steps=1",
            "--no-progress",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "summary.md" in result.output and "iter_2" in result.output
    return out


def test_every_iteration_has_its_feedback_model_and_eval(aligned: Path, tiny_vlm: Path) -> None:
    for n in (1, 2):
        folder = aligned / f"iter_{n}"
        candidates = [
            json.loads(x) for x in (folder / "feedback" / "candidates.jsonl").read_text().splitlines()
        ]
        by_prompt: dict[str, int] = {}
        for c in candidates:
            by_prompt[c["sample_id"]] = by_prompt.get(c["sample_id"], 0) + 1
        assert list(by_prompt.values()) == [K] * PROMPTS
        pairs = (folder / "feedback" / "pairs.jsonl").read_text().splitlines()
        assert 0 < len(pairs) <= 2 * PROMPTS
        # Trained: new weights, loadable folder, and the intermediate checkpoint was evaluated too.
        assert (folder / "model" / "config.json").exists() and _weights(folder / "model") != _weights(
            tiny_vlm
        )
        results = json.loads((folder / "eval" / "results.json").read_text())
        assert results["n_samples"] == EVAL_SAMPLES and results["overall"]["mean"] is not None
        assert (folder / "eval" / "checkpoints" / "checkpoint-1" / "results.json").exists()
        assert json.loads((folder / "iteration.json").read_text())["training"]["global_step"] == 2
    # Successive prompt slices: iteration 2 sampled the next prompts.
    first = (aligned / "iter_1" / "feedback" / "samples.jsonl").read_text()
    assert first != (aligned / "iter_2" / "feedback" / "samples.jsonl").read_text()


def test_the_best_model_so_far_is_the_next_base_and_the_summary_says_so(aligned: Path) -> None:
    summary = json.loads((aligned / "summary.json").read_text())
    names = [m["name"] for m in summary["models"]]
    assert names == ["base", "iter_1", "iter_1/checkpoint-1", "iter_2", "iter_2/checkpoint-1"]
    scores = {m["name"]: m["overall"] for m in summary["models"]}
    # Scores are the eval runs' results.json overall means.
    for model in summary["models"]:
        assert (
            model["overall"]
            == json.loads((Path(model["eval_dir"]) / "results.json").read_text())["overall"]["mean"]
        )
    first_three = ["base", "iter_1", "iter_1/checkpoint-1"]
    expected_base = max(
        first_three, key=lambda n: (scores[n], -first_three.index(n))
    )  # ties keep the earlier
    assert summary["iterations"][1]["base"] == expected_base
    assert summary["best"]["name"] == max(names, key=lambda n: (scores[n], -names.index(n)))
    markdown = (aligned / "summary.md").read_text()
    assert markdown.count("\n| iter_") == 4 and "★" in markdown and "Overall" in markdown


def test_rerun_redoes_nothing_and_an_unfinished_iteration_reuses_its_parts(
    aligned: Path, tiny_vlm: Path, server: LocalOpenAIServer
) -> None:
    config = _config(tiny_vlm, f"openai:j@{server.base_url}", aligned)
    config.prompts_per_iteration = PROMPTS
    calls = server.received
    stamps = {p: p.stat().st_mtime_ns for p in aligned.glob("iter_*/model/model.safetensors")}
    align(config, say=lambda _: None)
    assert server.received == calls
    # Iteration 2 interrupted after training: feedback and model are reused, its evaluation
    # is answered from the eval run's store, so no judge call and no training happens.
    (aligned / "iter_2" / "iteration.json").unlink()
    (aligned / "iter_2" / "eval" / "results.json").unlink()
    summary = align(config, say=lambda _: None)
    assert server.received == calls
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert (aligned / "iter_2" / "eval" / "results.json").exists() and len(summary["iterations"]) == 2


def test_a_folder_belongs_to_one_experiment(aligned: Path, tiny_vlm: Path) -> None:
    config = _config(tiny_vlm, "openai:another-judge@http://127.0.0.1:9/v1", aligned)
    with pytest.raises(ConfigError, match="another judge"):
        align(config, say=lambda _: None)


def test_align_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="set by mmrole align"):
        AlignConfig(model="m", data="demo", judge="demo", output_dir="o", dpo={"output_dir": "x"})
    with pytest.raises(ConfigError, match="not key=value"):
        parse_overrides("max_steps")
    assert parse_overrides("max-steps=2,use_lora=true,lr_scheduler_type=cosine") == {
        "max_steps": 2,
        "use_lora": True,
        "lr_scheduler_type": "cosine",
    }
    with pytest.raises(ConfigError, match="not a local model folder"):
        align(AlignConfig(model="no/such/model", data="demo", judge="demo", output_dir="o"))


def test_a_feedback_stage_over_max_failures_stops_align_before_training(tmp_path: Path) -> None:
    from mmrole.align.loop import run_iteration
    from mmrole.engine.failures import TooManyFailures

    feedback = tmp_path / "iter_1" / "feedback"
    feedback.mkdir(parents=True)
    counts = {
        "n_prompts": 3,
        "n_responses": 9,
        "n_empty_responses": 1,
        "n_scored": 6,
        "n_eligible": 3,
        "n_pairs": 2,
    }
    (feedback / "feedback.json").write_text(json.dumps(counts))  # a finished feedback stage, read back
    config = AlignConfig(
        model="hf:/no/model",
        data="demo",
        judge="demo",
        output_dir=str(tmp_path),
        engine=EngineOptions(max_failures="1"),
    )
    assert config.to_dict()["max_failures"] == "1"
    with pytest.raises(TooManyFailures, match=r"2 of 9 feedback responses failed \(see .*candidates.jsonl\)"):
        run_iteration(1, {"name": "base", "model_dir": "/no/model"}, config, n_prompts=3, say=lambda _: None)
    assert (
        not (tmp_path / "iter_1" / "model").exists() and not (tmp_path / "iter_1" / "iteration.json").exists()
    )


def test_prompt_slices_wrap_around_within_the_first_limit_prompts() -> None:
    from mmrole.align.loop import feedback_options

    engine = EngineOptions(concurrency=4, progress=False)

    def config(limit: int | None) -> AlignConfig:
        feedback = FeedbackOptions(limit=limit, seed=7)
        return AlignConfig(
            "hf:/m", "demo", "demo", "o", prompts_per_iteration=3, feedback=feedback, engine=engine
        )

    slices = [(o.offset, o.limit) for o in (feedback_options(config(5), i, n_prompts=5) for i in (1, 2, 3))]
    assert slices == [(0, 3), (3, 2), (1, 3)]  # prompts 0-2, 3-4, then 1-3: never past the 5th
    unlimited = feedback_options(config(None), 2, n_prompts=20)
    assert (unlimited.offset, unlimited.limit, unlimited.seed) == (3, 3, 2007)
    assert unlimited.engine == engine  # every call of the loop runs with the align's engine options
