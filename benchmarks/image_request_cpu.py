"""Engine CPU per call with real-size images, sent the way ``mmrole judge`` sends them.

A benchmark, not a test. A judge sends each sample's image with its 8 metric prompts: the
requests name the image file, and the OpenAI backend ships it as a base64 data URL inside
the JSON body. The local OpenAI-compatible server runs in its own process (200 ms latency,
64 requests at once); the client process runs the engine at concurrency 64 over
``samples x 8`` requests and its CPU time (user + system, the whole process: engine, keys,
SQLite store, backend, HTTP client) is divided by the calls.

Two images: a 95 KB JPEG (MMRole's median image size; an 800x600 noise-textured picture,
its JPEG quality tuned to 95 KB, made deterministically) and the tiny 128x96 JPEG of
``engine_throughput.py``; each sample has its own image file. Before and after are measured
in one run, alternating, each in a fresh subprocess: "before" imports mmrole from another
checkout (``--before-src``, e.g. a ``git worktree add /tmp/before <commit>``), "after"
from this tree's ``src``. The machine is shared, so each figure is the median of
``--repeats`` runs and the load average is recorded beside it.

    git worktree add /tmp/before <commit>
    PYTHONPATH=src .venv/bin/python benchmarks/image_request_cpu.py --before-src /tmp/before/src \\
        [--results benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import results_file  # benchmarks/results_file.py (scripts run from benchmarks/)

LATENCY, CAPACITY, CONCURRENCY = 0.2, 64, 64
SAMPLES, METRICS = 294, 8
TARGET_BYTES = 95_000
MARK_START, MARK_END = "<!-- image-request-cpu:start -->", "<!-- image-request-cpu:end -->"
HERE = Path(__file__).resolve().parent
AFTER_SRC = HERE.parent / "src"


# -- images ----------------------------------------------------------------------------------------


def _texture(width: int, height: int, seed: int):
    """Smooth noise (small random image scaled up) plus fine grain: compresses like a photo."""
    from PIL import Image

    rng = random.Random(seed)
    coarse = Image.frombytes("RGB", (width // 8, height // 8), rng.randbytes(width // 8 * height // 8 * 3))
    grain = Image.frombytes("L", (width, height), rng.randbytes(width * height)).convert("RGB")
    return Image.blend(coarse.resize((width, height), Image.Resampling.BICUBIC), grain, 0.12)


def _jpeg(image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def real_size_quality(target: int = TARGET_BYTES) -> int:
    """The JPEG quality whose 800x600 texture comes closest to ``target`` bytes."""
    image = _texture(800, 600, 0)
    return min(range(5, 96), key=lambda q: abs(len(_jpeg(image, q)) - target))


def write_images(folder: Path, kind: str, samples: int) -> list[Path]:
    """One image file per sample: the 95 KB picture (a mark per sample makes each distinct) or a tiny one."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    if kind == "95kb":
        base, quality = _texture(800, 600, 0), real_size_quality()
    for s in range(samples):
        if kind == "95kb":
            image = base.copy()
            ImageDraw.Draw(image).rectangle(
                (8 * (s % 90), 10, 8 * (s % 90) + 60, 70), fill=(s % 256, 40, 200)
            )
            data = _jpeg(image, quality)
        else:
            data = _jpeg(Image.new("RGB", (128, 96), (s % 256, (7 * s) % 256, 90)), 85)
        path = folder / f"{kind}_{s:04d}.jpg"
        path.write_bytes(data)
        paths.append(path)
    return paths


# -- one measured run (a subprocess importing mmrole from the tree under test) ----------------------


