"""Hand-built AutoRPEval result files (BeyondDialogue's format) and their scores worked out by hand.

Two English roles (Harry: 3 chats, Snape: 2) and one Chinese (刘备: 2). Every chat's score on every
metric is written next to it; a ``None`` answer is a failed one (left out, counted).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EN = ("happiness", "sadness", "disgust", "fear", "surprise", "anger")
ZH = ("快乐", "悲伤", "厌恶", "恐惧", "惊讶", "愤怒")


def _emotions(keys: tuple[str, ...], *scores: int) -> dict[str, int]:
    return dict(zip(keys, scores if len(scores) == 6 else scores * 6, strict=True))


def _chat(partner: str, keys, labels, intimacy, **answers: Any) -> dict[str, Any]:
    chat = {
        "chat_role": partner,
        "role_des": f"{partner}, a traveller.",
        "scene": f"{partner} meets the role at the harbour.",
        "emotions": _emotions(keys, *labels),
        "relationship_score": intimacy,
        "dialogues": [{"role": partner, "dialogue": "Hello."}, {"role": "?", "dialogue": "Hello to you."}],
    }
    for question, value in answers.items():
        chat[f"{question}_eval"] = value
        chat[f"{question}_analysis_eval"] = f"analysis of {question}"
    return chat


def _role(name, world, traits, style, mbti, answer, chats) -> dict[str, Any]:
    for chat in chats:
        chat["dialogues"][1]["role"] = name
    return {
        "name": name,
        "style": style,
        "personality": mbti,
        "character": traits,
        "world": world,
        "role_candidates": "A. one\nB. two\nC. three\nD. four",
        "role_answer": answer,
        "sys_prompt": "Be {chat_role}'s friend in {scene}, feeling {emotion}, intimacy {relationship}.",
        "chats": {chat["chat_role"]: chat for chat in chats},
    }


def roles() -> list[dict[str, Any]]:
    harry = _role(
        "Harry",
        "Magic",
        "brave,kind,strong,clear in love and hate",
        "direct,smart",
        "ISFP",
        "B",
        [
            # character 2/4, style 2/2, emotion (0+0+0+0+0+3)/10/6, relationship |8-6|/10, personality 4/4
            _chat(
                "Ana",
                EN,
                (5,),
                8.0,
                character=["brave", "kind"],
                style=["direct", "smart"],
                emotion=_emotions(EN, 5, 5, 5, 5, 5, 8),
                relationship=6.0,
                personality="ISFP",
                human_likeness=1,
                rolechoice="B",
                coherence=1,
            ),
            # character 1/4, style 0/2, emotion 6*1/10/6, relationship 3/10, personality ESFJ: 2/4
            _chat(
                "Ben",
                EN,
                (0,),
                2.0,
                character=["strong"],
                style=[],
                emotion=_emotions(EN, 1),
                relationship=5.0,
                personality="ESFJ",
                human_likeness=0,
                rolechoice="A",
                coherence=1,
            ),
            # character failed, style 1/2, emotion 0, relationship 0, personality INTJ: 1/4
            _chat(
                "Cai",
                EN,
                (10,),
                10.0,
                character=None,
                style=["smart"],
                emotion=_emotions(EN, 10),
                relationship=10.0,
                personality="INTJ",
                human_likeness=1,
                rolechoice="B",
                coherence=0,
            ),
        ],
    )
    snape = _role(
        "Snape",
        "Magic",
        "devoted,gloomy,mean,strict,inscrutable",
        "cold,mean",
        "INTJ",
        "A",
        [
            # character 3/5, style 1/2, emotion 6*2/10/6, relationship 0, personality 4/4
            _chat(
                "Dee",
                EN,
                (4,),
                1.0,
                character=["gloomy", "mean", "strict"],
                style=["cold"],
                emotion=_emotions(EN, 6),
                relationship=1.0,
                personality="INTJ",
                human_likeness=0,
                rolechoice="A",
                coherence=1,
            ),
            # character 5/5, style failed, emotion failed, relationship 4/10, personality failed
            _chat(
                "Eli",
                EN,
                (3,),
                0.0,
                character=["devoted", "gloomy", "mean", "strict", "inscrutable"],
                style=None,
                emotion=None,
                relationship=4.0,
                personality=None,
                human_likeness=1,
                rolechoice="C",
                coherence=1,
            ),
        ],
    )
    liu = _role(
        "刘备",
        "三国",
        "宽厚仁德，坚韧，知人善任，谦虚",
        "古风、抒情、谦虚",
        "ENFJ",
        "B",
        [
            # character 1/4, style 2/3, emotion 6*2/10/6, relationship |3-4|/10, personality 4/4
            _chat(
                "吴良",
                ZH,
                (5,),
                3,
                character=["坚韧"],
                style=["古风", "抒情"],
                emotion=_emotions(ZH, 7),
                relationship=4.0,
                personality="ENFJ",
                human_likeness=1,
                rolechoice="B",
                coherence=1,
            ),
            # character 3/4, style 1/3, emotion 6/10/6, relationship 0, personality ISTJ: 1/4
            _chat(
                "李青",
                ZH,
                (2,),
                9,
                character=["宽厚仁德", "知人善任", "谦虚"],
                style=["谦虚"],
                emotion=_emotions(ZH, 2, 2, 2, 2, 2, 8),
                relationship=9.0,
                personality="ISTJ",
                human_likeness=0,
                rolechoice="D",
                coherence=0,
            ),
        ],
    )
    return [harry, snape, liu]


def write(folder: Path) -> Path:
    """Write the three files as BeyondDialogue lays them out (``chat_dialogues[_en]/MODEL/``)."""
    for role in roles():
        sub = "chat_dialogues" if role["name"] == "刘备" else "chat_dialogues_en"
        path = folder / sub / "hand" / f"{role['name']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(role, ensure_ascii=False, indent=4), encoding="utf-8")
    return folder


#: The units of each metric, by hand (chat units: one per chat; role units: each role's mean).
UNITS = {
    "en": {
        "character": [2 / 4, 1 / 4, 3 / 5, 5 / 5],
        "style": [2 / 2, 0 / 2, 1 / 2, 1 / 2],
        "emotion": [3 / 10 / 6, 6 * 1 / 10 / 6, 0.0, 6 * 2 / 10 / 6],
        "relationship": [2 / 10, 3 / 10, 0 / 10, 0 / 10, 4 / 10],
        "personality": [(1 + 2 / 4 + 1 / 4) / 3, 1.0],
        "human_likeness": [2 / 3, 1 / 2],
        "rolechoice": [2 / 3, 1 / 2],
        "coherence": [2 / 3, 2 / 2],
    },
    "cn": {
        "character": [1 / 4, 3 / 4],
        "style": [2 / 3, 1 / 3],
        "emotion": [6 * 2 / 10 / 6, 6 / 10 / 6],
        "relationship": [1 / 10, 0 / 10],
        "personality": [(1 + 1 / 4) / 2],
        "human_likeness": [1 / 2],
        "rolechoice": [1 / 2],
        "coherence": [1 / 2],
    },
}
UNITS["all"] = {metric: UNITS["en"][metric] + UNITS["cn"][metric] for metric in UNITS["en"]}
#: Failed answers per metric (chats).
FAILED = {
    "en": {"character": 1, "style": 1, "emotion": 1, "relationship": 0, "personality": 1},
    "cn": {},
}
FAILED["all"] = FAILED["en"]
