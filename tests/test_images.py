"""Images are encoded once per distinct content, in caches bounded by the bytes they hold."""

from __future__ import annotations

import asyncio
import io
import re

import pytest
from PIL import Image

from mmrole import images
from mmrole.lru import SizedLRU


def test_sized_lru_evicts_by_bytes_and_never_keeps_an_oversized_value():
    cache: SizedLRU[bytes] = SizedLRU(10)
    a = cache.get_or_make("a", lambda: b"x" * 4)
    cache.get_or_make("b", lambda: b"y" * 4)
    assert cache.get_or_make("a", lambda: b"new") is a  # a hit, and now the most recent
    cache.get_or_make("c", lambda: b"z" * 4)  # 12 bytes: the least recent (b) goes
    assert cache.nbytes == 8 and cache.get_or_make("b", lambda: b"again") == b"again"
    cache.get_or_make("big", lambda: b"w" * 11)
    assert len(cache) == 2 and cache.nbytes == 9  # c and b; the big one made and returned, not kept


def test_files_with_the_same_content_share_one_data_url(tmp_path):
    Image.new("RGB", (30, 20), (1, 2, 3)).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes((tmp_path / "a.png").read_bytes())
    Image.new("RGB", (30, 20), (9, 9, 9)).save(tmp_path / "c.png")
    made = images._DATA_URLS.made
    a, b, c = (images.to_data_url(str(tmp_path / name)) for name in ("a.png", "b.png", "c.png"))
    assert a is b and a != c and images._DATA_URLS.made == made + 2
    assert images.to_data_url(str(tmp_path / "a.png")) is a
    # a downscaled copy is its own entry; the digest of a data URL is the digest of its file
    assert images.to_data_url(str(tmp_path / "a.png"), max_side=10) != a
    assert images.image_digest(a) == images.image_digest(str(tmp_path / "a.png"))


def _pictures(folder):
    """A photo (JPEG), a picture with alpha and a flat-colour PNG, all larger than the cap."""
    Image.effect_noise((320, 240), 50).convert("RGB").save(folder / "photo.jpg", quality=85)
    Image.effect_noise((200, 300), 50).convert("RGBA").save(folder / "alpha.png")
    Image.new("RGB", (300, 120), (20, 140, 90)).save(folder / "flat.png")
    return ["photo.jpg", "alpha.png", "flat.png"]


def _payload(url: str) -> bytes:
    return images.decode_data_url(url)[1]


@pytest.mark.parametrize("side", [64, None], ids=["downscaled", "as-is"])
def test_every_path_sends_the_same_bytes_for_the_same_image_and_side(tmp_path, side):
    """Answering, judging, feedback, data convert, the app and the OpenAI backend share one downscaler."""
    from mmrole.align.feedback import sampling_requests
    from mmrole.align.feedback_config import FeedbackOptions
    from mmrole.app.resources import ChatData
    from mmrole.app.session import ChatSession
    from mmrole.data import load_samples
    from mmrole.data.convert import to_openai_messages
    from mmrole.eval.answer import sample_requests
    from mmrole.eval.judge_plan import JudgeOptions, image_parts
    from mmrole.models.base import GenerationParams
    from mmrole.models.openai_compat import OpenAICompatBackend
    from mmrole.testing import ScriptedBackend
    from mmrole.testing.server import LocalOpenAIServer

    demo = ChatData.open("demo")
    base = next(iter(load_samples("demo")))
    sent: list[str] = []

    def responder(messages):
        sent.append(messages[1]["content"][0]["image_url"]["url"])
        return "ok"

    with LocalOpenAIServer(responder) as server:
        for name in _pictures(tmp_path):
            path = tmp_path / name
            expected = path.read_bytes() if side is None else images.downscale(path.read_bytes(), side)[1]
            sample = base.model_copy(update={"image": name})

            def url_of(messages):
                return messages[1]["content"][0]["image_url"]["url"]

            answer = next(sample_requests([sample], tmp_path, GenerationParams(), max_image_side=side))
            feedback = next(sampling_requests([sample], tmp_path, FeedbackOptions(max_image_side=side)))
            judge = image_parts(sample, tmp_path, JudgeOptions(max_image_side=side))[0]["image_url"]["url"]
            chat = ChatSession(demo.character("Mira Vale"), ScriptedBackend([]), path, max_image_side=side)
            urls = {
                "answer": url_of(answer.messages),
                "feedback": url_of(feedback.messages),
                "judge": images.to_data_url(judge),  # a path when not downscaled: the backend reads it
                "data convert --to openai": url_of(to_openai_messages(sample, tmp_path, max_image_side=side)),
                "app": url_of(chat.messages()),
                "backend, a file": images.to_data_url(str(path), side),
                "backend, a data URL": images.to_data_url(
                    images.encode_data_url("image/png", path.read_bytes()), side
                ),
            }
            assert {how: _payload(url) == expected for how, url in urls.items()} == dict.fromkeys(urls, True)
            # and on the wire: the OpenAI backend's own max_image_side, given the file's path
            backend = OpenAICompatBackend("m", server.base_url, max_image_side=side)
            part = {"type": "image_url", "image_url": {"url": str(path)}}
            messages = [{"role": "system", "content": "s"}, {"role": "user", "content": [part]}]
            asyncio.run(backend.generate(messages, GenerationParams()))
            assert _payload(sent[-1]) == expected, name
    if side is not None:
        assert len({len(_payload(url)) for url in sent}) == 3  # three pictures, each shrunk its own way


def test_a_shrunk_image_is_jpeg_unless_it_has_alpha_or_a_palette(tmp_path):
    _pictures(tmp_path)
    shrunk = {name: images.read_image(tmp_path / name, 64) for name in ("photo.jpg", "alpha.png", "flat.png")}
    assert {name: mime for name, (mime, _) in shrunk.items()} == {
        "photo.jpg": "image/jpeg",
        "alpha.png": "image/png",
        "flat.png": "image/jpeg",
    }
    assert Image.open(io.BytesIO(shrunk["alpha.png"][1])).size == (43, 64)
    kept = images.read_image(tmp_path / "flat.png", 300)
    assert kept == ("image/png", (tmp_path / "flat.png").read_bytes())  # fits: sent as it is


def test_bad_images_are_one_error_on_every_path(tmp_path):
    from mmrole.errors import DataError
    from mmrole.testing.bad_images import BAD_IMAGES

    for case in BAD_IMAGES:
        path = tmp_path / case.name
        path.write_bytes(case.data())
        for side in (None, 64):
            with pytest.raises(DataError, match=re.escape(case.error)) as file_error:
                images.file_data_url(path, side, record="s1")
            assert file_error.value.file == str(path) and file_error.value.record == "s1"
            assert "\n" not in str(file_error.value)
        with pytest.raises(DataError, match=re.escape(case.error)) as url_error:
            images.to_data_url(images.encode_data_url("image/png", case.data()), 64)
        assert url_error.value.field == "image_url"
