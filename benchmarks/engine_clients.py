"""The clients the engine benchmark compares, each making a workload's judge calls its own way.

- ``sequential``: one call, wait, next call, with the sync openai SDK (MMRole's scripts).
- ``vlmevalkit``: VLMEvalKit's pattern (``vlmeval/utils/mp_util.py``, ``track_progress_rich``): a
  thread pool of sync ``requests.post`` calls (a new connection each, as its API wrappers post),
  the whole results dict dumped to a pickle checkpoint after every finished item. VLMEvalKit
  also re-encodes each image with PIL for every call; here it only reads and base64-encodes it,
  as the plain client does, which flatters it.
- ``plain-async``: the hand-written async client: ``AsyncOpenAI`` (defaults, retries off), an
  ``asyncio.Semaphore`` holding the calls in flight, each result appended to a JSONL file.
- ``ceiling``: no client at all, the rig's own limit: every request's bytes built before the
  clock starts (the image already base64 in the JSON), written over ``concurrency`` raw
  keep-alive sockets, each sending its next request the moment a response is read in full.
  What no client doing any work per call can beat against this server on this machine.
- ``mmrole``: :func:`mmrole.engine.run_requests` with the run folder's SQLite store, fed the
  requests as ``mmrole judge`` builds them (a generator, the image as a local path), after the
  check of every image that ``judge_run`` makes before its first call.

Each returns a :class:`Measured`: wall seconds and this process's CPU seconds (all its threads)
over the calls, from the first call's start to the last one's end. Each client first makes one
text-only call outside that window (lazy imports, a first connection), as a job of thousands of
calls amortises them.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from engine_workload import OPTIONS, Workload  # benchmarks/engine_workload.py

CLIENTS = ("sequential", "vlmevalkit", "plain-async", "ceiling", "mmrole")
MODEL = "test-model"
WARM_UP = [{"role": "user", "content": "warm up"}]


@dataclass(frozen=True)
class Measured:
    calls: int
    ok: int
    seconds: float
    cpu_seconds: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


class _Clock:
    """Wall and process CPU time from construction to :meth:`stop`."""

    def __init__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def stop(self, calls: int, ok: int) -> Measured:
        return Measured(calls, ok, time.perf_counter() - self.wall, time.process_time() - self.cpu)


def sequential(url: str, workload: Workload) -> Measured:
    import openai

    client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
    client.chat.completions.create(model=MODEL, messages=WARM_UP, max_tokens=8)  # type: ignore[arg-type]
    tasks, ok = workload.tasks(), 0
    clock = _Clock()
    for task in tasks:
        reply = client.chat.completions.create(
            model=MODEL,
            messages=workload.plain_messages(task),  # type: ignore[arg-type]
            max_tokens=OPTIONS.max_tokens,
            temperature=OPTIONS.temperature,
        )
        ok += isinstance(reply.choices[0].message.content, str)
    measured = clock.stop(len(tasks), ok)
    client.close()
    return measured


def vlmevalkit(url: str, workload: Workload, threads: int, checkpoint: Path) -> Measured:
    import requests

    def call(task) -> str:  # noqa: ANN001 - a JudgeTask (None: the warm-up call)
        payload = {
            "model": MODEL,
            "messages": workload.plain_messages(task) if task is not None else WARM_UP,
            "max_tokens": OPTIONS.max_tokens,
            "temperature": OPTIONS.temperature,
        }
        headers = {"Content-Type": "application/json", "Authorization": "Bearer unused"}
        response = requests.post(
            f"{url}/chat/completions", headers=headers, data=json.dumps(payload), timeout=60
        )
        return response.json()["choices"][0]["message"]["content"]

    call(None)
    tasks = workload.tasks()
    results: dict[str, str] = {}
    clock = _Clock()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = {pool.submit(call, task): task.key for task in tasks}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            with checkpoint.open("wb") as handle:  # the whole dict, after every item
                pickle.dump(results, handle)
    return clock.stop(len(tasks), sum(isinstance(r, str) for r in results.values()))


def plain_async(url: str, workload: Workload, concurrency: int, out: Path) -> Measured:
    import openai

    async def run() -> Measured:
        client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)
        await client.chat.completions.create(model=MODEL, messages=WARM_UP, max_tokens=8)  # type: ignore[arg-type]
        slots = asyncio.Semaphore(concurrency)
        tasks, ok = workload.tasks(), 0

        async def one(task, lines) -> None:  # noqa: ANN001 - a JudgeTask, a text file
            nonlocal ok
            async with slots:
                reply = await client.chat.completions.create(
                    model=MODEL,
                    messages=workload.plain_messages(task),  # type: ignore[arg-type]
                    max_tokens=OPTIONS.max_tokens,
                    temperature=OPTIONS.temperature,
                )
            text = reply.choices[0].message.content
            lines.write(json.dumps({"id": task.key, "answer": text}) + "\n")
            lines.flush()
            ok += isinstance(text, str)

        with out.open("a") as lines:
            clock = _Clock()
            await asyncio.gather(*(one(task, lines) for task in tasks))
            measured = clock.stop(len(tasks), ok)
        await client.close()
        return measured

    return asyncio.run(run())


def ceiling(url: str, workload: Workload, concurrency: int) -> Measured:
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)

    def wire(messages: list) -> bytes:
        payload = {"model": MODEL, "messages": messages, "max_tokens": OPTIONS.max_tokens, "temperature": 0}
        body = json.dumps(payload).encode()
        head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body

    async def run() -> Measured:
        tasks = workload.tasks()
        wires = [wire(workload.plain_messages(task)) for task in tasks]
        ok = 0
        streams = [
            await asyncio.open_connection(host, int(port)) for _ in range(min(concurrency, len(wires)))
        ]

        async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes) -> bool:
            writer.write(data)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            return b'"content"' in await reader.readexactly(length)

        await exchange(*streams[0], wire(WARM_UP))
        pending = iter(wires)

        async def slot(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal ok
            for data in pending:
                answered = await exchange(reader, writer, data)  # not `ok += await`: it reads ok first
                ok += answered

        clock = _Clock()
        await asyncio.gather(*(slot(*stream) for stream in streams))
        measured = clock.stop(len(wires), ok)
        for _, writer in streams:
            writer.close()
        return measured

    return asyncio.run(run())


def mmrole_engine(url: str, workload: Workload, concurrency: int, run_dir: Path, progress: bool) -> Measured:
    from mmrole.engine import Request, Store, run_requests
    from mmrole.eval.judge_plan import judge_messages
    from mmrole.models import load_backend

    async def run() -> Measured:
        backend = load_backend(f"openai:{MODEL}@{url}")
        await backend.generate(WARM_UP, OPTIONS.params(0, 0))  # type: ignore[arg-type]
        tasks, images = workload.tasks(), workload.mmrole_messages()
        # judge_run checks (decodes) every sample's image before its first call: outside the window here too.
        images.check({task.sample.id: task.sample for task in tasks}.values())
        # As judge_run builds them: lazily, each sample's image parts made once for its 8 tasks.
        requests = (
            Request(f"judge:{task.key}", judge_messages(task, images(task.sample)), OPTIONS.params(0, 0))
            for task in tasks
        )
        with Store.in_run(run_dir) as store:
            clock = _Clock()
            results = await run_requests(
                backend,
                requests,
                store,
                concurrency=concurrency,
                total=len(tasks),
                progress=progress,
                description=f"mmrole engine, {concurrency} in flight",
            )
            measured = clock.stop(len(results), sum(r.ok for r in results))
        await backend.aclose()
        return measured

    return asyncio.run(run())


def measure(
    client: str, url: str, workload: Workload, concurrency: int, scratch: Path, *, progress: bool = False
) -> Measured:
    """Make the workload's calls with ``client`` at ``concurrency`` (files go under ``scratch``)."""
    scratch.mkdir(parents=True, exist_ok=True)
    if client == "sequential":
        return sequential(url, workload)
    if client == "vlmevalkit":
        return vlmevalkit(url, workload, concurrency, scratch / "checkpoint.pkl")
    if client == "plain-async":
        return plain_async(url, workload, concurrency, scratch / "answers.jsonl")
    if client == "ceiling":
        return ceiling(url, workload, concurrency)
    if client == "mmrole":
        return mmrole_engine(url, workload, concurrency, scratch / "run", progress)
    raise ValueError(f"unknown client {client!r}; choose from {', '.join(CLIENTS)}")
