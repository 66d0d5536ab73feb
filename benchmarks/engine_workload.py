"""The engine benchmark's workload: judge tasks shaped like MMRole-Eval's, and their images on disk.

Each sample has its own image file and 8 judge tasks (one per metric) that share it, and the
requests are built the way ``mmrole judge`` builds them (:mod:`mmrole.eval.judge_plan`): MMRole's
judge texts, with the image as an ``image_url`` part naming the local file, which the backend
turns into a data URL when it sends the request.

Two image sizes: ``tiny`` (a 128 x 96 flat-colour JPEG, under 1 KB) and ``real`` (a noise texture
at the dimensions of MMRole-Data's median image, 1532 x 812, its JPEG quality tuned to ~95 KB,
MMRole-Data's median file size). Every sample's file differs (a JPEG comment names the sample),
so no cache serves one sample's image to another.
"""

from __future__ import annotations

import base64
import io
import random
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mmrole.eval.judge_plan import JudgeOptions, JudgeTask, SampleImages, judge_messages
from mmrole.schema import METRICS, Sample

IMAGE_KINDS = ("tiny", "real")
#: MMRole-Data's released images (193): median file 95,288 bytes, median size 1532 x 812 px.
REAL_BYTES, REAL_SIZE = 95_000, (1532, 812)
#: What every judge request asks for (``mmrole judge``'s defaults: MMRole's settings).
OPTIONS = JudgeOptions()


def real_size_jpeg(target: int = REAL_BYTES, size: tuple[int, int] = REAL_SIZE, seed: int = 0) -> bytes:
    """A deterministic JPEG of about ``target`` bytes: smooth noise, quality picked by bisection."""
    from PIL import Image

    rng = random.Random(seed)
    w, h = size[0] // 16, size[1] // 16
    texture = Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3)).resize(size, Image.Resampling.BICUBIC)

    def encode(quality: int) -> bytes:
        out = io.BytesIO()
        texture.save(out, "JPEG", quality=quality)
        return out.getvalue()

    low, high = (
        1,
        95,
    )  # the largest quality whose file stays within the target, then the nearer of it and the next
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if len(encode(mid)) <= target else (low, mid - 1)
    return min((encode(q) for q in (low, low + 1)), key=lambda data: abs(len(data) - target))


def tiny_jpeg(index: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (128, 96), (index % 256, (7 * index) % 256, 90)).save(out, "JPEG", quality=85)
    return out.getvalue()


def with_comment(jpeg: bytes, text: str) -> bytes:
    """The same picture with a JPEG comment (COM segment) after the start marker: other bytes, same decoding."""
    comment = text.encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[2:]


def write_images(folder: Path, samples: int, kind: str) -> int:
    """One file per sample, ``{i}.jpg``; returns the size in bytes of sample 0's."""
    folder.mkdir(parents=True, exist_ok=True)
    base = real_size_jpeg() if kind == "real" else b""
    for i in range(samples):
        data = with_comment(base, f"sample {i}") if kind == "real" else tiny_jpeg(i)
        (folder / f"{i}.jpg").write_bytes(data)
    return (folder / "0.jpg").stat().st_size


def _words(seed: int, count: int) -> str:
    return " ".join(f"word{(seed * 31 + k) % 97}" for k in range(count))


def sample(i: int) -> Sample:
    """A comment-type sample of MMRole's shape: profile, image description and request (~4 KB)."""
    return Sample(
        id=f"Iron_Man_comment_{i}",
        image=f"{i}.jpg",
        system="You are a role-playing assistant.",
        instruction=f"Please step into the shoes of Iron Man. Profile and image: {_words(i, 550)} Question {i}?",
        reference="A reference answer in character. " + _words(i + 1, 90),
        role="Iron Man",
        script="The Avengers",
        other_role="a curious human",
        type="comment",
    )


def answer(i: int) -> str:
    return f"Answer {i}: " + _words(i + 2, 90)


@dataclass(frozen=True)
class Workload:
    """The first ``calls`` judge tasks over ``samples`` samples, images in ``images``."""

    images: Path
    samples: int
    calls: int

    def tasks(self) -> list[JudgeTask]:
        tasks = []
        for i in range(min(self.samples, -(-self.calls // len(METRICS)))):
            s, a = sample(i), answer(i)
            tasks.extend(JudgeTask(s, a, metric) for metric in METRICS)
        return tasks[: self.calls]

    def mmrole_messages(self) -> SampleImages:
        """``mmrole judge``'s image parts for a sample (a path; the backend reads and encodes it)."""
        return SampleImages(self.images, OPTIONS)

    def plain_messages(self, task: JudgeTask) -> list[dict[str, Any]]:
        """A hand-written client's request: the image read and base64-encoded for this call."""
        return judge_messages(
            task, [{"type": "image_url", "image_url": {"url": data_url(self.images, task)}}]
        )


def data_url(images: Path, task: JudgeTask) -> str:
    data = (images / task.sample.image).read_bytes()
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


@lru_cache(maxsize=1)
def prompt_chars() -> int:
    """Characters of one judge request's text (system + user), without the image."""
    task = JudgeTask(sample(0), answer(0), METRICS[0])
    return sum(
        len(part["text"]) if isinstance(part, dict) else len(part)
        for message in judge_messages(task, [])
        for part in (message["content"] if isinstance(message["content"], list) else [message["content"]])
    )
