"""``vlmeval:MODEL_NAME``: VLMEvalKit-registered models as mmrole agents, through ``mmrole answer``
and the Backend protocol."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrole.cli import app, main
from mmrole.data import image_root, load_samples
from mmrole.data.convert import to_openai_messages
from mmrole.errors import BackendError, ConfigError
from mmrole.models import GenerationParams, load_backend


def _answers(run: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, (run / "answers.jsonl").open())}


def _main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """``mmrole ARGV`` as the console script runs it: (exit status, stderr)."""
    monkeypatch.setattr(sys, "argv", ["mmrole", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
        sys.exit(0)
    return int(exit_info.value.code or 0), capsys.readouterr().err


def test_mmrole_answer_runs_a_vlmeval_model_as_the_agent(tiny_models, tmp_path: Path) -> None:
    from tiny_vlmeval import TinyRolePlayer, seen

    run = tmp_path / "run"
    args = [
        "answer",
        "--agent",
        "vlmeval:TinyRolePlayer",
        "--data",
        "demo",
        "--run",
        str(run),
        "--no-progress",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    samples = list(load_samples("demo"))
    answers = _answers(run)
    assert len(answers) == len(samples) and all(a["error"] is None for a in answers.values())
    # One call per sample, in order, each given the MRPA prompt: the image's bytes, then the system
    # prompt and the instruction as one text (the MMRole dataset's build_prompt layout).
    assert len(TinyRolePlayer.received) == len(samples)
    for (message, dataset), sample in zip(TinyRolePlayer.received, samples, strict=True):
        image = (image_root("demo") / sample.image).read_bytes()
        assert message == [("image", image), ("text", f"{sample.system}\n\n{sample.instruction}")]
        assert dataset == "MMRole"
        assert answers[sample.id]["answer"].startswith("Tiny: images ['")
    assert json.loads((run / "run.json").read_text())["agent"] == "vlmeval:TinyRolePlayer"
    # A rerun answers from the store: the model is not called again.
    assert CliRunner().invoke(app, args).exit_code == 0
    assert len(TinyRolePlayer.received) == len(samples)
    assert seen([]) == []


@pytest.mark.filterwarnings("ignore:Model TinyOneImage does not support interleaved input")
def test_custom_prompts_and_one_image_models_are_respected(tiny_models, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["answer", "--agent", "vlmeval:TinyOneImage", "--data", "demo", "--run", str(run), "--no-progress"],
    )
    assert result.exit_code == 0, result.output
    samples = list(load_samples("demo"))
    for sample in samples:
        from PIL import Image

        with Image.open(image_root("demo") / sample.image) as image:
            size = f"{image.width}x{image.height}"
        # Its build_prompt(line, "MMRole") made the prompt from the row's question (the instruction).
        assert (
            _answers(run)[sample.id]["answer"]
            == f"[custom for MMRole] {sample.instruction}"[:40] + f" | {size}"
        )

    async def two_images() -> None:
        backend = load_backend("vlmeval:TinyOneImage?dataset=LLaVABench")  # no custom prompt there
        try:
            messages = to_openai_messages(samples[0], image_root("demo"))
            messages[1]["content"].insert(0, dict(messages[1]["content"][0]))
            with pytest.raises(
                BackendError, match=r"takes one image per request \(INTERLEAVE = False\); this one has 2"
            ):
                await backend.generate(messages, GenerationParams())
            assert backend.spec == "vlmeval:TinyOneImage?dataset=LLaVABench"
        finally:
            await backend.aclose()

    asyncio.run(two_images())


def test_a_model_that_raises_fails_its_samples_only(tiny_models, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["answer", "--agent", "vlmeval:TinyFailing", "--data", "demo", "--run", str(run), "--no-progress"]
        + ["--max-failures", "8"],
    )
    assert result.exit_code == 0, result.output
    answers = _answers(run)
    failed = {i for i, a in answers.items() if a["error"]}
    expected = {s.id for s in load_samples("demo") if "Hypothetical" in s.instruction}
    assert failed == expected and 0 < len(failed) < len(answers)
    for sample_id in failed:
        assert answers[sample_id]["answer"] is None
        assert answers[sample_id]["error"].startswith(
            "vlmeval:TinyFailing raised RuntimeError: CUDA out of memory"
        )
        assert answers[sample_id]["meta"]["attempts"] == 1  # a model's own failure is not retried
    assert all(answers[i]["answer"].startswith("ok ") for i in set(answers) - failed)


def test_an_api_models_failure_text_is_a_failed_sample(tiny_models, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["answer", "--agent", "vlmeval:TinyAPI", "--data", "demo", "--run", str(run), "--no-progress"]
    result = CliRunner().invoke(app, [*args, "--max-failures", "8"])
    assert result.exit_code == 0, result.output
    answers = _answers(run)
    failed = {i for i, a in answers.items() if a["error"]}
    assert failed == {s.id for s in load_samples("demo") if "Hypothetical" in s.instruction}
    assert {answers[i]["error"] for i in failed} == {"vlmeval:TinyAPI: Failed to obtain answer via API."}
    assert all(answers[i]["answer"].startswith("api ") for i in set(answers) - failed)


def test_unknown_or_unbuildable_models_are_one_line_errors(
    tiny_models, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _main(
        monkeypatch,
        capsys,
        "answer",
        "--agent",
        "vlmeval:TinyRolPlayer",
        "--data",
        "demo",
        "--run",
        str(tmp_path / "a"),
    )
    assert code == 2 and err.strip().count("\n") == 0
    assert "vlmeval:TinyRolPlayer: no such model in VLMEvalKit's registry" in err
    code, err = _main(
        monkeypatch,
        capsys,
        "answer",
        "--agent",
        "vlmeval:BrokenAtStart",
        "--data",
        "demo",
        "--run",
        str(tmp_path / "b"),
    )
    assert code == 2 and err.strip().count("\n") == 0
    assert (
        "vlmeval:BrokenAtStart: the model could not be built: OSError: no weights at /models/missing" in err
    )
    code, err = _main(
        monkeypatch, capsys, "answer", "--agent", "vlmeval:TinyRolePlayer", "--agent-arg", "prefx=x", "--data", "demo",
        "--run", str(tmp_path / "c"),
    )  # fmt: skip
    assert (
        code == 2
        and "vlmeval:TinyRolePlayer: the model could not be built: TypeError:" in err
        and "prefx" in err
    )
    with pytest.raises(ConfigError, match="vlmeval spec without a model name"):
        load_backend("vlmeval:")


def test_agent_args_are_the_models_constructor_arguments(tiny_models, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["answer", "--agent", "vlmeval:TinyRolePlayer", "--agent-arg", "prefix=Mini", "--limit", "2"]
        + ["--data", "demo", "--run", str(run), "--no-progress"],
    )
    assert result.exit_code == 0, result.output
    assert [a["answer"].split(":")[0] for a in _answers(run).values()] == ["Mini", "Mini"]


def test_multi_turn_conversations_go_to_chat_inner(tiny_models) -> None:
    from tiny_vlmeval import TinyRolePlayer

    sample = next(iter(load_samples("demo")))
    first = to_openai_messages(sample, image_root("demo"))
    image = base64.b64decode(first[1]["content"][0]["image_url"]["url"].partition(",")[2])
    conversation = [
        *first,
        {"role": "assistant", "content": "Ahoy."},
        {"role": "user", "content": "And then?"},
    ]

    async def chat() -> tuple[str, str]:
        rolling = load_backend("vlmeval:TinyRolePlayer")
        single = load_backend("vlmeval:TinyFailing")
        try:
            answer = (await rolling.generate(conversation, GenerationParams())).text
            with pytest.raises(
                BackendError, match="has no chat_inner: it answers single-turn conversations only"
            ):
                await single.generate(conversation, GenerationParams())
            return answer, rolling.spec
        finally:
            await rolling.aclose()
            await single.aclose()

    answer, spec = asyncio.run(chat())
    assert answer.startswith("Tiny after 3 turns") and spec == "vlmeval:TinyRolePlayer"
    turns, dataset = TinyRolePlayer.received[-1]
    assert dataset == "MMRole"
    assert turns == [
        ("user", [("image", image), ("text", f"{sample.system}\n\n{sample.instruction}")]),
        ("assistant", [("text", "Ahoy.")]),
        ("user", [("text", "And then?")]),
    ]
