"""Cache keys: content, not transport; sampling parameters, not operational settings."""

from __future__ import annotations

import base64
import io

from PIL import Image

from mmrole.engine import request_key
from mmrole.models.base import GenerationParams


def _png(path, color) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), color).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def _messages(url: str, text: str = "Describe it.") -> list[dict]:
    return [
        {"role": "system", "content": "You are Iron Man."},
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": text}],
        },
    ]


def test_data_url_and_file_path_of_the_same_image_share_a_key(tmp_path):
    data = _png(tmp_path / "a.png", "red")
    data_url = "data:image/png;base64," + base64.b64encode(data).decode()
    params = GenerationParams()
    keys = {
        request_key("openai:m", _messages(data_url), params),
        request_key("openai:m", _messages(str(tmp_path / "a.png")), params),
        request_key("openai:m", _messages((tmp_path / "a.png").as_uri()), params),
    }
    assert len(keys) == 1


def test_different_image_bytes_make_a_different_key(tmp_path):
    _png(tmp_path / "a.png", "red")
    _png(tmp_path / "b.png", "blue")
    params = GenerationParams()
    assert request_key("s", _messages(str(tmp_path / "a.png")), params) != request_key(
        "s", _messages(str(tmp_path / "b.png")), params
    )


def test_spec_text_params_options_and_request_id_enter_the_key(tmp_path):
    _png(tmp_path / "a.png", "red")
    url = str(tmp_path / "a.png")
    base = request_key("openai:m", _messages(url), GenerationParams())
    variants = [
        request_key("openai:other", _messages(url), GenerationParams()),
        request_key("openai:m", _messages(url, "Another question."), GenerationParams()),
        request_key("openai:m", _messages(url), GenerationParams(temperature=0.5)),
        request_key("openai:m", _messages(url), GenerationParams(draw=1)),
        request_key("openai:m", _messages(url), GenerationParams(), backend_options={"max_image_side": 512}),
        request_key("openai:m", _messages(url), GenerationParams(), request_id="s1"),
    ]
    assert len({base, *variants}) == len(variants) + 1
    assert request_key("openai:m", _messages(url), GenerationParams()) == base  # deterministic


def test_text_only_messages_and_missing_files_still_key(tmp_path):
    text = [{"role": "user", "content": "hi"}]
    assert len(request_key("s", text, GenerationParams())) == 64
    missing = request_key("s", _messages(str(tmp_path / "gone.png")), GenerationParams())
    assert missing != request_key("s", _messages(str(tmp_path / "other.png")), GenerationParams())
