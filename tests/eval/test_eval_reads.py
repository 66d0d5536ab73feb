"""One ``mmrole eval`` holds its samples, answers and reviews in memory: the data source is read once,
nothing it wrote is parsed back, and run.json is read at most once (while the eval holds the folder,
no other process writes it)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mmrole.data
import mmrole.data.samples
import mmrole.data.sources
import mmrole.eval.answer
import mmrole.runs
from mmrole import files
from mmrole.engine.options import EngineOptions
from mmrole.eval.judge import judge_run_sync
from mmrole.eval.pipeline import evaluate_sync
from mmrole.prompts.judge import JUDGE_SYSTEM
from mmrole.testing.scripted import Call, ScriptedBackend

QUIET = EngineOptions(progress=False)


def _reply(call: Call) -> str:
    if call.messages[0]["content"] == JUDGE_SYSTEM:
        return f"Fair. [Scores]: ({4 + len(call.text) % 5}, 8)"
    return "Ahoy! The lantern burns bright tonight."


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each reader ran, by what it read: ``source`` (the --data source), a file name."""
    counts: Counter[str] = Counter()

    def counted(real: Callable[..., Any], name: Callable[[Any], str]) -> Callable[..., Any]:
        def reader(*args: Any, **kwargs: Any) -> Any:
            counts[name(args[0])] += 1
            return real(*args, **kwargs)

        return reader

    source_reader = counted(mmrole.data.load_samples, lambda _: "source")
    for module in (mmrole.data, mmrole.eval.answer):  # every name it is bound to
        monkeypatch.setattr(module, "load_samples", source_reader)
    samples_reader = counted(mmrole.data.read_samples_jsonl, lambda path: Path(path).name)
    for module in (mmrole.data, mmrole.data.samples, mmrole.data.sources, mmrole.runs):
        monkeypatch.setattr(module, "read_samples_jsonl", samples_reader)
    monkeypatch.setattr(files, "read_json", counted(files.read_json, lambda path: Path(path).name))
    return counts


def _eval(run: Path) -> Any:
    agent, judge = ScriptedBackend(_reply), ScriptedBackend(_reply)
    agent.spec, judge.spec = "scripted:agent", "scripted:judge"  # type: ignore[attr-defined]
    return evaluate_sync(agent, judge, "demo", run, engine=QUIET, n_boot=20)


def test_one_eval_reads_its_samples_once_and_parses_nothing_it_wrote(reads: Counter[str], tmp_path: Path):
    run = tmp_path / "run"
    summary = _eval(run)
    # A whole evaluation was made: every sample answered and judged on every metric, reports written.
    assert summary.answer.answered == summary.answer.total == 8
    assert summary.judge.n_scored == summary.judge.n_tasks == 8 * 8
    results = json.loads((run / "results.json").read_text())
    report = (run / "report.md").read_text()  # written from the records in memory: the same numbers
    assert f"| run | scripted:agent | scripted:judge | {results['overall']['mean']:.3f} ± " in report
    assert reads["source"] == 1
    assert reads["samples.jsonl"] == 0 and reads["run.json"] == 0  # a new folder: run.json is only written
    assert reads["results.json"] == 1  # the report checks the results it shows are the folder's

    reads.clear()
    again = _eval(run)  # a rerun: every call from the store, the same results
    assert again.judge.n_calls == 0 and again.judge.results["overall"] == results["overall"]
    assert reads["source"] == 1 and reads["samples.jsonl"] == 0 and reads["run.json"] == 1


def test_judging_a_folder_reads_its_samples_and_run_json_once(reads: Counter[str], tmp_path: Path):
    run = tmp_path / "run"
    _eval(run)
    reads.clear()
    judge = ScriptedBackend(_reply)
    judge.spec = "scripted:judge"  # type: ignore[attr-defined]
    summary = judge_run_sync(run, judge, engine=QUIET, n_boot=20)
    assert summary.n_calls == 0 and summary.n_scored == 64
    assert reads["samples.jsonl"] == 1 and reads["run.json"] == 1 and reads["source"] == 0
