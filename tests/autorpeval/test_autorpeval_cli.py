"""`mmrole autorpeval` against OpenAI-compatible test servers: the table, the stage commands, report /
compare / leaderboard, kill -9 mid-run (the rerun repeats no finished call), and the demo model."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from scripted_models import evaluator_reply, partner_reply, role_reply

from mmrole.engine import Store
from mmrole.testing.server import LocalOpenAIServer

_TAG = re.compile(r"\[([0-9a-f]{12})\]")


class Tagged:
    """A responder whose every reply carries the digest of what it was sent, counted per digest."""

    def __init__(self, reply):
        self.reply, self.served = reply, Counter()

    def __call__(self, messages):
        tag = hashlib.sha256(json.dumps(messages, ensure_ascii=False).encode()).hexdigest()[:12]
        self.served[tag] += 1
        return f"[{tag}] {self.reply(messages)}"


@pytest.fixture
def servers():
    responders = {
        "agent": Tagged(role_reply),
        "simulator": Tagged(partner_reply),
        "evaluator": Tagged(evaluator_reply),
    }
    with (
        LocalOpenAIServer(responders["agent"], latency=0.003) as agent,
        LocalOpenAIServer(responders["simulator"], latency=0.003) as simulator,
        LocalOpenAIServer(responders["evaluator"], latency=0.003) as evaluator,
    ):
        specs = {
            "agent": f"openai:rpa@{agent.base_url}",
            "simulator": f"openai:sim@{simulator.base_url}",
            "evaluator": f"openai:judge@{evaluator.base_url}",
        }
        yield specs, responders


def _seats(specs):
    return ["--agent", specs["agent"], "--simulator", specs["simulator"], "--evaluator", specs["evaluator"]]


def test_the_command_runs_every_stage_and_report_compare_leaderboard_take_its_runs(
    servers, three_roles: Path, tmp_path: Path, run_mmrole
):
    specs, responders = servers
    run = tmp_path / "run"
    code, out, err = run_mmrole(
        "autorpeval", *_seats(specs), "--roles", three_roles, "--run", run, "--limit", "2", "--no-progress"
    )
    assert code == 0, err
    assert (
        "questions: 48/48 answers parsed" in out
        and "All roles" in out
        and f"wrote {run / 'report.md'}" in out
    )
    calls = sum(sum(r.served.values()) for r in responders.values())
    assert calls == 6 * 10 + 6 * 8
    code, out, _ = run_mmrole(
        "autorpeval", *_seats(specs), "--roles", three_roles, "--run", run, "--limit", "2", "--no-progress"
    )
    assert (
        code == 0
        and "0 calls made" in out
        and sum(sum(r.served.values()) for r in responders.values()) == calls
    )

    # One stage at a time, in another folder, gives the same results.
    staged = tmp_path / "staged"
    for args in (
        ["scenarios", "--roles", three_roles, "--limit", "2"],
        ["dialogues", "--agent", specs["agent"], "--simulator", specs["simulator"]],
        ["questions", "--evaluator", specs["evaluator"]],
    ):
        code, out, err = run_mmrole("autorpeval", *args, "--run", staged, "--no-progress")
        assert code == 0, err
    tables = lambda folder: json.loads((folder / "results.json").read_text())["tables"]  # noqa: E731
    assert tables(staged) == tables(run)

    code, out, _ = run_mmrole("report", run, staged, "--out", tmp_path / "both")
    assert (
        code == 0
        and (tmp_path / "both" / "report.md").is_file()
        and not (tmp_path / "both" / "radar.png").exists()
    )
    report = (tmp_path / "both" / "report.md").read_text(encoding="utf-8")
    assert (
        report.count("| run |") == 6 and report.count("| staged |") == 6
    )  # 3 tables + 3 failure tables each
    code, out, _ = run_mmrole("compare", run, staged, "--out", tmp_path / "cmp.json")
    assert code == 0 and "| Relationship | " in out
    comparison = json.loads((tmp_path / "cmp.json").read_text())
    assert comparison["tables"]["all"]["relationship"]["ttest"]["p"] == 1.0  # the same numbers
    code, out, _ = run_mmrole("leaderboard", run, staged)
    assert code == 0 and "| 1 | " in out and "| 2 | " in out
    line = run_mmrole.refused("report", run, tmp_path / "nothing")
    assert "give AutoRPEval runs or MMRole-Eval runs, not both" in line
    assert "--agent: give a stage's options after its name" in run_mmrole.refused(
        "autorpeval", "--agent", "demo", "score", "--run", run
    )
    assert "--evaluator is required" in run_mmrole.refused("autorpeval", "questions", "--run", run)
    line = run_mmrole.refused(
        "autorpeval",
        "questions",
        "--evaluator",
        specs["evaluator"],
        "--evaluator-arg",
        "colour=red",
        "--run",
        run,
    )
    assert line.startswith("error: --evaluator-arg: ") and "colour" in line
    code, out, err = run_mmrole(
        "autorpeval",
        "questions",
        "--evaluator",
        specs["evaluator"],
        "--evaluator-arg",
        "timeout=30",
        "--run",
        run,
        "--no-progress",
    )
    assert code == 0 and "0 calls made" in out  # a backend option is no input: answers come from the store


KILLS = 3
CONCURRENCY = 2


def _finished(run: Path) -> set[str]:
    """The tags of the calls the store holds as finished."""
    if not (run / "store.sqlite").exists():
        return set()
    with Store(run / "store.sqlite") as store:
        return {m.group(1) for row in store.rows("ok") if (m := _TAG.match(row.completion.text))}


def test_kill_9_mid_run_and_the_rerun_repeats_no_finished_call(servers, three_roles: Path, tmp_path: Path):
    specs, responders = servers
    rng = random.Random(11)
    run = tmp_path / "run"
    command = [sys.executable, "-m", "mmrole.cli", "autorpeval", *_seats(specs), "--roles", str(three_roles)]
    command += ["--run", str(run), "--limit", "2", "--concurrency", str(CONCURRENCY), "--no-progress"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).parents[2] / "src"), os.environ.get("PYTHONPATH")])
        ),
    }
    total = 6 * 10 + 6 * 8

    def served() -> Counter:
        return sum((r.served for r in responders.values()), Counter())

    snapshots = []
    for _ in range(KILLS):
        wait_for = sum(served().values()) + rng.randint(5, 25)
        job = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 120
        while sum(served().values()) < wait_for and job.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.002)
        assert job.poll() is None, job.stderr.read()
        os.kill(job.pid, signal.SIGKILL)
        job.wait()
        job.stderr.close()
        snapshots.append((_finished(run), served()))
    assert snapshots[-1][0], "the kills came before any call finished"
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    final = served()
    assert len(final) == total and _finished(run) >= set(final)  # every call made, none lost
    for finished, then in snapshots:  # a call finished before a kill was never made again
        assert {tag: final[tag] for tag in finished} == {tag: then[tag] for tag in finished}
    assert sum(final.values()) - total <= KILLS * CONCURRENCY  # only calls in flight at a kill were repeated
    results = json.loads((run / "results.json").read_text())
    assert (
        results["tables"]["all"]["n_chats"] == 6
        and results["tables"]["all"]["metrics"]["style"]["mean"] == 1.0
    )


@pytest.mark.slow
def test_the_demo_model_in_every_seat(three_roles: Path, tmp_path: Path, run_mmrole):
    run = tmp_path / "demo"
    args = [
        "--agent",
        "demo",
        "--simulator",
        "demo",
        "--evaluator",
        "demo",
        "--roles",
        three_roles,
        "--run",
        run,
    ]
    code, out, err = run_mmrole("autorpeval", *args, "--limit", "1", "--rounds", "1", "--no-progress")
    assert code == 0, err
    report = (run / "report.md").read_text(encoding="utf-8")
    assert (
        "## Chinese roles (cn) (1 roles, 1 chats)" in report
        and "## English roles (en) (2 roles, 2 chats)" in report
    )
    assert report.count("| Model | Character | Style | Emotion ↓") == 3 and "135M demo model" in out
    harry = json.loads((run / "evaluations" / "en" / "Harry.json").read_text(encoding="utf-8"))
    chat = next(iter(harry["chats"].values()))
    assert len(chat["dialogues"]) == 2 and all(chat["dialogues"][i]["dialogue"] is not None for i in range(2))
    assert all(f"{q}_analysis_eval" in chat for q in ("character", "coherence"))
