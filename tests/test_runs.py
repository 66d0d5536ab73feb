"""The run folder stays consistent: other inputs are refused or start afresh, answers that lag the
store are never judged, and one process at a time uses a folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.engine.options import EngineOptions
from mmrole.errors import ConfigError, DataError
from mmrole.eval.answer import answer_dataset_sync
from mmrole.eval.judge import judge_run_sync
from mmrole.eval.leaderboard import leaderboard
from mmrole.eval.report import write_reports
from mmrole.models.base import last_user_text
from mmrole.runs import RunFolder
from mmrole.schema import METRICS
from mmrole.testing.responders import InjectedError
from mmrole.testing.server import LocalOpenAIServer
from runs_helpers import N_SAMPLES, agent, assert_consistent, judge, write_samples

runner = CliRunner()
MMROLE = Path(sys.executable).with_name("mmrole")


def _cli(*args: str):
    return runner.invoke(app, [*args, "--no-progress"])


def _answer(server: LocalOpenAIServer, name: str, data: Path, run: Path, *extra: str):
    return _cli(
        "answer",
        "--agent",
        f"openai:{name}@{server.base_url}",
        "--data",
        str(data),
        "--run",
        str(run),
        *extra,
    )


def _judge(server: LocalOpenAIServer, name: str, run: Path, *extra: str):
    return _cli(
        "judge", "--judge", f"openai:{name}@{server.base_url}", "--run", str(run), "--n-boot", "20", *extra
    )


def _snapshot(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name not in (".lock",)}


@pytest.fixture()
def servers():
    with (
        LocalOpenAIServer(agent("agent-a")) as a,
        LocalOpenAIServer(agent("agent-b")) as b,
        LocalOpenAIServer(judge("judge-1", 6)) as j1,
        LocalOpenAIServer(judge("judge-2", 9)) as j2,
    ):
        yield {"agent-a": a, "agent-b": b, "judge-1": j1, "judge-2": j2}


@pytest.fixture()
def judged(servers, tmp_path) -> tuple[Path, Path]:
    """A run answered by agent-a and judged by judge-1, with its reports."""
    data, run = write_samples(tmp_path / "data"), tmp_path / "run"
    assert _answer(servers["agent-a"], "agent-a", data, run).exit_code == 0
    assert _judge(servers["judge-1"], "judge-1", run).exit_code == 0
    write_reports([run])
    return data, run


def _spec(servers, name: str) -> str:
    return f"openai:{name}@{servers[name].base_url}"


def test_reanswering_a_judged_run_with_another_agent_refuses_then_overwrite_drops_its_scores(
    servers, judged
) -> None:
    data, run = judged
    a, b, j1 = _spec(servers, "agent-a"), _spec(servers, "agent-b"), _spec(servers, "judge-1")
    assert_consistent(run, agent_spec=a, judge_spec=j1, mrpa_score=6, reports=True)
    before = _snapshot(run)

    refused = _answer(servers["agent-b"], "agent-b", data, run)
    assert isinstance(refused.exception, ConfigError)
    assert str(refused.exception) == (
        f"run folder {run} was answered by {a}, not {b}; use --overwrite to start answering afresh "
        "(drops its answers, reviews, results and reports)"
    )
    assert servers["agent-b"].received == 0 and _snapshot(run) == before  # nothing touched

    assert _answer(servers["agent-b"], "agent-b", data, run, "--overwrite").exit_code == 0
    assert_consistent(run, agent_spec=b)  # agent-a's reviews, results and reports are gone
    with pytest.raises(DataError, match="not judged yet"):
        leaderboard([run])  # no stale score under the new name
    board = subprocess.run([str(MMROLE), "leaderboard", str(run)], capture_output=True, text=True)
    assert board.returncode == 2 and "not judged yet" in board.stderr and "0.75" not in board.stdout

    # Judging again judges agent-b's answers and rewrites the reports the folder had.
    assert _judge(servers["judge-1"], "judge-1", run).exit_code == 0
    assert servers["judge-1"].received == 2 * N_SAMPLES * len(METRICS)
    assert_consistent(run, agent_spec=b, judge_spec=j1, mrpa_score=6, reports=True)
    assert leaderboard([run])[0].overall == 0.75


def test_other_data_or_answer_options_are_refused_too(servers, judged) -> None:
    data, run = judged
    other = write_samples(run.parent / "other")
    for extra, difference in [
        (["--max-tokens", "64"], "with max_tokens=512, not max_tokens=64"),
        (["--limit", "2"], "with limit=None, not limit=2"),
        (["--missing-image", "omit"], "with missing_image='error', not missing_image='omit'"),
    ]:
        refused = _answer(servers["agent-a"], "agent-a", data, run, *extra)
        assert isinstance(refused.exception, ConfigError) and difference in str(refused.exception)
    refused = _answer(servers["agent-a"], "agent-a", other, run)
    assert f"was answered on {data}, not {other}" in str(refused.exception)
    # the same command again resumes: no call, the judged run stays as it was
    assert _answer(servers["agent-a"], "agent-a", data, run).exit_code == 0
    assert servers["agent-a"].received == N_SAMPLES
    assert_consistent(
        run, agent_spec=_spec(servers, "agent-a"), judge_spec=_spec(servers, "judge-1"), mrpa_score=6
    )


def test_rejudging_with_another_judge_refuses_then_overwrite_judges_afresh(servers, judged) -> None:
    _, run = judged
    a, j1, j2 = _spec(servers, "agent-a"), _spec(servers, "judge-1"), _spec(servers, "judge-2")
    before = _snapshot(run)
    refused = _judge(servers["judge-2"], "judge-2", run)
    assert isinstance(refused.exception, ConfigError)
    assert str(refused.exception) == (
        f"run folder {run} was judged by {j1}, not {j2}; use --overwrite to judge afresh "
        "(drops its reviews, results and reports)"
    )
    refused = _judge(servers["judge-1"], "judge-1", run, "--swap")
    assert "was judged with swap=False, not swap=True" in str(refused.exception)
    assert servers["judge-2"].received == 0 and _snapshot(run) == before

    assert _judge(servers["judge-2"], "judge-2", run, "--overwrite").exit_code == 0
    # judge-2's reviews only, its results, and the folder's reports rewritten with them
    assert_consistent(run, agent_spec=a, judge_spec=j2, mrpa_score=9, reports=True)
    assert leaderboard([run])[0].judge == j2


def test_eval_refuses_another_agent_too_and_overwrite_redoes_answers_judgements_and_reports(
    servers, judged
) -> None:
    data, run = judged
    b, j1 = _spec(servers, "agent-b"), _spec(servers, "judge-1")
    args = ["eval", "--agent", b, "--judge", j1, "--data", str(data), "--run", str(run), "--n-boot", "20"]
    refused = _cli(*args)
    assert isinstance(refused.exception, ConfigError) and f"not {b}; use --overwrite" in str(
        refused.exception
    )
    assert servers["agent-b"].received == 0
    done = _cli(*args, "--overwrite")
    assert done.exit_code == 0, done.output
    assert_consistent(run, agent_spec=b, judge_spec=j1, mrpa_score=6, reports=True)


def test_a_killed_rerun_of_answer_leaves_answers_that_judge_refuses(servers, tmp_path, monkeypatch) -> None:
    data, run = write_samples(tmp_path / "data"), tmp_path / "run"
    server = servers["agent-a"]
    healthy = server.responder

    def flaky(messages):
        if "Question 1." in last_user_text(messages):
            raise InjectedError(400, "try again later")
        return healthy(messages)

    server.responder = flaky
    spec = f"openai:agent-a@{server.base_url}"
    assert answer_dataset_sync(spec, data, run, engine=EngineOptions(progress=False)).failed == 1

    # The rerun gets the missing answer into the store, then dies before writing answers.jsonl.
    server.responder = healthy

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(RunFolder, "finish_answer", killed)
        with pytest.raises(KeyboardInterrupt):
            answer_dataset_sync(spec, data, run, engine=EngineOptions(progress=False))
    assert server.received == N_SAMPLES + 1
    judge_spec = f"openai:judge-1@{servers['judge-1'].base_url}"
    with pytest.raises(DataError, match="answering did not finish .* rerun `mmrole answer`"):
        judge_run_sync(run, judge_spec, engine=EngineOptions(progress=False))
    assert servers["judge-1"].received == 0

    summary = answer_dataset_sync(spec, data, run, engine=EngineOptions(progress=False))
    assert (summary.answered, summary.calls) == (N_SAMPLES, 0)  # from the store
    judge_run_sync(run, judge_spec, engine=EngineOptions(progress=False), n_boot=20)
    assert_consistent(run, agent_spec=spec, judge_spec=judge_spec, mrpa_score=6)


_HOLD = """
import sys
from mmrole.runs import RunFolder
with RunFolder(sys.argv[1]).lock():
    print("held", flush=True)
    sys.stdin.read()
