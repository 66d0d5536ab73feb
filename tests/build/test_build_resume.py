"""`kill -9` of a build stage at a random point, then a rerun: no finished call is made again, nothing
is lost, and the dataset is whole (every file is written atomically)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmrole.data import load_characters
from mmrole.data.validate import validate
from mmrole.engine import Store
from mmrole.testing.build_replies import build_reply
from mmrole.testing.server import LocalOpenAIServer

CONCURRENCY = 3
STAGES = {
    # stage: (command after the root, calls the whole stage makes)
    "profiles": (["profiles", "--overwrite"], 12),  # 6 characters x (detailed + short profile)
    "dialogues": (["dialogues", "--type", "inter-role", "--coco-count", "4", "--script-count", "2"], 36),
}


def _stored_ok(root: Path) -> int:
    path = root / ".build/store.sqlite"
    if not path.exists():
        return 0
    with Store(path) as store:
        return store.counts()["ok"]


def _command(root: Path, server: LocalOpenAIServer, stage: str) -> list[str]:
    args, _ = STAGES[stage]
    generator = f"openai:generator@{server.base_url}"
    return [sys.executable, "-m", "mmrole.cli", "build", args[0], str(root), *args[1:], "--generator", generator,
            "--concurrency", str(CONCURRENCY), "--no-progress"]  # fmt: skip


@pytest.mark.parametrize("stage", STAGES)
def test_kill_9_mid_stage_then_rerun_repeats_no_finished_call(root, stage):
    rng = random.Random(f"kill-{stage}")
    _, total = STAGES[stage]
    with LocalOpenAIServer(build_reply, latency=0.03) as server:
        for _kill in range(2):
            stored = _stored_ok(root)
            wait_for = server.received + rng.randint(1, max(1, (total - stored) // 2))
            job = subprocess.Popen(
                _command(root, server, stage), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            deadline = time.monotonic() + 60
            while server.received < wait_for and job.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.002)
            assert job.poll() is None, job.stderr.read()  # killed mid-stage, not after it
            os.kill(job.pid, signal.SIGKILL)
            job.wait()
            job.stderr.close()
            assert not list(root.rglob("*.partial"))  # no half-written file left behind
        finished, received = _stored_ok(root), server.received
        assert 0 < finished < total
        done = subprocess.run(_command(root, server, stage), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        # The rerun called exactly what the store did not hold: no finished call twice, none lost.
        assert server.received - received == total - finished
        assert _stored_ok(root) == total
        assert server.received - total <= 2 * CONCURRENCY  # only calls in flight at a kill were repeated
    assert f"{total // 2 if stage == 'profiles' else total} built, 0 failed" in done.stdout
    if stage == "profiles":  # a root without dialogues yet: its characters load without a problem
        problems: list = []
        assert len(load_characters(root, report=problems.append)) == 6 and problems == []
    else:
        report = validate(root)
        assert report.ok, report.to_dict()["problems"]
        records = [r for p in root.glob("dialogues/*/inter-role/*.json") for r in json.loads(p.read_text())]
        assert len(records) == total and len({r["id"] for r in records}) == total
