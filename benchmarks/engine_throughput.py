"""Engine throughput: how fast can a judge run go against a server that allows 320 calls/s?

A benchmark, not a test. The local OpenAI-compatible server runs in its own process with
200 ms latency and room for 64 concurrent requests, so no client can beat
64 / 0.2 s = 320 calls/s. The workload is one MMRole-Eval judge pass over In-Test: 294
samples x 8 metrics = 2,352 requests (judge-sized prompts, each sample's image attached).
Measured in one run:

1. one-at-a-time calls with the openai SDK, as MMRole's scripts call (a subset of the calls);
2. VLMEvalKit's pattern: a 32-thread pool of sync HTTP calls (``requests.post``) that dumps
   the whole results dict to a pickle checkpoint after each finished item;
3. mmrole's engine, concurrency 64, with its SQLite store in a temporary run folder;

each as calls/s and as a ratio to the 320 calls/s limit, plus mmrole's CPU time per call
(this process's CPU time during the engine run; the server's CPU is in the other process).

    .venv/bin/python benchmarks/engine_throughput.py [--results benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import results_file  # benchmarks/results_file.py (scripts run from benchmarks/)

LATENCY, CAPACITY = 0.2, 64
LIMIT = CAPACITY / LATENCY
SAMPLES, METRICS = 294, 8
SEQUENTIAL_CALLS = 25
MARK_START, MARK_END = "<!-- engine-throughput:start -->", "<!-- engine-throughput:end -->"


def start_server() -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        "-m",
        "mmrole.testing.server",
        "--latency",
        str(LATENCY),
        "--capacity",
        str(CAPACITY),
    ]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline() if server.stdout else ""
    if not line.startswith("listening on "):
        raise SystemExit(f"the server did not start: {line!r}")
    return server, line.split()[-1]


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def workload(samples: int = SAMPLES) -> list[tuple[str, list[dict]]]:
    """2,352 judge requests: (id, messages); the 8 metric prompts of a sample share its image."""
    from PIL import Image

    requests = []
    filler = " ".join(f"word{i % 97}" for i in range(900))  # ~7 KB: profile + dialogue + two answers
    for s in range(samples):
        buffer = io.BytesIO()
        Image.new("RGB", (128, 96), (s % 256, (7 * s) % 256, 90)).save(buffer, "JPEG", quality=85)
        image = {
            "type": "image_url",
            "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()},
        }
        for m in range(METRICS):
            text = f"Sample {s}, metric {m}. Rate Model A and Model B from 1 to 10.\n{filler}"
            messages = [
                {"role": "system", "content": "You are an objective and precise evaluator."},
                {"role": "user", "content": [image, {"type": "text", "text": text}]},
            ]
            requests.append((f"s{s}/m{m}", messages))
    return requests


def sequential(url: str, requests: list[tuple[str, list[dict]]]) -> float:
    """MMRole's scripts: one call, wait, next call (openai SDK, sync)."""
    import openai

    client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
    start = time.perf_counter()
    for _, messages in requests[:SEQUENTIAL_CALLS]:
        client.chat.completions.create(model="test-model", messages=messages, max_tokens=256, temperature=0)
    return SEQUENTIAL_CALLS / (time.perf_counter() - start)


def vlmevalkit(url: str, requests: list[tuple[str, list[dict]]], checkpoint: Path) -> float:
    """VLMEvalKit's pattern: 32 threads, sync requests.post, whole checkpoint dumped after each item."""
    import requests as http

    def call(messages: list[dict]) -> str:
        payload = {"model": "test-model", "messages": messages, "max_tokens": 256, "temperature": 0}
        response = http.post(
            f"{url}/chat/completions", json=payload, headers={"Authorization": "Bearer unused"}, timeout=60
        )
        return response.json()["choices"][0]["message"]["content"]

    results: dict[str, str] = {}
    start = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        futures = {pool.submit(call, messages): key for key, messages in requests}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            with checkpoint.open("wb") as handle:  # the whole dict, every time
                pickle.dump(results, handle)
    return len(requests) / (time.perf_counter() - start)


