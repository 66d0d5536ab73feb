"""Prompts of `mmrole build dialogues` (pure text, English and Chinese).

One request writes one whole dialogue about one image, as MMRole-Data's were written:

- *comment*: a curious human asks one of MMRole's fixed questions about the image and the character
  answers with an in-character commentary (:func:`comment_request`);
- *human-role*: several turns between a curious human and the character (:func:`human_role_request`);
- *inter-role*: several turns between two characters of the same series (:func:`inter_role_request`).

Each request carries the character's profile (the ``profiles.json`` text MRPA prompts include, so
generated dialogues and the prompts that will be trained on them describe the character alike), the
other character's in inter-role dialogues, and the image's annotation when it has one. The comment
questions are MMRole-Data's own (Dai et al., ICLR 2025, MIT licence: the ten English and ten Chinese
questions its comment dialogues ask); the other texts are mmrole's.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmrole.prompts.build_common import check_language, json_only, series_title
from mmrole.schema import HYPOTHETICAL_SERIES

#: The questions of MMRole-Data's comment dialogues (from the release), one drawn per dialogue.
COMMENT_QUESTIONS: dict[str, tuple[str, ...]] = {
    "English": (
        "Upon seeing this image, what goes through your mind?",
        "What are your thoughts when you see this image?",
        "What feelings does this scene evoke in you?",
        "Viewing this scene, what emotional response do you have?",
        "What comes to your mind when you look at this image?",
        "When you look at this image, what thoughts come to your mind?",
        "How does observing this photo make you feel?",
        "What emotions arise in you upon viewing this scene?",
        "How do you react emotionally to this scene?",
        "What does this picture prompt you to think about?",
    ),
    "Chinese": (
        "看到这张照片，你的第一反应是什么？",
        "观看这个画面，你感觉如何？",
        "这个场景引发了你什么样的思考？",
        "这张图让你联想到了什么？",
        "观察这幅画面，你有何感受？",
        "看到这一场景，你内心的想法是什么？",
        "这幅图像触发了你的哪些想法或情绪？",
        "这个画面给你留下了什么样的印象？",
        "面对这样的场景，你心中涌现了哪些感想？",
        "你对这张照片有什么看法？",
    ),
}

#: The speaker name of the human in a reply (and in MMRole-Data's files).
HUMAN = "human"

DIALOGUE_SYSTEM: dict[str, str] = {
    "English": (
        "You are a skilled screenwriter who writes in-character conversations about images for a role-playing "
        "dataset. You know the characters you are given deeply, keep every line true to them, and answer in the "
        "JSON format asked for."
    ),
    "Chinese": "你是一位出色的编剧，为角色扮演数据集撰写围绕图像、忠于人物的对话。你深刻了解所给的人物，每一句台词都符合人物设定，并按要求的 JSON 格式作答。",
}


@dataclass(frozen=True)
class Speaker:
    """A character as the prompt presents them: name, series and profile text."""

    name: str
    series: str
    profile: str

    @property
    def hypothetical(self) -> bool:
        return self.series == HYPOTHETICAL_SERIES


@dataclass(frozen=True)
class ImageNotes:
    """What is known about the image (an ``annotations.json`` entry); empty strings: not known."""

    role_info: str = ""
    place_info: str = ""
    scene_info: str = ""


def _who(speaker: Speaker, language: str) -> str:
    if speaker.hypothetical:
        return speaker.name
    if language == "English":
        return f"{speaker.name} from {speaker.series}"
    return f"{series_title(speaker.series, language)}中的{speaker.name}"


def _profile(speaker: Speaker, language: str) -> str:
    if language == "English":
        return f"The profile of {_who(speaker, language)}:\n{speaker.profile.strip()}"
    return f"{_who(speaker, language)}的人物档案：\n{speaker.profile.strip()}"


def _notes(notes: ImageNotes | None, language: str) -> str | None:
    if notes is None:
        return None
    labels = ("Characters", "Place", "Scene") if language == "English" else ("人物", "地点", "场景")
    values = (notes.role_info, notes.place_info, notes.scene_info)
    items = [
        f" - {label}: {value.strip()}" for label, value in zip(labels, values, strict=True) if value.strip()
    ]
    if not items:
        return None
    head = "What is known about the image:" if language == "English" else "关于这张图像的已知信息："
    return head + "\n" + "\n".join(items)


def _in_character(names: str, language: str) -> str:
    if language == "English":
        return (
            f"Keep {names} in character throughout: they do not know they are characters, never mention being an "
            "AI or a language model, and speak with their own tone, manner, vocabulary and knowledge."
        )
    return f"{names}始终不跳出角色：不知道自己是被扮演的人物，绝不提及人工智能或语言模型，用自己的语气、方式、词汇和见识说话。"


def _join(*parts: str | None) -> str:
    return "\n\n".join(part for part in parts if part)


def comment_request(role: Speaker, question: str, notes: ImageNotes | None, language: str) -> str:
    """The request for a comment dialogue: ``role``'s in-character answer to ``question`` about the image."""
    check_language(language)
    name = role.name
    if language == "English":
        task = (
            f'A curious human shows {name} the image above and asks: "{question}"\n\n'
            f"Write {name}'s reply: an in-character commentary on the image, spoken as {name} would speak it. "
            f"Ground it in what the image shows (name the things you see), connect it to {name}'s own experiences, "
            f"relationships and opinions, and let their personality come through. One to three paragraphs."
        )
    else:
        task = (
            f"一位好奇的人类把上面的图像拿给{name}看，并问道：“{question}”\n\n"
            f"请写出{name}的回答：用{name}的口吻对图像发表符合人物的评论。要紧扣图像中的内容（说出你看到的东西），"
            f"联系{name}自己的经历、人际关系和看法，体现其性格。一到三段。"
        )
    return _join(
        _profile(role, language),
        _notes(notes, language),
        task,
        _in_character(name, language),
        json_only('{"comment": "..."}', language),
    )


