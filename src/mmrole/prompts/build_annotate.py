"""Prompts of `mmrole build annotate` (pure text, English and Chinese).

A vision-language model looks at one character still and writes the auxiliary information MMRole's
MRPA prompts carry for it (``images/annotations.json``): who is in it, where, and what is happening.
Fields it cannot tell stay empty, as in the release. The texts are mmrole's own.
"""

from __future__ import annotations

from collections.abc import Sequence

from mmrole.prompts.build_common import check_language, json_only, series_title

#: The fields of an ``images/annotations.json`` entry, in the release's order.
ANNOTATION_FIELDS: tuple[str, ...] = ("role_info", "place_info", "scene_info")

ANNOTATE_SYSTEM: dict[str, str] = {
    "English": (
        "You annotate film, television and photo stills for a role-playing dataset. You describe only what the "
        "image shows and what you can identify with confidence, and you answer in the JSON format asked for."
    ),
    "Chinese": "你为角色扮演数据集标注影视剧照和照片。你只描述图像中能看到的、以及你能有把握辨认的内容，并按要求的 JSON 格式作答。",
}

_SCHEMA = '{"role_info": "...", "place_info": "...", "scene_info": "..."}'


def annotation_request(series: str, characters: Sequence[str], language: str) -> str:
    """The request for the annotation of one still of ``series``.

    Args:
        series: The series the still belongs to (``The Avengers``, ``西游记``).
        characters: The characters of the series the dataset has (to recognise them by name).
        language: ``English`` or ``Chinese``: the annotation's language.
    """
    if check_language(language) == "English":
        names = ", ".join(characters) if characters else "(none listed)"
        text = (
            f"The image is a still related to {series}. The characters of {series} in this dataset are: {names}.\n\n"
            "Annotate the image in three fields:\n"
            '- "role_info": who appears in the image, named where you can identify them (characters of '
            f'{series} or other people), with where they are (e.g. "From left to right are A and B."). '
            'Leave it empty ("") when no one can be identified.\n'
            '- "place_info": where the scene takes place, as a short phrase (a place in the story, or a real '
            "place). Empty when it cannot be told.\n"
            '- "scene_info": what is happening, in one or two sentences. Empty when it is not clear.\n\n'
            "Write only what you can see or are confident of: an empty field is better than a guess."
        )
    else:
        names = "、".join(characters) if characters else "（未列出）"
        text = (
            f"这张图像与{series_title(series, language)}有关。数据集中{series_title(series, language)}的人物有：{names}。\n\n"
            "请为图像标注以下三个字段：\n"
            '- "role_info"：图像中出现了谁，能辨认出的写出名字（本作人物或其他人），并说明位置'
            '（例如“从左到右依次是甲和乙。”）。无法辨认任何人时留空（""）。\n'
            '- "place_info"：场景发生的地点，用一个短语（故事中的地点或真实地点）。无法判断时留空。\n'
            '- "scene_info"：正在发生什么，用一两句话。不清楚时留空。\n\n'
            "只写你能看到或有把握的内容：宁可留空，也不要猜测。"
        )
    return f"{text}\n\n{json_only(_SCHEMA, language)}"


__all__ = ["ANNOTATE_SYSTEM", "ANNOTATION_FIELDS", "annotation_request"]
