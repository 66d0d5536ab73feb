"""Training data memory: peak RSS of preparing SFT data from a training file of MMRole's size.

A benchmark, not a test. A synthetic MMRole-format training file is written for each size
(Qwen-VL conversations, ``Picture 1: <img>...</img>`` tags, one to three exchanges, a sixth of
the records in Chinese; about 5.8 KB per sample, so 485 MiB at MMRole's 85,456 samples) inside a
data root with a ``data/test`` split (its ids are held out of training) and an
out-of-distribution list. Each case runs in a fresh process, which reports its peak resident
memory (``VmHWM``) and wall time:

* *prepare*: what ``mmrole train sft`` does with the data before the model loads: with the code
  before (``--before-src``), the examples read into a list and ``Dataset.from_list``; with this
  checkout, ``prepare_sft_data``, which streams them into a memory-mapped Arrow dataset;
* *rerun*: this checkout again, reusing the dataset the first run prepared;
* ``mmrole data convert --to qwen`` of the largest file, before and after.

With --before-src (another checkout's src/, e.g. ``git worktree add /tmp/before <commit>``) the
cases run with that code too, side by side in one run. The files go under --tmp and are deleted.

    .venv/bin/python benchmarks/train_data_memory.py --results benchmarks/RESULTS.md \\
        --before-src /tmp/before/src [--sizes 21364 42728 85456]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import results_file  # benchmarks/results_file.py (scripts run from benchmarks/)

MARK_START, MARK_END = "<!-- train-data-memory:start -->", "<!-- train-data-memory:end -->"
REPO = Path(__file__).resolve().parent.parent
SIZES = (21364, 42728, 85456)
CHARACTERS = 40
#: Every 100th of the first 21,364 records is a test sample (held out of training at every size).
TEST_EVERY, TEST_RANGE = 100, SIZES[0]
MARKERS = ("comment", "human-role-dialogue", "role-role-dialogue")

#: Runs in a fresh process so each peak is its own: prints seconds, VmHWM (KiB) and rows.
_CHILD = """
import json, sys, time
case, data, out = sys.argv[1:4]
started = time.perf_counter()
extra = {}
def sft_config():
    from mmrole.train import SFTConfig, build_config
    return build_config(SFTConfig, model="unused", data=data, output_dir=out, progress=False)
if case == "imports":
    import datasets, mmrole.train.sft
    rows = 0
elif case == "prepare-list":
    from mmrole.train.examples import to_dataset
    from mmrole.train.sft import read_sft_data
    rows = len(to_dataset(read_sft_data(sft_config()), with_images=True))
elif case == "prepare-stream":
    from mmrole.train.sft import prepare_sft_data
    prepared = prepare_sft_data(sft_config())
    rows = len(prepared.dataset)
    assert prepared.reused == (sys.argv[4] == "reused"), prepared.reused
    import os
    extra = {"arrow_bytes": sum(os.path.getsize(f["filename"]) for f in prepared.dataset.cache_files)}