def _dialogue_schema(first: str, second: str) -> str:
    return f'{{"dialogue": [{{"speaker": "{first}", "text": "..."}}, {{"speaker": "{second}", "text": "..."}}, ...]}}'


def human_role_request(role: Speaker, turns: int, notes: ImageNotes | None, language: str) -> str:
    """The request for a human-role dialogue of ``turns`` turns (an even number: the character ends it)."""
    check_language(language)
    name = role.name
    if language == "English":
        task = (
            f"Write a conversation about the image above between a curious human and {name}, {turns} turns in all: "
            f"the human speaks first, then they take turns, and {name} has the last word.\n"
            f"- The human is curious about the image and about {name}: asks what the image shows, what {name} "
            f"thinks of it and remembers, and follows up on what {name} says.\n"
            f"- {name} answers in character, refers to what is in the image, and connects it to their own "
            "experiences and relationships.\n"
            "- Each turn is one to four sentences; the conversation moves on instead of repeating itself."
        )
        naming = f'Name the speakers exactly "{HUMAN}" and "{name}".'
    else:
        task = (
            f"请写一段一位好奇的人类与{name}围绕上面图像的对话，共{turns}轮发言：人类先说，然后两人轮流发言，由{name}说最后一句。\n"
            f"- 人类对图像和{name}都很好奇：询问图像中有什么、{name}怎么看、想起了什么，并追问{name}说的话。\n"
            f"- {name}以符合人物的方式回答，提到图像中的内容，并联系自己的经历和人际关系。\n"
            "- 每轮发言一到四句话；对话要不断推进，不要重复。"
        )
        naming = f"发言者的名字必须严格写作“{HUMAN}”和“{name}”。"
    return _join(
        _profile(role, language),
        _notes(notes, language),
        task,
        _in_character(name, language),
        naming,
        json_only(_dialogue_schema(HUMAN, name), language),
    )


def inter_role_request(
    role: Speaker, partner: Speaker, turns: int, notes: ImageNotes | None, language: str
) -> str:
    """The request for an inter-role dialogue of ``turns`` turns: ``partner`` opens, ``role`` answers."""
    check_language(language)
    a, b = partner.name, role.name
    both = f"{a} and {b}" if language == "English" else f"{a}和{b}"
    if language == "English":
        if role.hypothetical:
            bond = (
                f"{a} and {b} know each other; nothing you write about either may contradict their profiles."
            )
        else:
            bond = f"Bring in their shared history and their relationship as {role.series} tells it."
        task = (
            f"Write a conversation about the image above between {a} and {b}, {turns} turns in all: "
            f"{a} speaks first, then they take turns.\n"
            "- They look at the image together: they comment on what it shows, react to each other, and each "
            "brings their own view of it.\n"
            f"- {bond}\n"
            "- Each turn is one to four sentences; the conversation moves on instead of repeating itself."
        )
        naming = f'Name the speakers exactly "{a}" and "{b}".'
    else:
        bond = (
            f"{a}和{b}彼此认识；关于两人的任何内容都不能与他们的人物档案相矛盾。"
            if role.hypothetical
            else f"融入两人在{series_title(role.series, language)}中的共同经历和关系。"
        )
        task = (
            f"请写一段{a}与{b}围绕上面图像的对话，共{turns}轮发言：{a}先说，然后两人轮流发言。\n"
            "- 两人一起看这张图像：评论图像中的内容，回应对方，各自表达自己的看法。\n"
            f"- {bond}\n"
            "- 每轮发言一到四句话；对话要不断推进，不要重复。"
        )
        naming = f"发言者的名字必须严格写作“{a}”和“{b}”。"
    return _join(
        _profile(role, language),
        _profile(partner, language),
        _notes(notes, language),
        task,
        _in_character(both, language),
        naming,
        json_only(_dialogue_schema(a, b), language),
    )


__all__ = [
    "COMMENT_QUESTIONS",
    "DIALOGUE_SYSTEM",
    "HUMAN",
    "ImageNotes",
    "Speaker",
    "comment_request",
    "human_role_request",
    "inter_role_request",
]
