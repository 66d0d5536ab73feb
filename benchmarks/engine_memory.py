"""Engine memory: peak RSS of answering and judging as the job grows, against the local test server.

A benchmark, not a test. Each case runs in a fresh Python process (its peak RSS, ``VmHWM``, is
that case's alone); the local OpenAI-compatible server runs in another process, with no latency,
answering every judge prompt with a score pair.

- ``answer-text`` / ``answer-image``: ``answer_dataset`` over 2,000 samples (~3 KB instruction
  each), without an image, and with all of them sharing one ~1 MB JPEG. Goal: the image run
  under 300 MB and under 2x the text-only run.
- ``engine-2352`` / ``engine-50000``: ``run_requests`` over judge-sized requests (~7 KB of text
  and a small image per sample, 8 requests per sample) handed over as a generator, then the same
  job again on its finished store (a rerun: no calls). Goal: 50,000 within 1.5x of 2,352.
  Also reported: seconds until the first call, and the rerun's microseconds per request.
- ``judge-2352`` / ``judge-50000``: ``judge_run`` over a run folder of 294 / 6,250 answered
  samples x 8 metrics (the whole command: plan, engine, reviews, results with 200 bootstrap
  replicates). Its reviews and results necessarily grow with the job.

``--before SRC`` also runs every case with another checkout's sources (e.g. ``/work/main/src``)
in the same run, for a before/after table.

    python benchmarks/engine_memory.py [--before /work/main/src] [--results benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import results_file  # benchmarks/results_file.py (scripts run from benchmarks/)

MARK_START, MARK_END = "<!-- engine-memory:start -->", "<!-- engine-memory:end -->"
ANSWER_SAMPLES = 2000
JUDGE_SAMPLES = {2352: 294, 50000: 6250}
METRICS = 8
CASES = (
    "answer-text",
    "answer-image",
    "engine-2352",
    "engine-50000",
    "judge-2352",
    "judge-50000",
)
SCORE_REPLY = "Model A is in character and fluent; Model B is close.\n[Scores]: (7, 8)"


# -- the server process -------------------------------------------------------------------------------
def serve() -> None:
    """Serve until stdin closes: every prompt gets a reply holding a score pair."""
    from mmrole.testing.server import LocalOpenAIServer

    async def run() -> None:
        server = LocalOpenAIServer(lambda messages: SCORE_REPLY)
        await server.start_async()
        print(f"listening on {server.base_url}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await server.stop_async()

    asyncio.run(run())


def start_server() -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, __file__, "--serve"]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline() if server.stdout else ""
    if not line.startswith("listening on "):
        raise SystemExit(f"the server did not start: {line!r}")
    return server, line.split()[-1]


# -- inputs (written once by the parent) --------------------------------------------------------------
def sample_record(i: int, image: str, instruction_chars: int) -> dict:
    words = " ".join(f"word{(i + k) % 97}" for k in range(instruction_chars // 7))
    return {
        "id": f"Iron_Man_comment_{i}",
        "image": image,
        "system": "You are a role-playing assistant.",
        "instruction": f"Please step into the shoes of Iron Man. Profile and dialogue: {words} Question {i}.",
        "reference": "A reference answer in character. " * 12,
        "role": "Iron Man",
        "script": "The Avengers",
        "other_role": "a curious human",
        "type": "comment",
    }


def write_inputs(root: Path) -> None:
    import random

    from PIL import Image

    # ~1 MB JPEG: noise does not compress
    rng = random.Random(0)
    images = root / "images"
    images.mkdir()
    noise = bytes(rng.getrandbits(8) for _ in range(1150 * 880 * 3))
    Image.frombytes("RGB", (1150, 880), noise).save(images / "shared.jpg", quality=92)
    (root / "image_kb").write_text(str((images / "shared.jpg").stat().st_size // 1024))
    (root / "no-images").mkdir()
    with (root / "answer.jsonl").open("w") as out:
        for i in range(ANSWER_SAMPLES):
            out.write(json.dumps(sample_record(i, "shared.jpg", 3000)) + "\n")
    for n, samples in JUDGE_SAMPLES.items():
        run = root / f"judge-{n}"
        (run / "images").mkdir(parents=True)
        with (run / "samples.jsonl").open("w") as s_out, (run / "answers.jsonl").open("w") as a_out:
            for i in range(samples):
                Image.new("RGB", (64, 48), (i % 256, (7 * i) % 256, 90)).save(run / "images" / f"{i}.jpg")
                s_out.write(json.dumps(sample_record(i, f"{i}.jpg", 2500)) + "\n")
                answer = f"Answer {i}: " + "a reply in character. " * 40
                a_out.write(
                    json.dumps({"id": f"Iron_Man_comment_{i}", "answer": answer, "error": None}) + "\n"
                )
        (run / "run.json").write_text(
            json.dumps(
                {"agent": "benchmark", "data": str(run / "samples.jsonl"), "image_root": str(run / "images")}
            )
        )


# -- the measured cases (one child process each) ------------------------------------------------------
def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def engine_requests(n: int, workdir: Path):
    """Judge-sized requests from a generator: 8 per sample, the sample's image shared by its 8."""
    import base64
    import io

    from PIL import Image

    from mmrole.engine import Request
    from mmrole.models import GenerationParams

    params = GenerationParams(max_tokens=256)
    filler = " ".join(f"word{i % 97}" for i in range(900))  # ~7 KB: profile + dialogue + two answers
    for s in range(n // METRICS):
        buffer = io.BytesIO()
        Image.new("RGB", (128, 96), (s % 256, (7 * s) % 256, 90)).save(buffer, "JPEG", quality=85)
        url = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
        for m in range(METRICS):
            text = f"Sample {s}, metric {m}. Rate Model A and Model B from 1 to 10.\n{filler}"
            messages = [
                {"role": "system", "content": "You are an objective and precise evaluator."},
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": url}},
                        {"type": "text", "text": text},
                    ],
                },
            ]
            yield Request(f"s{s}/m{m}", messages, params)


