"""Model FLOPs of one SFT step of a vision-language model, counted per component (for MFU).

The convention is PaLM's (Chowdhery et al. 2022, appendix B), which refines Kaplan et al. 2020
and Chinchilla (Hoffmann et al. 2022, appendix F): a matmul with an ``m x n`` weight costs
``2mn`` FLOPs per input row forward and ``4mn`` backward (the gradients of its input and of
its weight), so a trained dense layer costs 6 FLOPs per token per parameter; attention adds
its two activation-by-activation products. Model FLOPs count what the model needs, not what an
implementation does: activation recomputation (gradient checkpointing) is not counted (that
would be hardware FLOPs), nor is the causal mask used to halve attention (PaLM counts the
full ``T x T`` products).

Per sequence of ``T`` tokens (image tokens included) with images of ``P`` patches each:

* **trained language model**, dense: ``6 * N_text * T``. ``N_text`` is every parameter of the
  decoder layers plus the output projection (``vocab x d_model``, counted even when tied to the
  input embeddings, because the logits matmul runs either way); the input embedding lookup is
  a gather, not a matmul, and is excluded.
* **trained language model**, attention: ``12 * L * A * T`` per token, i.e. ``12 * L * A * T^2``
  per sequence, with ``L`` layers and ``A = heads x head_dim`` the query width. Forward,
  ``QK^T`` and ``softmax(QK^T) V`` cost ``2 * T * A`` FLOPs each per token and layer; backward
  doubles that (gradients of both operands of each product): ``3 * 4 = 12``.
* **frozen vision encoder** (patch embedding and blocks): forward only, ``2 * N_vision`` per
  patch; its input (pixels) needs no gradient and its weights are frozen, so no backward runs.
  Its attention (full, within each image): ``4 * depth * d_vision * P`` per patch, forward only.
* **trained adapter** (Qwen2-VL's patch merger, trained by ``freeze_vision_tower``): it runs on
  merged tokens (``P / merge`` per image), ``2`` forward plus ``2`` for its weight gradient per
  merged token per parameter; the gradient of its input is not needed (everything below it is
  frozen), so ``4``, not 6.

The count itself (:func:`step_flops`) is pure arithmetic, unit-tested against a hand
calculation; :func:`qwen2vl_shapes` reads the shapes off a built model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TextShapes:
    """The trained language model, as the FLOP count sees it.

    Attributes:
        matmul_params: Decoder-layer parameters plus the output projection (input embeddings excluded).
        layers: Decoder layers.
        attention_width: Query heads x head dim (``A``).
    """

    matmul_params: int
    layers: int
    attention_width: int


@dataclass(frozen=True)
class VisionShapes:
    """The frozen vision encoder and its trained adapter.

    Attributes:
        encoder_params: Patch embedding and blocks (frozen, forward only, once per patch).
        adapter_params: The trained adapter (patch merger), once per merged token.
        depth: Encoder blocks.
        attention_width: The encoder's attention width (its embedding dim for Qwen2-VL).
        merge: Patches per merged token (``spatial_merge_size ** 2``: 4 for Qwen2-VL).
    """

    encoder_params: int
    adapter_params: int
    depth: int
    attention_width: int
    merge: int


@dataclass(frozen=True)
class FlopCount:
    """Model FLOPs of one step, by component."""

    text_dense: float
    text_attention: float
    vision_dense: float
    vision_attention: float
    adapter: float

    @property
    def total(self) -> float:
        return (
            self.text_dense + self.text_attention + self.vision_dense + self.vision_attention + self.adapter
        )

    def breakdown(self) -> list[tuple[str, float]]:
        """``(component, FLOPs)`` rows, largest first as laid out in the module docstring."""
        return [
            ("language model, dense (6 per token per parameter)", self.text_dense),
            ("language model, attention (12 L A T per token)", self.text_attention),
            ("vision encoder, frozen, forward (2 per patch per parameter)", self.vision_dense),
            ("vision encoder, attention, forward (4 depth d P per patch)", self.vision_attention),
            ("patch merger, trained (4 per merged token per parameter)", self.adapter),
        ]


def step_flops(
    text: TextShapes,
    vision: VisionShapes | None,
    *,
    seq_len: int,
    patches_per_image: list[int],
    sequences: int,
) -> FlopCount:
    """Model FLOPs of a training step over ``sequences`` equal sequences (see the module docstring).

    Args:
        text: The language model's shapes.
        vision: The vision side's shapes (None for a text-only model).
        seq_len: Tokens per sequence, image tokens included (``T``).
        patches_per_image: Patches of each image of one sequence (``P``, before merging).
        sequences: Sequences per optimiser step, over all devices and accumulation steps.
    """
    t = seq_len
    text_dense = 6 * text.matmul_params * t
    text_attention = 12 * text.layers * text.attention_width * t * t
    vision_dense = vision_attention = adapter = 0
    if vision is not None:
        for p in patches_per_image:
            vision_dense += 2 * vision.encoder_params * p
            vision_attention += 4 * vision.depth * vision.attention_width * p * p
            adapter += 4 * vision.adapter_params * (p // vision.merge)
    return FlopCount(
        *(
            float(sequences * flops)
            for flops in (text_dense, text_attention, vision_dense, vision_attention, adapter)
        )
    )


def six_n_flops(params: int, seq_len: int, sequences: int) -> float:
    """The old approximation: 6 FLOPs per token for every parameter, attention left out."""
    return float(6 * params * seq_len * sequences)


def qwen2vl_shapes(model: Any) -> tuple[TextShapes, VisionShapes]:
    """The FLOP-count shapes of a built Qwen2-VL (``Qwen2VLForConditionalGeneration``)."""
    config = model.config
    text_config, vision_config = config.get_text_config(), config.vision_config
    visual = model.model.visual

    def count(module: Any) -> int:
        return sum(p.numel() for p in module.parameters())

    embeddings = model.get_input_embeddings().weight
    output = model.get_output_embeddings().weight
    outside_tower = sum(
        p.numel() for name, p in model.named_parameters() if not name.startswith("model.visual.")
    )
    # named_parameters lists a tied weight once (as the input embedding): add the logits matmul back.
    matmul = outside_tower - embeddings.numel() + (output.numel() if output is embeddings else 0)
    head_dim = (
        getattr(text_config, "head_dim", None) or text_config.hidden_size // text_config.num_attention_heads
    )
    text = TextShapes(
        matmul_params=matmul,
        layers=text_config.num_hidden_layers,
        attention_width=text_config.num_attention_heads * head_dim,
    )
    vision = VisionShapes(
        encoder_params=count(visual.patch_embed) + count(visual.blocks),
        adapter_params=count(visual.merger),
        depth=vision_config.depth,
        attention_width=vision_config.embed_dim,
        merge=vision_config.spatial_merge_size**2,
    )
    return text, vision
