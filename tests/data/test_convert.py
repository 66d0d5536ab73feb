"""Converters: OpenAI messages, VLMEvalKit messages, VLMEvalKit TSV and back."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

import pytest
from PIL import Image

from mmrole.data import image_root, load_samples
from mmrole.data.convert import read_vlmeval_tsv, to_openai_messages, to_vlmeval_messages, write_vlmeval_tsv
from mmrole.errors import DataError


@pytest.fixture(scope="module")
def demo_samples():
    return list(load_samples("demo"))


def _decode_data_url(url: str) -> tuple[str, Image.Image]:
    header, payload = url.split(",", 1)
    assert header.endswith(";base64")
    return header[len("data:") : -len(";base64")], Image.open(io.BytesIO(base64.b64decode(payload)))


def test_openai_messages_carry_system_image_and_instruction(demo_samples):
    sample = demo_samples[0]
    root = image_root("demo")
    messages = to_openai_messages(sample, root)
    assert messages[0] == {"role": "system", "content": sample.system}
    assert messages[1]["role"] == "user"
    image_part, text_part = messages[1]["content"]
    assert text_part == {"type": "text", "text": sample.instruction}
    mime, image = _decode_data_url(image_part["image_url"]["url"])
    assert mime == "image/png"
    with Image.open(root / sample.image) as original:
        assert image.size == original.size and image.tobytes() == original.convert(image.mode).tobytes()


def test_openai_messages_downscale_and_missing_images(tmp_path: Path, demo_samples):
    sample = demo_samples[0]
    mime, image = _decode_data_url(
        to_openai_messages(sample, image_root("demo"), max_image_side=100)[1]["content"][0]["image_url"][
            "url"
        ]
    )
    assert max(image.size) == 100 and image.size == (100, 75) and mime == "image/jpeg"
    # A photo bigger than the limit is re-encoded; one that fits is sent as it is.
    big = tmp_path / "photo.jpg"
    Image.new("RGB", (800, 400), "navy").save(big)
    moved = sample.model_copy(update={"image": "photo.jpg"})
    _, small = _decode_data_url(
        to_openai_messages(moved, tmp_path, max_image_side=200)[1]["content"][0]["image_url"]["url"]
    )
    assert small.size == (200, 100)
    untouched = to_openai_messages(moved, tmp_path, max_image_side=1000)[1]["content"][0]["image_url"]["url"]
    assert base64.b64decode(untouched.split(",", 1)[1]) == big.read_bytes()

    missing = sample.model_copy(update={"image": "COCO/train2017/000000000001.jpg"})
    with pytest.raises(DataError) as info:
        to_openai_messages(missing, tmp_path)
    assert info.value.record == sample.id and info.value.field == "image"
    assert to_openai_messages(missing, tmp_path, missing_image="omit")[1]["content"] == [
        {"type": "text", "text": sample.instruction}
    ]
    escaping = sample.model_copy(update={"image": "../../etc/passwd"})
    with pytest.raises(DataError, match="escapes the image root"):
        to_openai_messages(escaping, tmp_path, missing_image="omit")  # never silently dropped


def test_vlmeval_messages(demo_samples):
    sample = demo_samples[1]
    messages = to_vlmeval_messages(sample, image_root("demo"))
    assert [m["type"] for m in messages] == ["image", "text"]
    assert Path(messages[0]["value"]) == image_root("demo") / sample.image
    assert messages[1]["value"].startswith(sample.system) and messages[1]["value"].endswith(
        sample.instruction
    )


def test_vlmeval_tsv_round_trip(tmp_path: Path, demo_samples):
    tsv = tmp_path / "MMRole_demo.tsv"
    assert write_vlmeval_tsv(demo_samples, image_root("demo"), tsv) == len(demo_samples)
    with tsv.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["index"] for r in rows] == [str(i) for i in range(len(demo_samples))]
    assert {"question", "answer", "role", "type", "split"} <= set(rows[0])
    # Samples that share an image store it once; the others point at that row (VLMEvalKit's convention).
    shared = [r for r in rows if len(r["image"]) <= 64]
    assert shared and all(rows[int(r["image"])]["image_path"] == r["image_path"] for r in shared)

    images = tmp_path / "images"
    back = list(read_vlmeval_tsv(tsv, images))
    assert back == demo_samples  # every field, image paths included
    for sample in back:
        with (
            Image.open(images / sample.image) as copy,
            Image.open(image_root("demo") / sample.image) as original,
        ):
            assert copy.tobytes() == original.tobytes()


def test_tsv_errors_are_located(tmp_path: Path):
    tsv = tmp_path / "bad.tsv"
    tsv.write_text("index\tquestion\n0\thello\n")
    with pytest.raises(DataError, match=r"missing column\(s\) \['image'\]"):
        list(read_vlmeval_tsv(tsv, tmp_path))
    tsv.write_text("index\timage\tquestion\tid\n0\t" + "!" * 80 + "\thello\ts1\n")
    with pytest.raises(DataError) as info:
        list(read_vlmeval_tsv(tsv, tmp_path))
    assert info.value.record == "s1" and info.value.field == "image" and "line 2" in str(info.value)
