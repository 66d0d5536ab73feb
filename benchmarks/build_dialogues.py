"""Dialogue generation throughput: how close does `mmrole build dialogues` come to a server that
allows 320 calls/s?

A benchmark, not a test. The local OpenAI-compatible server runs in its own process with 200 ms
latency and room for 64 concurrent requests, so no client can beat 64 / 0.2 s = 320 calls/s. It
answers every dialogue request with a well-formed dialogue of the turns asked for
(:func:`mmrole.testing.build_replies.build_reply`). The workload is the human-role stage over a
fresh root: CHARACTERS characters with profiles, each with COCO generic images (tiny JPEGs), one
call per dialogue at concurrency 64, the whole stage timed as a user runs it (planning, image
checks, the engine and its store, reply parsing, the dialogue files written at the end), plus this
process's CPU time per dialogue.

    PYTHONPATH=src .venv/bin/python benchmarks/build_dialogues.py [--results benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import results_file  # benchmarks/results_file.py (scripts run from benchmarks/)

LATENCY, CAPACITY = 0.2, 64
LIMIT = CAPACITY / LATENCY
CHARACTERS, IMAGES = 8, 250
MARK_START, MARK_END = "<!-- build-dialogues:start -->", "<!-- build-dialogues:end -->"
#: The server process: build_reply answers; the first and last answers' times give the generation phase.
SERVER = """
import asyncio, json, sys, time
from mmrole.testing.build_replies import build_reply
from mmrole.testing.server import LocalOpenAIServer

answered = []

def respond(messages):
    answered.append(time.monotonic())
    return build_reply(messages)

async def serve():
    server = LocalOpenAIServer(respond, latency=float(sys.argv[1]), capacity=int(sys.argv[2]))
    await server.start_async()
    print(f"listening on {server.base_url}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    window = answered[-1] - answered[0] + float(sys.argv[1]) if answered else 0.0
    print(json.dumps({"received": server.received, "peak": server.peak_active, "window": window}), flush=True)
    await server.stop_async()

asyncio.run(serve())
"""


def start_server() -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(LATENCY), str(CAPACITY)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = server.stdout.readline() if server.stdout else ""
    if not line.startswith("listening on "):
        raise SystemExit(f"the server did not start: {line!r}")
    return server, line.split()[-1]


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_root(root: Path, characters: int, images: int) -> Path:
    """A root of ``characters`` English characters (one series, profiles written) and ``images``
    generic images."""
    import random

    from PIL import Image

    rng = random.Random(0)
    names = [f"Keeper {chr(65 + n)}" for n in range(characters)]
    folder = root / "profiles" / "in-distribution"
    folder.mkdir(parents=True)
    (folder / "roles.json").write_text(json.dumps({"The Lantern Isles": names}))
    profile = (
        "### Brief Introduction\n{name} keeps a lighthouse.\n### Personality\nCalm.\n### Life Story\n"
        "Grew up by the sea.\n### Main Interpersonal Relationships\nThe other keepers.\n### Catchphrases\n"
        '"Steady light."'
    )
    (folder / "profiles.json").write_text(json.dumps({name: profile.format(name=name) for name in names}))
    for number in range(images):
        path = root / "images" / "COCO" / "train2017" / f"{number:012d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        # noise, so no two images are alike (identical requests would share one call)
        Image.frombytes("RGB", (32, 24), rng.randbytes(32 * 24 * 3)).save(path, quality=80)
    return root


def generate(root: Path, url: str, images: int) -> tuple[float, float, int, int]:
    """The human-role stage; returns (wall seconds, CPU seconds, dialogues written, calls)."""
    import mmrole.engine  # noqa: F401 - imported before the clock starts, as in a warm process
    import mmrole.models.openai_compat  # noqa: F401
    from mmrole.build.dialogues import DialogueOptions, build_dialogues

    options = DialogueOptions(
        root=root,
        generator=f"openai:test-model@{url}",
        type="human-role",
        coco_count=images,
        script_count=0,
        concurrency=CAPACITY,
        progress=False,
    )
    cpu, start = time.process_time(), time.perf_counter()
    summary = build_dialogues(options)
    return time.perf_counter() - start, time.process_time() - cpu, summary.kept, summary.calls


def markdown(
    wall: float,
    window: float,
    cpu: float,
    kept: int,
    calls: int,
    characters: int,
    peak: int,
    server_cpu: float,
) -> str:
    machine = f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    stage, phase = calls / wall, calls / window
    return "\n".join(
        [
            MARK_START,
            "## Dialogue generation",
            "",
            f"`benchmarks/build_dialogues.py`, measured {time.strftime('%Y-%m-%d')} on {machine} (shared machine, "
            f"load average {os.getloadavg()[0]:.1f} at the end: other jobs ran beside it).",
            "Local OpenAI-compatible server in its own process answering every request with a well-formed "
            f"dialogue: {LATENCY * 1000:.0f} ms latency, {CAPACITY} concurrent requests at most, so the limit is "
            f"{LIMIT:.0f} calls/s. Workload: `mmrole build dialogues --type human-role` over a fresh root, "
            f"{characters} characters x {kept // max(characters, 1)} generic images, concurrency {CAPACITY}. "
            "*Generation* is the calls over the time from the first request to the last answer (measured by "
            "the server); *whole stage* adds planning, image checks and writing the dialogue files.",
            "",
            "| dialogues | calls | generation s | generation calls/s | of the limit | whole stage s | whole stage calls/s | of the limit | client CPU ms per dialogue | peak in flight |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {kept:,} | {calls:,} | {window:.2f} | {phase:.1f} | {phase / LIMIT:.3f} | {wall:.2f} | {stage:.1f} | "
            f"{stage / LIMIT:.3f} | {cpu / max(kept, 1) * 1000:.2f} | {peak} |",
            "",
            f"The server used {server_cpu / max(calls, 1) * 1000:.2f} ms of CPU per call in its own process. "
            "Goal: generation >= 0.9 of the limit.",
            MARK_END,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, help="Write this benchmark's section of this RESULTS.md.")
    parser.add_argument("--characters", type=int, default=CHARACTERS)
    parser.add_argument(
        "--images", type=int, default=IMAGES, help="Generic images (dialogues) per character."
    )
    args = parser.parse_args()
    server, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = make_root(Path(tmp) / "root", args.characters, args.images)
            server_cpu = process_cpu(server.pid)
            wall, cpu, kept, calls = generate(root, url, args.images)
            server_cpu = process_cpu(server.pid) - server_cpu
    finally:
        if server.stdin:
            server.stdin.close()
        stats = json.loads(server.stdout.readline() if server.stdout else "{}")
        server.wait(timeout=30)
    window = stats["window"]
    print(
        f"{kept} dialogues, {calls} calls ({stats['received']} received, {stats['peak']} at most in flight)"
    )
    print(
        f"generation: {window:.2f} s, {calls / window:.1f} calls/s, {calls / window / LIMIT:.3f} of the limit"
    )
    print(f"whole stage: {wall:.2f} s, {calls / wall:.1f} calls/s, {calls / wall / LIMIT:.3f} of the limit")
    print(
        f"client CPU {cpu / max(kept, 1) * 1000:.2f} ms per dialogue, server CPU {server_cpu / max(calls, 1) * 1000:.2f} ms per call"
    )
    if args.results:
        section = markdown(wall, window, cpu, kept, calls, args.characters, stats["peak"], server_cpu)
        results_file.write_section(args.results, section, MARK_START, MARK_END)


if __name__ == "__main__":
    main()
