"""The texts of ``mmrole build filter``: the LLM-judge review of a generated dialogue and the request
that asks the generator to rewrite the turns that failed. Written for mmrole (not MMRole's), in
English and in Chinese: a Chinese character's dialogue is reviewed and rewritten in Chinese.

Both replies are one JSON object, so they can be parsed without guessing:

* review: ``{"in_character": 1-10, "grounded": 1-10, "consistent": 1-10, "bad_turns": [n...],
  "reason": "..."}`` (turn numbers as the prompt shows them, from 1);
* rewrite: ``{"<turn number>": "new text", ...}`` for the turns asked for, and only those.

Pure text: no I/O, no imports of mmrole's heavier rooms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: The review's three criteria (JSON keys), in the order the prompt asks them.
JUDGE_CRITERIA: tuple[str, ...] = ("in_character", "grounded", "consistent")


@dataclass(frozen=True)
class DialogueView:
    """What the review and rewrite prompts show of one dialogue.

    Attributes:
        dialogue_type: comment, human-role or inter-role.
        role: The character the dialogue belongs to.
        profile: Its profile text (``profiles.json``).
        partner: The other character of an inter-role dialogue, and its profile.
        annotation: ``(role_info, place_info, scene_info)`` of a character still, if any.
        turns: ``(speaker, text)`` in order.
        chinese: Write the prompt in Chinese (the character's language).
    """

    dialogue_type: str
    role: str
    profile: str
    turns: Sequence[tuple[str, str]]
    partner: str | None = None
    partner_profile: str = ""
    annotation: tuple[str, str, str] | None = None
    chinese: bool = False


_EN = {
    "judge_system": (
        "You are a strict reviewer of role-playing dialogues written to train multimodal role-playing "
        "agents. You judge what is written, against the image and the character profiles, and reply in JSON."
    ),
    "refine_system": (
        "You write role-playing dialogues about images for a dataset that trains multimodal role-playing "
        "agents. You fix the turns you are asked to fix and reply in JSON."
    ),
    "comment": "a comment (a human's question about the image and {role}'s answer in character)",
    "human-role": "a dialogue between a curious human and {role} about the image",
    "inter-role": "a dialogue between {role} and {partner} about the image",
    "profile": "## Profile of {name}\n{profile}",
    "image": "## What is known about the image\n{lines}",
    "no_annotation": "Nothing beyond the image itself.",
    "annotation": ("Characters in it: {0}", "Place: {1}", "Scene: {2}"),
    "dialogue": "## The dialogue",
    "judge_task": (
        "Below is {what}, written for a dataset of role-playing dialogues. Review it.\n\n{body}\n\n"
        "Rate it from 1 (worst) to 10 (best) on each of:\n"
        "- in_character: the characters' turns stay in character (the personality, knowledge, tone and "
        "catchphrases of their profiles) and never sound like an AI assistant;\n"
        "- grounded: the turns talk about what the image shows and invent nothing that is not in it;\n"
        "- consistent: the dialogue agrees with the profiles (experiences, abilities, relationships) and "
        "with itself.\n\n"
        "Reply with one JSON object and nothing else:\n"
        '{{"in_character": <1-10>, "grounded": <1-10>, "consistent": <1-10>, '
        '"bad_turns": [<numbers of the turns that fall short>], "reason": "<one sentence>"}}'
    ),
    "judge_reminder": (
        "\n\nYour previous reply could not be read. Reply with the JSON object only, with all three "
        "scores as integers from 1 to 10."
    ),
    "refine_task": (
        "Below is {what}. Some of its turns must be rewritten before it can join the dataset.\n\n{body}\n\n"
        "## Turns to rewrite\n{problems}\n\n"
        "Rewrite only these turns, each by the same speaker, in English, so that it fits the turns around "
        "it and the image; the characters stay in character and never sound like an AI assistant.\n\n"
        "Reply with one JSON object and nothing else, mapping each turn number to its new text:\n"
        "{{{example}}}"
    ),
}

_ZH = {
    "judge_system": (
        "你是一名严格的审稿人，负责审核用于训练多模态角色扮演智能体的角色扮演对话。你对照图片和角色简介评判所写内容，并用 JSON 回复。"
    ),
    "refine_system": (
        "你为训练多模态角色扮演智能体的数据集撰写关于图片的角色扮演对话。你只修改被要求修改的轮次，并用 JSON 回复。"
    ),
    "comment": "一段评论（一个人就图片提出的问题，以及{role}以角色身份作出的回答）",
    "human-role": "一段好奇的人与{role}关于图片的对话",
    "inter-role": "一段{role}与{partner}关于图片的对话",
    "profile": "## {name}的简介\n{profile}",
    "image": "## 关于图片的已知信息\n{lines}",
    "no_annotation": "除图片本身外没有其他信息。",
    "annotation": ("图中角色：{0}", "地点：{1}", "场景：{2}"),
    "dialogue": "## 对话",
    "judge_task": (
        "下面是{what}，为角色扮演对话数据集而写。请审核它。\n\n{body}\n\n"
        "请从 1（最差）到 10（最好）为以下各项打分：\n"
        "- in_character：角色的发言始终符合角色（简介中的性格、知识、语气和口头禅），从不像 AI 助手；\n"
        "- grounded：发言谈论的是图片中确实呈现的内容，不编造图片中没有的东西；\n"
        "- consistent：对话与简介（经历、能力、人际关系）一致，前后也不矛盾。\n\n"
        "只回复一个 JSON 对象，不要写其他内容：\n"
        '{{"in_character": <1-10>, "grounded": <1-10>, "consistent": <1-10>, '
        '"bad_turns": [<不合格轮次的编号>], "reason": "<一句话>"}}'
    ),
    "judge_reminder": "\n\n你上一次的回复无法解析。请只回复 JSON 对象，三个分数都用 1 到 10 的整数。",
    "refine_task": (
        "下面是{what}。其中有些轮次必须重写，才能加入数据集。\n\n{body}\n\n"
        "## 需要重写的轮次\n{problems}\n\n"
        "只重写这些轮次，每一轮仍由原来的说话人来说，用中文，与前后轮次和图片相符；角色始终符合角色设定，从不像 AI 助手。\n\n"
        "只回复一个 JSON 对象，不要写其他内容，把每个轮次编号映射到它的新文本：\n"
        "{{{example}}}"
    ),
}


def _texts(view: DialogueView) -> Mapping[str, object]:
    return _ZH if view.chinese else _EN


def _body(view: DialogueView) -> str:
    texts = _texts(view)
    parts = [str(texts["profile"]).format(name=view.role, profile=view.profile.strip())]
    if view.partner:
        parts.append(str(texts["profile"]).format(name=view.partner, profile=view.partner_profile.strip()))
    if view.annotation and any(view.annotation):
        templates = texts["annotation"]
        assert isinstance(templates, tuple)
        lines = "\n".join(
            t.format(*view.annotation) for t, v in zip(templates, view.annotation, strict=True) if v
        )
    else:
        lines = str(texts["no_annotation"])
    parts.append(str(texts["image"]).format(lines=lines))
    numbered = "\n".join(
        f"[{number}] {speaker}: {text}" for number, (speaker, text) in enumerate(view.turns, 1)
    )
    parts.append(f"{texts['dialogue']}\n{numbered}")
    return "\n\n".join(parts)


def _what(view: DialogueView) -> str:
    return str(_texts(view)[view.dialogue_type]).format(role=view.role, partner=view.partner or "")


def judge_messages_text(view: DialogueView, *, attempt: int = 0) -> tuple[str, str]:
    """(system, user) texts of the review of a dialogue; ``attempt`` > 0 adds the format reminder."""
    texts = _texts(view)
    user = str(texts["judge_task"]).format(what=_what(view), body=_body(view))
    if attempt:
        user += str(texts["judge_reminder"])
    return str(texts["judge_system"]), user


def refine_messages_text(view: DialogueView, problems: Sequence[tuple[int, str]]) -> tuple[str, str]:
    """(system, user) texts asking the generator to rewrite turns.

    Args:
        view: The dialogue.
        problems: ``(turn index from 0, why it must change)`` for each turn to rewrite.
    """
    texts = _texts(view)
    lines = "\n".join(f"[{index + 1}] {view.turns[index][0]}: {why}" for index, why in problems)
    example = ", ".join(f'"{index + 1}": "..."' for index, _ in problems)
    user = str(texts["refine_task"]).format(
        what=_what(view), body=_body(view), problems=lines, example=example
    )
    return str(texts["refine_system"]), user
