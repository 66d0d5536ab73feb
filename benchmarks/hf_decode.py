"""HF decode: milliseconds per decode step of Qwen2-VL under transformers' `generate`, against the bandwidth floor.

A benchmark, not a test. A decode step reads every weight of the language model and the KV cache
once from GPU memory, so no implementation can beat (bytes read) / (memory bandwidth): the floor.
The model is built from a config (train_throughput.py's Qwen2-VL shapes, random bf16 weights,
nothing downloaded) and run as mmrole's HF backend runs it: `model.generate`, greedy, KV cache, a
text prompt of --prompt-len tokens, exactly --new-tokens new tokens (min = max). Then

* ms per decode step = (time for N new tokens - time for 1) / (N - 1): the prefill cancels out;
* floor = (weights of the language model + the KV cache at the mean context) / bandwidth, the
  vision tower left out (it is not read while decoding); an untied input embedding is left out
  too (a step reads one row of it), a tied one counted once (the output projection reads it all);
* floor / measured: the share of the bandwidth the step uses.

    # one GPU (H200: 4.8 TB/s HBM3e)
    python benchmarks/hf_decode.py --size 2b --batch 1 8 --results benchmarks/RESULTS.md
    # CPU smoke run of the same code with a tiny Qwen2-VL
    python benchmarks/hf_decode.py --tiny
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import results_file  # benchmarks/results_file.py (scripts run from benchmarks/)
from train_throughput import build_model, build_processor

MARK_START, MARK_END = "<!-- hf-decode:start -->", "<!-- hf-decode:end -->"
#: HBM bandwidth in bytes/s by GPU name (NVIDIA datasheets, SXM parts).
BANDWIDTH = {"H200": 4.8e12, "H100": 3.35e12, "A100": 2.039e12, "L40S": 0.864e12, "A10G": 0.6e12}


def bandwidth_of(device_name: str, override_tbs: float | None) -> float | None:
    if override_tbs:
        return override_tbs * 1e12
    for name, value in BANDWIDTH.items():
        if name.lower() in device_name.lower():
            return value
    return None


def bytes_read_per_step(model: Any) -> int:
    """Weight bytes a text decode step reads: the language model and its output projection."""
    embed = model.get_input_embeddings().weight
    tied = model.get_output_embeddings().weight is embed
    total = 0
    for name, param in model.named_parameters():  # a tied matrix is listed once
        if ".visual." in f".{name}" or (param is embed and not tied):
            continue
        total += param.numel() * param.element_size()
    return total


def kv_cache_bytes(model: Any, batch: int, context: float, element_size: int) -> float:
    text = model.config.get_text_config()
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    return 2 * text.num_hidden_layers * text.num_key_value_heads * head_dim * context * batch * element_size


def _prompt(tokenizer: Any, model: Any, batch: int, length: int, device: Any) -> Any:
    """Random ordinary tokens (no special or image token, which would ask for pixels)."""
    import torch

    config = model.config
    specials = set(tokenizer.all_special_ids) | {
        getattr(config, name, None) for name in ("image_token_id", "video_token_id", "vision_start_token_id")
    }
    allowed = torch.tensor([i for i in range(len(tokenizer)) if i not in specials])
    generator = torch.Generator().manual_seed(0)
    return allowed[torch.randint(0, len(allowed), (batch, length), generator=generator)].to(device)


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    size = "tiny" if args.tiny else args.size
    cuda = torch.cuda.is_available() and not args.tiny
    device = torch.device("cuda", 0) if cuda else torch.device("cpu")
    dtype = torch.bfloat16 if cuda else torch.float32
    processor = build_processor(size)
    model = build_model(size, processor.tokenizer, dtype, device).eval()
    model.config.use_cache = True
    pad = processor.tokenizer.pad_token_id
    device_name = torch.cuda.get_device_name(device) if cuda else platform.processor() or "cpu"
    bandwidth = bandwidth_of(device_name, args.bandwidth_tbs)
    weights = bytes_read_per_step(model)

    def timed(ids: Any, new_tokens: int) -> float:
        if cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                use_cache=True,
                pad_token_id=pad,
            )
        if cuda:
            torch.cuda.synchronize()
        assert out.shape[1] == ids.shape[1] + new_tokens
        return time.perf_counter() - started

    rows = []
    for batch in args.batch:
        ids = _prompt(processor.tokenizer, model, batch, args.prompt_len, device)
        timed(ids, 1), timed(ids, args.new_tokens)  # warm-up of both paths: kernels, allocator, caches
        one = statistics.median(timed(ids, 1) for _ in range(args.repeats))
        full = statistics.median(timed(ids, args.new_tokens) for _ in range(args.repeats))
        step_s = (full - one) / (args.new_tokens - 1)
        kv = kv_cache_bytes(model, batch, args.prompt_len + args.new_tokens / 2, torch.finfo(dtype).bits // 8)
        floor_s = (weights + kv) / bandwidth if bandwidth else None
        rows.append(
            {
                "batch": batch,
                "prefill_ms": one * 1e3,
                "step_ms": step_s * 1e3,
                "tokens_per_s": batch / step_s,
                "kv_cache_mb": kv / 1e6,
                "floor_ms": floor_s * 1e3 if floor_s else None,
                "of_floor": floor_s / step_s if floor_s else None,
            }
        )
    return {
        "model": f"Qwen2-VL-{size.upper()} shapes, random weights, {'bf16' if cuda else 'fp32'}",
        "device": device_name,
        "bandwidth_tbs": bandwidth / 1e12 if bandwidth else None,
        "weights_gb": weights / 1e9,
        "prompt_len": args.prompt_len,
        "new_tokens": args.new_tokens,
        "repeats": args.repeats,
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
        "rows": rows,
        "date": time.strftime("%Y-%m-%d"),
    }


TINY_NOTE = (
    "**Smoke run only.** This is the `--tiny` CPU run: it shows the benchmark runs end to end, not a decode "
    "figure. The 2B measurement (bf16, GPU) was **not run**: no GPU machine was lent to this task. To record it: "
    "`bash benchmarks/gpu/run.sh` on a GPU machine (see benchmarks/README.md)."
)


def results_section(result: dict[str, Any], note: str | None = None) -> str:
    bandwidth = f"{result['bandwidth_tbs']:.2f} TB/s" if result["bandwidth_tbs"] else "unknown bandwidth"
    lines = [
        MARK_START,
        "## HF decode",
        "",
        *([note, ""] if note else []),
        f"`benchmarks/hf_decode.py`, measured {result['date']} on {result['device']} ({bandwidth}): "
        f"{result['model']}, {result['weights_gb']:.2f} GB of language-model weights read per step; "
        f"`generate` (greedy, KV cache) on a {result['prompt_len']}-token prompt, {result['new_tokens']} new "
        f"tokens, median of {result['repeats']}; transformers {result['transformers']}, torch {result['torch']}. "
        "Floor: (weights + KV cache) / bandwidth.",
        "",
        "| batch | ms / decode step | floor ms | floor / measured | tokens/s | prefill + 1 token, ms |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in result["rows"]:
        floor = f"{row['floor_ms']:.3f}" if row["floor_ms"] is not None else "n/a"
        share = f"{row['of_floor']:.2f}" if row["of_floor"] is not None else "n/a"
        lines.append(
            f"| {row['batch']} | {row['step_ms']:.2f} | {floor} | {share} | {row['tokens_per_s']:,.0f} | "
            f"{row['prefill_ms']:.1f} |"
        )
    lines.append(MARK_END)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=["7b", "2b"], default="2b", help="Qwen2-VL shapes to build.")
    parser.add_argument("--tiny", action="store_true", help="CPU smoke run with a tiny Qwen2-VL.")
    parser.add_argument("--batch", type=int, nargs="+", default=[1], help="Batch sizes, one row each.")
    parser.add_argument("--prompt-len", type=int, default=512, help="Prompt tokens per sequence.")
    parser.add_argument("--new-tokens", type=int, default=128, help="New tokens per timed generate (>= 2).")
    parser.add_argument("--repeats", type=int, default=3, help="Timed generates per length (median).")
    parser.add_argument(
        "--bandwidth-tbs", type=float, help="Memory bandwidth in TB/s, if the GPU is not known."
    )
    parser.add_argument("--json", type=Path, help="Also write the result as JSON here.")
    parser.add_argument("--results", type=Path, help="Write the HF decode section of this RESULTS.md.")
    args = parser.parse_args()
    if args.tiny:
        args.prompt_len, args.new_tokens = min(args.prompt_len, 32), min(args.new_tokens, 8)
    if args.new_tokens < 2:
        parser.error("--new-tokens must be at least 2")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    result = run(args)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if args.results:
        section = results_section(result, TINY_NOTE if args.tiny else None)
        results_file.write_section(args.results, section, MARK_START, MARK_END)


if __name__ == "__main__":
    main()
