"""Judge decoding: a sample's 8 judge prompts through the shared-prefix path vs plain batched ``generate``.

A benchmark, not a test. MMRole-Eval sends 8 judge prompts per sample that differ only in the
metric sentence. ``HFBackend`` runs their shared start once and decodes the 8 continuations
as one batch from copies of its cache (:mod:`mmrole.models.prefix_cache`). Measured in one run,
at 10, 64 and 160 new tokens (``min_new_tokens`` forces exactly that many, so every path does
the same work):

1. plain batched ``generate`` over the 8 left-padded prompts (what a batch without the
   prefix path does);
2. with ``--before``, the previous prefix path: the prefix once, then each continuation decoded
   alone from a copy of its cache (kept here only as the "before" row);
3. the prefix path: the prefix once, then the 8 continuations decoded as one batch.

Every path's generated ids must equal plain ``generate``'s (greedy), or the benchmark fails.
The model is the offline demo model (SmolLM2-135M-Instruct, float32, CPU); the prompts are the
8 judge prompts of the demo test split's first sample, rendered as ``HFBackend`` renders them.

    .venv/bin/python benchmarks/judge_prefix.py [--before] [--results benchmarks/RESULTS.md]

About 3 minutes on 2 quiet cores (5 with ``--before``); much longer when other jobs share them.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import results_file  # benchmarks/results_file.py (scripts run from benchmarks/)

MARK_START, MARK_END = "<!-- judge-prefix:start -->", "<!-- judge-prefix:end -->"
NEW_TOKENS = (10, 64, 160)


def judge_prompts(backend: Any) -> list[list[int]]:
    """Token ids of the 8 judge prompts (one per metric) of the demo test split's first sample."""
    from mmrole.data.sources import load_samples
    from mmrole.eval.judge_plan import JudgeOptions, JudgeTask, judge_messages
    from mmrole.models.base import GenerationParams

    sample = next(iter(load_samples("demo")))
    options = JudgeOptions()
    # The agent's answer: the reference reworded, so Model A and Model B differ.
    answer = sample.reference.replace(".", "!", 1)
    params = GenerationParams(max_tokens=16)
    texts = [
        backend._prepare(judge_messages(JudgeTask(sample, answer, metric), []), params).text
        for metric in options.metrics
    ]
    return [backend.tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]


def plain_generate(model: Any, tokenizer: Any, id_lists: list[list[int]], kwargs: dict[str, Any]) -> list:
    import torch

    width = max(len(ids) for ids in id_lists)
    pad = tokenizer.pad_token_id
    rows = [[pad] * (width - len(ids)) + ids for ids in id_lists]
    mask = [[0] * (width - len(ids)) + [1] * len(ids) for ids in id_lists]
    with torch.inference_mode():
        output = model.generate(input_ids=torch.tensor(rows), attention_mask=torch.tensor(mask), **kwargs)
    return output.sequences[:, width:].tolist()


def prefix_one_by_one(
    model: Any, id_lists: list[list[int]], prefix_length: int, kwargs: dict[str, Any]
) -> list:
    """The previous prefix path: each continuation generated alone from a copy of the prefix's cache."""
    import torch
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    generated = []
    with torch.inference_mode():
        model(input_ids=torch.tensor([id_lists[0][:prefix_length]]), cache=cache, use_cache=True)
        for ids in id_lists:
            inputs = torch.tensor([ids])
            output = model.generate(
                input_ids=inputs, attention_mask=torch.ones_like(inputs), cache=copy.deepcopy(cache), **kwargs
            )
            generated.append(output.sequences[0, len(ids) :].tolist())
    return generated


def prefix_batched(model: Any, id_lists: list[list[int]], prefix_length: int, kwargs: dict[str, Any]) -> list:
    from mmrole.models.prefix_cache import generate_with_shared_prefix

    return generate_with_shared_prefix(model, id_lists, prefix_length, kwargs).generated


