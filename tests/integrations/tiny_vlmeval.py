"""Tiny VLMEvalKit models (``BaseModel`` subclasses, offline, instant) and a judge for the tests.

Their answers are made of what they were given (a digest of the text, each image's size), so an
answer changes with any byte of the prompt: two paths agree only if they gave the model the same.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from vlmeval_import import import_vlmeval

import_vlmeval()

from PIL import Image  # noqa: E402
from vlmeval.api.base import BaseAPI  # noqa: E402
from vlmeval.vlm.base import BaseModel  # noqa: E402

from mmrole.models.base import last_user_text  # noqa: E402
from mmrole.prompts.judge import JUDGE_SYSTEM  # noqa: E402
from mmrole.testing.responders import Reply  # noqa: E402


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _describe(items: list[dict[str, Any]]) -> str:
    texts = "\n".join(str(i["value"]) for i in items if i["type"] == "text")
    sizes = []
    for item in items:
        if item["type"] == "image":
            with Image.open(item["value"]) as image:
                sizes.append(f"{image.width}x{image.height}")
    return f"images {sizes}, text {digest(texts)}"


def seen(items: list[dict[str, Any]]) -> list[tuple[str, str | bytes]]:
    """What a model was given: each item's type and text, or its image's bytes."""
    return [(i["type"], Path(i["value"]).read_bytes() if i["type"] == "image" else i["value"]) for i in items]


class TinyRolePlayer(BaseModel):
    """Answers ``<prefix>: images [WxH], text <digest>``; keeps what it was given (:func:`seen`) and
    the dataset name of each call."""

    INTERLEAVE = True
    received: list[tuple[Any, str | None]] = []

    def __init__(self, prefix: str = "Tiny"):
        super().__init__()
        self.prefix = prefix

    def generate_inner(self, message: list[dict[str, Any]], dataset: str | None = None) -> str:
        type(self).received.append((seen(message), dataset))
        return f"{self.prefix}: {_describe(message)}"

    def chat_inner(self, message: list[dict[str, Any]], dataset: str | None = None) -> str:
        type(self).received.append(([(t["role"], seen(t["content"])) for t in message], dataset))
        return f"{self.prefix} after {len(message)} turns: {_describe(message[-1]['content'])}"


class TinyOneImage(BaseModel):
    """``INTERLEAVE = False``, with its own prompt for the MMRole datasets: ``build_prompt`` wraps the question."""

    INTERLEAVE = False

    def use_custom_prompt(self, dataset: str | None) -> bool:
        return str(dataset).startswith("MMRole")

    def build_prompt(self, line: Any, dataset: str | None = None) -> list[dict[str, str]]:
        images = self.dump_image(line, dataset)
        return [
            {"type": "image", "value": images[0]},
            {"type": "text", "value": f"[custom for {dataset}] {line['question']}"},
        ]

    def generate_inner(self, message: list[dict[str, Any]], dataset: str | None = None) -> str:
        prompt, image = self.message_to_promptimg(message, dataset)
        with Image.open(image) as opened:
            return f"{prompt[:40]} | {opened.width}x{opened.height}"


class TinyFailing(BaseModel):
    """Raises on prompts holding ``fail_on``; answers the others."""

    INTERLEAVE = True

    def __init__(self, fail_on: str = "Hypothetical"):
        super().__init__()
        self.fail_on = fail_on

    def generate_inner(self, message: list[dict[str, Any]], dataset: str | None = None) -> str:
        text = " ".join(str(i["value"]) for i in message if i["type"] == "text")
        if self.fail_on in text:
            raise RuntimeError(f"CUDA out of memory (pretend) on a {self.fail_on} prompt")
        return f"ok {digest(text)}"


class TinyAPI(BaseAPI):
    """A VLMEvalKit API model: answers ``(0, text, log)``, or fails (``ret_code`` 1) on ``fail_on``; after
    its retries VLMEvalKit's ``generate`` answers its ``fail_msg`` instead of raising."""

    is_api = True

    def __init__(self, fail_on: str = "Hypothetical"):
        super().__init__(retry=1, wait=0, verbose=False)
        self.fail_on = fail_on

    def generate_inner(self, inputs: list[dict[str, Any]], **kwargs: Any) -> tuple[int, str, str]:
        text = " ".join(str(i["value"]) for i in inputs if i["type"] == "text")
        if self.fail_on in text:
            return 1, "", "upstream said no"
        return 0, f"api {digest(text)}", "ok"


class BrokenAtStart(BaseModel):
    def __init__(self):
        raise OSError("no weights at /models/missing")


TINY_MODELS = {
    "TinyRolePlayer": TinyRolePlayer,
    "TinyOneImage": TinyOneImage,
    "TinyFailing": TinyFailing,
    "TinyAPI": TinyAPI,
    "BrokenAtStart": BrokenAtStart,
}


class TinyJudge:
    """An MMRole-Eval judge for LocalOpenAIServer: scores derived from the whole user text (so they
    change with the answer, the reference or the instruction), only for requests with MMRole-Eval's
    system text and one of ``images`` (image bytes); any other request gets a reply without scores."""

    def __init__(self, images: set[bytes]):
        self.images = images
        self.refused: list[str] = []

    def __call__(self, messages: list[dict[str, Any]]) -> Reply:
        import base64

        user = messages[-1]["content"]
        urls = [p["image_url"]["url"] for p in user if isinstance(p, dict) and p.get("type") == "image_url"]
        seen = {base64.b64decode(u.partition(",")[2]) for u in urls}
        if messages[0].get("content") != JUDGE_SYSTEM or not seen or not seen <= self.images:
            self.refused.append(last_user_text(messages)[:80])
            return Reply("I cannot judge this.")
        key = int(digest(last_user_text(messages)), 16)
        return Reply(f"Model A is fine. [Scores]: ({1 + key % 9}, {1 + (key // 9) % 9})")
