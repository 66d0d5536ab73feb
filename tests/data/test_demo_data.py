"""The bundled demo dataset: small, complete, in the MMRole-Data layout, and reproducible."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PIL import Image

from mmrole.data import demo_root, load_annotations, load_characters, load_dialogues, load_samples
from mmrole.data.demo import write_demo


def _files(root: Path) -> list[Path]:
    return sorted(
        p.relative_to(root) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )


def test_demo_is_reproducible(tmp_path: Path):
    fresh = write_demo(tmp_path / "demo")
    bundled = demo_root()
    assert _files(fresh) == _files(bundled)
    for relative in _files(bundled):
        if relative.suffix == ".png":
            with Image.open(fresh / relative) as a, Image.open(bundled / relative) as b:
                assert a.size == b.size and a.tobytes() == b.tobytes(), relative
        else:
            assert (fresh / relative).read_bytes() == (bundled / relative).read_bytes(), relative


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
