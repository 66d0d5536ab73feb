"""Texts every `mmrole build` prompt shares: the JSON-only rule and the format reminder.

Pure text, no I/O. Every build prompt exists in English and Chinese (a character's language is the
language the generator writes in); the reason a reply was refused stays in English, as the parsers
word it, so a reminder names exactly what went wrong.
"""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("English", "Chinese")

#: Appended to a prompt whose reply could not be used; ``{reason}`` says why.
FORMAT_REMINDER: dict[str, str] = {
    "English": (
        "Your previous reply to this request could not be used: {reason}. Reply again, following every "
        "instruction above, with only the JSON object described: no text before or after it, no code fence."
    ),
    "Chinese": (
        "你上一次对这个请求的回复无法使用：{reason}。请严格按照上面的全部要求重新作答，只输出所要求的 JSON 对象，"
        "前后不要有任何其他文字，也不要使用代码块。"
    ),
}

#: How a prompt asks for the reply's language and format (``{schema}``: the JSON shape).
JSON_ONLY: dict[str, str] = {
    "English": "Write in English. Reply with one JSON object and nothing else, exactly in this shape:\n{schema}",
    "Chinese": "请用中文写作。只输出一个 JSON 对象，不要输出任何其他内容，格式严格如下：\n{schema}",
}


def check_language(language: str) -> str:
    """``language`` when it is one the build prompts are written in.

    Raises:
        ValueError: Neither English nor Chinese.
    """
    if language not in LANGUAGES:
        raise ValueError(f"no build prompts in {language!r}; choose from {', '.join(LANGUAGES)}")
    return language


def series_title(series: str, language: str) -> str:
    """How a Chinese text names a series: titles of works take 《》, eras (``中国唐代``) do not."""
    if language == "English" or series.endswith(("时代", "时期", "代")):
        return series
    return f"《{series}》"


def format_reminder(reason: str, language: str) -> str:
    """The reminder appended to a request whose previous reply was refused for ``reason``."""
    return FORMAT_REMINDER[check_language(language)].format(reason=reason)


def json_only(schema: str, language: str) -> str:
    """The closing instruction of a build prompt: the language, and one JSON object of ``schema``."""
    return JSON_ONLY[check_language(language)].format(schema=schema)
