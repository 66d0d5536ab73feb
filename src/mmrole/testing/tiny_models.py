"""Tiny randomly initialised models, built offline, for tests and smoke runs.

Each builder writes a complete transformers folder (config, safetensors weights,
tokenizer, processor and chat template) that loads through the ordinary
``hf:PATH`` backend and through the training code, in a second or two on CPU.
The weights are random, so the answers are gibberish, but every code path
(chat templates, image tokens, padding, generation, training steps) is real.

    >>> from mmrole.testing.tiny_models import build_tiny_llava
    >>> folder = build_tiny_llava(tmp_path / "llava")          # doctest: +SKIP
    >>> backend = mmrole.models.hf.HFBackend(folder)           # doctest: +SKIP

The tokenizer is a byte-level BPE trained with ``tokenizers`` on a small built-in
corpus; it carries the special tokens of all three VLM families and a ChatML chat
template. Image processors are the PIL ones (no torchvision needed). The Qwen2-VL
folder names ``Qwen2VLImageOnlyProcessor`` (see :mod:`mmrole.models.hf_processors`),
which importing ``mmrole.models.hf`` or this module registers with ``AutoProcessor``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "build_tiny_causal_lm",
    "build_tiny_idefics3",
    "build_tiny_llava",
    "build_tiny_qwen2vl",
    "build_tiny_tokenizer",
]

#: Seed of every tiny model's random weights, so two builds give the same model.
SEED = 1234

_CORPUS = [
    "I am Iron Man, and this suit is the best thing I have ever built.",
    "The image shows a quiet street at night, lit by a single lamp.",
    "Hello! What do you see in this picture? Tell me about the colours.",
    "As Sherlock Holmes, I observe that the man in the photo has travelled far.",
    "The sky is blue, the grass is green, and the sun is shining brightly.",
    "Please describe the scene and answer in character, with your usual tone.",
    "孙悟空说：俺老孙来也！这幅图里有山有水。",
    "A curious human asks the character a question about the image.",
    "Scores: 1 2 3 4 5 6 7 8 9 10. The answer is good, fluent and coherent.",
    "Thank you, that was a wonderful conversation. Goodbye for now!",
]

_BASE_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# The image tokens of LLaVA, Idefics3/SmolVLM and Qwen2-VL, so one tokenizer serves all three.
_IMAGE_SPECIAL = [
    "<image>",
    "<fake_token_around_image>",
    "<end_of_utterance>",
    "<global-img>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'text' -%}{{ part['text'] }}"
    "{%- elif part['type'] == 'image' -%}{{ 'IMAGE_PLACEHOLDER' }}"
    "{%- endif -%}{%- endfor -%}{%- endif -%}"
    "{{ '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)


def chat_template(image_placeholder: str = "") -> str:
    """A ChatML chat template rendering each image part as ``image_placeholder``."""
    return _CHAT_TEMPLATE.replace("IMAGE_PLACEHOLDER", image_placeholder)


def build_tiny_tokenizer(image_placeholder: str = "", vocab_size: int = 512) -> Any:
    """Train a byte-level BPE tokenizer on the built-in corpus and wrap it for transformers.

    Args:
        image_placeholder: What the chat template writes for an image part.
        vocab_size: BPE vocabulary size (special tokens included).

    Returns:
        A ``PreTrainedTokenizerFast`` with ChatML chat template, ``<|im_end|>`` as eos
        and ``<|endoftext|>`` as pad, padding on the left (what batched generation needs).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=_BASE_SPECIAL + _IMAGE_SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_CORPUS, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        padding_side="left",
        chat_template=chat_template(image_placeholder),
    )


def _text_config(tokenizer: Any, **overrides: Any) -> Any:
    """A two-layer, 32-wide Llama text config sized to the tokenizer."""
    from transformers import LlamaConfig

    settings: dict[str, Any] = dict(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
    )
    settings.update(overrides)
    return LlamaConfig(**settings)


def _save(model: Any, processor_or_tokenizer: Any, folder: Path) -> Path:
    """Save weights, processor/tokenizer and generation defaults (greedy, stop at ``<|im_end|>``)."""
    tokenizer = getattr(processor_or_tokenizer, "tokenizer", processor_or_tokenizer)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = None
    model.generation_config.do_sample = False
    model.save_pretrained(folder)
    processor_or_tokenizer.save_pretrained(folder)
    return folder


def _seeded() -> None:
    import torch

    torch.manual_seed(SEED)


def build_tiny_causal_lm(folder: str | Path) -> Path:
    """A text-only Llama causal LM (2 layers, hidden 32) with a ChatML tokenizer.

    Args:
        folder: Where to save it (created if missing).

    Returns:
        ``folder`` as a Path, loadable with ``AutoModelForCausalLM`` / ``HFBackend``.
    """
    from transformers import LlamaForCausalLM

    folder = Path(folder)
    tokenizer = build_tiny_tokenizer()
    _seeded()
    model = LlamaForCausalLM(_text_config(tokenizer))
    return _save(model, tokenizer, folder)