def timed(function: Any, *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def measure(new_tokens: tuple[int, ...], repeats: int, with_before: bool) -> dict[str, Any]:
    import torch

    from mmrole.models.base import GenerationParams
    from mmrole.models.demo import load_demo_backend
    from mmrole.models.prefix_cache import shared_prefix_length

    backend = load_demo_backend(device="cpu", dtype="float32")
    model, tokenizer = backend.model, backend.tokenizer
    id_lists = judge_prompts(backend)
    prefix_length = shared_prefix_length(id_lists)
    load_before = os.getloadavg()[0]
    rows = []
    for n in new_tokens:
        kwargs = backend._generation_kwargs(GenerationParams(max_tokens=n, temperature=0.0))
        kwargs["generation_config"].update(min_new_tokens=n, return_dict_in_generate=True)
        row: dict[str, Any] = {"new_tokens": n}
        # Interleaved repeats, best of each: other jobs on a shared machine only ever slow a run down.
        for repeat in range(repeats):
            seconds, expected = timed(plain_generate, model, tokenizer, id_lists, kwargs)
            assert all(len(ids) == n for ids in expected)
            row["plain_s"] = min(seconds, row.get("plain_s", seconds))
            paths = [("batched", prefix_batched)]
            if with_before and repeat == 0:  # the slow "before" row: once
                paths.append(("one_by_one", prefix_one_by_one))
            for name, path in paths:
                seconds, generated = timed(path, model, id_lists, prefix_length, kwargs)
                if generated != expected:
                    raise SystemExit(
                        f"{name} prefix path at {n} new tokens: outputs differ from plain generate"
                    )
                row[f"{name}_s"] = min(seconds, row.get(f"{name}_s", seconds))
        rows.append(row)
        print(json.dumps(row), flush=True)
    return {
        "repeats": repeats,
        "load": (load_before, os.getloadavg()[0]),
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads",
        "prompt_tokens": [len(ids) for ids in id_lists],
        "prefix_tokens": prefix_length,
        "rows": rows,
    }


def markdown(result: dict[str, Any]) -> str:
    lengths = result["prompt_tokens"]
    before = "one_by_one_s" in result["rows"][0]
    lines = [
        MARK_START,
        "## Judge decoding: shared prefix vs plain batched generate",
        "",
        f"`benchmarks/judge_prefix.py`, measured {result['date']} in one run on {result['machine']} "
        f"(a machine shared with other jobs: 1-minute load average {result['load'][0]:.1f} at the start, "
        f"{result['load'][1]:.1f} at the end). Best of {result['repeats']} interleaved runs"
        + (" (the before row: one run)" if before else "")
        + ". The demo model (SmolLM2-135M-Instruct, float32) answers the "
        f"8 judge prompts of the demo test split's first sample ({min(lengths)}-{max(lengths)} tokens, "
        f"{result['prefix_tokens']} of them shared) as one group; `min_new_tokens` makes every path generate "
        "exactly N tokens, and every path's ids equal plain `generate`'s (checked).",
        "",
        "| new tokens | plain batched `generate` |"
        + (" prefix, continuations one by one (before) |" if before else "")
        + " prefix, continuations as one batch (now) | speed-up vs plain |",
        "| ---: | ---: |" + (" ---: |" if before else "") + " ---: | ---: |",
    ]
    for row in result["rows"]:
        old = (
            f" {row['one_by_one_s']:.2f} s ({row['plain_s'] / row['one_by_one_s']:.2f}x) |" if before else ""
        )
        lines.append(
            f"| {row['new_tokens']} | {row['plain_s']:.2f} s |{old} {row['batched_s']:.2f} s | "
            f"**{row['plain_s'] / row['batched_s']:.2f}x** |"
        )
    met = all(row["batched_s"] < row["plain_s"] for row in result["rows"])
    lines += [
        "",
        "Goal: the prefix path faster than plain `generate` at every length (MMRole's judge replies "
        f"run 100-200 tokens): {'met' if met else '**not met**'}.",
        MARK_END,
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Replace this benchmark's section of RESULTS.md (other sections are left alone)."""
    results_file.write_section(path, section, MARK_START, MARK_END)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, help="Write the judge-decoding section of this RESULTS.md.")
    parser.add_argument(
        "--new-tokens", type=int, nargs="+", default=list(NEW_TOKENS), help="Reply lengths to measure."
    )
    parser.add_argument(
        "--repeats", type=int, default=2, help="Interleaved runs of each path; the best counts."
    )
    parser.add_argument(
        "--before", action="store_true", help="Also time the previous one-by-one prefix path (once; slow)."
    )
    args = parser.parse_args()
    result = measure(tuple(args.new_tokens), args.repeats, with_before=args.before)
    section = markdown(result)
    print(section)
    if args.results:
        write_section(args.results, section)
        print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