class FirstCall:
    """Wraps a backend: remembers when the first call was made."""

    def __init__(self, backend):
        self.backend, self.first = backend, None
        self.spec, self.max_concurrency = backend.spec, backend.max_concurrency
        self.key_options = getattr(backend, "key_options", None)

    async def generate(self, messages, params):
        if self.first is None:
            self.first = time.perf_counter()
        return await self.backend.generate(messages, params)

    async def aclose(self):
        await self.backend.aclose()


def child(case: str, workdir: Path, url: str) -> dict:
    from mmrole.models import load_backend

    kind, _, size = case.partition("-")
    out: dict = {"case": case}

    def _engine(concurrency: int) -> dict:
        """The engine settings as the sources take them (one EngineOptions, or older keywords)."""
        try:
            from mmrole.engine.options import EngineOptions
        except ImportError:  # sources from before EngineOptions
            return {"concurrency": concurrency, "progress": False}
        return {"engine": EngineOptions(concurrency=concurrency, progress=False)}

    start = time.perf_counter()
    if kind == "answer":
        try:
            from mmrole.eval.answer import answer_dataset_sync
        except ImportError:  # sources from before answering moved to mmrole.eval
            from mmrole.engine.answer import answer_dataset_sync  # type: ignore[no-redef]

        root = workdir / ("images" if size == "image" else "no-images")
        summary = answer_dataset_sync(
            f"openai:test-model@{url}",
            workdir / "answer.jsonl",
            workdir / f"run-{case}",
            image_root=root,
            missing_image="omit",
            **_engine(concurrency=32),
        )
        out["ok"] = summary.answered
    elif kind == "engine":
        from mmrole.engine import Store, run_requests

        async def run() -> tuple[int, float, float]:
            backend = FirstCall(load_backend(f"openai:test-model@{url}"))
            with Store.in_run(workdir / f"run-{case}") as store:
                t0 = time.perf_counter()
                results = await run_requests(
                    backend, engine_requests(int(size), workdir), store, concurrency=64, progress=False
                )
                ok = sum(r.ok for r in results)
                first = backend.first - t0
                del results
                t1 = time.perf_counter()
                again = await run_requests(
                    backend, engine_requests(int(size), workdir), store, concurrency=64, progress=False
                )
                rerun = (time.perf_counter() - t1) / len(again)
                assert all(r.cached for r in again)
            await backend.aclose()
            return ok, first, rerun

        out["ok"], out["first_call_s"], out["rerun_us"] = asyncio.run(run())
        out["rerun_us"] *= 1e6
    else:
        from mmrole.eval.judge import judge_run_sync
        from mmrole.eval.judge_plan import JudgeOptions

        summary = judge_run_sync(
            workdir / f"judge-{size}",
            f"openai:test-model@{url}",
            JudgeOptions(),
            n_boot=200,
            **_engine(concurrency=64),
        )
        out["ok"] = summary.n_scored
    out["seconds"] = time.perf_counter() - start
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def run_case(case: str, workdir: Path, url: str, src: str | None) -> dict:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    command = [sys.executable, __file__, "--child", case, "--workdir", str(workdir), "--url", url]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{case} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the report ----------------------------------------------------------------------------------------
CASE_NAMES = {
    "answer-text": "`answer_dataset`, 2,000 samples, no image",
    "answer-image": "`answer_dataset`, 2,000 samples sharing one {image_kb} KB JPEG",
    "engine-2352": "`run_requests`, 2,352 judge-sized requests",
    "engine-50000": "`run_requests`, 50,000 judge-sized requests",
    "judge-2352": "`judge_run` (whole command), 294 samples x 8 metrics",
    "judge-50000": "`judge_run` (whole command), 6,250 samples x 8 metrics",
}


