"""The training benchmark's per-component FLOP count (benchmarks/flops.py), against hand calculations."""

from __future__ import annotations

import importlib

import pytest


@pytest.fixture
def flops(benchmark_module):
    return benchmark_module("flops")


def test_step_flops_match_a_hand_calculation(flops):
    text = flops.TextShapes(matmul_params=1000, layers=2, attention_width=8)
    vision = flops.VisionShapes(encoder_params=300, adapter_params=50, depth=3, attention_width=4, merge=4)
    count = flops.step_flops(text, vision, seq_len=10, patches_per_image=[16, 8], sequences=2)
    # Per sequence: 6 * 1000 * 10 = 60,000 dense; 12 * 2 * 8 * 10 * 10 = 19,200 attention.
    assert count.text_dense == 2 * 60_000
    assert count.text_attention == 2 * 19_200
    # Images of 16 and 8 patches, forward only: 2 * 300 * (16 + 8) = 14,400 ...
    assert count.vision_dense == 2 * 14_400
    # ... 4 * 3 * 4 * (16^2 + 8^2) = 48 * 320 = 15,360 for their attention ...
    assert count.vision_attention == 2 * 15_360
    # ... and the trained merger on (16 + 8) / 4 = 6 merged tokens: 4 * 50 * 6 = 1,200.
    assert count.adapter == 2 * 1_200
    assert count.total == 2 * (60_000 + 19_200 + 14_400 + 15_360 + 1_200)
    assert [flops for _, flops in count.breakdown()] == [
        count.text_dense,
        count.text_attention,
        count.vision_dense,
        count.vision_attention,
        count.adapter,
    ]


def test_a_text_only_model_has_no_vision_flops(flops):
    text = flops.TextShapes(matmul_params=7, layers=1, attention_width=2)
    count = flops.step_flops(text, None, seq_len=3, patches_per_image=[], sequences=1)
    assert count.total == 6 * 7 * 3 + 12 * 1 * 2 * 3 * 3


def test_shapes_of_a_tiny_qwen2vl_match_a_hand_count(flops):
    """The tiny Qwen2-VL of the benchmark's --tiny run, its parameters counted by hand."""
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    vocab, d, ff = 100, 32, 64
    config = Qwen2VLConfig(
        text_config=dict(
            vocab_size=vocab, hidden_size=d, intermediate_size=ff, num_hidden_layers=2,
            num_attention_heads=2, num_key_value_heads=1, bos_token_id=None, eos_token_id=None,
            rope_parameters={"rope_type": "default", "rope_theta": 1e4, "mrope_section": [2, 3, 3]},
        ),
        vision_config=dict(depth=1, embed_dim=16, hidden_size=d, num_heads=2, mlp_ratio=2, patch_size=8,
                           spatial_merge_size=2, temporal_patch_size=2),
        tie_word_embeddings=True,
    )  # fmt: skip
    model = Qwen2VLForConditionalGeneration._from_config(config)
    text, vision = flops.qwen2vl_shapes(model)

    # A decoder layer: q (32x32 + bias), k and v (one 16-wide KV head: 32x16 + bias each), o (32x32),
    # gate/up/down (3 x 32x64), two RMSNorms (2 x 32).
    layer = (d * d + d) + 2 * (d * 16 + 16) + d * d + 3 * d * ff + 2 * d
    assert layer == 9_344
    # Two layers, the final norm, and the (tied) 100 x 32 logits matmul; no input embedding.
    assert text.matmul_params == 2 * layer + d + vocab * d
    assert (text.layers, text.attention_width) == (2, 32)

    e = 16
    patch_embed = 3 * 2 * 8 * 8 * e  # Conv3d over 3 channels x 2 frames x 8 x 8 pixels, no bias
    # A block: two LayerNorms, qkv (16x48 + bias), proj (16x16 + bias), fc1 (16x32 + bias), fc2 (32x16 + bias).
    block = 2 * 2 * e + (e * 3 * e + 3 * e) + (e * e + e) + (e * 2 * e + 2 * e) + (2 * e * e + e)
    assert vision.encoder_params == patch_embed + block
    # The merger: LayerNorm(16), then 64 -> 64 -> 32 (four patches of 16 concatenated).
    assert vision.adapter_params == 2 * e + (64 * 64 + 64) + (64 * d + d)
    assert (vision.depth, vision.attention_width, vision.merge) == (1, e, 4)


def test_six_n_overstated_a_2b_qwen2vl_by_a_fifth(flops):
    """Qwen2-VL-2B's shapes (built on the meta device, nothing allocated): 6 x all parameters per token
    charged the frozen tower and the embedding lookup as trained matmuls on every token."""
    import torch

    train_throughput = importlib.import_module("train_throughput")
    processor = train_throughput.build_processor("2b")
    model = train_throughput.build_model("2b", processor.tokenizer, torch.bfloat16, torch.device("meta"))
    text, vision = flops.qwen2vl_shapes(model)
    params = sum(p.numel() for p in model.parameters())
    assert 2.20e9 < params < 2.22e9  # Qwen2-VL-2B-Instruct: 2.21B
    assert (text.layers, text.attention_width, vision.depth) == (28, 1536, 32)
    # 448 px image: 32 x 32 patches, 256 merged tokens, in a 2,048-token sequence.
    count = flops.step_flops(text, vision, seq_len=2048, patches_per_image=[1024], sequences=1)
    assert 1.15 < flops.six_n_flops(params, 2048, 1) / count.total < 1.25
    assert count.text_attention / count.total > 0.09  # the part 6N left out