def mmrole_engine(
    url: str, requests: list[tuple[str, list[dict]]], run_dir: Path
) -> tuple[float, float, int]:
    """mmrole: run_requests with concurrency 64 and the run folder's store. Returns (calls/s, CPU s/call, ok)."""
    from mmrole.engine import Request, Store, run_requests
    from mmrole.models import GenerationParams, load_backend

    params = GenerationParams(max_tokens=256)
    engine_requests = [Request(key, messages, params) for key, messages in requests]

    async def run() -> tuple[float, float, int]:
        backend = load_backend(f"openai:test-model@{url}")
        with Store.in_run(run_dir) as store:
            cpu, start = time.process_time(), time.perf_counter()
            results = await run_requests(
                backend, engine_requests, store, concurrency=64, description="mmrole engine"
            )
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        await backend.aclose()
        return len(results) / wall, cpu / len(results), sum(r.ok for r in results)

    return asyncio.run(run())


def markdown(rows: list[tuple[str, float]], cpu_ms: float, server_cpu_ms: float, ok: int, n: int) -> str:
    machine = f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    lines = [
        MARK_START,
        "## Engine throughput",
        "",
        f"`benchmarks/engine_throughput.py`, measured {time.strftime('%Y-%m-%d')} on {machine} (shared machine).",
        f"Local OpenAI-compatible server in its own process: {LATENCY * 1000:.0f} ms latency, "
        f"{CAPACITY} concurrent requests at most, so the limit is {LIMIT:.0f} calls/s. "
        f"Workload: {n // METRICS} samples x {METRICS} metrics = {n} judge requests (~7 KB prompt + image each).",
        "",
        "| how the calls are made | calls/s | of the limit |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {rate:.1f} | {rate / LIMIT:.3f} |" for name, rate in rows]
    lines += [
        "",
        f"mmrole's CPU time per call: **{cpu_ms:.3f} ms** (engine, lean HTTP client, cache keys, SQLite commit per "
        f"result, progress bar; the server used {server_cpu_ms:.3f} ms per call in its own process). "
        f"{ok}/{n} answered. Goals: >= 0.9 of the limit, < 1 ms CPU per call.",
        MARK_END,
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Replace this benchmark's section of RESULTS.md (other sections are left alone)."""
    results_file.write_section(path, section, MARK_START, MARK_END)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, help="Write the engine section of this RESULTS.md.")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="Fewer samples for a quick smoke run.")
    args = parser.parse_args()
    requests = workload(args.samples)
    server, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            seq = sequential(url, requests)
            print(
                f"one at a time (MMRole scripts):        {seq:7.1f} calls/s  {seq / LIMIT:.3f} of the limit",
                flush=True,
            )
            vlm = vlmevalkit(url, requests, Path(tmp) / "checkpoint.pkl")
            print(
                f"32 threads + checkpoint (VLMEvalKit):   {vlm:7.1f} calls/s  {vlm / LIMIT:.3f} of the limit",
                flush=True,
            )
            server_cpu = process_cpu(server.pid)
            rate, cpu, ok = mmrole_engine(url, requests, Path(tmp) / "run")
            server_cpu = (process_cpu(server.pid) - server_cpu) / len(requests)
            print(
                f"mmrole engine, concurrency 64 + store:  {rate:7.1f} calls/s  {rate / LIMIT:.3f} of the limit"
            )
            print(
                f"mmrole CPU per call: {cpu * 1000:.3f} ms (server: {server_cpu * 1000:.3f} ms); {ok}/{len(requests)} ok"
            )
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)
    rows = [
        (f"one at a time, openai SDK (MMRole's scripts; first {SEQUENTIAL_CALLS} calls)", seq),
        ("32-thread pool + whole checkpoint dumped per item (VLMEvalKit)", vlm),
        ("mmrole engine, concurrency 64, SQLite store", rate),
    ]
    section = markdown(rows, cpu * 1000, server_cpu * 1000, ok, len(requests))
    print(json.dumps({"rates": dict(rows), "cpu_ms_per_call": cpu * 1000}, indent=1))
    if args.results:
        write_section(args.results, section)
        print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