def markdown(rows: dict[str, dict[str, dict]], labels: list[str], image_kb: int) -> str:
    machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    lines = [
        MARK_START,
        "## Engine memory",
        "",
        f"`benchmarks/engine_memory.py`, measured {time.strftime('%Y-%m-%d')} in one run on {machine} "
        "(a machine shared with other jobs). Each case is a fresh process; peak RSS is its `VmHWM`. "
        "Local test server in its own process, no latency. "
        + (
            "`before`: the sources given with `--before` (main, at this branch's start), `after`: this branch's."
            if "before" in labels
            else ""
        ),
        "",
        "| case | "
        + " | ".join(f"{label}: peak RSS" for label in labels)
        + " | "
        + " | ".join(f"{label}: notes" for label in labels)
        + " |",
        "| --- | " + " | ".join("---:" for _ in labels) + " | " + " | ".join("---" for _ in labels) + " |",
    ]
    for case in CASES:
        if not all(case in rows[label] for label in labels):
            continue
        notes = []
        for label in labels:
            r = rows[label][case]
            note = f"{r['ok']} ok in {r['seconds']:.1f} s"
            if "first_call_s" in r:
                note += f"; first call after {r['first_call_s']:.2f} s; rerun {r['rerun_us']:.0f} µs/request"
            notes.append(note)
        cells = " | ".join(f"{rows[label][case]['peak_rss_mb']:.0f} MB" for label in labels)
        name = CASE_NAMES[case].format(image_kb=image_kb)
        lines.append(f"| {name} | {cells} | {' | '.join(notes)} |")
    lines.append("")
    for label in labels:
        r = rows[label]
        ratios = []
        if "answer-image" in r and "answer-text" in r:
            ratio = r["answer-image"]["peak_rss_mb"] / r["answer-text"]["peak_rss_mb"]
            ratios.append(f"answering with the image / text only {ratio:.2f}x")
        for kind in ("engine", "judge"):
            if f"{kind}-50000" in r and f"{kind}-2352" in r:
                ratio = r[f"{kind}-50000"]["peak_rss_mb"] / r[f"{kind}-2352"]["peak_rss_mb"]
                ratios.append(f"{kind} 50,000 / 2,352 {ratio:.2f}x")
        lines.append(f"- {label}: " + ", ".join(ratios))
    lines += [
        "",
        "Goals: answering 2,000 samples sharing one ~1 MB image under 300 MB and under 2x the text-only run; "
        "50,000 judge requests through the engine within 1.5x of 2,352. The engine keeps one small result "
        "per request (reply text, usage, ~0.5 KB here), as `run_requests` returns them all; the whole "
        "`judge_run` also holds every sample, task and review and aggregates them (with bootstrap) at the end, "
        "which grows with the job whatever the engine does. What the image run holds beyond the text-only "
        "run is mostly the request bodies in flight (32 at once, ~1.3 MB of JSON each with the base64 image): "
        "it grows with `--concurrency`, not with the number of samples.",
        MARK_END,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, help="Write the engine-memory section of this RESULTS.md.")
    parser.add_argument(
        "--before", help="Also run every case with these sources (a PYTHONPATH), as 'before'."
    )
    parser.add_argument("--cases", default=",".join(CASES), help="Comma-separated cases to run.")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve()
    if args.child:
        print(json.dumps(child(args.child, args.workdir, args.url)))
        return None
    cases = [c for c in args.cases.split(",") if c]
    here = str(Path(__file__).resolve().parents[1] / "src")
    trees = ([("before", args.before)] if args.before else []) + [
        ("after", os.environ.get("PYTHONPATH") or here)
    ]
    rows: dict[str, dict[str, dict]] = {label: {} for label, _ in trees}
    server, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            write_inputs(Path(tmp))
            image_kb = int((Path(tmp) / "image_kb").read_text())
            for case in cases:
                for label, src in trees:
                    workdir = Path(tmp) / label
                    if not workdir.exists():
                        workdir.mkdir()
                        for item in Path(tmp).iterdir():
                            if item.name not in {name for name, _ in trees}:
                                (workdir / item.name).symlink_to(item)
                    if case.startswith("judge"):  # judging writes into the run folder: a fresh copy each
                        import shutil

                        target = workdir / f"judge-{case.split('-')[1]}"
                        target.unlink()
                        shutil.copytree(Path(tmp) / target.name, target)
                    result = run_case(case, workdir, url, src)
                    rows[label][case] = result
                    print(f"{label:6} {case:13} {json.dumps(result)}", flush=True)
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)
    section = markdown(rows, [label for label, _ in trees], image_kb)
    print(section)
    if args.results:
        results_file.write_section(args.results, section, MARK_START, MARK_END)
        print(f"wrote {args.results}")
    return None


if __name__ == "__main__":
    main()
