"""Images are encoded once per distinct content, in caches bounded by the bytes they hold."""

from __future__ import annotations

from PIL import Image

from mmrole.engine import images
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
