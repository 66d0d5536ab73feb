"""Loading the model to train, freezing its vision encoder, LoRA settings, and saving the result.

Any ``AutoModelForImageTextToText`` model trains (LLaVA, Qwen2-VL/2.5-VL, Idefics3/SmolVLM,
Gemma 3...); a text-only ``AutoModelForCausalLM`` also does, with images dropped. The saved
folder holds the weights, the processor or tokenizer and the chat template, so
``hf:OUTPUT_DIR`` loads it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mmrole.errors import ConfigError

logger = logging.getLogger(__name__)

#: Submodules of a vision encoder that are the vision-language adapter, trained even when the
#: encoder is frozen (Qwen-VL's resampler, which MMRole trained; Qwen2-VL's patch merger).
ADAPTER_NAMES = ("attn_pool", "merger")


def resolve_dtype(name: str | None) -> Any:
    """``"bfloat16"``/``"float32"``/... as a torch dtype (``None`` stays ``None``)."""
    import torch

    if name is None:
        return None
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise ConfigError(f"unknown dtype {name!r}")
    return dtype


#: Vision-language model types whose stock processor needs torchvision (for videos) but that
#: train on images with mmrole's image-only processor.
IMAGE_ONLY_PROCESSORS = {"qwen2_vl": "Qwen2VLImageOnlyProcessor", "qwen2_5_vl": "Qwen2VLImageOnlyProcessor"}


def load_processor(path: str, *, trust_remote_code: bool = False) -> Any:
    """The model's processor (vision-language) or tokenizer (text-only), ready for right-padded training.

    Raises:
        ConfigError: No processor or tokenizer can be loaded, or there is no chat template.
    """
    from transformers import AutoConfig, AutoProcessor, AutoTokenizer
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    # lazy: pulls torch; the import registers mmrole's processor classes with AutoProcessor
    from mmrole.models import hf_processors

    remote = {"trust_remote_code": trust_remote_code}
    try:
        model_type = AutoConfig.from_pretrained(path, **remote).model_type
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read the model config of {path}: {err}") from None
    try:
        if model_type not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
            processor = AutoTokenizer.from_pretrained(path, **remote)
        else:
            try:
                processor = AutoProcessor.from_pretrained(path, **remote)
            except (OSError, ImportError, ValueError, TypeError, AttributeError):
                if model_type not in IMAGE_ONLY_PROCESSORS:
                    raise
                # The stock processor wants a video processor (torchvision); images need only PIL.
                processor = getattr(hf_processors, IMAGE_ONLY_PROCESSORS[model_type]).from_pretrained(path)
    except (OSError, ImportError, ValueError, TypeError, AttributeError) as err:
        raise ConfigError(f"cannot load the processor/tokenizer of {path}: {err}") from None
    tokenizer = getattr(processor, "tokenizer", processor)
    if getattr(processor, "chat_template", None) is None and getattr(tokenizer, "chat_template", None):
        processor.chat_template = tokenizer.chat_template
    if getattr(processor, "chat_template", None) is None:
        raise ConfigError(f"{path} has no chat template: training needs one to format conversations")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return processor


def is_vision_model_config(path: str, *, trust_remote_code: bool = False) -> bool:
    """Whether the model at ``path`` is an image-text-to-text model (else a text-only causal LM)."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
    return config.model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES


def load_model(
    path: str,
    *,
    dtype: Any = None,
    attn_implementation: str | None = None,
    trust_remote_code: bool = False,
    load_in_4bit: bool = False,
) -> Any:
    """Load the model to train: ``AutoModelForImageTextToText``, else ``AutoModelForCausalLM``.

    Raises:
        ConfigError: The model cannot be loaded, or 4-bit loading lacks bitsandbytes/CUDA.
    """
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if dtype is not None:
        kwargs["dtype"] = dtype
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if load_in_4bit:
        kwargs["quantization_config"] = qlora_quantization_config(dtype)
    auto = (
        AutoModelForImageTextToText
        if is_vision_model_config(path, trust_remote_code=trust_remote_code)
        else AutoModelForCausalLM
    )
    try:
        model = auto.from_pretrained(path, **kwargs)
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot load model {path}: {err}") from None
    model.config.use_cache = False  # no KV cache while training (and it clashes with gradient checkpointing)
    return model


