"""The strings AutoRPEval builds from a role and a chat, exactly as BeyondDialogue builds them.

Each function mirrors one helper of BeyondDialogue's ``utils.py`` or one line of its
``AutoDialog``/``AutoTest`` scripts (named in its docstring), quirks included, so that the
prompts mmrole sends are the prompts BeyondDialogue sends:

    role_system_prompt(role, scene)      # the role's own sys_prompt, filled
    partner_system_prompt(role, scene)   # ChatRoleSysPrompt, filled
    dialogue_text(turns)                 # "Harry: ...\\nElara: ..."

A scene anchored in an image (multimodal AutoRPEval) adds one of mmrole's own texts
(:mod:`mmrole.prompts.autorpeval_image`): the simulator, a text model, is told what the picture
shows (:func:`picture_text`) after its scene; the tested model's prompt is BeyondDialogue's (it sees
the image itself).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mmrole.prompts import autorpeval_cn, autorpeval_en
from mmrole.prompts import autorpeval_image as image_texts
from mmrole.schema import EMOTIONS, EMOTIONS_ZH, ImageAnnotation, Scene

__all__ = [
    "MBTI_NAMES",
    "annotation_text",
    "character_candidates",
    "dialogue_text",
    "emotion_text",
    "labels",
    "masked_dialogue",
    "masked_scene",
    "mbti_text",
    "partner_system_prompt",
    "picture_text",
    "prompts_of",
    "role_system_prompt",
    "shown_labels",
    "style_candidates",
]

#: How BeyondDialogue names each MBTI letter (``MBTIMAP``, ``MBTIMAP_EN``).
MBTI_NAMES: dict[str, dict[str, str]] = {
    "cn": {
        "I": "内向型（I）",
        "E": "外向型（E）",
        "N": "直觉型（N）",
        "S": "实感型（S）",
        "T": "思维型（T）",
        "F": "情感型（F）",
        "J": "判断型（J）",
        "P": "感知型（P）",
    },
    "en": {
        "I": "Introverted (I)",
        "E": "Extraverted (E)",
        "N": "Intuitive (N)",
        "S": "Sensing (S)",
        "T": "Thinking (T)",
        "F": "Feeling (F)",
        "J": "Judging (J)",
        "P": "Perceiving (P)",
    },
}


def prompts_of(language: str) -> Any:
    """The prompt module of a language (``en`` or ``cn``)."""
    return autorpeval_cn if language == "cn" else autorpeval_en


def mbti_text(mbti: str, language: str) -> str:
    """``generate_MBTI_str`` / ``generate_MBTI_str_en``: ``INTJ`` -> ``Introverted (I), Intuitive (N), ...``."""
    names = MBTI_NAMES[language]
    return ("、" if language == "cn" else ", ").join(names[letter] for letter in mbti)


def emotion_text(emotions: Mapping[str, Any], language: str) -> str:
    """``construct_emotion`` / ``construct_emotion_en``: the six scores in BeyondDialogue's order."""
    keys = EMOTIONS_ZH if language == "cn" else EMOTIONS
    return ", ".join(f"{key}: {emotions[key]}" for key in keys)


def role_system_prompt(role: Any, scene: Scene) -> str:
    """The tested model's system prompt: the role's ``sys_prompt`` template filled for one chat, as
    ``process_chat_role`` fills it (the intimacy as Python prints it: ``8.0`` stays ``8.0``)."""
    return role.sys_prompt.format(
        chat_role=scene.partner,
        emotion=emotion_text(scene.emotions, role.language),
        relationship=scene.intimacy,
        scene=scene.text,
    )


def annotation_text(annotation: ImageAnnotation | Mapping[str, Any] | None, language: str) -> str:
    """An MMRole image annotation written out, one ``Place: ...`` line per field given ("" for none)."""
    if annotation is None:
        return ""
    fields = annotation.model_dump() if isinstance(annotation, ImageAnnotation) else dict(annotation)
    labels = image_texts.ANNOTATION_LABELS["cn" if language == "cn" else "en"]
    colon = "：" if language == "cn" else ": "
    return "\n".join(
        f"{label}{colon}{str(fields[key]).strip()}"
        for key, label in labels.items()
        if str(fields.get(key) or "").strip()
    )


