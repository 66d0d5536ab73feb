"""Local transformers models: vision-language models and text-only causal LMs.

``HFBackend(path)`` loads a saved model folder (or a cached Hub id):

* vision-language models (any type ``AutoModelForImageTextToText`` knows: Qwen2-VL,
  Qwen2.5-VL, LLaVA, LLaVA-NeXT, Idefics3, SmolVLM...) with ``AutoProcessor`` and the
  model's own chat template; images go in as PIL images;
* text-only causal LMs (``AutoModelForCausalLM``) with the tokenizer's chat template;
  images are bridged as text (:mod:`mmrole.models.image_bridge`) and the completion's
  ``metadata["image_bridge"]`` says how.

Concurrent ``generate()`` calls are micro-batched (:mod:`mmrole.models.microbatch`)
into left-padded batches run in a worker thread. Temperature 0 is greedy decoding;
a seed with temperature > 0 seeds torch's generator (such a request runs alone, so
its draw does not depend on what it was batched with).

Importing this module registers mmrole's processors with ``AutoProcessor``
(see :mod:`mmrole.models.hf_processors`), which needs transformers; the package
``mmrole.models`` itself never imports this module eagerly.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mmrole.errors import BackendError, ConfigError
from mmrole.models import hf_processors, prefix_cache
from mmrole.models.backend_options import HFOptions, convert_options
from mmrole.models.base import Backend, Completion, GenerationParams, Message
from mmrole.models.hf_completion import completion_from_ids
from mmrole.models.hf_stream import stream_reply
from mmrole.models.image_bridge import bridge_messages, image_url_of, load_image
from mmrole.models.microbatch import ALONE, MicroBatcher
from mmrole.models.prefix_cache import generate_with_shared_prefix, group_by_prefix, shared_prefix_length

__all__ = ["HFBackend", "select_device", "select_dtype"]

# Model types whose stock processor needs torchvision (for videos) but that work with images alone.
_IMAGE_ONLY_FALLBACK = {
    "qwen2_vl": hf_processors.Qwen2VLImageOnlyProcessor,
    "qwen2_5_vl": hf_processors.Qwen2VLImageOnlyProcessor,
}


def select_device(device: str = "auto") -> str:
    """``auto`` picks cuda, then mps, then cpu; anything else is passed through."""
    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def select_dtype(dtype: str | torch.dtype = "auto", device: str = "cpu") -> torch.dtype:
    """``auto`` is bfloat16 on cuda, float16 on mps and float32 on cpu; names like ``bf16`` work too."""
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32", "float": "float32"}
    if dtype == "auto":
        kind = device.split(":")[0]
        return torch.bfloat16 if kind == "cuda" else torch.float16 if kind == "mps" else torch.float32
    resolved = getattr(torch, names.get(dtype, dtype), None)
    if not isinstance(resolved, torch.dtype) or not resolved.is_floating_point:
        raise ConfigError(f"unknown dtype {dtype!r}: use auto, bfloat16, float16 or float32")
    return resolved


@dataclass
class _Request:
    """One conversation ready for the model: rendered prompt text and its images, in order."""

    text: str
    params: GenerationParams
    images: list[Any] = field(default_factory=list)
    bridge: str | None = None


def _batch_key(request: _Request) -> Hashable:
    """Requests with equal keys share a ``generate()`` call; seeded sampling runs alone."""
    params = request.params
    common = (params.max_tokens, params.stop, params.logprobs, params.top_logprobs)
    if params.temperature <= 0:
        return ("greedy", *common)
    if params.seed is not None:
        return ALONE
    return ("sample", params.temperature, params.top_p, *common)


class HFBackend(Backend):
    """A local transformers model behind the :class:`~mmrole.models.base.Backend` protocol.

    Args:
        path: A model folder (or a Hub id already in the local cache).
        device: ``auto`` (cuda > mps > cpu), or a torch device string.
        dtype: ``auto`` (bf16 on cuda, fp32 on cpu) or a dtype name.
        max_batch_size: Most concurrent requests answered in one padded batch.
        batch_wait_ms: How long a request waits for others to batch with.
        device_map: Spread the model over devices with accelerate (``auto``, or a map of module
            names to devices); inputs go to the device of its first parameters.
        spec: The backend's identity in cache keys; defaults to ``hf:PATH``.
        trust_remote_code: Passed to transformers (off by default).

    The options of an ``hf:`` spec (``--agent-arg dtype=bfloat16``) are :class:`HFOptions`'s.

    Raises:
        ConfigError: The model cannot be loaded (missing folder, unknown architecture...).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        device: str = HFOptions.device,
        device_map: str | dict[str, Any] | None = None,
        dtype: str = HFOptions.dtype,
        max_batch_size: int | str = HFOptions.max_batch_size,
        batch_wait_ms: float | str = HFOptions.batch_wait_ms,
        spec: str | None = None,
        trust_remote_code: bool | str = HFOptions.trust_remote_code,
        **unknown: Any,
    ):
        convert_options("hf", HFOptions, unknown)  # an unknown option: one line naming the valid ones
        try:
            batch_size, wait_s = int(max_batch_size), float(batch_wait_ms) / 1000
        except ValueError as exc:
            raise ConfigError(
                f"hf backend: max_batch_size and batch_wait_ms must be numbers ({exc})"
            ) from None
        if batch_size < 1 or wait_s < 0:
            raise ConfigError("hf backend: max_batch_size must be at least 1 and batch_wait_ms not negative")
        self.path = str(path)
        self.spec = spec or f"hf:{self.path}"
        self.device_map = device_map
        self.device = select_device(device)
        self.dtype = select_dtype(dtype, self.device)
        # A dtype chosen on purpose changes the answers: it enters the cache keys (``auto`` adds nothing,
        # so stores made before keep their keys).
        self.key_options = {} if dtype == "auto" else {"dtype": str(self.dtype).removeprefix("torch.")}
        self.trust_remote_code = str(trust_remote_code).lower() in ("true", "1", "yes")
        self.processor: Any = None
        self._load()
        self._batcher: MicroBatcher[_Request] = MicroBatcher(
            self._run_batch,
            key=_batch_key,
            max_batch_size=batch_size,
            wait_s=wait_s,
        )
        # The engine may keep this many calls in flight: enough to fill a batch.
        self.max_concurrency = batch_size

    # -- loading ----------------------------------------------------------------------------------

    def _load(self) -> None:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText, AutoTokenizer
        from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

        local = Path(self.path).expanduser()
        if (local.is_absolute() or self.path.startswith(".")) and not local.is_dir():
            raise ConfigError(f"hf model folder not found: {self.path}")
        remote = {"trust_remote_code": self.trust_remote_code}
        try:
            config = AutoConfig.from_pretrained(self.path, **remote)
            self.vision = config.model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES
            if self.vision:
                self.processor = self._load_processor(config.model_type)
                self.tokenizer = self.processor.tokenizer
                model_class: Any = AutoModelForImageTextToText
            else:
                self.tokenizer = AutoTokenizer.from_pretrained(self.path, **remote)
                model_class = AutoModelForCausalLM
            placed = {"device_map": self.device_map} if self.device_map is not None else {}
            self.model = model_class.from_pretrained(self.path, dtype=self.dtype, **remote, **placed)
        except (OSError, ValueError, KeyError, ImportError) as exc:
            raise ConfigError(f"cannot load hf model {self.path}: {exc}") from exc
        if self.device_map is None:
            self.model.to(self.device)
        else:  # accelerate placed the layers; inputs go where the first ones are
            self.device = str(self.model.device)
        self.model.eval()
        self.model_type = config.model_type
        self._shares_prefix = not self.vision and prefix_cache.can_share_prefix(
            self.model
        )  # see _generate_batch
        # Batched generation needs left padding, and a pad token to pad with.
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        eos = self.model.generation_config.eos_token_id
        self._eos_ids = {*(eos if isinstance(eos, list) else [eos] if eos is not None else [])}
        if self.tokenizer.eos_token_id is not None:
            self._eos_ids.add(self.tokenizer.eos_token_id)

    def _load_processor(self, model_type: str) -> Any:
        from transformers import AutoProcessor

        try:
            return AutoProcessor.from_pretrained(self.path, trust_remote_code=self.trust_remote_code)
        except (OSError, ImportError, ValueError, TypeError, AttributeError):
            fallback = _IMAGE_ONLY_FALLBACK.get(model_type)
            if fallback is None:
                raise
            # The stock processor wants a video processor (torchvision); images need only PIL.
            return fallback.from_pretrained(self.path)

    # -- preparing requests -----------------------------------------------------------------------

    def _prepare(self, messages: list[Message], params: GenerationParams) -> _Request:
        """Render the chat template and load the images (runs in a worker thread)."""
        if not messages:
            raise BackendError("no messages to answer", retryable=False)
        if not self.vision:
            bridged, bridge = bridge_messages(messages)
            return _Request(self._render_text(bridged), params, bridge=bridge)
        conversation, images = [], []
        for message in messages:
            content = message.get("content")
            parts = [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
            converted = []
            for part in parts:
                if part.get("type") == "image_url":
                    images.append(load_image(image_url_of(part)))
                    converted.append({"type": "image"})
                elif part.get("type") == "text":
                    converted.append({"type": "text", "text": part.get("text", "")})
            conversation.append({"role": message["role"], "content": converted})
        text = self.processor.apply_chat_template(conversation, tokenize=False, **_turn_options(messages))
        return _Request(text, params, images=images)

    def _render_text(self, messages: list[Message]) -> str:
        if self.tokenizer.chat_template:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, **_turn_options(messages))
        # A base model without a chat template: a plain transcript it can continue.
        lines = [f"{message['role'].capitalize()}: {message['content']}" for message in messages]
        if messages[-1].get("role") == "assistant":  # prefill: continue the assistant's text
            return "\n\n".join(lines)
        return "\n\n".join(lines) + "\n\nAssistant:"

    def _encode(self, requests: list[_Request]) -> Any:
        texts = [request.text for request in requests]
        common = {"return_tensors": "pt", "padding": True, "add_special_tokens": False}
        if not self.vision:
            return self.tokenizer(texts, **common).to(self.device)
        images = [request.images for request in requests]
        inputs = self.processor(text=texts, images=images if any(images) else None, **common)
        return inputs.to(self.device, dtype=self.dtype) if hasattr(inputs, "to") else inputs

    # -- generating -------------------------------------------------------------------------------

    async def _prepared(self, messages: list[Message], params: GenerationParams) -> _Request:
        try:
            return await asyncio.to_thread(self._prepare, messages, params)
        except BackendError:
            raise
        except Exception as exc:  # malformed messages, or a chat template that rejects them
            raise BackendError(f"{self.spec}: cannot build the prompt: {type(exc).__name__}: {exc}") from exc

    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        return await self._batcher.submit(await self._prepared(messages, params))

    async def stream(self, messages: list[Message], params: GenerationParams) -> AsyncIterator[str]:
        """The reply as it is generated (:mod:`mmrole.models.hf_stream`); one piece with stop strings or logprobs."""
        if params.stop or params.logprobs:
            yield (await self.generate(messages, params)).text
            return

        async for piece in stream_reply(self, await self._prepared(messages, params)):
            yield piece

    def _run_batch(self, requests: list[_Request]) -> list[Completion | Exception]:
        """Answer a batch; if the batch fails, answer one by one so a bad request fails alone."""
        try:
            return list(self._generate_batch(requests))
        except Exception as exc:
            if len(requests) > 1:
                return [self._run_batch([request])[0] for request in requests]
            if isinstance(exc, BackendError):
                return [exc]
            return [
                BackendError(f"{self.spec}: generation failed: {type(exc).__name__}: {exc}", retryable=False)
            ]

    def _generation_kwargs(self, params: GenerationParams) -> dict[str, Any]:
        from transformers import GenerationConfig

        config = GenerationConfig.from_dict(self.model.generation_config.to_dict())
        settings: dict[str, Any] = {
            "max_new_tokens": params.max_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
            "return_dict_in_generate": True,
            "output_logits": params.logprobs,
        }
        if params.temperature <= 0:
            # Neutral values, so a model's own sampling defaults raise no greedy-mode warnings.
            settings.update(do_sample=False, temperature=1.0, top_p=1.0, top_k=50)
        else:
            # OpenAI-style parameters have no top-k: 0 turns off transformers' default of 50.
            settings.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0)
        if params.stop:
            settings["stop_strings"] = list(params.stop)
        config.update(**settings)
        kwargs: dict[str, Any] = {"generation_config": config}
        if params.stop:
            kwargs["tokenizer"] = self.tokenizer
        return kwargs

    def _generate_batch(self, requests: list[_Request]) -> list[Completion]:
        if not self._shares_prefix or len(requests) == 1:
            return self._generate_padded(requests)
        # Text prompts sharing a long start (a sample's 8 judge prompts) run it once: see prefix_cache.
        id_lists = [self.tokenizer(r.text, add_special_tokens=False)["input_ids"] for r in requests]
        results: list[Completion | None] = [None] * len(requests)
        kwargs = self._generation_kwargs(requests[0].params)
        for group in group_by_prefix(id_lists):
            prompts = [id_lists[i] for i in group]
            run = generate_with_shared_prefix(self.model, prompts, shared_prefix_length(prompts), kwargs)
            for row, index in enumerate(group):
                results[index] = self._completion(
                    row, requests[index], run.generated[row], run.prompt_tokens[row], run.logits
                )
        rest = [index for index, result in enumerate(results) if result is None]
        if rest:
            for index, completion in zip(
                rest, self._generate_padded([requests[i] for i in rest]), strict=True
            ):
                results[index] = completion
        return [result for result in results if result is not None]

    def _generate_padded(self, requests: list[_Request]) -> list[Completion]:
        params = requests[0].params
        inputs = self._encode(requests)
        if params.temperature > 0 and params.seed is not None:
            torch.manual_seed(params.seed)
        with torch.inference_mode():
            output = self.model.generate(**inputs, **self._generation_kwargs(params))
        prompt_width = inputs["input_ids"].shape[1]
        prompt_lengths = inputs["attention_mask"].sum(dim=1).tolist()
        generated = output.sequences[:, prompt_width:].tolist()
        return [
            self._completion(row, request, generated[row], int(prompt_lengths[row]), output.logits)
            for row, request in enumerate(requests)
        ]

    def _completion(
        self, row: int, request: _Request, ids: list[int], prompt_tokens: int, logits: Any
    ) -> Completion:
        return completion_from_ids(
            self.tokenizer,
            self._eos_ids,
            ids,
            params=request.params,
            prompt_tokens=prompt_tokens,
            row=row,
            logits=logits,
            bridge=request.bridge,
        )

    async def aclose(self) -> None:
        """Stop the batcher and free the model's memory."""
        await self._batcher.aclose()
        self.model = None
        gc.collect()
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()


def _turn_options(messages: list[Message]) -> dict[str, bool]:
    """A final assistant message is a prefill to continue (as vLLM's ``continue_final_message``),
    e.g. a judge reply started with ``[Scores]: (``; otherwise the model opens a new turn."""
    if messages[-1].get("role") == "assistant":
        return {"add_generation_prompt": False, "continue_final_message": True}
    return {"add_generation_prompt": True}
