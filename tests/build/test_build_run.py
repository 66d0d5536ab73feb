"""`mmrole build run CONFIG.toml` end to end: every stage in order on a root built from scratch, with
a scripted generator and judge (and the local server for kill -9), the summary, and resuming."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from curate_helpers import curation_reply, scratch_root

from mmrole.build.config import read_config
from mmrole.build.filter_items import read_sidecar
from mmrole.build.pipeline import run_build, summary_tables
from mmrole.data.holdout import TrainingSource, dialogue_id
from mmrole.data.samples import build_samples
from mmrole.data.validate import validate
from mmrole.engine import Store
from mmrole.testing import ScriptedBackend
from mmrole.testing.server import LocalOpenAIServer

#: Two generic images and one still per character and type (the series has two stills).
CONFIG = """
root = "{root}"
generator = "{generator}"
judge = "{judge}"
seed = 0
progress = false
concurrency = {concurrency}

[dialogues]
coco_count = 2
script_count = 1
min_turns = 4
max_turns = 6

[filter]
min_judge_score = 6

[split]
in_test_per_type = 1
out_test_per_type = 1
"""
#: The dialogue the scripted judge fails: the text it shows holds this still's annotation.
LOW = "Mira_Vale_comment_script_0"


def write_config(
    path: Path, root: Path, generator: str = "scripted", judge: str = "scripted", concurrency: int = 8
) -> Path:
    path.write_text(
        CONFIG.format(root=root, generator=generator, judge=judge, concurrency=concurrency), encoding="utf-8"
    )
    return path


def scripted(low_id: str | None = LOW) -> ScriptedBackend:
    def reply(call):
        low = ""
        if low_id and call.request_id and low_id in call.request_id:
            low = call.text  # the review of that dialogue: fail it
        return curation_reply(call.messages, low)

    return ScriptedBackend(reply)


def ids_of(folder: Path) -> set[str]:
    return {r["id"] for path in folder.rglob("*.json") for r in json.loads(path.read_text("utf-8"))}


def test_build_run_builds_a_root_that_validates_and_holds_no_test_sample_in_training(tmp_path: Path):
    root = scratch_root(tmp_path / "root")
    config = read_config(write_config(tmp_path / "build.toml", root))
    model = scripted()
    seen = []
    summary = run_build(config, generator=model, judge=model, on_stage=lambda s: seen.append(s.stage))

    assert seen == [
        "profiles",
        "annotate",
        "dialogues-comment",
        "dialogues-human-role",
        "dialogues-inter-role",
        "filter",
        "split",
    ]
    built = {s.stage: (s.kept, s.failed) for s in summary.stages}
    # 3 characters x (2 generic + 1 still) per type; inter-role only for the two partners
    assert built["profiles"] == (3, 0) and built["annotate"] == (3, 0)
    assert built["dialogues-comment"] == built["dialogues-human-role"] == (9, 0)
    assert built["dialogues-inter-role"] == (6, 0)
    assert built["filter"] == (23, 1) and summary.stage("filter").reasons == {"judge score": 1}
    assert summary.characters == {"in-distribution": 2, "out-of-distribution": 1}
    assert summary.dialogues == {"comment": 8, "human-role": 9, "inter-role": 6} and summary.annotated == 3

    report = validate(root)
    assert report.ok, report.to_dict()
    assert sum(1 for _ in build_samples(root)) > 0  # `mmrole data samples` reads it
    assert {r["id"]: r["kept"] for r in read_sidecar(root)}[LOW] is False
    test_ids = ids_of(root / "data" / "test")
    assert summary.stage("split").tests == {
        "in-distribution": {"comment": 2, "human-role": 2, "inter-role": 2},
        "out-of-distribution": {"comment": 1, "human-role": 1},
    }
    train_ids = ids_of(root / "data" / "train")
    assert train_ids and not {dialogue_id(i) for i in train_ids} & {dialogue_id(i) for i in test_ids}
    assert not any(i.startswith("小月") for i in train_ids)
    guard = TrainingSource(str(root / "data" / "train"))
    assert len(list(guard.samples())) == len(train_ids) and guard.excluded == {}

    from rich.console import Console

    console = Console(width=200, record=True)
    for table in summary_tables(summary):
        console.print(table)
    text = console.export_text()
    assert "3 characters (2 seen, 1 held out)" in text
    assert "│ comment    │       9 │                   0 │    8 │        1 │ judge score (1)" in text

    # a rerun repeats no call, and leaves the dataset as it was
    before = {p: p.read_bytes() for p in (root / "data").rglob("*.json")}
    again = scripted()
    rerun = run_build(config, generator=again, judge=again)
    assert again.calls == [] and all(s.calls == 0 for s in rerun.stages)
    assert all(s.kept == 0 for s in rerun.stages if s.stage.startswith("dialogues"))  # the rejected one too
    assert {p: p.read_bytes() for p in (root / "data").rglob("*.json")} == before
    assert rerun.dialogues == summary.dialogues


def test_the_build_run_command_and_its_dry_run(tmp_path: Path, run_mmrole):
    root = scratch_root(tmp_path / "root")
    with LocalOpenAIServer(curation_reply) as server:
        spec = f"openai:test-model@{server.base_url}"
        config = write_config(tmp_path / "build.toml", root, spec, spec)
        code, out, err = run_mmrole("build", "run", config, "--dry-run")
        assert code == 0, err
        assert server.received == 0 and not (root / "dialogues").exists()
        assert "3 characters, 24 dialogues" in out
        code, out, err = run_mmrole("build", "run", config, "--no-progress")
        assert code == 0, err
    # the dry run's calls are the calls made: 6 profiles, 3 stills, 24 dialogues, 24 reviews
    assert server.received == 6 + 3 + 24 + 24
    assert "split: 42 kept" in out and validate(root).ok


JOB = """
import sys
from mmrole.build.config import read_config
from mmrole.build.pipeline import run_build
run_build(read_config(sys.argv[1]))
"""


def test_kill_9_mid_build_then_rerun_repeats_no_finished_call(tmp_path: Path):
    root = scratch_root(tmp_path / "root")
    enough = threading.Event()
    answered = {"n": 0}

    def respond(messages):
        answered["n"] += 1
        if answered["n"] >= 14:  # past profiles (6) and annotations (3), into the dialogues
            enough.set()
        return curation_reply(messages)

    script = tmp_path / "job.py"
    script.write_text(JOB)
    with LocalOpenAIServer(respond, latency=0.05) as server:
        spec = f"openai:test-model@{server.base_url}"
        config = write_config(tmp_path / "build.toml", root, spec, spec, concurrency=2)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        job = subprocess.Popen(
            [sys.executable, str(script), str(config)], env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            assert enough.wait(timeout=120), "the build made no progress"
        finally:
            os.kill(job.pid, signal.SIGKILL)
            job.wait()
        assert job.returncode == -signal.SIGKILL
        store_path = root / ".build" / "store.sqlite"
        with Store(store_path) as store:
            finished = store.counts()["ok"]
        received, served = server.received, sum(server.served_by_prompt.values())
        summary = run_build(read_config(config))
        assert summary.stage("split") is not None and validate(root).ok
        with Store(store_path) as store:
            total = store.counts()
    # every call finished before the kill is served from the store; each other one is made once
    assert total["failed"] == 0 and 9 <= finished < total["ok"]
    assert server.received - received == total["ok"] - finished
    assert served - finished <= 2  # only the calls in flight at the kill (concurrency 2) were lost


DEMO_CONFIG = """
root = "{root}"
generator = "demo"     # the demo preset: stepwise generation, short replies, failures allowed
judge = "demo"
progress = false
stages = ["profiles", "dialogues", "filter", "split"]   # the stills are not needed: COCO images only