def picture_text(role: Any, scene: Scene) -> str:
    """What the simulator is told of a scene's picture (mmrole's own text): its annotation, or that only
    the role can see it."""
    cn = role.language == "cn"
    annotation = annotation_text(scene.image.annotation if scene.image else None, role.language)
    if annotation:
        return (image_texts.PICTURE_CN if cn else image_texts.PICTURE_EN).format(
            role_name=role.name, annotation=annotation
        )
    return (image_texts.NO_ANNOTATION_CN if cn else image_texts.NO_ANNOTATION_EN).format(role_name=role.name)


def partner_system_prompt(role: Any, scene: Scene) -> str:
    """The simulator's system prompt (``ChatRoleSysPrompt``), filled as ``process_chat_role`` does; for a
    scene with an image, the scene is followed by what the picture shows (:func:`picture_text`)."""
    shown = scene.text if scene.image is None else f"{scene.text}\n{picture_text(role, scene)}"
    return prompts_of(role.language).PARTNER_SYSTEM.format(
        chat_role=scene.partner,
        role_name=role.name,
        role_des=scene.partner_description,
        scene=shown,
        relationship=scene.intimacy,
        world=role.profile.world,
    )


def dialogue_text(turns: Sequence[Mapping[str, str]]) -> str:
    """``construct_str_dialogue``: one ``speaker: text`` line per turn."""
    return "\n".join(f"{turn['role']}: {turn['dialogue']}" for turn in turns)


def masked_dialogue(turns: Sequence[Mapping[str, str]], language: str) -> str:
    """``construct_masked_dialogue`` / ``_en``: the role's name hidden, for the Role Choice question.

    As BeyondDialogue does it: the role is the speaker of turn 2 and the partner of turn 1; in
    English the full name becomes ``[Role]]`` (sic: its typo, kept so the prompts are its prompts)
    and, for names of three words or more, the second word ``[Role]``; in Chinese the name and,
    for names longer than two characters, its last two become ``[角色]``.
    """
    role_name, partner_name = turns[1]["role"], turns[0]["role"]
    lines = []
    for index, turn in enumerate(turns):
        if language == "cn":
            text = turn["dialogue"].replace(role_name, "[角色]")
            if len(role_name) > 2:
                text = text.replace(role_name[-2:], "[角色]")
            masked = "[角色]"
        else:
            words = role_name.split(" ")
            text = turn["dialogue"].replace(role_name, "[Role]]")
            if len(words) > 2:
                text = text.replace(words[1], "[Role]")
            masked = "[Role]"
        lines.append(f"{partner_name}: {text}" if index % 2 == 0 else f"{masked}: {text}")
    return "\n".join(lines)


def masked_scene(scene: str, role_name: str, language: str) -> str:
    """``construct_masked_scene`` / ``_en``: the scene with the role's name hidden."""
    if language == "cn":
        text = scene.replace(role_name, "[角色]")
        return text.replace(role_name[-2:], "[角色]") if len(role_name) > 2 else text
    text = scene.replace(role_name, "[Role]")
    words = role_name.split(" ")
    return text.replace(words[1], "[Role]") if len(words) > 2 else text


def character_candidates(traits: str, language: str) -> list[str]:
    """The candidate traits the Character question offers: the role's own traits, split as
    ``eval_role_character`` splits them (Chinese on ``，``, English lower-cased on ``,``)."""
    if language == "cn":
        return traits.replace(",", "，").split("，")
    return traits.lower().replace("，", ",").split(",")


def style_candidates(style: str, language: str) -> list[str]:
    """The candidate styles of the Style question, split as ``eval_role_style`` splits them."""
    return style.split("、") if language == "cn" else style.lower().split(",")


def shown_labels(labels_text: str, language: str) -> str:
    """Traits or styles as the Emotion, Relationship, Personality and Human-likeness prompts show
    them: as written in Chinese, lower-cased with ``, `` between labels in English."""
    return labels_text if language == "cn" else labels_text.lower().replace(",", ", ")


def labels(text: str, separators: str, *, lower: bool) -> list[str]:
    """A role's labels for the metrics: ``text`` split on any of ``separators``, stripped, non-empty."""
    for separator in separators[1:]:
        text = text.replace(separator, separators[0])
    found = [label.strip() for label in text.split(separators[0])]
    return [label.lower() if lower else label for label in found if label]
