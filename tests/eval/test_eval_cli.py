"""The eval commands from the command line: import, leaderboard, compare, judge, eval, report."""

from __future__ import annotations

import base64
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.prompts.judge import JUDGE_SYSTEM
from mmrole.testing.server import LocalOpenAIServer

runner = CliRunner()
MMROLE = [sys.executable, "-m", "mmrole.cli"]


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_import_leaderboard_compare(in_test_root: Path, tmp_path: Path) -> None:
    output = _ok(["import", "--published", str(in_test_root), "--out", str(tmp_path / "runs")])
    assert output.count("(judged run)") == 11
    _ok(["import", str(in_test_root / "yi-vl-6b"), "--name", "Yi again", "--run", str(tmp_path / "one")])
    assert json.loads((tmp_path / "one" / "run.json").read_text())["name"] == "Yi again"

    runs = sorted(str(p) for p in (tmp_path / "runs").iterdir())
    output = _ok(
        ["leaderboard", *runs, "--out", str(tmp_path / "board.md"), "--out", str(tmp_path / "board.csv")]
    )
    assert "Claude 3 Opus" in output and "MMRole-Eval leaderboard" in output
    rows = list(csv.DictReader((tmp_path / "board.csv").open()))
    assert rows[0]["name"] == "Claude 3 Opus" and len(rows) == 11
    assert (tmp_path / "board.md").read_text().startswith("| rank | name | overall |")

    a, b = tmp_path / "runs" / "claude-3-opus", tmp_path / "runs" / "qwen-vl-chat"
    data = json.loads(_ok(["compare", str(a), str(b), "--json", "--n-perm", "200", "--n-boot", "100"]))
    overall = data["rows"][-1]
    assert data["a"] == "Claude 3 Opus" and overall["diff"] > 0 and overall["p_value"] < 0.05
    assert "Overall" in _ok(["compare", str(a), str(b), "--n-perm", "100", "--n-boot", "50"])


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [*MMROLE, "judge", "--judge", "demo", "--run", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "not a run folder" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run(
        [*MMROLE, "import", str(tmp_path), "--name", "x", "--run", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "no MMRole test files" in result.stderr


class AgentAndJudge:
    """One server playing both roles: short answers for the MRPA, fixed scores for the judge."""

    def __init__(self) -> None:
        self.judge_images: list[tuple[int, int]] = []

    def __call__(self, messages: list[dict]) -> str:
        if messages[0]["content"] != JUDGE_SYSTEM:
            return "Ahoy! The lantern burns bright tonight."
        image = next(p for p in messages[1]["content"] if p["type"] == "image_url")
        payload = base64.b64decode(image["image_url"]["url"].split(",", 1)[1])
        self.judge_images.append(Image.open(io.BytesIO(payload)).size)
        return "Both in character. [Scores]: (6, 8)"


def test_eval_answers_judges_and_reports_then_judge_rerun_is_free(tmp_path: Path) -> None:
    responder = AgentAndJudge()
    run = tmp_path / "run"
    with LocalOpenAIServer(responder) as server:
        spec = f"openai:m@{server.base_url}"
        output = _ok(
            [
                "eval",
                "--agent",
                spec,
                "--judge",
                spec,
                "--data",
                "demo",
                "--run",
                str(run),
                "--no-progress",
                "--n-boot",
                "50",
            ]
        )
        calls = server.received
        results = json.loads((run / "results.json").read_text())
        n = results["n_samples"]
        assert n > 0 and calls == n + n * 8  # answers, then 8 judgements per sample, each with its image
        assert len(responder.judge_images) == n * 8
        assert results["overall"]["mean"] == pytest.approx(0.75) and results["n_failed"] == 0
        for name in ("report.md", "report.csv", "report.html"):
            assert (run / name).is_file(), output
        assert "Overall" in output and "demonstration" not in output

        output = _ok(["judge", "--judge", spec, "--run", str(run), "--no-progress", "--n-boot", "50"])
        assert server.received == calls and "0 calls" in output
        _ok(["report", str(run), "--out", str(tmp_path / "rep")])
        assert (tmp_path / "rep" / "report.md").is_file()


def test_eval_images_option_serves_the_answering_and_the_judging(tmp_path: Path) -> None:
    import shutil

    from mmrole.data import image_root, load_samples, write_samples_jsonl

    samples = list(load_samples("demo"))[:2]
    data = tmp_path / "data" / "samples.jsonl"
    write_samples_jsonl(samples, data)  # no images beside it: they are in another folder
    pictures = tmp_path / "pictures"
    for sample in samples:
        (pictures / sample.image).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(image_root("demo") / sample.image, pictures / sample.image)

    agent_images: list[bool] = []

    def respond(messages: list[dict]) -> str:
        has_image = any(p.get("type") == "image_url" for p in messages[-1]["content"])
        if messages[0]["content"] != JUDGE_SYSTEM:
            agent_images.append(has_image)
            return "Ahoy!"
        return "Fine. [Scores]: (6, 8)" if has_image else "no image to judge"

    with LocalOpenAIServer(respond) as server:
        spec = f"openai:m@{server.base_url}"
        args = [
            "eval",
            "--agent",
            spec,
            "--judge",
            spec,
            "--data",
            str(data),
            "--no-progress",
            "--n-boot",
            "10",
        ]
        missing = runner.invoke(app, [*args, "--run", str(tmp_path / "without")])
        assert missing.exit_code != 0 and "--missing-image omit" in str(missing.exception)
        _ok([*args, "--run", str(tmp_path / "run"), "--images", str(pictures), "--metrics", "Fluency"])
    assert agent_images == [True, True]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["n_samples"] == 2 and results["n_failed"] == 0


def _answered_demo_run(server: LocalOpenAIServer, run: Path) -> str:
    spec = f"openai:m@{server.base_url}"
    _ok(["answer", "--agent", spec, "--data", "demo", "--run", str(run), "--no-progress", "--limit", "4"])
    return spec


def test_judge_exits_1_when_judgements_failed_within_max_failures_0(tmp_path: Path) -> None:
    """Every judgement failing (the judge never writes a score pair) is exit 1, not 0."""
    run = tmp_path / "run"
    with LocalOpenAIServer(lambda messages: "I will not score these.") as server:
        spec = _answered_demo_run(server, run)
        args = [
            "judge",
            "--judge",
            spec,
            "--run",
            str(run),
            "--no-progress",
            "--n-boot",
            "20",
            "--format-retries",
            "0",
        ]
        done = subprocess.run([*MMROLE, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 1, done.stderr
        error = done.stderr.strip().splitlines()[-1]
        assert error.startswith("error: 32 of 32 judgements failed") and "reviews.jsonl" in error
        assert "more than --max-failures 0 allows" in error and "Traceback" not in done.stderr
        assert (run / "results.json").exists()  # the job finished and wrote everything first
        # a threshold the failures stay within: exit 0 (the failures are still reported)
        assert runner.invoke(app, [*args, "--max-failures", "32"]).exit_code == 0
        assert runner.invoke(app, [*args, "--max-failures", "0.99"]).exit_code == 1  # 32/32 is more than 99%
        assert runner.invoke(app, [*args, "--max-failures", "31"]).exit_code == 1


def test_max_failures_counts_or_shares_and_bad_values_are_one_line(tmp_path: Path) -> None:
    run = tmp_path / "run"

    def judge(messages: list[dict]) -> str:  # Fluency gets no score; the other 7 metrics do
        fluency = "Fluency: Are the responses grammatically correct" in messages[1]["content"][-1]["text"]
        return "No idea." if fluency else "[Scores]: (6, 8)"

    with LocalOpenAIServer(judge) as server:
        spec = _answered_demo_run(server, run)
        args = [
            "judge",
            "--judge",
            spec,
            "--run",
            str(run),
            "--no-progress",
            "--n-boot",
            "20",
            "--format-retries",
            "0",
        ]
        assert runner.invoke(app, args).exit_code == 1  # 4 of 32 failed
        assert runner.invoke(app, [*args, "--max-failures", "4"]).exit_code == 0
        assert runner.invoke(app, [*args, "--max-failures", "0.125"]).exit_code == 0  # 4/32 is not more
        assert runner.invoke(app, [*args, "--max-failures", "0.1"]).exit_code == 1
        for bad in ("-1", "1.5", "some", "0.0"):
            done = subprocess.run(
                [*MMROLE, *args, "--max-failures", bad], capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 2 and done.stderr.count("\n") == 1, (bad, done.stderr)
            assert "--max-failures" in done.stderr and "Traceback" not in done.stderr


def test_eval_applies_max_failures_to_answers_and_judgements(tmp_path: Path) -> None:
    def respond(messages: list[dict]) -> str:
        return "No score." if messages[0]["content"] == JUDGE_SYSTEM else "Ahoy!"

    with LocalOpenAIServer(respond) as server:
        spec = f"openai:m@{server.base_url}"
        args = ["eval", "--agent", spec, "--judge", spec, "--data", "demo", "--run", str(tmp_path / "r")]
        args += ["--limit", "2", "--no-progress", "--n-boot", "20", "--format-retries", "0"]
        done = subprocess.run([*MMROLE, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "16 of 16 judgements failed" in done.stderr and "answers failed" not in done.stderr


def test_judge_against_a_dead_endpoint_stops_with_one_line(tmp_path: Path) -> None:
    import socket

    run = tmp_path / "run"
    with LocalOpenAIServer() as server:
        _answered_demo_run(server, run)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["judge", "--judge", f"openai:j@http://127.0.0.1:{port}/v1", "--run", str(run), "--no-progress"]
    done = subprocess.run([*MMROLE, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"error: openai:j@http://127.0.0.1:{port}/v1 cannot be reached"
    )
    assert "could not connect" in lines[0] and "rerun" in lines[0]


def test_the_demo_judge_tolerates_a_tenth_of_failures_unless_told_otherwise():
    """`make demo` must not fail on the 135M judge's occasional format misses; real judges allow none."""
    from mmrole._cli.eval_options import JudgeCommand, demo_judge_preset
    from mmrole._cli.options import build_options

    def judge_options(judge: str, **given: object) -> JudgeCommand:
        given = {"judge": judge, "run": Path("r"), **given}
        return build_options(JudgeCommand, given, demo_judge_preset({("judge",): judge}))

    assert judge_options("demo").engine.max_failures == "0.1"
    assert judge_options("openai:gpt-4o").engine.max_failures == "0"
    assert judge_options("demo", engine__max_failures="0").engine.max_failures == "0"
    demo = judge_options("demo")
    assert demo.judging.scoring == "logprob" and demo.judging.prefill == "[Scores]: ("  # the demo preset
    assert judge_options("demo", judging__scoring="sampled").judging.scoring == "sampled"  # given wins
    demo.engine.allowed_failures().check(2, 64, "judgements", "reviews.jsonl")  # the demo's 2 of 64: allowed
    with pytest.raises(Exception, match="more than --max-failures"):
        real = judge_options("openai:gpt-4o")
        real.engine.allowed_failures().check(2, 64, "judgements", "reviews.jsonl")


def test_judge_limit_judges_the_first_n_samples_and_another_limit_is_another_judging(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with LocalOpenAIServer(lambda messages: "Fine. [Scores]: (6, 8)") as server:
        spec = _answered_demo_run(server, run)  # 4 answered samples
        before = server.received
        args = ["judge", "--judge", spec, "--run", str(run), "--no-progress", "--n-boot", "20"]
        _ok([*args, "--metrics", "Fluency", "--limit", "2"])
        assert server.received - before == 2  # 2 samples x 1 metric
        results = json.loads((run / "results.json").read_text())
        assert results["n_samples"] == 2
        reviewed = [
            json.loads(line)["sample_id"] for line in (run / "reviews.jsonl").read_text().splitlines()
        ]
        samples = [json.loads(line)["id"] for line in (run / "samples.jsonl").read_text().splitlines()]
        assert reviewed == samples[:2]
        refused = runner.invoke(app, [*args, "--metrics", "Fluency", "--limit", "3"])
        assert refused.exit_code != 0 and "limit" in str(refused.exception)
        _ok([*args, "--metrics", "Fluency", "--limit", "3", "--overwrite"])
        assert server.received - before == 3  # the first two came from the store
        _ok([*args, "--metrics", "Fluency", "--overwrite"])  # no limit: all four, as before limits existed
        assert json.loads((run / "results.json").read_text())["n_samples"] == 4
