"""A crash at any point of answering, judging, re-judging with another judge or reporting never
leaves run.json, answers, reviews, results and reports disagreeing, and the rerun finishes from
the store without repeating a finished call.

Two ways in: a crash injected before each file operation in turn (every boundary, in process),
and ``kill -9`` of the real commands at seeded random points (subprocesses).
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mmrole import files
from mmrole.engine import Store
from mmrole.engine.options import EngineOptions
from mmrole.errors import DataError
from mmrole.eval.answer import answer_dataset_sync
from mmrole.eval.judge import judge_run_sync
from mmrole.eval.report import write_reports
from mmrole.runs import RunFolder
from mmrole.schema import METRICS
from mmrole.testing.server import LocalOpenAIServer
from runs_helpers import N_SAMPLES, agent, assert_consistent, digest, judge, prompt_of, write_samples

MRPA_SCORES = {"judge-1": 6, "judge-2": 9}
N_TASKS = N_SAMPLES * len(METRICS)


class Crash(BaseException):
    """Stands for the process dying: nothing catches it on the way out."""


def _name(spec: str | None) -> str | None:
    return spec.split(":", 1)[1].split("@")[0] if spec else None


def assert_no_silent_disagreement(run: Path) -> None:
    """Whatever a reader accepts agrees with run.json; the rest it refuses."""
    folder = RunFolder(run)
    info = folder.info()
    try:
        answers = folder.answers()
    except DataError:
        return  # answering did not finish or its files are not run.json's: nothing downstream is read
    assert all(a["answer"].startswith(f"{_name(info['agent'])} answers") for a in answers.values())
    try:
        reviews, results = folder.reviews(), folder.results()
    except DataError:
        assert not folder.reports_current()
        return
    judge_name = _name(info["judge"])
    assert all(r["text"].startswith(f"{judge_name} reviewed") for r in reviews)
    assert results["run"]["judge"] == info["judge"] and results["run"]["agent"] == info["agent"]
    assert results["overall"]["mean"] == MRPA_SCORES[judge_name] / 8
    if folder.reports_current():
        assert_consistent(
            run,
            agent_spec=info["agent"],
            judge_spec=info["judge"],
            mrpa_score=MRPA_SCORES[judge_name],
            reports=True,
        )


@pytest.fixture(scope="module")
def servers():
    with (
        LocalOpenAIServer(agent("agent-a")) as a,
        LocalOpenAIServer(agent("agent-b")) as b,
        LocalOpenAIServer(judge("judge-1", 6)) as j1,
        LocalOpenAIServer(judge("judge-2", 9)) as j2,
    ):
        yield {"agent-a": a, "agent-b": b, "judge-1": j1, "judge-2": j2}


def _crash_at(monkeypatch: pytest.MonkeyPatch, at: int | None) -> list[str]:
    """Make the run folder's ``at``-th file operation (an atomic write or a delete) crash before it
    happens; returns the log of operations."""
    log: list[str] = []
    write, delete = files._atomic_write, RunFolder._delete

    def step(what: str) -> None:
        log.append(what)
        if len(log) - 1 == at:
            raise Crash(what)

    def crashing_write(path: Path, chunks, *, binary: bool) -> None:
        step(f"write {path.name}")
        write(path, chunks, binary=binary)

    def crashing_delete(self: RunFolder, *names: str) -> None:
        for name in names:
            if self.file(name).exists():
                step(f"delete {name}")
                delete(self, name)

    monkeypatch.setattr(files, "_atomic_write", crashing_write)
    monkeypatch.setattr(RunFolder, "_delete", crashing_delete)
    return log


def test_a_crash_before_any_file_operation_is_refused_or_consistent_and_the_rerun_finishes(
    servers, tmp_path, monkeypatch
) -> None:
    data = write_samples(tmp_path / "data")
    spec = {name: f"openai:{name}@{server.base_url}" for name, server in servers.items()}

    def answer(name: str, **options) -> Callable[[Path], object]:
        return lambda run: answer_dataset_sync(
            spec[name], data, run, engine=EngineOptions(progress=False), **options
        )

    def judge_with(name: str, **options) -> Callable[[Path], object]:
        return lambda run: judge_run_sync(
            run, spec[name], engine=EngineOptions(progress=False), n_boot=20, **options
        )

    def report(run: Path) -> object:
        return write_reports([run])

    # (starting state, command, what the folder holds once the command has finished)
    states = {
        "empty": tmp_path / "empty",
        "answered": tmp_path / "answered",
        "reported": tmp_path / "reported",
    }
    states["empty"].mkdir()
    answer("agent-a")(states["answered"])
    shutil.copytree(states["answered"], states["reported"])
    judge_with("judge-1")(states["reported"])
    report(states["reported"])
    steps = [
        ("empty", answer("agent-a"), ("agent-a", None, False)),
        ("answered", judge_with("judge-1"), ("agent-a", "judge-1", False)),
        ("reported", report, ("agent-a", "judge-1", True)),
        ("reported", judge_with("judge-2", overwrite=True), ("agent-a", "judge-2", True)),
        ("reported", answer("agent-b", overwrite=True), ("agent-b", None, False)),
    ]

    def calls() -> int:
        return sum(server.received for server in servers.values())

    crashes = 0
    for number, (start, command, (agent_name, judge_name, reports)) in enumerate(steps):
        with monkeypatch.context() as patch:  # a clean run: the calls the command needs
            dry = tmp_path / f"dry-{number}"
            shutil.copytree(states[start], dry)
            before = calls()
            command(dry)
            needed = calls() - before
        # Each rerun of the command crashes one file operation later than the last, until one finishes.
        run = tmp_path / f"crash-{number}"
        shutil.copytree(states[start], run)
        before = calls()
        for at in itertools.count():
            with monkeypatch.context() as patch:
                log = _crash_at(patch, at)
                try:
                    command(run)
                except Crash:
                    crashes += 1
                    assert_no_silent_disagreement(run)
                    continue
            break
        assert at == len(log) and at > 0
        assert calls() - before == needed  # no finished call was made twice
        assert_consistent(
            run,
            agent_spec=spec[agent_name],
            judge_spec=spec[judge_name] if judge_name else None,
            mrpa_score=MRPA_SCORES.get(judge_name or ""),
            reports=reports,
        )
    assert crashes >= 25


KILLS_PER_PHASE = 4
CONCURRENCY = 2
MMROLE = Path(sys.executable).with_name("mmrole")


def _served(server: LocalOpenAIServer) -> dict[str, int]:
    """Answers the server sent, by the digest of their prompt."""
    return {digest(prompt): n for prompt, n in server.served_by_prompt.items()}


def _finished(run: Path, spec: str) -> set[str]:
    """The prompts (digests) whose calls by ``spec`` the store holds as finished."""
    if not (run / "store.sqlite").exists():
        return set()
    with Store(run / "store.sqlite") as store:
        return {prompt_of(row.completion.text) for row in store.rows("ok") if row.spec == spec}


def test_kill_9_at_random_points_of_answer_judge_and_rejudge_with_another_judge(tmp_path) -> None:
    rng = random.Random(20250101)
    data, run = write_samples(tmp_path / "data"), tmp_path / "run"
    with (
        LocalOpenAIServer(agent("agent-a"), latency=0.005) as a,
        LocalOpenAIServer(judge("judge-1", 6), latency=0.005) as j1,
        LocalOpenAIServer(judge("judge-2", 9), latency=0.005) as j2,
    ):
        spec = {"agent-a": f"openai:agent-a@{a.base_url}", "judge-1": f"openai:judge-1@{j1.base_url}"}
        spec["judge-2"] = f"openai:judge-2@{j2.base_url}"
        common = ["--run", str(run), "--concurrency", str(CONCURRENCY), "--no-progress"]
        judging = ["--n-boot", "20"]
        phases = [
            (a, spec["agent-a"], ["answer", "--agent", spec["agent-a"], "--data", str(data)], N_SAMPLES),
            (j1, spec["judge-1"], ["judge", "--judge", spec["judge-1"], *judging], N_TASKS),
            (j2, spec["judge-2"], ["judge", "--judge", spec["judge-2"], "--overwrite", *judging], N_TASKS),
        ]
        kills = 0
        for number, (server, model, command, n_calls) in enumerate(phases):
            if number == 2:  # the folder gets reports: re-judging must rewrite them
                assert subprocess.run([str(MMROLE), "report", str(run)], capture_output=True).returncode == 0
            snapshots: list[tuple[set[str], dict[str, int]]] = []
            phase_kills = 0
            for _attempt in range(4 * KILLS_PER_PHASE):
                if phase_kills == KILLS_PER_PHASE:
                    break
                remaining = n_calls - len(_finished(run, model))
                # Kill after a random number of this run's calls, or (nothing left to call) at a
                # random time, which lands in the start-up or in the writing of the files.
                wait_for = sum(_served(server).values()) + rng.randint(0, remaining)
                delay = rng.uniform(0, 0.02) if remaining else rng.uniform(0.2, 1.5)
                job = subprocess.Popen(
                    [str(MMROLE), *command, *common], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
                deadline = time.monotonic() + 60
                while sum(_served(server).values()) < wait_for and job.poll() is None:
                    assert time.monotonic() < deadline
                    time.sleep(0.001)
                time.sleep(delay)
                if job.poll() is not None:  # it finished first: a completed run
                    assert job.wait() == 0, job.stderr.read()
                    continue
                os.kill(job.pid, signal.SIGKILL)
                job.wait()
                job.stderr.close()
                phase_kills += 1
                assert_no_silent_disagreement(run)
                snapshots.append((_finished(run, model), _served(server)))
            kills += phase_kills

            done = subprocess.run(
                [str(MMROLE), *command, *common], capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stderr
            agent_name, judge_name = "agent-a", (None, "judge-1", "judge-2")[number]
            assert_consistent(
                run,
                agent_spec=spec[agent_name],
                judge_spec=spec[judge_name] if judge_name else None,
                mrpa_score=MRPA_SCORES.get(judge_name or ""),
                reports=number == 2,
            )
            served = _served(server)
            assert _finished(run, model) == set(served) and len(served) == n_calls  # none lost
            for finished, served_then in snapshots:  # none finished before a kill was asked again
                assert {p: served[p] for p in finished} == {p: served_then[p] for p in finished}
            # only calls in flight at a kill can have been answered without being recorded
            assert sum(served.values()) - n_calls <= phase_kills * CONCURRENCY
    assert kills >= 10