def qlora_quantization_config(compute_dtype: Any) -> Any:
    """QLoRA's 4-bit NF4 quantisation with double quantisation.

    Raises:
        ConfigError: bitsandbytes is missing or there is no CUDA GPU.
    """
    import importlib.util

    import torch

    if importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError("--qlora needs bitsandbytes: pip install bitsandbytes")
    if not torch.cuda.is_available():
        raise ConfigError("--qlora needs a CUDA GPU")
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype or torch.bfloat16,
    )


def vision_tower_name(model: Any) -> str | None:
    """Qualified name of the model's vision encoder (``model.visual``, ``model.vision_tower``...), or None."""
    get_encoder = getattr(model, "get_encoder", None)
    if get_encoder is None:
        return None
    try:
        tower = get_encoder(modality="image")
    except (TypeError, ValueError):
        return None
    if tower is model or tower is getattr(model, "base_model", None):
        return None
    for name, module in model.named_modules():
        if module is tower:
            return name
    return None


def freeze_vision_tower(model: Any) -> list[str]:
    """Freeze the vision encoder's parameters except its adapter (:data:`ADAPTER_NAMES`).

    Returns:
        The names of the frozen parameters (empty for a text-only model).
    """
    tower = vision_tower_name(model)
    if tower is None:
        return []
    frozen = []
    for name, param in model.named_parameters():
        inside = name.startswith(tower + ".")
        adapter = any(f".{part}." in f".{name}." for part in ADAPTER_NAMES)
        if inside and not adapter:
            param.requires_grad_(False)
            frozen.append(name)
    return frozen


def lora_config(
    model: Any, *, r: int, alpha: int, dropout: float, targets: str | list[str], skip_vision_tower: bool
) -> Any:
    """A peft ``LoraConfig`` for causal LM training, leaving the vision encoder out when asked."""
    import re

    from peft import LoraConfig

    exclude = None
    tower = vision_tower_name(model) if skip_vision_tower else None
    if tower is not None:
        exclude = rf"{re.escape(tower)}(\..*)?"
    return LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=targets,
        exclude_modules=exclude,
        task_type="CAUSAL_LM",
    )


def save_final_model(
    trainer: Any, output_dir: Path, *, base_model: str, merge_lora: bool, dtype: Any
) -> Path:
    """Save the trained model, processor and chat template so ``hf:OUTPUT_DIR`` loads it.

    With LoRA, the adapter goes to ``OUTPUT_DIR/adapter``; merged into the base weights
    (``merge_lora``) the full model goes to ``OUTPUT_DIR``, else the adapter is saved there too
    (transformers loads adapter folders when peft is installed).

    Returns:
        The folder to load the model from.
    """
    from accelerate.utils import is_peft_model

    is_lora = is_peft_model(trainer.model)
    if not is_lora:
        trainer.save_model(str(output_dir))
        return output_dir
    adapter_dir = output_dir / "adapter"
    trainer.save_model(str(adapter_dir))
    if not merge_lora:
        trainer.save_model(str(output_dir))
        return output_dir
    trainer.accelerator.wait_for_everyone()
    if trainer.accelerator.is_main_process:
        merge_adapter(
            base_model,
            adapter_dir,
            output_dir,
            processor=trainer.processing_class,
            dtype=dtype,
            trust_remote_code=trainer.args.trust_remote_code,
        )
    trainer.accelerator.wait_for_everyone()
    return output_dir


def merge_adapter(
    base_model: str,
    adapter_dir: Path,
    output_dir: Path,
    *,
    processor: Any,
    dtype: Any,
    trust_remote_code: bool,
) -> None:
    """Load the base model on CPU, merge the LoRA adapter into it and save model + processor.

    Done from the saved files (not the in-memory, possibly sharded, model) so it works the same
    after single-GPU, DDP and DeepSpeed ZeRO-3 runs.
    """
    from peft import PeftModel
    from transformers.integrations import deepspeed as hf_deepspeed

    # Only the main process merges: ZeRO-3's sharded loading (a collective) must stay off meanwhile.
    zero3 = hf_deepspeed._hf_deepspeed_config_weak_ref
    hf_deepspeed.unset_hf_deepspeed_config()
    try:
        model = load_model(base_model, dtype=dtype, trust_remote_code=trust_remote_code)
    finally:
        hf_deepspeed._hf_deepspeed_config_weak_ref = zero3
    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    merged.config.use_cache = True
    merged.save_pretrained(str(output_dir))
    processor.save_pretrained(str(output_dir))
