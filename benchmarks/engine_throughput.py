"""Engine throughput: judge calls/s of each client, at equal concurrency, against a server of known capacity.

A benchmark, not a test. The local OpenAI-compatible server (``mmrole.testing.server``) runs in
its own process with 200 ms latency and room for as many concurrent requests as the clients
keep in flight, 64 or 256, so its capacity is 64 / 0.2 s = 320 or 256 / 0.2 s = 1,280 calls/s and
"of capacity" is a client's share of it. The workload (:mod:`engine_workload`) is MMRole-Eval's
judge pass: 8 requests per sample sharing its image, built as ``mmrole judge`` builds them, once
with a tiny image and once with a real-size one (~95 KB JPEG, MMRole-Data's median).

Rows (each in a fresh process, so no client inherits another's caches; see :mod:`engine_clients`):
one-at-a-time openai SDK calls (MMRole's scripts, a short sample); VLMEvalKit's pattern at its
default 4 threads, at 64 and at 256; a plain ``AsyncOpenAI`` + ``Semaphore`` + JSONL client at 64
and 256; mmrole's engine with its SQLite store at 64 and 256. Each row reports calls/s, its share
of the server's capacity, and the client process's CPU time per call (all its threads).
Goals: mmrole at >= 0.95 of capacity at 64 and >= 0.9 at 256; < 1 ms of CPU per call with the
95 KB image.

    PYTHONPATH=src .venv/bin/python benchmarks/engine_throughput.py [--quick] [--results benchmarks/RESULTS.md]

``--before SRC`` adds mmrole rows run with another checkout's sources (e.g. ``/work/main/src``).
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import results_file  # benchmarks/results_file.py (scripts run from benchmarks/)
from engine_clients import measure
from engine_workload import IMAGE_KINDS, Workload, prompt_chars, write_images

LATENCY = 0.2
MARK_START, MARK_END = "<!-- engine-throughput:start -->", "<!-- engine-throughput:end -->"
#: Calls per row: (one at a time, VLMEvalKit's default 4 threads, at 64, at 256). Multiples of the
#: concurrency, so the last wave of calls is full and a perfect client could reach 1.0.
FULL = (25, 160, 2048, 4096)
QUICK = (8, 40, 256, 512)
VLMEVALKIT_DEFAULT = 4
#: mmrole's goals: at least this share of the server's capacity at each concurrency.
GOALS = {64: 0.95, 256: 0.9}
#: Rows measured several times (each in a fresh process), reported by their median run: the goal
#: rows, and the rig's ceiling they are read against. Two cores shared by client and server make
#: one run's rate vary by a few hundredths.
REPEATED = ("ceiling", "mmrole")
REPEATS = 3


@dataclass(frozen=True)
class RowSpec:
    """One row: a client at a concurrency, against a server with ``slots`` concurrent requests."""

    client: str
    concurrency: int
    slots: int
    calls: int
    src: str | None = None  # other sources (``--before``), for the mmrole rows
    src_label: str | None = None  # what the table calls them (``--before-label``; default: the path)


def plan(
    sizes: tuple[int, int, int, int] = FULL,
    concurrencies: tuple[int, int] = (64, 256),
    before: str | None = None,
    before_label: str | None = None,
) -> list[RowSpec]:
    """The rows: ``sizes`` are the calls (one at a time, VLMEvalKit's default, at each concurrency)."""
    one, default, *at = sizes
    low = concurrencies[0]
    rows = [RowSpec("sequential", 1, low, one), RowSpec("vlmevalkit", VLMEVALKIT_DEFAULT, low, default)]
    for concurrency, calls in zip(concurrencies, at, strict=True):
        clients = ("vlmevalkit", "plain-async", "ceiling", "mmrole")
        rows += [RowSpec(client, concurrency, concurrency, calls) for client in clients]
        if before:
            rows.append(RowSpec("mmrole", concurrency, concurrency, calls, before, before_label))
    return rows


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(latency: float, slots: int, launcher: list[str] | None = None) -> Iterator[tuple[str, int]]:
    """The local test server in its own process (``launcher`` runs another server main taking the
    same options, e.g. one that logs each call): yields (base URL, pid)."""
    launcher = launcher or [sys.executable, "-m", "mmrole.testing.server"]
    command = [*launcher, "--latency", str(latency), "--capacity", str(slots)]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline() if server.stdout else ""
        if not line.startswith("listening on "):
            raise SystemExit(f"the server did not start: {line!r}")
        yield line.split()[-1], server.pid
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)