def build_tiny_llava(folder: str | Path) -> Path:
    """A LLaVA model: tiny CLIP vision tower (32 px images, 16 px patches) and a tiny Llama.

    Each image becomes 4 ``<image>`` tokens (a 2x2 patch grid, CLS dropped).

    Args:
        folder: Where to save it (created if missing).

    Returns:
        ``folder`` as a Path, loadable with ``AutoModelForImageTextToText`` / ``HFBackend``.
    """
    from transformers import CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
    from transformers.models.llava.image_processing_pil_llava import LlavaImageProcessorPil

    folder = Path(folder)
    tokenizer = build_tiny_tokenizer("<image>")
    image_size, patch_size = 32, 16
    vision = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=image_size,
        patch_size=patch_size,
        projection_dim=32,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=_text_config(tokenizer),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        image_seq_length=(image_size // patch_size) ** 2,
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    _seeded()
    model = LlavaForConditionalGeneration(config)
    image_processor = LlavaImageProcessorPil(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=patch_size,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=tokenizer.chat_template,
    )
    return _save(model, processor, folder)


def build_tiny_idefics3(folder: str | Path) -> Path:
    """An Idefics3 (SmolVLM-class) model: tiny SigLIP-style vision tower (32 px, 8 px patches), tiny Llama.

    Image splitting is off, so each image is one 32 px frame of 4 ``<image>`` tokens (scale factor 2).

    Args:
        folder: Where to save it (created if missing).

    Returns:
        ``folder`` as a Path, loadable with ``AutoModelForImageTextToText`` / ``HFBackend``.
    """
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor
    from transformers.models.idefics3.configuration_idefics3 import Idefics3VisionConfig
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    folder = Path(folder)
    tokenizer = build_tiny_tokenizer("<image>")
    image_size, patch_size, scale_factor = 32, 8, 2
    vision = Idefics3VisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=image_size,
        patch_size=patch_size,
    )
    config = Idefics3Config(
        vision_config=vision,
        text_config=_text_config(tokenizer),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        scale_factor=scale_factor,
        # A deprecated field that Idefics3Config.__post_init__ still takes from **kwargs (default
        # 128002, outside the tiny vocabulary); its dataclass fields do not list it.
        pad_token_id=tokenizer.pad_token_id,  # type: ignore[call-arg]
    )
    _seeded()
    model = Idefics3ForConditionalGeneration(config)
    image_processor = Idefics3ImageProcessorPil(
        size={"longest_edge": image_size},
        max_image_size={"longest_edge": image_size},
        do_image_splitting=False,
    )
    processor = Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=((image_size // patch_size) ** 2) // scale_factor**2,
        chat_template=tokenizer.chat_template,
    )
    return _save(model, processor, folder)


def build_tiny_qwen2vl(folder: str | Path) -> Path:
    """A Qwen2-VL model: one-block vision tower (8 px patches, 2x2 merge) and a two-layer text model.

    Images are resized to between 16x16 and 32x32 px, i.e. 1 to 4 ``<|image_pad|>`` tokens.
    The processor is :class:`~mmrole.models.hf_processors.Qwen2VLImageOnlyProcessor` (no video
    processor, so no torchvision).

    Args:
        folder: Where to save it (created if missing).

    Returns:
        ``folder`` as a Path, loadable with ``AutoModelForImageTextToText`` / ``HFBackend``.
    """
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    # lazy: pulls torch
    from mmrole.models.hf_processors import Qwen2VLImageOnlyProcessor

    folder = Path(folder)
    tokenizer = build_tiny_tokenizer("<|vision_start|><|image_pad|><|vision_end|>")
    patch_size, merge_size, hidden = 8, 2, 32
    head_dim = hidden // 2
    text = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        # M-RoPE splits each head's rotary half into (time, height, width) sections.
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    assert sum(text["rope_parameters"]["mrope_section"]) == head_dim // 2
    vision = dict(
        depth=1,
        embed_dim=32,
        hidden_size=hidden,
        num_heads=2,
        mlp_ratio=2,
        patch_size=patch_size,
        spatial_merge_size=merge_size,
        temporal_patch_size=2,
    )
    config = Qwen2VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=tokenizer.convert_tokens_to_ids("<|image_pad|>"),
        video_token_id=tokenizer.convert_tokens_to_ids("<|video_pad|>"),
        vision_start_token_id=tokenizer.convert_tokens_to_ids("<|vision_start|>"),
        vision_end_token_id=tokenizer.convert_tokens_to_ids("<|vision_end|>"),
    )
    _seeded()
    model = Qwen2VLForConditionalGeneration(config)
    factor = patch_size * merge_size
    image_processor = Qwen2VLImageProcessorPil(
        size={"shortest_edge": factor * factor, "longest_edge": (2 * factor) ** 2},
        patch_size=patch_size,
        merge_size=merge_size,
        temporal_patch_size=2,
    )
    processor = Qwen2VLImageOnlyProcessor(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=tokenizer.chat_template
    )
    return _save(model, processor, folder)
