"""Prompts of `mmrole build profiles` (pure text, English and Chinese).

Three requests make a character's profiles, as MMRole-Data holds them:

1. the detailed profile (``detailed_profiles/<Name>.json``): MMRole's five sections written from the
   source text about a real or fictional character (:func:`profile_from_source`), or, for a
   hypothetical character, invented from its seed attributes (:func:`profile_from_meta`);
2. the short profile MRPA prompts include (``profiles.json``): the same five sections condensed
   (:func:`summary_from_profile`), rendered under ``### `` headers by :func:`render_summary`.

The texts are mmrole's own (MMRole did not release its generation prompts); the five section keys
are those of MMRole-Data's ``detailed_profiles/*.json`` and the summary headers the ones most of its
``profiles.json`` entries use. ``docs/build.md`` explains what each prompt asks for and why.
"""

from __future__ import annotations

from collections.abc import Mapping

from mmrole.prompts.build_common import check_language, json_only, series_title

#: MMRole's five sections, as the keys of ``detailed_profiles/<Name>.json``.
SECTIONS: tuple[str, ...] = ("introduction", "personality", "experience", "relationship", "catchphrase")

#: The ``### `` headers of a ``profiles.json`` entry, one per section, in each language.
SUMMARY_HEADERS: dict[str, tuple[str, ...]] = {
    "English": (
        "Brief Introduction",
        "Personality",
        "Life Story",
        "Main Interpersonal Relationships",
        "Catchphrases",
    ),
    "Chinese": ("简要介绍", "性格特点", "人物经历", "主要人际关系", "口头禅或名言"),
}

PROFILE_SYSTEM: dict[str, str] = {
    "English": (
        "You are a meticulous biographer and character analyst. You write faithful, detailed character "
        "profiles that let an actor play the character convincingly, and you answer in the JSON format asked for."
    ),
    "Chinese": "你是一位严谨的传记作者和人物分析师，撰写忠实而详尽的人物档案，让演员能够令人信服地扮演这个人物；你总是按要求的 JSON 格式作答。",
}

_SCHEMA = '{"introduction": "...", "personality": "...", "experience": "...", "relationship": "...", "catchphrase": "..."}'

_SECTION_GUIDE: dict[str, str] = {
    "English": (
        "Write five sections, each a non-empty string:\n"
        '- "introduction": who {name} is: identity, origin, their place in {world}, and what makes them notable (one paragraph).\n'
        '- "personality": the main traits, each named and shown through what {name} does; include flaws, values, '
        "how they treat others, and how they change over time.\n"
        '- "experience": the life story in order: the key events, turning points, achievements and losses.\n'
        '- "relationship": the important people in {name}\'s life, each with who they are and how {name} feels about and acts towards them.\n'
        '- "catchphrase": lines {name} says or would say, in their own voice (a short list).'
    ),
    "Chinese": (
        "写出以下五个部分，每一部分都不能为空：\n"
        '- "introduction"：{name}是谁：身份、出身、在{world}中的位置，以及其最为人知之处（一段）。\n'
        '- "personality"：主要性格特点，逐条命名并用{name}的言行说明；包括缺点、价值观、待人方式，以及性格随时间的变化。\n'
        '- "experience"：按时间顺序讲述人物经历：关键事件、转折点、成就与挫折。\n'
        '- "relationship"：{name}生命中的重要人物，逐一说明其身份以及{name}对他们的感情和态度。\n'
        '- "catchphrase"：{name}说过或会说的话，用其本人的口吻（列出几条）。'
    ),
}


def profile_from_source(name: str, series: str, source: str, language: str) -> str:
    """The request for ``name``'s detailed profile written from source text about them.

    Args:
        name: The character's name.
        series: Their series, era or group (``The Avengers``, ``西游记``).
        source: The source text (``raw_info_en|raw_info_zh/<Name>.txt``).
        language: ``English`` or ``Chinese``: the profile's language.
    """
    world = series_title(series, check_language(language))
    guide = _SECTION_GUIDE[language].format(name=name, world=world)
    if language == "English":
        head = (
            f"Below is source text about {name} from {series}. Write a detailed profile of {name} for role-playing: "
            f"someone who has never heard of {name} should be able to speak, think and remember as {name} after reading it.\n\n"
            f"{guide}\n\n"
            "Use only what the source says or clearly implies: do not invent facts about the character. Write in the "
            "third person; quote real lines from the source for the catchphrases where it has them."
        )
        tail = f'Source text about {name}:\n"""\n{source.strip()}\n"""'
    else:
        head = (
            f"下面是关于{world}中{name}的资料。请为角色扮演撰写{name}的详细人物档案：一个从未听说过{name}的人读完之后，"
            f"应当能够像{name}一样说话、思考和回忆。\n\n{guide}\n\n"
            "只使用资料中写明或明确暗示的内容，不要编造关于这个人物的事实。用第三人称写作；名言部分尽量引用资料中的原话。"
        )
        tail = f'关于{name}的资料：\n"""\n{source.strip()}\n"""'
    return f"{head}\n\n{json_only(_SCHEMA, language)}\n\n{tail}"