def client(url: str, folder: Path, kind: str, samples: int, run_dir: Path) -> dict[str, float]:
    """The engine over ``samples x 8`` judge requests whose image parts come from judge's own code.

    As ``mmrole judge`` does: every image is checked before the first call (``SampleImages.check``,
    untimed), then requests are built as the engine takes them, each sample's image part naming
    its file (``JudgeOptions()``: no downscaling), which the backend sends as a data URL.
    """
    from mmrole.data import load_samples
    from mmrole.engine import Request, Store, run_requests
    from mmrole.eval.judge_plan import JudgeOptions, SampleImages
    from mmrole.models import GenerationParams, load_backend

    filler = " ".join(f"word{i % 97}" for i in range(900))  # ~7 KB: profile + dialogue + two answers
    params = GenerationParams(max_tokens=256)
    base = next(iter(load_samples("demo")))
    paths = sorted(folder.glob(f"{kind}_*.jpg"))[:samples]
    chosen = [base.model_copy(update={"id": f"s{s}", "image": p.name}) for s, p in enumerate(paths)]
    images = SampleImages(folder, JudgeOptions())
    images.check(chosen)

    def requests():
        for sample in chosen:
            parts = images(sample)
            for m in range(METRICS):
                text = f"{sample.id}, metric {m}. Rate Model A and Model B from 1 to 10.\n{filler}"
                messages = [
                    {"role": "system", "content": "You are an objective and precise evaluator."},
                    {"role": "user", "content": [*parts, {"type": "text", "text": text}]},
                ]
                yield Request(f"{sample.id}/m{m}", messages, params)

    async def run() -> dict[str, float]:
        backend = load_backend(f"openai:test-model@{url}")
        with Store.in_run(run_dir) as store:
            cpu, start = time.process_time(), time.perf_counter()
            results = await run_requests(
                backend,
                requests(),
                store,
                concurrency=CONCURRENCY,
                progress=False,
                total=len(chosen) * METRICS,
                description="judge",
            )
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        await backend.aclose()
        return {"calls": len(results), "ok": sum(r.ok for r in results), "cpu_s": cpu, "wall_s": wall}

    return asyncio.run(run())


