"""``vlmeval:MODEL_NAME``: any entry of VLMEvalKit's model registry as an mmrole backend.

    mmrole answer --agent vlmeval:qwen_chat --data MMRole-Data/data/test/in-distribution --run runs/qwen

The model is built once (``vlmeval.config.supported_VLM[MODEL_NAME](**options)``) and answers in
one worker thread, one request at a time (``max_concurrency = 1``: VLMEvalKit models hold one
model on one device and are not thread-safe), so the event loop, the engine's store, retries and
progress bars work as for any backend. A request goes to the model as VLMEvalKit's own inference
would send it for the dataset named by the ``dataset`` option (``MMRole``):

* single-turn: ``model.generate(message, dataset)``, the message built by
  :func:`~mmrole.integrations.vlmeval_messages.vlmeval_turns` (the layout of the MMRole dataset's
  ``build_prompt``), or by the model's own ``build_prompt(line, dataset)`` when its
  ``use_custom_prompt(dataset)`` says so (the line holds ``question``, ``system``, ``image_path``);
* multi-turn (an assistant message in the conversation): ``model.chat(turns, dataset)``, which
  calls its ``chat_inner``; a model without one fails the request;
* ``INTERLEAVE = False`` models take one image: a request with more fails instead of being cut.

Generation settings are the model's own (VLMEvalKit models fix them when built: pass them as
options, e.g. ``max_new_tokens``); mmrole's sampling parameters still key the cache. An exception
from the model, or VLMEvalKit's failure text as the answer, fails that request (never retried:
VLMEvalKit's API models retry inside), recorded like any backend error.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mmrole.errors import BackendError, ConfigError
from mmrole.integrations.vlmeval_messages import user_text, vlmeval_turns
from mmrole.integrations.vlmeval_register import register
from mmrole.integrations.vlmeval_setup import model_registry
from mmrole.models.base import Backend, Completion, GenerationParams, Message, current_request_id
from mmrole.models.registry import register_backend

#: The dataset name the model is told (its prompts and settings may depend on it).
DEFAULT_DATASET = "MMRole"
#: Answers VLMEvalKit's models and inference give instead of raising.
FAILURE_TEXTS = ("Failed to obtain answer", "Chat Mode: Failed with all possible conversation turns.")
_MIME_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}


def _no_grad() -> None:
    """The worker thread's autograd off, as VLMEvalKit's inference has it (grad mode is per thread)."""
    import torch

    torch.set_grad_enabled(False)


class VLMEvalBackend(Backend):
    """A VLMEvalKit model (see the module docstring).

    Args:
        name: The model's name in ``vlmeval.config.supported_VLM``.
        dataset: The dataset name the model is told.
        **options: Passed to the model's constructor.

    Raises:
        ConfigError: An unknown model name, or the model cannot be built.
    """

    max_concurrency = 1

    def __init__(self, name: str, *, dataset: str = DEFAULT_DATASET, **options: Any):
        registry = model_registry()
        if name not in registry:
            close = sorted(n for n in registry if name.lower() in n.lower())[:5]
            hint = f"; similar: {', '.join(close)}" if close else " (`vlmutil mlist all` lists them)"
            raise ConfigError(f"vlmeval:{name}: no such model in VLMEvalKit's registry{hint}")
        register()  # so VLMEvalKit knows the MMRole datasets' type when the model asks
        self.name, self.dataset = name, dataset
        self.spec = f"vlmeval:{name}" if dataset == DEFAULT_DATASET else f"vlmeval:{name}?dataset={dataset}"
        self._images = Path(tempfile.mkdtemp(prefix="mmrole-vlmeval-"))
        self._worker = ThreadPoolExecutor(1, thread_name_prefix=f"vlmeval-{name}", initializer=_no_grad)
        try:
            self.model = self._worker.submit(registry[name], **options).result()
        except Exception as err:  # any failure of a third-party constructor
            self._close_now()
            raise ConfigError(
                f"vlmeval:{name}: the model could not be built: {type(err).__name__}: {err}"
            ) from None

    # -- images ------------------------------------------------------------------------------
    def _image_file(self, url: str) -> str:
        """A local file for an image URL: data URLs are written (once per content), paths pass."""
        if url.startswith("data:"):
            header, _, payload = url.partition(",")
            try:
                data = base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("an image data URL that is not base64") from None
            suffix = _MIME_SUFFIX.get(header[5:].split(";")[0], ".png")
            path = self._images / f"{hashlib.sha256(data).hexdigest()[:32]}{suffix}"
            if not path.exists():
                path.write_bytes(data)
            return str(path)
        if url.startswith("file://"):
            return url[len("file://") :]
        if "://" in url:
            raise ValueError("VLMEvalKit models are given local images: a data URL, file:// or a path")
        return url

    # -- answering ---------------------------------------------------------------------------
    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        request_id = current_request_id.get()
        loop = asyncio.get_running_loop()
        text = await loop.run_in_executor(self._worker, self._answer, messages, request_id)
        return Completion(text=text, finish_reason="stop")

    def _answer(self, messages: list[Message], request_id: str | None) -> str:
        try:
            turns, system = vlmeval_turns(messages, self._image_file)
        except ValueError as err:
            raise BackendError(f"vlmeval:{self.name}: {err}") from None
        model = self.model
        try:
            if len(turns) > 1:
                if not hasattr(model, "chat_inner"):
                    raise BackendError(
                        f"vlmeval:{self.name} has no chat_inner: it answers single-turn conversations only"
                    )
                answer = model.chat(turns, dataset=self.dataset)
            else:
                message = turns[0]["content"]
                custom = getattr(model, "use_custom_prompt", None)  # VLMEvalKit's API models have none
                if custom is not None and hasattr(model, "build_prompt") and custom(self.dataset):
                    message = self._custom_prompt(message, messages, system, request_id)
                images = sum(1 for item in message if item.get("type") == "image")
                if images > 1 and not getattr(model, "INTERLEAVE", False):
                    raise BackendError(
                        f"vlmeval:{self.name} takes one image per request (INTERLEAVE = False); this one has {images}"
                    )
                answer = model.generate(message=message, dataset=self.dataset)
        except BackendError:
            raise
        except Exception as err:  # the model's own failure fails this request only
            raise BackendError(f"vlmeval:{self.name} raised {type(err).__name__}: {err}") from None
        if isinstance(answer, dict) and "prediction" in answer:  # an API model's answer with its records
            answer = answer["prediction"]
        answer = str(answer)
        fail_msg = getattr(model, "fail_msg", None)
        if answer.startswith(FAILURE_TEXTS) or (fail_msg and fail_msg in answer):
            raise BackendError(f"vlmeval:{self.name}: {answer}")
        return answer

    def _custom_prompt(
        self, message: list[dict[str, Any]], messages: list[Message], system: str, request_id: str | None
    ) -> list[dict[str, Any]]:
        """The model's own prompt of the request, from a dataset-like row (as VLMEvalKit's inference)."""
        import pandas as pd

        paths = [item["value"] for item in message if item["type"] == "image"]
        line = pd.Series(
            {
                "index": request_id or "0",
                "question": user_text(messages),
                "system": system,
                "image_path": paths[0] if len(paths) == 1 else paths,
            }
        )
        if hasattr(self.model, "set_dump_image"):
            self.model.set_dump_image(lambda _line: list(paths))
        return self.model.build_prompt(line, dataset=self.dataset)

    def _close_now(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self._images, ignore_errors=True)

    async def aclose(self) -> None:
        """Stop the worker (after the call it is running) and remove the images written for the model."""
        await asyncio.get_running_loop().run_in_executor(None, self._worker.shutdown, True)
        shutil.rmtree(self._images, ignore_errors=True)
        self.model = None


def _value(text: Any) -> Any:
    """A ``--agent-arg`` text as JSON when it is JSON (``512``, ``true``, ``[1, 2]``), else the text."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


@register_backend("vlmeval")
def _vlmeval(argument: str, options: dict[str, Any]) -> Backend:
    if not argument:
        raise ConfigError("vlmeval spec without a model name: use vlmeval:MODEL_NAME (a VLMEvalKit model)")
    name, _, query = argument.partition("?")
    if query.startswith("dataset=") and "dataset" not in options:
        options = {**options, "dataset": query[len("dataset=") :]}
    # The model's constructor arguments: no options dataclass, so command-line texts are read here.
    return VLMEvalBackend(name, **{k: v if k == "dataset" else _value(v) for k, v in options.items()})