"""


def _holder(run: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(run)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline() == "held\n"
    return child


def test_a_live_process_holds_the_folder_and_a_dead_one_does_not(servers, tmp_path) -> None:
    data, run = write_samples(tmp_path / "data"), tmp_path / "run"
    child = _holder(run)
    try:
        with pytest.raises(ConfigError, match=f"^run folder {run} in use by pid {child.pid}$"):
            with RunFolder(run).lock():
                pass
        server = servers["agent-a"]
        args = ["answer", "--agent", f"openai:a@{server.base_url}", "--data", str(data), "--run", str(run)]
        done = subprocess.run([str(MMROLE), *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and server.received == 0
        assert done.stderr.strip() == f"error: run folder {run} in use by pid {child.pid}"
    finally:
        child.stdin.close()
        child.wait(timeout=30)

    # A holder killed with -9 leaves its pid in the lock file, but not the lock.
    child = _holder(run)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert (run / ".lock").read_text().strip() == str(child.pid)
    assert RunFolder(run).holder() is None
    with RunFolder(run).lock():
        assert RunFolder(run).holder() == os.getpid()
        with RunFolder(run).lock():  # re-entrant within one process (eval answers, then judges)
            pass
    assert _answer(servers["agent-a"], "agent-a", data, run).exit_code == 0


def test_the_engine_knows_nothing_of_run_folders_or_mmrole_data() -> None:
    import ast

    import mmrole.engine

    lower = ("mmrole.data", "mmrole.eval", "mmrole.runs", "mmrole.run_", "mmrole.train")
    for source in Path(mmrole.engine.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            assert not [n for n in names if n.startswith(lower)], f"{source.name} imports {names}"
