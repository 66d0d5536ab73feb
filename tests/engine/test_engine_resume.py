"""kill -9 mid-run, then rerun: finished calls are neither lost nor repeated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mmrole.engine import Store
from mmrole.testing.server import LocalOpenAIServer

N = 200
CONCURRENCY = 4
JOB = """
import sys
from mmrole.engine import Request, run_requests_sync
url, store, n, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
requests = [Request(f"q{i}", [{"role": "user", "content": f"question {i}"}]) for i in range(n)]
results = run_requests_sync(f"openai:test-model@{url}", requests, store=store, concurrency=concurrency, progress=False)
print(sum(r.ok for r in results), sum(r.cached for r in results), sum(r.attempts for r in results))
"""


def _run_job(script: Path, url: str, store: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), url, str(store), str(N), str(CONCURRENCY)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_then_resume_loses_and_repeats_nothing(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(JOB)
    store_path = tmp_path / "run" / "store.sqlite"
    with LocalOpenAIServer(latency=0.02) as server:
        job = _run_job(script, server.base_url, store_path)
        deadline = time.monotonic() + 60
        while server.outcomes["ok"] < 60:  # let a good part of the job finish, then pull the plug
            assert job.poll() is None, job.communicate()
            assert time.monotonic() < deadline, "the job made no progress"
            time.sleep(0.005)
        os.kill(job.pid, signal.SIGKILL)
        job.wait()
        assert job.returncode == -signal.SIGKILL

        with Store(store_path) as store:
            finished = {row.request_id for row in store.rows("ok")}
        served_before = sum(server.served_by_prompt.values())
        assert 60 - CONCURRENCY <= len(finished) < N
        # only calls in flight at the kill can have been answered without being committed
        assert served_before - len(finished) <= CONCURRENCY

        resumed = _run_job(script, server.base_url, store_path)
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err
        answered, cached, calls = map(int, out.split())
        assert answered == N and cached == len(finished) and calls == N - len(finished)

        for i in range(N):
            count = server.by_prompt[f"question {i}"]
            if f"q{i}" in finished:
                assert count == 1, f"q{i} finished before the kill but was sent {count} times"
            else:
                assert count >= 1
        repeated = sum(count - 1 for count in server.by_prompt.values())
        assert repeated <= CONCURRENCY
        with Store(store_path) as store:
            assert store.counts() == {"ok": N, "failed": 0}

        # a third run of the finished job makes no call at all
        received = server.received
        again = _run_job(script, server.base_url, store_path)
        out, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        assert out.split() == [str(N), str(N), "0"]
        assert server.received == received