def measure(src: Path, url: str, folder: Path, kind: str, samples: int) -> dict[str, float]:
    """One run in a fresh process importing mmrole from ``src``."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{HERE}"}
        args = ["--client", url, "--folder", str(folder), "--kind", kind, "--samples", str(samples)]
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), *args, "--run-dir", str(Path(tmp) / "run")],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if out.returncode != 0:
        raise SystemExit(f"the client run failed ({src}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_server() -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "mmrole.testing.server", "--latency", str(LATENCY)]
    command += ["--capacity", str(CAPACITY)]
    env = {**os.environ, "PYTHONPATH": str(AFTER_SRC)}
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    line = server.stdout.readline() if server.stdout else ""
    if not line.startswith("listening on "):
        raise SystemExit(f"the server did not start: {line!r}")
    return server, line.split()[-1]


def parts_cost(folder: Path) -> dict[str, float]:
    """Milliseconds of CPU of what the old path paid per request or per image (this process, after's code)."""
    import base64

    from mmrole.images import check_image

    data = (folder / "95kb_0000.jpg").read_bytes()
    url = "data:image/jpeg;base64," + base64.b64encode(data).decode()

    def cpu_ms(work, n: int) -> float:
        start = time.process_time()
        for _ in range(n):
            work()
        return (time.process_time() - start) / n * 1000

    async def hops(rounds: int) -> float:
        start = time.process_time()
        for _ in range(rounds):
            await asyncio.gather(*(asyncio.to_thread(len, url) for _ in range(64)))
        return (time.process_time() - start) / (rounds * 64) * 1000

    return {
        "dumps_url": cpu_ms(lambda: json.dumps(url), 200),
        "decode": cpu_ms(lambda: check_image(data), 20),
        "hop": asyncio.run(hops(20)),
    }


# -- the report ------------------------------------------------------------------------------------


def markdown(rows: dict[tuple[str, str], list[dict[str, float]]], info: dict[str, object]) -> str:
    machine = f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    kinds = {
        "95kb": f"95 KB JPEG (800x600, quality {info['quality']}, {info['size']:,} bytes)",
        "tiny": "tiny JPEG (128x96, ~1 KB)",
    }
    lines = [
        MARK_START,
        "## Engine CPU per call with real-size images",
        "",
        f"`benchmarks/image_request_cpu.py`, measured {time.strftime('%Y-%m-%d')} on {machine} (shared machine: "
        f"load average {info['load_before']} before, {info['load_after']} after). Requests shaped like "
        f"`mmrole judge`'s: {info['samples']} samples x {METRICS} metric prompts = {info['samples'] * METRICS} calls, "
        "each sample's image file named in its 8 requests, shipped as a base64 data URL by the OpenAI backend "
        f"(lean HTTP client) to the local server in another process ({LATENCY * 1000:.0f} ms latency, "
        f"{CAPACITY} at once); engine at concurrency {CONCURRENCY} with its SQLite store. CPU = the client "
        f"process's user + system time / calls, median of {info['repeats']} runs (each in a fresh process, "
        "before and after alternating). Before: "
        f"`{info['before']}`; after: `{info['after']}`.",
        "",
        "| image | before: ms CPU/call | after: ms CPU/call | after / before | calls/s (after) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for kind in ("95kb", "tiny"):
        before = statistics.median(r["cpu_s"] / r["calls"] for r in rows[("before", kind)]) * 1000
        after = statistics.median(r["cpu_s"] / r["calls"] for r in rows[("after", kind)]) * 1000
        rate = statistics.median(r["calls"] / r["wall_s"] for r in rows[("after", kind)])
        lines.append(f"| {kinds[kind]} | {before:.3f} | {after:.3f} | {after / before:.2f} | {rate:.0f} |")
    cost = info["costs"]
    lines += [
        "",
        "Where the 95 KB image's time went before (measured in the same run, ms of CPU): `json.dumps` of its "
        f"{info['url_chars']:,}-character data URL, in every request: {cost['dumps_url']:.3f}; a second full "
        f"decode of each image by the backend (judge had already checked it): {cost['decode']:.2f} per image, "
        f"{cost['decode'] / METRICS:.3f} per call; a worker-thread trip per request to find the cached data URL: "
        f"{cost['hop']:.3f}. After: the escaped URL is made once per image and spliced into each body "
        "(`mmrole.models.request_body`, the same bytes as `json.dumps`), the backend's check shares judge's "
        "(one `mmrole.images` cache), and a data URL already made is found without a thread.",
        "",
        "Goal: under 1 ms of CPU per call with the 95 KB image.",
        MARK_END,
    ]
    return "\n".join(lines)


def _revision(src: Path) -> str:
    try:
        rev = subprocess.run(
            ["git", "-C", str(src), "log", "-1", "--format=%h (%cs)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(src)
    dirty = subprocess.run(
        ["git", "-C", str(src), "status", "--porcelain", "src"], capture_output=True, text=True
    )
    return rev + (" + uncommitted changes" if dirty.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-src", type=Path, help="The src folder of the checkout to compare with.")
    parser.add_argument("--results", type=Path, help="Write this benchmark's section of this RESULTS.md.")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="Fewer samples for a quick smoke run.")
    parser.add_argument(
        "--repeats", type=int, default=3, help="Runs per tree and image (the median is kept)."
    )
    parser.add_argument("--client", help=argparse.SUPPRESS)  # internal: one measured run
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print(json.dumps(client(args.client, args.folder, args.kind, args.samples, args.run_dir)))
        return
    trees = {"after": AFTER_SRC}
    if args.before_src:
        trees = {"before": args.before_src.resolve(), "after": AFTER_SRC}
    rows: dict[tuple[str, str], list[dict[str, float]]] = {}
    load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        for kind in ("95kb", "tiny"):
            write_images(folder, kind, args.samples)
        size = (folder / "95kb_0000.jpg").stat().st_size
        costs = parts_cost(folder)
        server, url = start_server()
        try:
            for repeat in range(args.repeats):
                for kind in ("95kb", "tiny"):
                    for name, src in trees.items():
                        result = measure(src, url, folder, kind, args.samples)
                        rows.setdefault((name, kind), []).append(result)
                        print(
                            f"{name:6} {kind:5} run {repeat + 1}: {result['cpu_s'] / result['calls'] * 1000:.3f} ms "
                            f"CPU/call, {result['calls'] / result['wall_s']:.0f} calls/s, "
                            f"{result['ok']}/{result['calls']} ok",
                            flush=True,
                        )
        finally:
            if server.stdin:
                server.stdin.close()
            server.wait(timeout=10)
    load_after = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    if "before" not in trees:
        return
    info = {
        "quality": real_size_quality(),
        "size": size,
        "url_chars": len("data:image/jpeg;base64,") + (size + 2) // 3 * 4,
        "costs": costs,
        "samples": args.samples,
        "repeats": args.repeats,
        "load_before": load_before,
        "load_after": load_after,
        "before": _revision(trees["before"]),
        "after": _revision(AFTER_SRC),
    }
    section = markdown(rows, info)
    print(section)
    if args.results:
        results_file.write_section(args.results, section, MARK_START, MARK_END)
        print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
