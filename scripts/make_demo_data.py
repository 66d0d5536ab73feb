"""Regenerate mmrole's bundled demo dataset (``src/mmrole/demo_data``), a tiny MMRole-Data root.

Four original characters (one hypothetical, one Chinese, one out-of-distribution), six simple
PIL drawings, dialogues of all three types, a test split of eight samples and a small train
split (the in-distribution turns of the dialogues with no test sample); the words are in
``demo_content.py`` beside this script. The library only ships the result (``mmrole.data.sources``
finds and copies it); tests/data/test_demo_data.py checks the shipped folder is what this
script writes. Run from the repository::

    python scripts/make_demo_data.py            # rewrites src/mmrole/demo_data
    python scripts/make_demo_data.py OUT_DIR    # writes elsewhere (OUT_DIR must be empty)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import demo_content as content  # beside this script (its folder is on sys.path when it runs)

from mmrole.data.characters import file_stem
from mmrole.data.holdout import dialogue_id
from mmrole.data.qwen import sample_to_qwen
from mmrole.data.samples import build_samples
from mmrole.files import fresh_folder

SECTION_TITLES = {
    "English": (
        "Brief Introduction",
        "Personality",
        "Life Story",
        "Main Interpersonal Relationships",
        "Catchphrases",
    ),
    "Chinese": ("简要介绍", "性格特点", "人物经历", "主要人际关系", "口头禅"),
}
SECTIONS = ("introduction", "personality", "experience", "relationship", "catchphrase")
SIZE = (320, 240)
#: The package data folder this script rewrites by default.
BUNDLED = Path(__file__).resolve().parents[1] / "src" / "mmrole" / "demo_data"


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def profile_text(profile: dict[str, str], language: str) -> str:
    """The short profile ``profiles.json`` holds: the five sections under markdown headings."""
    titles = SECTION_TITLES[language]
    return "\n".join(f"### {title}\n{profile[key]}" for title, key in zip(titles, SECTIONS, strict=True))


# Drawings: a few shapes each, so the PNGs stay a few kilobytes.


def _sky(draw: Any, top: str, bottom: str, horizon: int) -> None:
    draw.rectangle([0, 0, SIZE[0], horizon], fill=top)
    draw.rectangle([0, horizon, SIZE[0], SIZE[1]], fill=bottom)


def _draw(scene: str) -> Any:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(image)
    if scene == "lighthouse":
        _sky(draw, "#f4a261", "#264653", 160)
        draw.ellipse([200, 110, 260, 170], fill="#e76f51")  # setting sun
        draw.polygon([(40, 240), (150, 240), (120, 170), (60, 170)], fill="#6d6875")  # rock
        draw.polygon([(80, 170), (110, 170), (102, 60), (88, 60)], fill="#f1faee")  # tower
        for y in (80, 110, 140):
            draw.rectangle([84, y, 106, y + 8], fill="#e63946")
        draw.rectangle([85, 45, 105, 60], fill="#ffd166")  # lamp
        draw.polygon([(105, 48), (320, 20), (320, 80)], fill="#ffe8a3")  # beam
    elif scene == "workshop":
        _sky(draw, "#8d6e63", "#5d4037", 170)
        draw.rectangle([20, 150, 300, 170], fill="#a1887f")  # bench
        for x, y, r in ((70, 60, 30), (140, 50, 20), (230, 70, 35)):
            draw.ellipse([x - r, y - r, x + r, y + r], outline="#ffca28", width=6)
            draw.ellipse([x - 6, y - 6, x + 6, y + 6], fill="#ffca28")
        draw.rectangle([150, 110, 180, 150], fill="#b0bec5")  # Tick's body
        draw.rectangle([155, 90, 175, 110], fill="#cfd8dc")  # head
        draw.ellipse([159, 96, 165, 102], fill="#263238")
        draw.ellipse([167, 96, 173, 102], fill="#263238")
    elif scene == "rooftop":
        _sky(draw, "#90e0ef", "#adb5bd", 130)
        draw.ellipse([250, 20, 300, 70], fill="#ffd60a")
        for x in (20, 110):
            draw.polygon([(x, 150), (x + 70, 150), (x + 85, 120), (x + 15, 120)], fill="#1d3557")  # panels
        for x in (200, 260):
            draw.rectangle([x, 140, x + 45, 170], fill="#6f4518")  # beds
            for dx in (8, 22, 36):
                draw.ellipse([x + dx - 7, 125, x + dx + 7, 145], fill="#2d6a4f")
    elif scene == "lanterns":
        _sky(draw, "#0b132b", "#3a506b", 190)
        draw.ellipse([240, 20, 290, 70], fill="#fff3b0")  # moon
        for x, y in ((30, 30), (120, 15), (200, 90), (300, 120), (80, 110)):
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill="white")
        for x, y in ((60, 60), (150, 100), (210, 140), (110, 150)):
            draw.rounded_rectangle([x - 10, y - 14, x + 10, y + 14], radius=8, fill="#ef476f")
        for x in range(0, 320, 80):
            draw.polygon([(x, 200), (x + 40, 175), (x + 80, 200)], fill="#1c2541")  # roofs
    elif scene == "house":
        _sky(draw, "#bde0fe", "#80b918", 170)
        draw.ellipse([20, 20, 70, 70], fill="#ffb703")
        draw.ellipse([180, 30, 250, 60], fill="white")
        draw.rectangle([110, 110, 210, 190], fill="#fefae0")
        draw.polygon([(100, 110), (160, 65), (220, 110)], fill="#c1121f")
        draw.rectangle([150, 150, 172, 190], fill="#7f5539")
        draw.rectangle([250, 120, 262, 190], fill="#7f5539")
        draw.ellipse([225, 80, 290, 140], fill="#2b9348")
    elif scene == "boats":
        _sky(draw, "#caf0f8", "#0077b6", 140)
        draw.ellipse([30, 25, 110, 60], fill="white")
        draw.ellipse([250, 15, 320, 55], fill="#adb5bd")  # grey cloud at the edge
        for x, y in ((60, 170), (170, 150), (250, 185)):
            draw.polygon([(x - 30, y), (x + 30, y), (x + 20, y + 12), (x - 20, y + 12)], fill="#6c584c")
            draw.polygon([(x, y - 50), (x, y - 2), (x + 28, y - 2)], fill="white")
    else:
        raise ValueError(f"unknown demo scene {scene!r}")
    return image


def write_demo(target: str | Path, *, overwrite: bool = False) -> Path:
    """Write the demo dataset into ``target`` and return it; a non-empty ``target`` is replaced only with
    ``overwrite`` (ConfigError otherwise, as :func:`mmrole.files.fresh_folder` says)."""
    target = fresh_folder(target, overwrite=overwrite)
    _write_profiles(target)
    for relative, (scene, _) in content.IMAGES.items():
        path = target / "images" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        _draw(scene).save(path, format="PNG", optimize=True)
    annotations = [{"image": rel, **ann} for rel, (_, ann) in content.IMAGES.items() if ann]
    _write_json(target / "images" / "annotations.json", annotations)
    _write_dialogues(target)

    tests: dict[tuple[str, str], list[dict[str, Any]]] = {}
    train: list[dict[str, Any]] = []
    # Training never sees a test dialogue: its other turns hold the test answer in their history.
    test_dialogues = {dialogue_id(sample_id) for sample_id in content.TEST_IDS}
    for sample in build_samples(target):
        if sample.id in content.TEST_IDS:
            tests.setdefault((sample.split, sample.type), []).append(sample_to_qwen(sample))
        elif sample.split == "in-distribution" and dialogue_id(sample.id) not in test_dialogues:
            train.append(sample_to_qwen(sample))
    for (split, dialogue_type), records in sorted(tests.items()):
        _write_json(target / "data" / "test" / split / f"{dialogue_type}_test.json", records)
    _write_json(target / "data" / "train" / "train_demo.json", train)
    (target / "README.md").write_text(
        "# mmrole demo dataset\n\nA tiny dataset in the MMRole-Data layout, written for mmrole (original "
        "characters, texts and drawings; MIT, like mmrole). Regenerate it with `python scripts/make_demo_data.py`.\n",
        encoding="utf-8",
    )
    return target


def _write_profiles(target: Path) -> None:
    by_split: dict[str, tuple[dict[str, list[str]], dict[str, str]]] = {}
    for name, spec in content.CHARACTERS.items():
        split, series, stem = spec["split"], spec["series"], file_stem(name)
        roles, profiles = by_split.setdefault(split, ({}, {}))
        roles.setdefault(series, []).append(name)
        chinese = series == content.CLOUDS
        profiles[name] = profile_text(spec["profile"], "Chinese" if chinese else "English")
        folder = target / "profiles" / split
        _write_json(folder / "detailed_profiles" / f"{stem}.json", spec["profile"])
        raw = folder / ("raw_info_zh" if chinese else "raw_info_en") / f"{stem}.txt"
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(spec["raw"] + "\n", encoding="utf-8")
        if spec["seed"]:
            _write_json(folder / "meta_info_hypo" / f"{stem}.json", spec["seed"])
    for split, (roles, profiles) in by_split.items():
        _write_json(target / "profiles" / split / "roles.json", roles)
        _write_json(target / "profiles" / split / "profiles.json", profiles)


def _write_dialogues(target: Path) -> None:
    files: dict[Path, list[dict[str, Any]]] = {}
    for split, dialogue_type, stem, record_id, image, turns in content.DIALOGUES:
        folder = target / "dialogues" / split
        path = folder / dialogue_type / f"{stem}.json" if stem else folder / f"{dialogue_type}.json"
        record: dict[str, Any] = {"id": record_id, "image": image, "conversations": []}
        for speaker, text in turns:
            # MMRole marks the comment question with "from"; every other turn with "role".
            key = "from" if dialogue_type == "comment" and speaker == "human" else "role"
            record["conversations"].append({key: speaker, "value": text})
        files.setdefault(path, []).append(record)
    for path, records in files.items():
        _write_json(path, records)


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.exit("usage: python scripts/make_demo_data.py [OUT_DIR]")
    out = Path(sys.argv[1]) if len(sys.argv) == 2 else BUNDLED
    print(write_demo(out, overwrite=out == BUNDLED))