[profiles]
characters = ["Mira Vale", "Otto Brass"]

[dialogues]
characters = ["Mira Vale", "Otto Brass"]
coco_count = 1
script_count = 0
min_turns = 2
max_turns = 2
[dialogues.comment]
characters = ["Mira Vale"]
[dialogues.human-role]
characters = ["Otto Brass"]
[dialogues.inter-role]
characters = ["Mira Vale"]

[filter]
min_judge_score = 1    # the 135M judge's scores measure nothing: keep what it reviews
min_turns = 2         # the demo dialogues are 2 turns long (fast)

[split]
in_test_per_type = 1
"""


@pytest.mark.slow
def test_build_run_with_the_demo_model_as_generator_and_judge_then_mmrole_eval_on_it(
    tmp_path: Path, run_mmrole
):
    """`mmrole build run` with the offline demo model writing (stepwise) and judging: 2 characters,
    all three types; the dataset validates and `mmrole eval --agent demo --judge demo` runs on it."""
    root = scratch_root(tmp_path / "root")
    shutil.rmtree(root / "profiles" / "out-of-distribution")  # 2 characters: the held-out one goes
    path = tmp_path / "demo.toml"
    path.write_text(DEMO_CONFIG.format(root=root))
    code, out, err = run_mmrole("build", "run", path)
    assert code == 0, err
    assert validate(root).ok
    in_test = json.loads((root / "data" / "test" / "in-distribution" / "comment_test.json").read_text())
    assert in_test  # the comment dialogue reached the In-Test set
    run = tmp_path / "run"
    code, out, err = run_mmrole(
        "eval", "--agent", "demo", "--judge", "demo", "--data", root / "data" / "test", "--run", run,
        "--limit", "2", "--metrics", "Fluency,Tone Consistency", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    assert (run / "results.json").is_file() and (run / "report.md").is_file()
