"""The image bridge: loading images from messages, and images as text for text-only models."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from PIL import Image

from mmrole.errors import BackendError
from mmrole.models.image_bridge import (
    ANNOTATION_MARKER,
    bridge_messages,
    describe_image,
    image_caption,
    load_image,
    text_of,
)
from mmrole.testing.bad_images import BAD_IMAGES


def image_part(url: str, **extra) -> dict:
    return {"type": "image_url", "image_url": {"url": url, **extra.pop("ref", {})}, **extra}


def test_load_image_from_data_url_file_url_and_path(blue_data_url, yellow_png):
    assert load_image(blue_data_url).size == (64, 48)
    for url in (str(yellow_png), yellow_png.as_uri()):
        image = load_image(url)
        assert image.size == (30, 50) and image.mode == "RGB"


@pytest.mark.parametrize(
    "url, message",
    [
        ("data:image/png;base64,bm90IGFuIGltYWdl", "cannot read image data:image/png"),
        ("/no/such/picture.jpg", "cannot read image /no/such/picture.jpg"),
        ("https://example.com/a.jpg", "not web URLs"),
    ],
)
def test_unreadable_images_are_non_retryable_errors(url, message):
    with pytest.raises(BackendError, match=message) as caught:
        load_image(url)
    assert not caught.value.retryable


def test_describe_image_names_size_shape_and_dominant_colours():
    pixels = np.zeros((100, 200, 3), np.uint8)
    pixels[:, :120] = (20, 30, 200)
    pixels[:, 120:] = (240, 220, 40)
    assert describe_image(Image.fromarray(pixels)) == (
        "It is 200x100 pixels (landscape); its dominant colours are blue and yellow."
    )
    assert describe_image(Image.new("RGB", (10, 30), (0, 0, 0))) == (
        "It is 10x30 pixels (portrait); its dominant colour is black."
    )


def test_caption_from_part_image_url_metadata_or_sidecar(blue_data_url, tmp_path):
    assert image_caption(image_part(blue_data_url, caption="On the part.")) == "On the part."
    assert image_caption(image_part(blue_data_url, ref={"caption": "On image_url."})) == "On image_url."
    assert image_caption(image_part(blue_data_url, metadata={"caption": " In metadata. "})) == "In metadata."
    picture = tmp_path / "photo.jpg"
    Image.new("RGB", (8, 8)).save(picture)
    assert image_caption(image_part(str(picture))) is None
    (tmp_path / "photo.txt").write_text("A sidecar caption.\n", encoding="utf-8")
    assert image_caption(image_part(str(picture))) == "A sidecar caption."
    assert image_caption(image_part(picture.as_uri())) == "A sidecar caption."


def test_bridge_uses_the_annotation_when_the_instruction_has_it(blue_data_url):
    messages = [
        {"role": "system", "content": "You are Iron Man."},
        {
            "role": "user",
            "content": [
                image_part(blue_data_url, caption="ignored: the annotation wins"),
                {"type": "text", "text": f"{ANNOTATION_MARKER}:\nRoles: Iron Man\n\nWhat happened here?"},
            ],
        },
    ]
    bridged, kind = bridge_messages(messages)
    assert kind == "annotation"
    assert all(isinstance(message["content"], str) for message in bridged)
    assert bridged[0] == messages[0]
    assert bridged[1]["content"].startswith("[An image is attached; its auxiliary information is given")
    assert bridged[1]["content"].endswith("What happened here?") and "ignored" not in bridged[1]["content"]


def test_bridge_falls_back_to_caption_then_placeholder(blue_data_url):
    captioned, kind = bridge_messages(
        [{"role": "user", "content": [image_part(blue_data_url, caption="A blue wall.")]}]
    )
    assert (
        kind == "caption"
        and captioned[0]["content"] == "[An image is attached. Its description: A blue wall.]"
    )
    plain, kind = bridge_messages(
        [{"role": "user", "content": [image_part(blue_data_url), {"type": "text", "text": "Hi"}]}]
    )
    assert kind == "placeholder"
    assert plain[0]["content"] == (
        "[An image is attached; this text-only model cannot see it. It is 64x48 pixels (landscape); "
        "its dominant colour is blue.]\n\nHi"
    )
    broken, kind = bridge_messages([{"role": "user", "content": [image_part("/no/such.png")]}])
    assert kind == "placeholder" and "could not be opened" in broken[0]["content"]


def test_bridge_reports_the_weakest_kind_and_none_without_images(blue_data_url):
    messages = [
        {"role": "user", "content": [image_part(blue_data_url, caption="A blue wall.")]},
        {"role": "assistant", "content": "Nice."},
        {"role": "user", "content": [image_part(blue_data_url), {"type": "text", "text": "And this one?"}]},
    ]
    assert bridge_messages(messages)[1] == "placeholder"
    assert bridge_messages([{"role": "user", "content": "Hello"}]) == (
        [{"role": "user", "content": "Hello"}],
        None,
    )
    assert bridge_messages([{"role": "assistant", "content": None}])[0][0]["content"] == ""


def test_text_of_joins_text_parts_only(blue_data_url):
    assert text_of("plain") == "plain" and text_of(None) == ""
    assert (
        text_of([{"type": "text", "text": "a"}, image_part(blue_data_url), {"type": "text", "text": "b"}])
        == "a\n\nb"
    )


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in BAD_IMAGES])
def test_bad_images_are_one_clear_non_retryable_error(tmp_path, case):
    """What a local (hf:) model gets: a failed request with the reason, never a PIL traceback."""
    path = tmp_path / case.name
    path.write_bytes(case.data())
    data_url = "data:image/png;base64," + base64.b64encode(case.data()).decode()
    for url in (str(path), data_url):
        with pytest.raises(BackendError, match="cannot read image") as caught:
            load_image(url)
        assert case.error in str(caught.value) and not caught.value.retryable
