"""Request bodies with each image's JSON made once: the same bytes as json.dumps, the same keys."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from pathlib import Path

from PIL import Image

from mmrole import images
from mmrole.engine import request_key
from mmrole.errors import DataError
from mmrole.models import request_body
from mmrole.models.base import GenerationParams
from mmrole.models.data_urls import DataURLs
from mmrole.models.openai_compat import OpenAICompatBackend
from mmrole.models.request_body import encode_body


def _data_url(data: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _messages(*urls: str, text: str = "Rate them.", detail: bool = False) -> list[dict]:
    parts: list[dict] = []
    for url in urls:
        image = {"url": url, "detail": "low"} if detail else {"url": url}
        parts.append({"type": "image_url", "image_url": image, "note": "after the url"})
    parts.append({"type": "text", "text": text})
    return [{"role": "system", "content": "Judge fairly."}, {"role": "user", "content": parts}]


def test_the_body_is_byte_for_byte_what_json_dumps_writes():
    big, other = _data_url(os.urandom(60_000)), _data_url(os.urandom(5_000), "image/png")
    payloads = [
        {"model": "m", "messages": _messages(big), "max_tokens": 8, "temperature": 0.0, "top_p": 1.0},
        {"model": "m", "messages": _messages(big, other, big, detail=True), "seed": 3, "stop": ["\n"]},
        {"model": "m", "messages": _messages("data:image/png;base64,AAAA", text='é ✓ "quoted" \\ \x01')},
        {"model": "m", "messages": [{"role": "user", "content": "text only"}], "logprobs": True},
        {"messages": _messages(big), "extra": {"nested": [1, None, True]}, "model": "last"},
        # a message quoting the stand-in's own text: dumped whole, still the same bytes
        {"model": "m", "messages": _messages(big, text=request_body._TOKEN)},
        {"model": "m", "messages": _messages(big), "echo": request_body._TOKEN},
    ]
    for payload in payloads:
        assert encode_body(payload) == json.dumps(payload).encode()


def test_each_image_is_encoded_once_for_every_request_showing_it():
    url = _data_url(os.urandom(40_000))
    made = request_body._FRAGMENTS.made
    bodies = {encode_body({"model": "m", "messages": _messages(url, text=f"metric {m}")}) for m in range(8)}
    assert len(bodies) == 8 and request_body._FRAGMENTS.made == made + 1
    again = _data_url(os.urandom(40_000))
    encode_body({"model": "m", "messages": _messages(again)})
    assert request_body._FRAGMENTS.made == made + 2  # another image, another fragment


def test_keys_still_hash_the_image_bytes(tmp_path):
    """Splicing changes how bodies are made, not what a request is: keys follow the image bytes."""
    params = GenerationParams()
    a, b = os.urandom(30_000), os.urandom(30_000)
    (tmp_path / "a.jpg").write_bytes(a)

    def key(url: str) -> str:
        return request_key("openai:m", _messages(url), params)

    assert key(_data_url(a)) == key(_data_url(a)) == key(str(tmp_path / "a.jpg"))
    assert key(_data_url(a)) != key(_data_url(b))
    assert key(_data_url(a)) == key(_data_url(a, "image/png"))  # the bytes, not the label


async def _capture_bodies(bodies: list[bytes]):
    """A server recording each request body, answering a chat completion."""
    reply = json.dumps({"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                bodies.append(await reader.readexactly(length))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(reply), reply))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"


def test_the_wire_carries_the_old_json_dumps_bytes(tmp_path):
    """Judge-style requests naming a file: what the lean client sends is json.dumps of the payload."""
    Image.effect_noise((300, 200), 40).convert("RGB").save(tmp_path / "photo.jpg", quality=90)
    path = tmp_path / "photo.jpg"
    params = GenerationParams(max_tokens=16, seed=7)
    bodies: list[bytes] = []

    async def scenario():
        server, url = await _capture_bodies(bodies)
        backend = OpenAICompatBackend("judge-model", url, extra_body={"repetition_penalty": 1.05})
        for metric in range(3):
            await backend.generate(_messages(str(path), text=f"metric {metric}", detail=True), params)
        await backend.aclose()
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
    shipped = images.encode_data_url("image/jpeg", path.read_bytes())
    for metric, body in enumerate(bodies):
        payload = {
            "model": "judge-model",
            "messages": _messages(shipped, text=f"metric {metric}", detail=True),
            "max_tokens": 16,
            "temperature": 0.0,
            "top_p": 1.0,
            "seed": 7,
            "repetition_penalty": 1.05,
        }
        assert body == json.dumps(payload).encode()
    assert len(bodies) == 3


def test_a_made_data_url_is_found_without_work_and_a_changed_file_is_not(tmp_path):
    path = tmp_path / "pic.png"
    Image.new("RGB", (40, 30), (5, 6, 7)).save(path)
    assert images.quick_data_url(str(path)) is None  # never made: the caller makes it off the loop
    made = images.to_data_url(str(path))
    assert images.quick_data_url(str(path)) is made
    assert images.quick_data_url(str(path), 20) is None  # a downscaled copy is another entry
    small = images.to_data_url(made, 20)
    assert images.quick_data_url(made, 20) is small and images.quick_data_url(made) is made
    Image.new("RGB", (40, 30), (9, 9, 9)).save(path)
    os.utime(path, ns=(1, 1))  # another mtime whatever the clock's resolution
    assert images.quick_data_url(str(path)) is None
    assert images.quick_data_url("https://example.org/a.png") == "https://example.org/a.png"
    assert images.quick_data_url(str(tmp_path / "missing.png")) is None


def test_requests_asking_for_an_image_together_make_its_data_url_once(tmp_path, monkeypatch):
    """A judge sends a sample's 8 requests at once: one file read and encoding, not 8."""
    Image.effect_noise((120, 80), 40).convert("RGB").save(tmp_path / "shared.jpg", quality=90)
    path = str(tmp_path / "shared.jpg")
    made: list[str] = []
    to_data_url = images.to_data_url

    def counted(url: str, max_side: int | None = None) -> str:
        made.append(url)
        return to_data_url(url, max_side)

    monkeypatch.setattr("mmrole.models.data_urls.to_data_url", counted)
    bodies: list[bytes] = []

    async def scenario():
        server, url = await _capture_bodies(bodies)
        backend = OpenAICompatBackend("judge-model", url)
        await asyncio.gather(
            *(backend.generate(_messages(path, text=f"metric {m}"), GenerationParams()) for m in range(8))
        )
        assert backend._images.making == {}  # nothing left behind once made
        await backend.aclose()
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
    assert made == [path] and len(bodies) == 8
    shipped = images.encode_data_url("image/jpeg", (tmp_path / "shared.jpg").read_bytes()).encode()
    assert all(shipped in body for body in bodies)


