"""Converters: OpenAI messages, VLMEvalKit messages, VLMEvalKit TSV and back."""

from __future__ import annotations

import base64
import csv
import io
from functools import partial
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from mmrole.cli import app
from mmrole.data import Problem, build_samples, image_root, load_characters, load_samples, write_samples_jsonl
from mmrole.data.convert import read_vlmeval_tsv, to_openai_messages, to_vlmeval_messages, write_vlmeval_tsv
from mmrole.data.paths import UnsafePathError
from mmrole.errors import DataError
from mmrole.schema import Sample


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


def _link_samples(root: Path) -> dict[str, Sample]:
    """The samples of the linked root's ``Mira_Vale_links.json``, by image path (other problems skipped)."""
    problems: list[Problem] = []
    characters = load_characters(root, report=problems.append)
    samples = build_samples(root, characters=characters, report=problems.append)
    return {s.image: s for s in samples if s.id.startswith("Mira_Vale_human-role-dialogue_links_")}


def test_images_linking_out_of_the_root_are_never_embedded(
    linked_root: Path, outside_secret: tuple[Path, bytes], tmp_path: Path
):
    secret = base64.b64encode(outside_secret[1]).decode()
    samples = _link_samples(linked_root)
    root = image_root(linked_root)
    # Links that stay inside the image folder are fine.
    for name, real in (
        ("scenes/alias.png", "scenes/house.png"),
        ("mirror/01.png", "The_Lantern_Isles/01.png"),
    ):
        url = to_openai_messages(samples[name], root)[1]["content"][0]["image_url"]["url"]
        assert base64.b64decode(url.split(",", 1)[1]) == (root / real).read_bytes()
    assert write_vlmeval_tsv([samples["mirror/01.png"]], root, tmp_path / "inside.tsv") == 1
    inside = base64.b64encode((root / "The_Lantern_Isles/01.png").read_bytes()).decode()
    assert inside in (tmp_path / "inside.tsv").read_text()
    for name in ("scenes/leak.png", "linked/secret.png"):
        sample = samples[name]
        conversions = (
            partial(to_openai_messages, sample, root, missing_image="omit"),
            partial(to_openai_messages, sample, root, max_image_side=8),
            partial(to_vlmeval_messages, sample, root),
            partial(write_vlmeval_tsv, [sample], root, tmp_path / "one.tsv"),
            partial(write_vlmeval_tsv, [sample], root, tmp_path / "one.tsv", missing_image="omit"),
        )
        for convert in conversions:
            with pytest.raises(UnsafePathError, match="resolves outside") as caught:
                convert()
            assert (caught.value.record, caught.value.field) == (sample.id, "image")
    jsonl = linked_root / "links.jsonl"
    write_samples_jsonl(samples.values(), jsonl)
    for to in ("vlmeval-tsv", "openai"):
        out = tmp_path / f"converted.{to}"
        result = CliRunner().invoke(app, ["data", "convert", str(jsonl), "--to", to, "--out", str(out)])
        assert isinstance(result.exception, UnsafePathError), result.output
        assert not out.exists() or secret not in out.read_text()


def test_tsv_images_are_never_written_through_a_link(
    tmp_path: Path, demo_samples, outside_secret: tuple[Path, bytes]
):
    tsv = tmp_path / "demo.tsv"
    write_vlmeval_tsv(demo_samples[:1], image_root("demo"), tsv)
    images = tmp_path / "images"
    images.mkdir()
    outside = outside_secret[0].parent
    (images / Path(demo_samples[0].image).parts[0]).symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="resolves outside") as caught:
        list(read_vlmeval_tsv(tsv, images))
    assert (caught.value.record, caught.value.field) == (demo_samples[0].id, "image_path")
    assert [p.name for p in outside.iterdir()] == ["secret.png"]


def test_vlmeval_tsv_with_a_missing_image_leaves_no_file_or_omits_the_sample(tmp_path: Path, demo_samples):
    tsv = tmp_path / "MMRole_demo.tsv"
    gone = demo_samples[3].model_copy(update={"image": "COCO/train2017/000000000001.jpg"})
    samples = [*demo_samples[:3], gone, *demo_samples[4:]]
    with pytest.raises(DataError, match="--missing-image omit") as info:
        write_vlmeval_tsv(samples, image_root("demo"), tsv)
    assert info.value.record == gone.id
    assert list(tmp_path.iterdir()) == []  # no half-written TSV, no .partial

    assert write_vlmeval_tsv(samples, image_root("demo"), tsv, missing_image="omit") == len(samples) - 1
    back = list(read_vlmeval_tsv(tsv, tmp_path / "images"))
    assert [s.id for s in back] == [s.id for s in samples if s is not gone]  # image links still right
    assert all((tmp_path / "images" / s.image).is_file() for s in back)


def test_a_missing_image_error_suggests_omitting_it(tmp_path: Path, demo_samples):
    missing = demo_samples[0].model_copy(update={"image": "nowhere.png"})
    with pytest.raises(DataError, match=r"image file not found: .*nowhere.png \(pass --missing-image omit"):
        to_openai_messages(missing, tmp_path)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_qwen_files_stream_the_text_json_dump_writes(tmp_path: Path, demo_samples, count: int):
    import json

    from mmrole.data.qwen import sample_to_qwen, write_qwen_file

    samples = [demo_samples[0].model_copy(update={"instruction": 'Ünïcode\n"quoted" {x}'}), *demo_samples][
        :count
    ]
    path = tmp_path / "test.json"
    assert write_qwen_file(iter(samples), path) == count
    expected = json.dumps([sample_to_qwen(s) for s in samples], ensure_ascii=False, indent=2)
    assert path.read_text(encoding="utf-8") == expected
    assert [s.id for s in load_samples(path)] == [s.id for s in samples]


def test_a_qwen_conversion_failing_midway_leaves_no_file(tmp_path: Path, demo_samples):
    from mmrole.data.qwen import write_qwen_file

    def broken():
        yield from demo_samples[:2]
        raise DataError("bad record", record="x")

    path = tmp_path / "test.json"
    with pytest.raises(DataError, match="bad record"):
        write_qwen_file(broken(), path)
    assert list(tmp_path.iterdir()) == []