def run_row(spec: RowSpec, url: str, workload: Workload, scratch: Path, *, fresh_process: bool) -> dict:
    """Measure one row; in a fresh Python process (with ``spec.src`` first on its path) or in this one."""
    if not fresh_process:
        return measure(spec.client, url, workload, spec.concurrency, scratch).to_dict()
    job = {"spec": asdict(spec), "url": url, "images": str(workload.images), "samples": workload.samples}
    env = dict(os.environ)
    if spec.src:
        env["PYTHONPATH"] = os.pathsep.join([spec.src, env.get("PYTHONPATH", "")])
    command = [sys.executable, __file__, "--row", json.dumps(job), "--scratch", str(scratch)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_rows(
    specs: list[RowSpec],
    kind: str,
    root: Path,
    latency: float = LATENCY,
    *,
    fresh_process: bool = True,
    repeats: int = REPEATS,
) -> list[dict]:
    """Every row with ``kind`` images: one server per slot count; each row's calls, times, CPU, server CPU.

    The :data:`REPEATED` rows run ``repeats`` times; the row is the median run by rate, with every
    run's share of capacity in ``runs``."""
    samples = -(-max(spec.calls for spec in specs) // 8)  # 8 judge requests per sample
    image_bytes = write_images(root / f"images-{kind}", samples, kind)
    rows = []
    for slots in sorted({spec.slots for spec in specs}):
        with serving(latency, slots) as (url, pid):
            for n, spec in enumerate(s for s in specs if s.slots == slots):
                workload = Workload(root / f"images-{kind}", samples, spec.calls)
                runs = []
                for attempt in range(repeats if spec.client in REPEATED else 1):
                    server_cpu = process_cpu(pid)
                    scratch = root / f"{kind}-{slots}-{n}-{attempt}"
                    measured = run_row(spec, url, workload, scratch, fresh_process=fresh_process)
                    rate, capacity = measured["calls"] / measured["seconds"], spec.slots / latency
                    run = {
                        **asdict(spec),
                        **measured,
                        "kind": kind,
                        "image_bytes": image_bytes,
                        "latency": latency,
                    }
                    run |= {"calls_per_s": rate, "capacity": capacity, "of_capacity": rate / capacity}
                    run |= {
                        "server_cpu_seconds": process_cpu(pid) - server_cpu,
                        "load_1min": os.getloadavg()[0],
                    }
                    runs.append(run)
                row = sorted(runs, key=lambda r: r["calls_per_s"])[len(runs) // 2]
                row["runs"] = [r["of_capacity"] for r in runs]
                rate, capacity = row["calls_per_s"], row["capacity"]
                rows.append(row)
                print(
                    f"{kind:4} {spec.client:11} {spec.concurrency:3} in flight{' (' + spec.src + ')' if spec.src else ''}: "
                    f"{rate:7.1f} calls/s, {row['of_capacity']:.3f} of {capacity:.0f}, "
                    f"CPU {1000 * row['cpu_seconds'] / row['calls']:.3f} ms/call, {row['ok']}/{row['calls']} ok",
                    flush=True,
                )
    return rows


# -- the RESULTS.md section -----------------------------------------------------------------------------
VLMEVALKIT_CITATION = (
    "VLMEvalKit's default: `run.py` declares `parser.add_argument('--api-nproc', type=int, default=4, "
    "help='Parallel API calling')` and `vlmeval/inference.py` has `infer_data_api(..., api_nproc=4, ...)` "
    "([open-compass/VLMEvalKit run.py at 002f7b7](https://github.com/open-compass/VLMEvalKit/blob/"
    "002f7b782cc772c236f34c10c0f3419284aa8593/run.py)); its `track_progress_rich` (`vlmeval/utils/mp_util.py`) "
    "runs the calls in a `ThreadPoolExecutor(max_workers=nproc)` and saves the whole results dict after each one."
)


def label(spec: RowSpec) -> str:
    if spec.client == "sequential":
        return f"one at a time, openai SDK (MMRole's scripts; first {spec.calls} calls)"
    if spec.client == "vlmevalkit":
        text = f"VLMEvalKit's pattern: {spec.concurrency} threads, whole checkpoint dumped per item"
        if spec.concurrency == VLMEVALKIT_DEFAULT:
            text += f" (**its default**, `--api-nproc {VLMEVALKIT_DEFAULT}`[^nproc]; {spec.calls} calls)"
        return text
    if spec.client == "plain-async":
        return f"`AsyncOpenAI` + `asyncio.Semaphore({spec.concurrency})` + JSONL append"
    if spec.client == "ceiling":
        return (
            f"*this rig's ceiling*: request bytes built beforehand, {spec.concurrency} raw keep-alive sockets"
        )
    return f"mmrole engine, concurrency {spec.concurrency}, SQLite store" + (
        f" (**before**: {spec.src_label or f'`{spec.src}`'})" if spec.src else ""
    )


def markdown(rows: list[dict], loads: tuple[float, float]) -> str:
    """The RESULTS.md section: one line per row spec, a column group per image size."""
    specs = list(dict.fromkeys(_spec(r) for r in rows))
    kinds = [k for k in IMAGE_KINDS if any(r["kind"] == k for r in rows)]
    by = {(_spec(r), r["kind"]): r for r in rows}
    size = {k: next(r["image_bytes"] for r in rows if r["kind"] == k) for k in kinds}
    head = {
        k: f"{size[k] / 1000:.0f} KB image" if size[k] >= 10_000 else f"{size[k]:,} B image" for k in kinds
    }
    latency = rows[0]["latency"]
    slots = sorted({r["slots"] for r in rows})
    machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    lines = [
        MARK_START,
        "## Engine throughput",
        "",
        f"`benchmarks/engine_throughput.py`, measured {time.strftime('%Y-%m-%d')} in one run on {machine} "
        f"(a machine shared with other jobs: 1-minute load average {loads[0]:.1f} at the start, {loads[1]:.1f} at "
        "the end; each row's is in the script's JSON output).",
        f"Local OpenAI-compatible server (`mmrole.testing.server`) in its own process, {latency * 1000:.0f} ms latency, "
        "with as many slots as the clients keep in flight, so its capacity is slots / latency: "
        + ", ".join(f"{n} slots, {n / latency:,.0f} calls/s" for n in slots)
        + f" (the one-at-a-time and {VLMEVALKIT_DEFAULT}-thread rows use the {slots[0]}-slot server). "
        "Workload: MMRole-Eval's judge requests as `mmrole judge` builds them, 8 per sample sharing its image "
        f"(~{prompt_chars() / 1000:.1f} KB of text each), each sample with an image file of its own: a tiny one "
        "(128 x 96) and a real-size one (MMRole-Data's median: 1532 x 812 px, a noise texture at the JPEG quality "
        "that makes it ~95 KB). mmrole gets the image as `mmrole judge` sends it (a path its backend reads, checks and "
        "encodes; `judge_run`'s check of every image before the first call is outside the timed window); the other clients read and base64-encode it for each call. *CPU ms/call*: the client process's "
        "CPU time (all threads) over its calls, divided by the calls. Each row runs in a fresh process, after one "
        f"untimed warm-up call; the ceiling and mmrole rows run {REPEATS} times each and show their median run (every "
        "run's share is listed below the table). *This rig's ceiling* does no work per call (see "
        "`benchmarks/engine_clients.py`): the server shares the two cores with the client, and its own CPU per call "
        "and the waves of replies that a fixed latency keeps together cap every client below 1.0.",
        "",
        "| how the calls are made | in flight | server, calls/s | calls | "
        + " | ".join(f"{head[k]}: calls/s | of capacity | CPU ms/call" for k in kinds)
        + " |",
        "| --- | ---: | ---: | ---: | " + " | ".join("---: | ---: | ---:" for _ in kinds) + " |",
    ]
    for spec in specs:
        cells = []
        for k in kinds:
            r = by.get((spec, k))
            cells.append(
                "— | — | —"
                if r is None
                else f"{r['calls_per_s']:.1f} | {r['of_capacity']:.3f} | {1000 * r['cpu_seconds'] / r['calls']:.3f}"
            )
        capacity = f"{spec.slots / latency:,.0f}"
        lines.append(
            f"| {label(spec)} | {spec.concurrency} | {capacity} | {spec.calls:,} | "
            + " | ".join(cells)
            + " |"
        )
    lines += ["", *goal_lines(rows, head)]
    peak = max([*loads, *(r["load_1min"] for r in rows)])
    if peak > (os.cpu_count() or 1):
        lines += [
            "",
            f"**A loaded run** (1-minute load average up to {peak:.1f} on {os.cpu_count()} cores): every client was "
            "short of CPU, so these rates say little about the goals; rerun on a quiet machine. Under contention a "
            "client with hundreds of threads also gets a larger share of the CPU than a one-thread async client.",
        ]
    lines += ["", f"[^nproc]: {VLMEVALKIT_CITATION}", MARK_END]
    return "\n".join(lines)


def _spec(row: dict) -> RowSpec:
    return RowSpec(
        row["client"], row["concurrency"], row["slots"], row["calls"], row["src"], row.get("src_label")
    )


def goal_lines(rows: list[dict], head: dict[str, str]) -> list[str]:
    mine = [r for r in rows if r["client"] == "mmrole" and not r["src"]]
    failed = sum(r["calls"] - r["ok"] for r in rows)
    out = [f"Every row answered all its calls: {'yes' if not failed else f'no, {failed} failed'}."]
    for concurrency, goal in GOALS.items():
        got = [r for r in mine if r["concurrency"] == concurrency]
        if got:
            shares = ", ".join(f"{r['of_capacity']:.3f} ({head[r['kind']]})" for r in got)
            met = all(r["of_capacity"] >= goal for r in got)
            out.append(
                f"- mmrole at {concurrency} in flight: {shares} of capacity; goal >= {goal}: **{'met' if met else 'missed'}**."
            )
    ceilings = {(r["kind"], r["concurrency"]): r for r in rows if r["client"] == "ceiling"}
    for r in mine:
        top = ceilings.get((r["kind"], r["concurrency"]))
        runs = ", ".join(f"{share:.3f}" for share in r.get("runs", [r["of_capacity"]]))
        against = f"; {r['calls_per_s'] / top['calls_per_s']:.3f} of this rig's ceiling" if top else ""
        out.append(f"  - {r['concurrency']} in flight, {head[r['kind']]}: runs {runs}{against}.")
    for r in (r for r in rows if r["client"] == "mmrole" and r["src"]):
        runs = ", ".join(f"{share:.3f}" for share in r.get("runs", [r["of_capacity"]]))
        name = r.get("src_label") or r["src"]
        out.append(f"  - before ({name}), {r['concurrency']} in flight, {head[r['kind']]}: runs {runs}.")
    for r in (r for r in mine if r["kind"] == "real" and r["concurrency"] in GOALS):
        cpu = 1000 * r["cpu_seconds"] / r["calls"]
        server = 1000 * r["server_cpu_seconds"] / r["calls"]
        out.append(
            f"- mmrole CPU per call with the {head['real']}, {r['concurrency']} in flight: {cpu:.3f} ms; goal < 1 ms: "
            f"**{'met' if cpu < 1 else 'missed'}** (the server used {server:.3f} ms per call in its own process)."
        )
    out.append(
        "- Time to first call at 50,000 requests (goal < 0.5 s): measured by `benchmarks/engine_memory.py`, "
        "its `run_requests`, 50,000 row in the *Engine memory* section."
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, help="Write the engine section of this RESULTS.md.")
    parser.add_argument("--quick", action="store_true", help=f"Fewer calls per row {QUICK} (a smoke run).")
    parser.add_argument("--before", help="Also run the mmrole rows with these sources (a checkout's src/).")
    parser.add_argument("--before-label", help="What the table calls those sources (e.g. a commit).")
    parser.add_argument("--kinds", nargs="+", choices=IMAGE_KINDS, default=list(IMAGE_KINDS))
    parser.add_argument("--row", help=argparse.SUPPRESS)  # internal: measure one row in this process
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.row:
        job = json.loads(args.row)
        workload = Workload(Path(job["images"]), job["samples"], job["spec"]["calls"])
        spec = job["spec"]
        measured = measure(
            spec["client"], job["url"], workload, spec["concurrency"], args.scratch, progress=True
        )
        print(json.dumps(measured.to_dict()))
        return
    specs = plan(QUICK if args.quick else FULL, before=args.before, before_label=args.before_label)
    start_load, rows = os.getloadavg()[0], []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds:
            rows += run_rows(specs, kind, Path(tmp))
    section = markdown(rows, (start_load, os.getloadavg()[0]))
    print(json.dumps(rows, indent=1))
    if args.results:
        results_file.write_section(args.results, section, MARK_START, MARK_END)
        print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
