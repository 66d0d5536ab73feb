"""Training throughput: tokens/s and MFU of `mmrole train sft` on a Qwen2-VL-7B-sized model.

A benchmark, not a test. The model is built from a config (Qwen2-VL-7B-Instruct's shapes, random
bf16 weights, nothing downloaded) and trained with mmrole's SFT stack: TRL's SFTTrainer,
mmrole's ChatCollator (assistant-only labels), the vision encoder frozen, gradient checkpointing,
AdamW. Each example is one image (448x448 px: 256 image tokens) and a role-play conversation of
--seq-len tokens in all, like MMRole's training samples. After --warmup steps, it times --steps
optimiser steps and reports

* tokens/s: every token of every sequence (image tokens included) per second, over all GPUs;
* MFU = model FLOPs per second / (peak bf16 dense FLOP/s of the GPUs), the FLOPs counted per
  component (``benchmarks/flops.py``, PaLM's convention): the trained language model 6 per token
  per parameter (input embeddings excluded) plus attention, 12 * layers * (heads x head dim) * seq
  per token; the frozen vision encoder 2 per patch per parameter (forward only) plus its
  attention; the trained patch merger 4 per merged token per parameter. The breakdown is printed,
  with the old 6 * all-parameters figure beside it for comparison;
* peak GPU memory.

    # one GPU (H100/H200)
    .venv/bin/python benchmarks/train_throughput.py --results benchmarks/RESULTS.md
    # 8 GPUs, DeepSpeed ZeRO-3 (the documented recipe)
    accelerate launch --config_file "$(mmrole train accelerate-config zero3)" benchmarks/train_throughput.py
    # CPU smoke run of the same code with a tiny Qwen2-VL
    .venv/bin/python benchmarks/train_throughput.py --tiny
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import flops  # benchmarks/flops.py
import results_file  # benchmarks/results_file.py (scripts run from benchmarks/)

MARK_START, MARK_END = "<!-- train-throughput:start -->", "<!-- train-throughput:end -->"

#: Qwen2-VL shapes (transformers' Qwen2VLConfig names). "tiny" is mmrole's test model.
SIZES: dict[str, dict[str, Any]] = {
    "7b": {
        "text": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                     num_key_value_heads=4, vocab_size=152064, rope_theta=1e6, mrope_section=[16, 24, 24]),
        "vision": dict(depth=32, embed_dim=1280, hidden_size=3584, num_heads=16, mlp_ratio=4, patch_size=14),
        "tie_word_embeddings": False,
    },
    "2b": {
        "text": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                     num_key_value_heads=2, vocab_size=151936, rope_theta=1e6, mrope_section=[16, 24, 24]),
        "vision": dict(depth=32, embed_dim=1280, hidden_size=1536, num_heads=16, mlp_ratio=4, patch_size=14),
        "tie_word_embeddings": True,
    },
    "tiny": {
        "text": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                     num_key_value_heads=2, vocab_size=None, rope_theta=1e4, mrope_section=[2, 3, 3]),
        "vision": dict(depth=1, embed_dim=32, hidden_size=32, num_heads=2, mlp_ratio=2, patch_size=8),
        "tie_word_embeddings": False,
    },
}  # fmt: skip

#: Dense bf16 peak FLOP/s by GPU name (NVIDIA datasheets, SXM parts).
PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 125e12}


def build_processor(size: str) -> Any:
    """A Qwen2-VL processor: mmrole's offline BPE tokenizer (Qwen2-VL's special tokens) and image processor."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from mmrole.models.hf_processors import Qwen2VLImageOnlyProcessor
    from mmrole.testing.tiny_models import build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer("<|vision_start|><|image_pad|><|vision_end|>")
    tokenizer.padding_side = "right"
    patch = SIZES[size]["vision"]["patch_size"]
    factor = patch * 2
    image_processor = Qwen2VLImageProcessorPil(
        size={"shortest_edge": factor * factor, "longest_edge": 1280 * factor * factor},
        patch_size=patch,
        merge_size=2,
        temporal_patch_size=2,
    )
    return Qwen2VLImageOnlyProcessor(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=tokenizer.chat_template
    )