def profile_from_meta(meta: Mapping[str, str], series: str, language: str) -> str:
    """The request for a hypothetical character's detailed profile, invented from its seed attributes.

    Args:
        meta: The seed attributes (``meta_info_hypo/<Name>.json``: name, gender, age, origin,
            personality, experience); ``name`` is required.
        series: Their group (``Hypothetical Characters``).
        language: ``English`` or ``Chinese``.
    """
    name = meta["name"]
    attributes = "\n".join(f"- {key}: {value}" for key, value in meta.items())
    guide = _SECTION_GUIDE[check_language(language)].format(
        name=name, world="the world" if language == "English" else "现实世界"
    )
    if language == "English":
        head = (
            f"{name} is an invented person, one of the {series} of a role-playing dataset. Only these attributes are fixed:\n"
            f"{attributes}\n\n"
            f"Invent a coherent, believable life for {name} that agrees with every attribute, and write the detailed "
            f"profile a role-player will use to speak as {name}.\n\n{guide}\n\n"
            "Everything you add (family, friends, rivals, places, events, dates) must fit the attributes and each "
            "other; give the people you mention names. Write in the third person."
        )
    else:
        head = (
            f"{name}是一个虚构人物，属于角色扮演数据集中的“{series}”。只有以下属性是确定的：\n{attributes}\n\n"
            f"请为{name}虚构一段与每一项属性都相符、连贯可信的人生，并写出角色扮演者用来扮演{name}的详细人物档案。\n\n{guide}\n\n"
            "你补充的一切（家人、朋友、对手、地点、事件、时间）都必须与这些属性以及彼此相符；提到的人物要有名字。用第三人称写作。"
        )
    return f"{head}\n\n{json_only(_SCHEMA, language)}"


def render_sections(sections: Mapping[str, str], headers: tuple[str, ...]) -> str:
    """Sections under ``### `` headers, in MMRole's order."""
    return "\n".join(
        f"### {header}\n{sections[key].strip()}" for key, header in zip(SECTIONS, headers, strict=True)
    )


def summary_from_profile(name: str, series: str, profile: Mapping[str, str], language: str) -> str:
    """The request for the short profile (the ``profiles.json`` entry) condensed from the detailed one."""
    detailed = render_sections(profile, SECTIONS)
    if check_language(language) == "English":
        head = (
            f"Here is the detailed profile of {name} from {series}. Condense it into the short profile a role-playing "
            "model reads before every reply it writes as the character: the same five sections, each a few sentences "
            "(the relationships and catchphrases may be short numbered lists), about 250 to 400 words in all.\n\n"
            f"Keep what matters for speaking as {name}: who they are, the traits that shape how they talk, the defining "
            "events, the people they would mention, and their signature lines. Add nothing the detailed profile does "
            "not say. Write in the third person, except the catchphrases."
        )
        tail = f"Detailed profile of {name}:\n{detailed}"
    else:
        head = (
            f"下面是{name}的详细人物档案。请把它压缩成角色扮演模型每次以该人物身份作答前都会阅读的简要档案：同样的五个部分，"
            "每部分几句话（人际关系和名言可以是简短的编号列表），总共约四百到七百字。\n\n"
            f"保留扮演{name}所需的要点：身份、影响其说话方式的性格、决定性的经历、会提到的人物以及标志性的话语。"
            "不要添加详细档案中没有的内容。除名言外用第三人称写作。"
        )
        tail = f"{name}的详细人物档案：\n{detailed}"
    return f"{head}\n\n{json_only(_SCHEMA, language)}\n\n{tail}"


def render_summary(sections: Mapping[str, str], language: str) -> str:
    """The ``profiles.json`` entry: the five condensed sections under the language's ``### `` headers."""
    return render_sections(sections, SUMMARY_HEADERS[check_language(language)])


__all__ = [
    "PROFILE_SYSTEM",
    "SECTIONS",
    "SUMMARY_HEADERS",
    "profile_from_meta",
    "profile_from_source",
    "render_sections",
    "render_summary",
    "summary_from_profile",
]