def test_a_checked_small_image_is_made_on_the_loop_and_others_in_a_thread(tmp_path, monkeypatch):
    """judge_run checks every image before its first call: the first request of a sample then
    encodes its image on the event loop; an unchecked one, or one to resize, goes to a thread."""
    for name, size in (("checked.jpg", (120, 80)), ("unchecked.jpg", (90, 60)), ("wide.jpg", (300, 40))):
        Image.effect_noise(size, 40).convert("RGB").save(tmp_path / name, quality=90)
    images.check_image_file(tmp_path / "checked.jpg")
    images.check_image_file(tmp_path / "wide.jpg")
    trips: list[str] = []
    to_thread = asyncio.to_thread

    def counted(function, url, *args):  # noqa: ANN001, ANN202 - asyncio.to_thread's shape
        trips.append(Path(url).name)
        return to_thread(function, url, *args)

    monkeypatch.setattr("mmrole.models.data_urls.asyncio.to_thread", counted)

    async def scenario(max_side: int | None, *names: str) -> list[str]:
        shipper = DataURLs(max_side)
        made = []
        for name in names:
            prepared = await shipper.prepare(_messages(str(tmp_path / name)))
            made.append(prepared[-1]["content"][0]["image_url"]["url"])
        return made

    made = asyncio.run(scenario(None, "checked.jpg", "unchecked.jpg"))
    assert trips == ["unchecked.jpg"]  # decoded once there, to check it
    assert made == [images.to_data_url(str(tmp_path / n)) for n in ("checked.jpg", "unchecked.jpg")]
    trips.clear()
    asyncio.run(scenario(200, "checked.jpg", "wide.jpg"))
    assert trips == ["wide.jpg"]  # 300 px wide, over the cap: resized in a thread; 120 px fits


def test_quick_data_url_never_decodes(tmp_path, monkeypatch):
    path, large = tmp_path / "pic.png", tmp_path / "large.png"
    Image.new("RGB", (40, 30), (5, 6, 7)).save(path)
    Image.effect_noise((40, 30), 40).convert("RGB").save(large)
    images.check_image_file(path)
    images.check_image_file(large)
    monkeypatch.setattr("mmrole.images.decode.open_image", _no_decoding)
    assert images.quick_data_url(str(path), 30) is None  # 40 px: to be resized
    made = images.quick_data_url(str(path), 40)
    assert made == images.encode_data_url("image/png", path.read_bytes())
    assert images.quick_data_url(str(path)) == made  # the file is sent as it is either way
    monkeypatch.setattr("mmrole.images.urls.QUICK_BYTES", large.stat().st_size - 1)
    assert images.quick_data_url(str(large)) is None  # checked, but too large to encode on a loop
    assert images.read_image(large, 40) == ("image/png", large.read_bytes())  # fits: not decoded again
    Image.new("RGB", (40, 30), (8, 8, 8)).save(path)
    os.utime(path, ns=(2, 2))
    assert images.quick_data_url(str(path)) is None  # changed since its check


def _no_decoding(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
    raise AssertionError("decoded an image")


def test_a_bad_image_fails_every_request_waiting_for_it(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    path = str(tmp_path / "broken.jpg")

    async def scenario():
        backend = OpenAICompatBackend("judge-model", "http://127.0.0.1:9/v1")
        outcomes = await asyncio.gather(
            *(backend.generate(_messages(path), GenerationParams()) for _ in range(4)), return_exceptions=True
        )
        await backend.aclose()
        return outcomes

    outcomes = asyncio.run(scenario())
    assert len(outcomes) == 4 and all(isinstance(o, DataError) and "broken.jpg" in str(o) for o in outcomes)


def test_plain_data_urls_are_quoted_as_json_quotes_them():
    for text in (
        _data_url(os.urandom(3_000)),
        'data:image/svg+xml;utf8,<svg>"quoted"</svg>' + "x" * 2_000,
        "data:text/plain;base64," + "é" * 2_000,
        "data:image/png;base64," + "A" * 2_000 + "\\n\x7f\t",
    ):
        assert request_body._string_json(text) == json.dumps(text).encode()