def build_model(size: str, tokenizer: Any, dtype: Any, device: Any) -> Any:
    """A randomly initialised Qwen2-VL of the given size, built on ``device`` (no download)."""
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    shapes = SIZES[size]
    text = dict(shapes["text"])
    rope = {
        "rope_type": "default",
        "rope_theta": text.pop("rope_theta"),
        "mrope_section": text.pop("mrope_section"),
    }
    text["vocab_size"] = text["vocab_size"] or len(tokenizer)
    ids = {name: tokenizer.convert_tokens_to_ids(token) for name, token in (
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>"))}  # fmt: skip
    config = Qwen2VLConfig(
        text_config={
            **text,
            "rope_parameters": rope,
            "max_position_embeddings": 32768,
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "bos_token_id": None,
        },
        vision_config={**shapes["vision"], "spatial_merge_size": 2, "temporal_patch_size": 2},
        tie_word_embeddings=shapes["tie_word_embeddings"],
        **ids,
    )
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2VLForConditionalGeneration._from_config(config, dtype=dtype)
    model.config.use_cache = False
    return model


def synthetic_examples(processor: Any, image_path: Path, seq_len: int, count: int) -> list[dict[str, Any]]:
    """``count`` copies of one role-play conversation about the image, about ``seq_len`` tokens in all."""
    from mmrole.train.collators import ChatCollator
    from mmrole.train.formatting import prompt_completion_example

    sentence = "As Sherlock Holmes, I observe that the man in the photo has travelled far. "
    collator = ChatCollator(processor)

    def example(words: int) -> dict[str, Any]:
        answer = " ".join(["Elementary, my dear Watson, the clues are all here."] * max(1, words // 40))
        return prompt_completion_example(
            "bench",
            system="You are Sherlock Holmes.",
            prompt=sentence * words,
            completion=answer,
            images=[str(image_path)],
        )

    words = 8
    while collator([example(words * 2)])["input_ids"].shape[1] <= seq_len:
        words *= 2
    low, high = words, words * 2
    while high - low > 1:  # the longest conversation that fits seq_len
        mid = (low + high) // 2
        low, high = (mid, high) if collator([example(mid)])["input_ids"].shape[1] <= seq_len else (low, mid)
    return [example(low)] * count


class StepTimer:
    """Times optimiser steps after a warm-up (CUDA-synchronised)."""

    def __init__(self, warmup: int):
        from transformers import TrainerCallback

        self.warmup, self.times = warmup, []
        timer = self

        class Callback(TrainerCallback):
            def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                timer._sync()
                timer.started = time.perf_counter()

            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                timer._sync()
                if state.global_step > timer.warmup:
                    timer.times.append(time.perf_counter() - timer.started)

        self.callback = Callback()

    @staticmethod
    def _sync() -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()


def peak_flops(device_name: str, override_tflops: float | None) -> float | None:
    if override_tflops:
        return override_tflops * 1e12
    for name, peak in PEAK_BF16.items():
        if name.lower() in device_name.lower():
            return peak
    return None


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    import trl
    from PIL import Image

    from mmrole.train.arguments import trainer_arguments
    from mmrole.train.base_config import build_config
    from mmrole.train.collators import ChatCollator
    from mmrole.train.examples import to_dataset
    from mmrole.train.modeling import freeze_vision_tower
    from mmrole.train.sft_config import SFTConfig

    size = "tiny" if args.tiny else args.size
    cuda = torch.cuda.is_available() and not args.tiny
    dtype = torch.bfloat16 if cuda else torch.float32
    processor = build_processor(size)
    workdir = Path(tempfile.mkdtemp(prefix="train-throughput-"))
    image = workdir / "image.png"
    Image.new("RGB", (args.image_size, args.image_size), (120, 80, 200)).save(image)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    steps = args.warmup + args.steps
    examples = synthetic_examples(
        processor, image, args.seq_len, steps * args.batch_size * args.grad_accum * world
    )
    first = ChatCollator(processor)(examples[:1])
    seq_len = int(first["input_ids"].shape[1])
    patches_per_image = [int(n) for n in first["image_grid_thw"].prod(-1).tolist()]

    config = build_config(
        SFTConfig,
        model=f"qwen2-vl-{size}-random",
        data="synthetic",
        output_dir=str(workdir / "run"),
        max_steps=steps,
        per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=args.grad_accum,
        gradient_checkpointing=not args.no_gradient_checkpointing,
        bf16=cuda,
        max_length=None,
        save_strategy="no",
        logging_steps=max(1, steps),
        learning_rate=1e-5,
        progress=False,
        trainer_args=f"optim={args.optim}",
        dataloader_num_workers=args.workers,
    )
    training_args = trainer_arguments(config, trl.SFTConfig, dataset_kwargs={"skip_prepare_dataset": True})
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if cuda else torch.device("cpu")
    # Under ZeRO-3 (accelerate launch), transformers shards the weights as _from_config creates them.
    model = build_model(size, processor.tokenizer, dtype, device)
    frozen = freeze_vision_tower(model)
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    text_shapes, vision_shapes = flops.qwen2vl_shapes(model)
    sequences = args.batch_size * args.grad_accum * world
    count = flops.step_flops(
        text_shapes, vision_shapes, seq_len=seq_len, patches_per_image=patches_per_image, sequences=sequences
    )
    timer = StepTimer(args.warmup)
    trainer = trl.SFTTrainer(
        model=model,
        args=training_args,
        train_dataset=to_dataset(examples, with_images=True),
        processing_class=processor,
        data_collator=ChatCollator(processor),
        callbacks=[timer.callback],
    )
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    step_s = sum(timer.times) / len(timer.times)
    tokens_per_step = seq_len * sequences
    tokens_per_s = tokens_per_step / step_s
    device_name = torch.cuda.get_device_name(device) if cuda else platform.processor() or "cpu"
    peak = peak_flops(device_name, args.peak_tflops)
    return {
        "model": f"Qwen2-VL-{size.upper()} shapes, random weights, {'bf16' if cuda else 'fp32'}",
        "device": f"{world} x {device_name}",
        "params": params,
        "trainable_params": trainable,
        "frozen_vision_tensors": len(frozen),
        "seq_len": seq_len,
        "patches_per_image": patches_per_image,
        "image_size": args.image_size,
        "batch": f"{args.batch_size} x {args.grad_accum} accumulation x {world} devices",
        "optim": args.optim,
        "dataloader_workers": args.workers,
        "gradient_checkpointing": not args.no_gradient_checkpointing,
        "timed_steps": len(timer.times),
        "step_s": step_s,
        "tokens_per_s": tokens_per_s,
        "flops_per_step": count.total,
        "flops_breakdown": dict(count.breakdown()),
        "mfu": count.total / step_s / (peak * world) if peak else None,
        "mfu_6n": flops.six_n_flops(params, seq_len, sequences) / step_s / (peak * world) if peak else None,
        "six_n_over_count": flops.six_n_flops(params, seq_len, sequences) / count.total,
        "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30 if cuda else None,
        "date": time.strftime("%Y-%m-%d"),
    }


#: What the section says when only the CPU smoke run was possible.
TINY_NOTE = (
    "**Smoke run only.** This is the `--tiny` CPU run (a 95k-parameter Qwen2-VL on a shared 2-core CPU): it shows "
    "the benchmark runs end to end, not a throughput figure. The Qwen2-VL-7B measurement (bf16, GPU) was **not run**: "
    "no GPU machine was lent to this task. To record it: "
    "`python benchmarks/train_throughput.py --results benchmarks/RESULTS.md` on one GPU, or "
    '`accelerate launch --config_file "$(mmrole train accelerate-config zero3)" benchmarks/train_throughput.py '
    "--results benchmarks/RESULTS.md` on 8."
)


def _count(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e8 else f"{n:,}"


def results_section(result: dict[str, Any], note: str | None = None) -> str:
    def percent(value: float | None) -> str:
        return f"{100 * value:.1f}%" if value is not None else "n/a (unknown peak FLOP/s)"

    total = result["flops_per_step"]
    breakdown = [
        f"| {name} | {value:.3g} | {100 * value / total:.1f}% |"
        for name, value in result["flops_breakdown"].items()
    ]
    memory = f"{result['peak_memory_gib']:.1f} GiB" if result["peak_memory_gib"] is not None else "n/a"
    return "\n".join(
        [
            MARK_START,
            "## Training throughput",
            "",
            *([note, ""] if note else []),
            f"`benchmarks/train_throughput.py`, measured {result['date']} on {result['device']}: {result['model']}, "
            f"{_count(result['params'])} parameters ({_count(result['trainable_params'])} trained, vision encoder "
            f"frozen), {result['seq_len']} tokens per sequence ({result['image_size']} px image), batch {result['batch']}, "
            f"{result['optim']}, gradient checkpointing {'on' if result['gradient_checkpointing'] else 'off'}.",
            "",
            "| tokens/s | MFU | (6N would say) | s/step | peak memory |",
            "| ---: | ---: | ---: | ---: | ---: |",
            f"| {result['tokens_per_s']:,.0f} | {percent(result['mfu'])} | {percent(result['mfu_6n'])} "
            f"| {result['step_s']:.3f} | {memory} |",
            "",
            "Model FLOPs per optimiser step, by component (`benchmarks/flops.py`, PaLM's convention; "
            f"activation recomputation not counted). 6 x all parameters per token would be "
            f"{result['six_n_over_count']:.2f}x this count.",
            "",
            "| component | FLOPs per step | share |",
            "| --- | ---: | ---: |",
            *breakdown,
            f"| total | {total:.3g} | 100% |",
            MARK_END,
        ]
    )


def write_section(path: Path, section: str) -> None:
    """Replace this benchmark's section of RESULTS.md (other sections are left alone)."""
    results_file.write_section(path, section, MARK_START, MARK_END)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=["7b", "2b"], default="7b", help="Qwen2-VL shapes to build.")
    parser.add_argument(
        "--tiny", action="store_true", help="CPU smoke run of the same code with a tiny Qwen2-VL."
    )
    parser.add_argument(
        "--seq-len", type=int, default=2048, help="Tokens per sequence, image tokens included."
    )
    parser.add_argument(
        "--image-size", type=int, default=448, help="Image side in pixels (448: 256 image tokens)."
    )
    parser.add_argument("--batch-size", type=int, default=1, help="Sequences per device per micro-batch.")
    parser.add_argument("--grad-accum", type=int, default=1, help="Micro-batches per optimiser step.")
    parser.add_argument(
        "--workers", type=int, default=0, help="Data-loader workers (collation off the training process)."
    )
    parser.add_argument("--warmup", type=int, default=3, help="Untimed steps first.")
    parser.add_argument("--steps", type=int, default=10, help="Timed optimiser steps.")
    parser.add_argument("--optim", default="adamw_torch_fused", help="transformers optimiser name.")
    parser.add_argument("--no-gradient-checkpointing", action="store_true")
    parser.add_argument(
        "--peak-tflops", type=float, help="Peak dense TFLOP/s per device, if the GPU is not known."
    )
    parser.add_argument("--json", type=Path, help="Also write the result as JSON here.")
    parser.add_argument("--results", type=Path, help="Write the training section of this RESULTS.md.")
    args = parser.parse_args()
    if args.tiny:
        args.seq_len, args.image_size, args.optim = min(args.seq_len, 256), 32, "adamw_torch"
    result = run(args)
    if int(os.environ.get("RANK", "0")) != 0:
        return
    print(json.dumps(result, indent=2))
    print("model FLOPs per step:")
    for name, value in result["flops_breakdown"].items():
        print(f"  {name:62} {value:12.4g}  {100 * value / result['flops_per_step']:5.1f}%")
    print(f"  {'total':62} {result['flops_per_step']:12.4g}  (6N: {result['six_n_over_count']:.2f}x that)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if args.results:
        write_section(args.results, results_section(result, TINY_NOTE if args.tiny else None))


if __name__ == "__main__":
    main()