elif case == "convert":
    from mmrole.cli import main
    sys.argv = ["mmrole", "data", "convert", data, "--to", "qwen", "-o", out]
    try:
        main()
    except SystemExit as exit:
        if exit.code:
            raise
    rows = 0
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": time.perf_counter() - started, "peak_kib": peak, "rows": rows, **extra}))
"""


def _paragraphs(rng: random.Random, chinese: bool, count: int, low: int, high: int) -> list[str]:
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
        for _ in range(600)
    ]
    hanzi = [chr(rng.randint(0x4E00, 0x62FF)) for _ in range(800)]
    found = []
    for _ in range(count):
        size, text = rng.randint(low, high), []
        while sum(map(len, text)) < size:
            text.append(
                "".join(rng.choices(hanzi, k=rng.randint(6, 18))) + "，" if chinese else rng.choice(words)
            )
        found.append(("" if chinese else " ").join(text).capitalize() + ("。" if chinese else "."))
    return found


class Synthetic:
    """MMRole-like training records: the MRPA prompt with a character profile, one to three exchanges."""

    def __init__(self, seed: int = 0):
        rng = random.Random(seed)
        self.rng = rng
        self.text = {lang: _paragraphs(rng, lang == "zh", 400, 80, 578) for lang in ("en", "zh")}
        self.names = [f"Hero {k}" for k in range(CHARACTERS)]

    def record(self, index: int) -> dict[str, Any]:
        rng = random.Random(index)
        lang = "zh" if index % 6 == 5 else "en"  # characters' own language (Chinese: 2-byte UTF-8 is 3 bytes)
        text = self.text[lang]
        name = self.names[index % CHARACTERS]
        marker = MARKERS[index % 3]
        profile = "\n".join(
            f"### {h}\n{rng.choice(text)}" for h in ("Brief Introduction", "Personality", "Life Story")
        )
        profile += "\n### Catchphrases\n" + "\n".join(rng.choice(text) for _ in range(3))
        opening = (
            f"Please step into the shoes of {name} from Series {index % CHARACTERS}. Imagine you are talking with "
            "a curious human about the given image. This requires a deep understanding of the character's "
            "background, including their personality, experiences, abilities, and relationships."
        )
        language = "Chinese" if lang == "zh" else "English"
        ask = (
            f"{opening}\n\n\nThe description of {name} is as follows:\n{profile}\n\n\nPlease respond to the "
            f"following words of the curious human about the image in {language} using the distinctive tone, "
            f"manner and vocabulary of {name}:\n{rng.choice(text)}"
        )
        turns = [
            {"from": "user", "value": f"Picture 1: <img>images/bench/{index % 64:02d}.png</img>\n{ask}"},
            {"from": "assistant", "value": " ".join(rng.choice(text) for _ in range(2))},
        ]
        for _ in range(rng.choice((0, 0, 1, 2))):
            turns += [
                {"from": "user", "value": rng.choice(text)},
                {"from": "assistant", "value": rng.choice(text)},
            ]
        stem = name.replace(" ", "_")
        return {"id": f"{stem}_{marker}_COCO_{index}_1", "conversations": turns}

    def write(self, path: Path, count: int, *, every: int = 1) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            handle.write("[\n")
            for number, index in enumerate(range(0, count, every)):
                handle.write(
                    ("" if number == 0 else ",\n") + json.dumps(self.record(index), ensure_ascii=False)
                )
            handle.write("\n]\n")


def build_root(root: Path) -> Synthetic:
    """A data root: 64 images, a test split, out-of-distribution characters (the training file comes later)."""
    from PIL import Image

    synthetic = Synthetic()
    (root / "images" / "bench").mkdir(parents=True)
    for k in range(64):
        Image.new("RGB", (32, 32), (k * 4, 80, 160)).save(root / "images" / "bench" / f"{k:02d}.png")
    synthetic.write(
        root / "data" / "test" / "in-distribution" / "comment_test.json", TEST_RANGE, every=TEST_EVERY
    )
    ood = root / "profiles" / "out-of-distribution" / "roles.json"
    ood.parent.mkdir(parents=True)
    ood.write_text(json.dumps({"Series 0": ["Hero 0"], "Series 1": ["Hero 1"]}))
    return synthetic


def run_case(src: Path, case: str, data: Path, out: Path, cache: Path, *extra: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "MMROLE_CACHE_DIR": str(cache),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, case, str(data), str(out), *extra],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"{case} with {src} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cases(
    before: Path | None, root: Path, synthetic: Synthetic, sizes: list[int], tmp: Path
) -> Iterator[dict]:
    after = REPO / "src"
    yield {"case": "imports", "code": "after", **run_case(after, "imports", root, tmp / "o", tmp / "c0")}
    for size in sizes:
        data = root / "data" / "train" / f"train_{size}.json"
        synthetic.write(data, size)
        common = {"samples": size, "file_bytes": data.stat().st_size}
        if before is not None:
            row = run_case(before, "prepare-list", data, tmp / "o", tmp / f"cb{size}")
            yield {"case": "prepare", "code": "before", **common, **row}
        cache = tmp / f"ca{size}"
        yield {
            "case": "prepare",
            "code": "after",
            **common,
            **run_case(after, "prepare-stream", data, tmp / "o", cache, "new"),
        }
        rerun = run_case(after, "prepare-stream", data, tmp / "o", cache, "reused")
        yield {"case": "rerun", "code": "after", **common, **rerun}
        if size == max(sizes):
            for code, src in (("before", before), ("after", after)):
                if src is not None:
                    row = run_case(src, "convert", data, tmp / f"convert-{code}.json", tmp / "c1")
                    yield {"case": "convert", "code": code, **common, **row}
                    (tmp / f"convert-{code}.json").unlink()
        shutil.rmtree(cache)
        data.unlink()


def results_section(
    rows: list[dict[str, Any]], when: str, before_label: str, load: tuple[float, float]
) -> str:
    mib = 2**20
    by = {(r["case"], r["code"], r.get("samples")): r for r in rows}
    imports = by[("imports", "after", None)]
    lines = [
        MARK_START,
        "## Training data memory",
        "",
        f"`benchmarks/train_data_memory.py`, measured {when}; load average {load[0]:.2f} before and {load[1]:.2f} "
        "after (2 shared cores). A synthetic MMRole-format training file (Qwen-VL conversations, one to three "
        "exchanges, a sixth in Chinese) inside a data root whose `data/test` ids are held out; each case in a "
        "fresh process, peak RSS = `VmHWM`. *Prepare*: what `mmrole train sft` does with the data before the "
        f"model loads; {before_label}: examples read into a list, then `Dataset.from_list`; after: "
        "`prepare_sft_data` streams them into a memory-mapped Arrow dataset (once per node; the *rerun* "
        f"reuses it). Importing mmrole's trainer and `datasets` alone peaks at {imports['peak_kib'] / 1024:.0f} MiB.",
        "",
        "| samples | file | examples kept | dataset on disk | prepare, before | prepare, after | rerun, after "
        "| s before / after / rerun |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size in sorted({r["samples"] for r in rows if "samples" in r}):
        before, after, rerun = (
            by.get((case, code, size))
            for case, code in (("prepare", "before"), ("prepare", "after"), ("rerun", "after"))
        )
        cell = lambda r: f"{r['peak_kib'] * 1024 / mib:,.0f} MiB" if r else "—"  # noqa: E731
        secs = " / ".join(f"{r['seconds']:.0f}" if r else "—" for r in (before, after, rerun))
        lines.append(
            f"| {size:,} | {after['file_bytes'] / mib:,.0f} MiB | {after['rows']:,} | {after['arrow_bytes'] / mib:,.0f} MiB "
            f"| {cell(before)} | {cell(after)} | {cell(rerun)} | {secs} |"
        )
    afters = [r for r in rows if r["case"] == "prepare" and r["code"] == "after"]
    largest = max(afters, key=lambda r: r["samples"])
    peaks = [r["peak_kib"] / 1024 for r in afters]
    met = largest["peak_kib"] < 2**20 and max(peaks) < 1.2 * min(peaks)
    lines += [
        "",
        f"- Goal (flat, under 1 GB at {largest['samples']:,}): after, {min(peaks):,.0f}-{max(peaks):,.0f} MiB across "
        f"the sizes, {largest['peak_kib'] / 1024:,.0f} MiB at {largest['samples']:,}: **{'met' if met else 'missed'}**.",
    ]
    converts = [r for r in rows if r["case"] == "convert"]
    if converts:
        lines += [
            "",
            "`mmrole data convert --to qwen` of the largest file:",
            "",
            "| code | peak RSS | s |",
            "| --- | ---: | ---: |",
        ]
        lines += [f"| {r['code']} | {r['peak_kib'] / 1024:,.0f} MiB | {r['seconds']:.0f} |" for r in converts]
    lines.append(MARK_END)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-src", type=Path, help="Also measure this src/ folder (the code before).")
    parser.add_argument("--before-label", default="before", help="How the table names --before-src.")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(SIZES), help="Samples per training file."
    )
    parser.add_argument(
        "--tmp", type=Path, default=Path("/tmp"), help="Where the files are written (and deleted)."
    )
    parser.add_argument(
        "--results", type=Path, help="Write the train-data-memory section of this RESULTS.md."
    )
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="train-data-memory-", dir=args.tmp) as tmp:
        root = Path(tmp) / "MMRole-Data"
        synthetic = build_root(root)
        rows = []
        for row in _cases(
            args.before_src and args.before_src.resolve(), root, synthetic, sorted(args.sizes), Path(tmp)
        ):
            print(json.dumps(row), flush=True)
            rows.append(row)
    load = (load_before, os.getloadavg()[0])
    when = f"{time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    if args.results:
        section = results_section(rows, when, args.before_label, load)
        results_file.write_section(args.results, section, MARK_START, MARK_END)


if __name__ == "__main__":
    main()
