"""Engine waves: where a finite job against a fixed-latency server loses its share of capacity.

A benchmark, not a test. It runs this rig's ceiling and mmrole (see :mod:`engine_clients`) as
:mod:`engine_throughput` does, against the same local server in its own process, which here also
logs when it took up and when it answered each call. With a fixed latency every slot cycles in
step, so how spread out the first wave of calls reaches the server is kept for the whole job:

- *first wave*: ms between the first and the ``slots``-th call taken up (the ramp);
- *last wave*: ms between the ``slots``-th last and the last answer (the drain);
- *steady*: the share of capacity between the end of the first wave of answers and the end of the
  last but one (whole waves, so the count does not depend on where a wave falls);
- *window*: the share the client measured over its whole job, as in the throughput table;
- *before and after*: ms of that window outside the server's span (the client's clock running
  before its first call reached the server, and after the last answer left it).

    PYTHONPATH=src .venv/bin/python benchmarks/engine_waves.py [--quick] [--results benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import atexit
import json
import sys
import tempfile
import time
from pathlib import Path

import results_file  # benchmarks/results_file.py (scripts run from benchmarks/)
from engine_throughput import LATENCY, RowSpec, run_row, serving
from engine_workload import Workload, write_images

MARK_START, MARK_END = "<!-- engine-waves:start -->", "<!-- engine-waves:end -->"
#: (in flight, calls): 32 and 16 waves of calls, as in the throughput table.
FULL = ((64, 2048), (256, 4096))
QUICK = ((16, 128), (32, 256))
CLIENTS = ("ceiling", "mmrole")


def serve_with_log(log: Path, argv: list[str]) -> None:
    """Run ``mmrole.testing.server`` logging each chat completion's (taken up, answered) times."""
    import mmrole.testing.server as server

    times: list[tuple[float, float]] = []
    dispatch = server.LocalOpenAIServer._dispatch

    async def logged(self, request, writer):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        keep_open = await dispatch(self, request, writer)
        if request.path.rstrip("/").endswith("/chat/completions"):
            times.append((started, time.perf_counter()))
        return keep_open

    server.LocalOpenAIServer._dispatch = logged  # type: ignore[method-assign]
    atexit.register(lambda: log.write_text(json.dumps(times)))
    server.main(argv)


def waves(times: list[tuple[float, float]], slots: int, latency: float) -> dict[str, float]:
    """First and last wave spreads (ms) and the steady share of capacity, from the server's log.

    The first logged call is the client's warm-up before its clock starts: left out."""
    calls = sorted(times)[1:]
    starts, ends = [s for s, _ in calls], sorted(e for _, e in calls)
    begin, end = starts[0], ends[-1]
    first, last_but_one = ends[slots - 1], ends[len(ends) - slots - 1]
    steady = (len(ends) - 2 * slots) / (last_but_one - first)
    return {
        "first_wave_ms": 1000 * (starts[min(slots, len(starts)) - 1] - begin),
        "last_wave_ms": 1000 * (end - ends[-min(slots, len(ends))]),
        "steady": steady / (slots / latency),
        "server_span_s": end - begin,
    }


def run(plan: tuple[tuple[int, int], ...], root: Path, kind: str = "real") -> list[dict]:
    samples = -(-max(calls for _, calls in plan) // 8)
    images = root / f"images-{kind}"
    write_images(images, samples, kind)
    rows = []
    for slots, calls in plan:
        for client in CLIENTS:
            log = root / f"log-{client}-{slots}.json"
            with serving(LATENCY, slots, [sys.executable, __file__, "--serve", str(log)]) as (url, _):
                spec = RowSpec(client, slots, slots, calls)
                measured = run_row(
                    spec,
                    url,
                    Workload(images, samples, calls),
                    root / f"{client}-{slots}",
                    fresh_process=True,
                )
            row = {"client": client, "in_flight": slots, "calls": calls, "kind": kind}
            row["window"] = measured["calls"] / measured["seconds"] / (slots / LATENCY)
            row |= waves(json.loads(log.read_text()), slots, LATENCY)
            row["outside_ms"] = 1000 * (measured["seconds"] - row["server_span_s"])
            rows.append(row)
            print(
                f"{client:8} {slots:3} in flight: window {row['window']:.3f}, steady {row['steady']:.3f}, "
                f"first wave {row['first_wave_ms']:.0f} ms, last wave {row['last_wave_ms']:.0f} ms, "
                f"outside the server's span {row['outside_ms']:.0f} ms",
                flush=True,
            )
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        MARK_START,
        "## Engine waves: where the share of capacity goes",
        "",
        "`benchmarks/engine_waves.py`, measured "
        f"{time.strftime('%Y-%m-%d')}: the throughput table's ceiling and mmrole rows again (95 KB image, one run "
        "each), the server logging each call. With a fixed latency the slots cycle in step, so the first "
        "wave's spread is kept to the end, and the window also holds the last wave's drain: in a job "
        "of 16 waves of 200 ms, each 100 ms of them is about 3 % of the window, whatever the client.",
        "",
        "| client | in flight | calls | whole window: of capacity | steady, between the first and the last wave: of capacity "
        "| first wave, ms | last wave, ms | before and after, ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['client']} | {r['in_flight']} | {r['calls']:,} | {r['window']:.3f} | {r['steady']:.3f} "
            f"| {r['first_wave_ms']:.0f} | {r['last_wave_ms']:.0f} | {r['outside_ms']:.0f} |"
        )
    return "\n".join([*lines, MARK_END])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, help="Write the engine-waves section of this RESULTS.md.")
    parser.add_argument("--quick", action="store_true", help=f"Fewer calls {QUICK} (a smoke run).")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # internal: the logging server
    args, rest = parser.parse_known_args()
    if args.serve:
        serve_with_log(args.serve, rest)
        return
    with tempfile.TemporaryDirectory() as tmp:
        rows = run(QUICK if args.quick else FULL, Path(tmp))
    print(json.dumps(rows, indent=1))
    if args.results:
        results_file.write_section(args.results, markdown(rows), MARK_START, MARK_END)
        print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
