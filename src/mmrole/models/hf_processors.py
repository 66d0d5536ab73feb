"""Processor classes mmrole registers with transformers' ``AutoProcessor``.

``Qwen2VLImageOnlyProcessor`` is Qwen2-VL's processor without the video
processor: transformers' video processors need torchvision, which CPU-only
installs often lack, while images only need the PIL image processor.

Importing this module (``mmrole.models.hf`` and ``mmrole.testing.tiny_models``
import it) registers the class, so that ``AutoProcessor.from_pretrained(folder)``
finds it by the ``processor_class`` name saved in the folder's
``processor_config.json``. To use a folder saved with it outside mmrole's
loaders, ``import mmrole.models.hf_processors`` first.
"""

from __future__ import annotations

from typing import Any

from transformers import ProcessorMixin
from transformers.models.auto.processing_auto import PROCESSOR_MAPPING
from transformers.models.qwen2_vl.processing_qwen2_vl import Qwen2VLProcessor

__all__ = ["Qwen2VLImageOnlyProcessor", "register_processors"]


class Qwen2VLImageOnlyProcessor(Qwen2VLProcessor):
    """Qwen2-VL / Qwen2.5-VL processor for images and text only (no video processor, no torchvision).

    Args:
        image_processor: A Qwen2-VL image processor (the PIL one works without torchvision).
        tokenizer: The model's tokenizer, with ``<|image_pad|>`` among its tokens.
        chat_template: The chat template, rendering image parts as
            ``<|vision_start|><|image_pad|><|vision_end|>``.
    """

    def __init__(
        self,
        image_processor: Any = None,
        tokenizer: Any = None,
        chat_template: str | None = None,
        **kwargs: Any,
    ):
        # Qwen2VLProcessor.__init__ passes a video processor on to ProcessorMixin, whose
        # attribute list comes from *this* signature; so set its token fields here and skip it.
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
        self.image_token_id = getattr(tokenizer, "image_token_id", None) or tokenizer.convert_tokens_to_ids(
            self.image_token
        )
        self.video_token_id = getattr(tokenizer, "video_token_id", None) or tokenizer.convert_tokens_to_ids(
            self.video_token
        )
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)


def register_processors() -> None:
    """Make mmrole's processor classes findable by name from ``AutoProcessor.from_pretrained``.

    transformers looks names up among its own processors and then among registered
    extras; registering under a string key (not a config class) leaves every stock
    model type mapped to its stock processor.
    """
    for processor_class in (Qwen2VLImageOnlyProcessor,):
        # _LazyAutoMapping.register types its value as the tokenizers' (slow, fast) pair; the processor
        # mapping holds one class (AutoProcessor.register passes one too).
        PROCESSOR_MAPPING.register(
            f"mmrole:{processor_class.__name__}",
            processor_class,  # type: ignore[arg-type]
            exist_ok=True,
        )


register_processors()
