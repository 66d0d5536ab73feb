"""Hand-written MMRole-Data roots for the curation tests (filter, split, run): the demo set's
characters and images, with dialogues written here so each test knows exactly what is in them.

Characters: Mira Vale and Otto Brass (in-distribution, English, one series: inter-role partners),
Nadia Okafor (in-distribution, alone in her series) and 小月 (out-of-distribution, Chinese).
Every dialogue's text is drawn from a seeded generator, so no two are near-duplicates.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

from mmrole.data.dialogues import ID_MARKERS
from mmrole.data.sources import copy_demo

WORDS = (
    "lamp harbour gear storm sail rope tide beacon kettle compass gull lantern brass spring workshop "
    "fog reef island letter map cliff wave engine whistle signal anchor bell window garden clock orchard "
    "copper basket ladder pier shell stone cloud ember sky ship mail road market bridge river tower"
).split()
HANZI = "灯笼月亮云朵屋顶星星风铃小镇夜晚纸船桥边河水花园茶杯故事歌声梦想糖果石阶竹林雨点山谷"
STILLS = {
    "Mira Vale": ["The_Lantern_Isles/01.png", "The_Lantern_Isles/02.png"],
    "Otto Brass": ["The_Lantern_Isles/02.png", "The_Lantern_Isles/01.png"],
    "Nadia Okafor": ["Hypothetical_Characters/01.png"],
    "小月": ["云中小镇/01.png"],
}
GENERIC = ["scenes/boats.png", "scenes/house.png"]
PARTNERS = {"Mira Vale": "Otto Brass", "Otto Brass": "Mira Vale"}


def sentence(rng: random.Random, chinese: bool) -> str:
    if chinese:
        return "".join(rng.choice(HANZI) for _ in range(18)) + "。"
    return " ".join(rng.choice(WORDS) for _ in range(14)).capitalize() + "."


def record(
    name: str,
    dialogue_type: str,
    kind: str,
    number: int,
    *,
    turns: int | None = None,
    image: str | None = None,
    chinese: bool = False,
) -> dict[str, Any]:
    """A well-formed release-format dialogue of ``name`` (text drawn from a seed of its id)."""
    stem = name.replace(" ", "_")
    record_id = f"{stem}_{ID_MARKERS[dialogue_type]}_{kind}_{number}"
    rng = random.Random(record_id)
    pool = GENERIC if kind == "COCO" else STILLS[name]
    if dialogue_type == "comment":
        speakers = ["human", name]
    elif dialogue_type == "human-role":
        speakers = ["human", name] * ((turns or 6) // 2)
    else:
        speakers = [PARTNERS[name], name] * ((turns or 6) // 2)
    conversations = [
        {"role": speaker, "value": " ".join(sentence(rng, chinese) for _ in range(2))} for speaker in speakers
    ]
    return {"id": record_id, "image": image or pool[number % len(pool)], "conversations": conversations}


def dialogue_file(
    root: Path, name: str, dialogue_type: str, kind: str, split: str = "in-distribution"
) -> Path:
    return root / "dialogues" / split / dialogue_type / f"{name.replace(' ', '_')}_{kind}.json"


def write_records(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def read_records(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))


def curated_root(target: Path, per_kind: int = 2) -> Path:
    """A root with ``per_kind`` dialogues per character, type and image kind (COCO, script); no
    inter-role for Nadia Okafor and 小月 (alone in their series), no data/ folder."""
    root = copy_demo(target)
    shutil.rmtree(root / "dialogues")
    shutil.rmtree(root / "data")
    for name, split in (
        ("Mira Vale", "in-distribution"),
        ("Otto Brass", "in-distribution"),
        ("Nadia Okafor", "in-distribution"),
        ("小月", "out-of-distribution"),
    ):
        for dialogue_type in ("comment", "human-role", "inter-role"):
            if dialogue_type == "inter-role" and name not in PARTNERS:
                continue
            for kind in ("COCO", "script"):
                records = [
                    record(name, dialogue_type, kind, n, chinese=name == "小月") for n in range(per_kind)
                ]
                write_records(dialogue_file(root, name, dialogue_type, kind, split), records)
    return root


def review(score: float, *, bad_turns: list[int] | None = None, reason: str = "reads well") -> str:
    """A judge reply giving ``score`` on every criterion."""
    return json.dumps(
        {
            "in_character": score,
            "grounded": score,
            "consistent": score,
            "bad_turns": bad_turns or [],
            "reason": reason,
        }
    )


def dialogue_id_of(request_id: str | None) -> str:
    """The dialogue a filter request is about (``review:ID#0`` -> ``ID``)."""
    return (request_id or "").split(":", 1)[-1].rsplit("#", 1)[0]


# --- a root built from scratch by `build run` (needs the generating stages) -----------------------

SCRATCH_ROLES = {
    "in-distribution": {"The Lantern Isles": ["Mira Vale", "Otto Brass"]},
    "out-of-distribution": {"云中小镇": ["小月"]},
}


def scratch_root(target: Path) -> Path:
    """A root with only source texts and images: three characters (two in-distribution partners, one
    held-out Chinese character alone in her series), two generic images, three unannotated stills."""
    demo = copy_demo(target.parent / f"{target.name}-demo")
    for split, roles in SCRATCH_ROLES.items():
        folder = target / "profiles" / split
        folder.mkdir(parents=True)
        (folder / "roles.json").write_text(json.dumps(roles, ensure_ascii=False), encoding="utf-8")
        for name in (n for names in roles.values() for n in names):
            chinese = name == "小月"
            raw = folder / ("raw_info_zh" if chinese else "raw_info_en") / f"{name.replace(' ', '_')}.txt"
            raw.parent.mkdir(exist_ok=True)
            rng = random.Random(name)
            raw.write_text(" ".join(sentence(rng, chinese) for _ in range(12)), encoding="utf-8")
    images = target / "images"
    for source, copy in (
        ("scenes/boats.png", "COCO/train2017/000000000001.png"),
        ("scenes/house.png", "COCO/train2017/000000000002.png"),
        ("The_Lantern_Isles/01.png", "The_Lantern_Isles/01.png"),
        ("The_Lantern_Isles/02.png", "The_Lantern_Isles/02.png"),
        ("云中小镇/01.png", "云中小镇/01.png"),
    ):
        (images / copy).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(demo / "images" / source, images / copy)
    shutil.rmtree(demo)
    return target


def is_review(text: str) -> bool:
    return "Rate it from 1 (worst)" in text or "请从 1（最差）" in text


def varied_build_reply(messages: list[dict[str, Any]]) -> str:
    """:func:`mmrole.testing.build_replies.build_reply` with each dialogue's text drawn from a seed of
    its request, so no two dialogues are near-duplicates (the placeholder text is the same in all)."""
    from mmrole.models.base import last_user_text
    from mmrole.testing.build_replies import build_reply, request_language

    text = last_user_text(messages)
    reply = json.loads(build_reply(messages))
    rng = random.Random(json.dumps(messages, sort_keys=True))  # the image's path too: one text per dialogue
    chinese = request_language(text) == "Chinese"
    if "dialogue" in reply:
        for turn in reply["dialogue"]:
            turn["text"] = " ".join(sentence(rng, chinese) for _ in range(2))
    elif "comment" in reply:
        reply["comment"] = " ".join(sentence(rng, chinese) for _ in range(3))
    return json.dumps(reply, ensure_ascii=False)


def curation_reply(messages: list[dict[str, Any]], low: str = "") -> str:
    """Every build request's accepted reply, and the filter's reviews: 8, or 2 for a dialogue whose
    text holds ``low``."""
    from mmrole.models.base import last_user_text

    text = last_user_text(messages)
    if is_review(text):
        return review(2 if low and low in text else 8, reason="scripted review")
    return varied_build_reply(messages)
