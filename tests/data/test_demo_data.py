"""The bundled demo dataset: small, complete, in the MMRole-Data layout, and reproducible."""

from __future__ import annotations

import importlib
import stat
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from mmrole.data import demo_root, load_annotations, load_characters, load_dialogues, load_samples
from mmrole.data.sources import copy_demo
from mmrole.errors import ConfigError

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _files(root: Path) -> list[Path]:
    return sorted(
        p.relative_to(root) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )


def _same_dataset(fresh: Path, bundled: Path) -> None:
    assert _files(fresh) == _files(bundled)
    for relative in _files(bundled):
        if relative.suffix == ".png":
            with Image.open(fresh / relative) as a, Image.open(bundled / relative) as b:
                assert a.size == b.size and a.tobytes() == b.tobytes(), relative
        else:
            assert (fresh / relative).read_bytes() == (bundled / relative).read_bytes(), relative


def test_demo_is_reproducible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The packaged demo data is what scripts/make_demo_data.py writes."""
    monkeypatch.syspath_prepend(str(SCRIPTS))
    script = importlib.import_module("make_demo_data")
    _same_dataset(script.write_demo(tmp_path / "demo"), demo_root())


def test_copy_demo_copies_the_bundled_set_and_refuses_a_non_empty_folder(tmp_path: Path):
    copy = copy_demo(tmp_path / "copy")
    _same_dataset(copy, demo_root())
    with pytest.raises(ConfigError, match="not empty"):
        copy_demo(copy)
    (copy / "profiles" / "extra.txt").write_text("mine")
    assert not (copy_demo(copy, overwrite=True) / "profiles" / "extra.txt").exists()


def test_a_copy_of_a_read_only_installation_can_be_edited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    installed = copy_demo(tmp_path / "site-packages" / "demo_data")
    for path in sorted(installed.rglob("*"), reverse=True):  # files before their folders
        path.chmod(0o555 if path.is_dir() else 0o444)
    installed.chmod(0o555)
    monkeypatch.setattr("mmrole.data.sources.demo_root", lambda: installed)
    try:
        copy = copy_demo(tmp_path / "mine")
    finally:
        for path in (installed, *installed.rglob("*")):
            path.chmod(0o755)
    modes = {p.stat().st_mode & stat.S_IWUSR for p in (copy, *copy.rglob("*"))}
    assert modes == {stat.S_IWUSR}


def test_demo_is_small_and_complete():
    root = demo_root()
    assert sum((root / p).stat().st_size for p in _files(root)) < 300_000
    characters = load_characters(root)
    assert len(characters) == 4
    assert sum(c.hypothetical for c in characters.values()) == 1
    assert [c.name for c in characters.values() if c.language == "Chinese"] == ["小月"]
    assert {c.split for c in characters.values()} == {"in-distribution", "out-of-distribution"}
    dialogues = list(load_dialogues(root))
    assert Counter(d.type for d in dialogues).keys() == {"comment", "human-role", "inter-role"}
    images = _files(root / "images")
    assert len([p for p in images if p.suffix == ".png"]) == 6
    annotations = load_annotations(root)
    assert len(annotations) == 4 and all(not a.is_empty() for a in annotations.values())
    tests = list(load_samples("demo"))
    assert 6 <= len(tests) <= 9
    assert {(s.type, s.split) for s in tests} >= {
        ("comment", "in-distribution"),
        ("human-role", "in-distribution"),
        ("inter-role", "in-distribution"),
        ("comment", "out-of-distribution"),
    }
    assert any(s.language == "Chinese" for s in tests)
    # Annotated images put their auxiliary information in the prompt; unannotated ones do not.
    for sample in tests:
        annotated = sample.image in annotations
        assert ("The auxiliary information of the image is as follows:" in sample.instruction) == annotated
