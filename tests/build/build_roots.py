"""Small MMRole-Data roots for the build tests, written from scratch or copied from the reference."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PIL import Image

#: The characters of the small root, by split and series.
ROLES = {
    "in-distribution": {"Toy Story": ["Woody", "Buzz Lightyear"], "西游记": ["孙悟空", "唐僧"]},
    "out-of-distribution": {"The Big Bang Theory": ["Sheldon Cooper", "Penny"]},
}
CHINESE = {"孙悟空", "唐僧"}
STILLS = {"Toy_Story": 3, "西游记": 2, "The_Big_Bang_Theory": 2}
N_COCO = 4


def write_image(path: Path, shade: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (24, 16), (shade % 256, 90, 140)).save(path)


def summary_text(name: str) -> str:
    if name in CHINESE:
        return f"### 简要介绍\n{name}是一个人物。\n### 性格特点\n勇敢。\n### 人物经历\n取经。\n### 主要人际关系\n师徒。\n### 口头禅或名言\n“走吧。”"
    return (
        f"### Brief Introduction\n{name} is a character.\n### Personality\nBrave.\n### Life Story\nAdventures.\n"
        '### Main Interpersonal Relationships\nFriends.\n### Catchphrases\n"Let\'s go."'
    )


def make_root(root: Path, *, profiles: bool = True) -> Path:
    """A root of six characters in two splits (two Chinese), with raw info, stills, COCO images and
    one annotated still per series; ``profiles`` writes their profiles.json (else only roles.json)."""
    for split, roles in ROLES.items():
        folder = root / "profiles" / split
        folder.mkdir(parents=True)
        (folder / "roles.json").write_text(json.dumps(roles, ensure_ascii=False), encoding="utf-8")
        names = [name for names in roles.values() for name in names]
        if profiles:
            summaries = {name: summary_text(name) for name in names}
            (folder / "profiles.json").write_text(json.dumps(summaries, ensure_ascii=False), encoding="utf-8")
        for name in names:
            sub = "raw_info_zh" if name in CHINESE else "raw_info_en"
            raw = folder / sub / f"{name.replace(' ', '_')}.txt"
            raw.parent.mkdir(exist_ok=True)
            text = (
                f"{name}是一个著名人物，经历丰富。"
                if name in CHINESE
                else f"{name} is a well-known character."
            )
            raw.write_text(text * 5, encoding="utf-8")
    images = root / "images"
    for number in range(N_COCO):
        write_image(images / "COCO" / "train2017" / f"{number:012d}.jpg", number * 30)
    annotations = []
    for series, count in STILLS.items():
        for number in range(1, count + 1):
            write_image(images / series / f"{number:02d}.jpg", number * 50)
        annotations.append(
            {
                "image": f"{series}/01.jpg",
                "role_info": "Someone.",
                "place_info": "Somewhere",
                "scene_info": "",
            }
        )
    (images / "annotations.json").write_text(json.dumps(annotations, ensure_ascii=False), encoding="utf-8")
    return root


def copy_reference_profiles(reference: Path, target: Path) -> Path:
    """The reference release's ``profiles/`` and ``images/annotations.json`` in ``target`` (never
    written in place)."""
    shutil.copytree(reference / "profiles", target / "profiles")
    (target / "images").mkdir(parents=True)
    shutil.copyfile(reference / "images" / "annotations.json", target / "images" / "annotations.json")
    return target
