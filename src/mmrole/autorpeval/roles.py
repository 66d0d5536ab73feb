"""AutoRPEval's roles: BeyondDialogue's role files, typed and checked, and MMRole characters as roles.

A role file (``autorpeval/roles_en/Harry.json``) holds ``name``, ``world``, ``character`` (traits),
``style``, ``personality`` (MBTI), ``role_candidates``, ``role_answer``, ``sys_prompt`` and
``chats`` (one entry per chat partner, keyed by its ``chat_role``). Later stages add ``dialogues``
and the ``*_eval`` fields to each chat; the file keeps every key it had, so a role written back
is BeyondDialogue's file plus what the stage added (:meth:`Role.file_data`).

    roles = load_roles("../shared/reference/beyonddialogue/autorpeval")   # both languages
    role_system_prompt(roles[0], roles[0].scenes[0])

Bad input is one :class:`~mmrole.errors.DataError` line naming the file, the role and the field:
``roles_en/Harry.json, record Harry, field 'chats.Elara.emotions': unknown emotion 'joy'; ...``.
"""

from __future__ import annotations

import copy
import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import PrivateAttr, ValidationError

from mmrole.errors import DataError
from mmrole.schema import EMOTIONS_ZH, Character, Profile, Record, Scene

__all__ = [
    "CHAT_FIELDS",
    "LANGUAGES",
    "ROLE_FIELDS",
    "Role",
    "load_role",
    "load_roles",
    "role_from_character",
    "role_from_data",
]

#: AutoRPEval's languages, as BeyondDialogue's ``config.language`` names them.
LANGUAGES: tuple[str, ...] = ("cn", "en")
Language = Literal["en", "cn"]
#: The fields a role file must have (``chats`` only where the scenarios are not generated).
ROLE_FIELDS = (
    "name",
    "world",
    "character",
    "style",
    "personality",
    "role_candidates",
    "role_answer",
    "sys_prompt",
)
#: The role fields that may be null: an MMRole character has no Role Choice candidates, and may lack
#: BeyondDialogue's labels (the questions needing one are then not asked).
NULLABLE_FIELDS = frozenset({"character", "style", "personality", "role_candidates", "role_answer"})
#: The fields each chat must have.
CHAT_FIELDS = ("chat_role", "role_des", "scene", "emotions", "relationship_score")
#: The slots a ``sys_prompt`` template may have (BeyondDialogue fills exactly these).
SYS_PROMPT_SLOTS = frozenset({"scene", "emotion", "chat_role", "relationship"})


class Role(Record):
    """One AutoRPEval role.

    Attributes:
        name: The role's name (``Harry``, ``刘备``).
        language: ``en`` or ``cn``: the language of its texts, its emotion keys and its prompts.
        profile: World, character traits, speaking style, MBTI and the scenes (one per chat).
        candidates: The four masked candidate descriptions A-D of the Role Choice question (None: the
            question is not asked, e.g. for an MMRole character).
        answer: The right candidate's letter.
        sys_prompt: The tested model's system-prompt template (``{scene}``, ``{emotion}``,
            ``{chat_role}``, ``{relationship}`` slots).
        source: The file it was read from.
    """

    name: str
    language: Language
    profile: Profile
    candidates: str | None = None
    answer: Literal["A", "B", "C", "D"] | None = None
    sys_prompt: str
    source: str | None = None
    _data: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def scenes(self) -> list[Scene]:
        return self.profile.scenes

    @property
    def traits(self) -> str:
        return self.profile.character_traits or ""

    @property
    def style(self) -> str:
        return self.profile.speaking_style or ""

    @property
    def mbti(self) -> str:
        return self.profile.mbti or ""

    def chat(self, partner: str) -> dict[str, Any]:
        """The chat with ``partner`` as the file holds it (a copy: dialogues, evaluations, extras)."""
        return copy.deepcopy(self.file_data()["chats"][partner])

    def file_data(self) -> dict[str, Any]:
        """The role as a BeyondDialogue role file: what was read, with chats of the current scenes."""
        data = copy.deepcopy(self._data) if self._data else {}
        data.update(
            name=self.name,
            world=self.profile.world,
            character=self.profile.character_traits,  # None (null) for a role without the label
            style=self.profile.speaking_style,
            personality=self.profile.mbti,
            role_candidates=self.candidates,
            role_answer=self.answer,
            sys_prompt=self.sys_prompt,
        )
        data["chats"] = {scene.partner: _chat_data(scene) for scene in self.scenes}
        return data

    def with_chats(self, chats: Mapping[str, Mapping[str, Any]]) -> Role:
        """This role with these chats (BeyondDialogue chat dicts, e.g. with dialogues added).

        Raises:
            DataError: A chat is not a valid scene.
        """
        scenes = _scenes(
            {partner: dict(chat) for partner, chat in chats.items()}, self.source or "", self.name
        )
        role = self.model_copy(update={"profile": self.profile.model_copy(update={"scenes": scenes})})
        role._data = self.file_data()
        role._data["chats"] = {scene.partner: _chat_data(scene) for scene in scenes}
        return role


def _chat_data(scene: Scene) -> dict[str, Any]:
    """A scene as a BeyondDialogue chat: its fields under their names, then its extras (None kept:
    BeyondDialogue writes a failed evaluation as null)."""
    data = copy.deepcopy(scene.model_dump(by_alias=True))
    if data.get("image") is None:
        data.pop("image", None)
    elif data["image"].get("annotation") is None:
        data["image"].pop("annotation", None)
    return data


def _where(file: str, role: str | None, field: str | None, message: str) -> DataError:
    return DataError(message, file=file, record=role, field=field)


def _text_field(data: Mapping[str, Any], key: str, file: str, role: str | None) -> Any:
    if key not in data:
        raise _where(file, role, key, "missing")
    value = data[key]
    if value is None and key in NULLABLE_FIELDS:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _where(file, role, key, f"must be a non-empty string, not {value!r}")
    return value


def _language(chats: Mapping[str, Any], texts: Iterable[str]) -> Language:
    """``cn`` when the emotions have Chinese keys (or, without chats, the texts look Chinese)."""
    for chat in chats.values():
        if isinstance(chat, dict) and isinstance(chat.get("emotions"), dict):
            return "cn" if set(chat["emotions"]) & set(EMOTIONS_ZH) else "en"
    from mmrole.data.characters import looks_chinese

    return "cn" if looks_chinese(" ".join(texts)) else "en"


def _first_error(err: ValidationError) -> tuple[str, str]:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return where, message


def _scenes(chats: Any, file: str, role: str) -> list[Scene]:
    if not isinstance(chats, dict):
        raise _where(file, role, "chats", "must be an object keyed by chat partner")
    scenes = []
    for partner, chat in chats.items():
        if not isinstance(chat, dict):
            raise _where(file, role, f"chats.{partner}", "must be an object")
        for key in CHAT_FIELDS:
            if key not in chat:
                raise _where(file, role, f"chats.{partner}.{key}", "missing")
        try:
            scene = Scene.model_validate(chat)
        except ValidationError as err:
            where, message = _first_error(err)
            names = {"partner": "chat_role", "partner_description": "role_des", "text": "scene"}
            head, _, rest = where.partition(".")
            where = names.get(head, "relationship_score" if head == "intimacy" else head) + (
                f".{rest}" if rest else ""
            )
            raise _where(file, role, f"chats.{partner}.{where}", message) from None
        if scene.partner != partner:
            raise _where(
                file, role, f"chats.{partner}.chat_role", f"is {scene.partner!r}, not its key {partner!r}"
            )
        scenes.append(scene)
    return scenes


def role_from_data(data: Any, *, file: str, require_chats: bool = True) -> Role:
    """A role from a role file's content.

    Args:
        data: The parsed JSON.
        file: Where it came from (for error messages).
        require_chats: Whether ``chats`` must be there (not when the scenarios are generated).

    Raises:
        DataError: A field is missing or bad (one line: file, role, field, why).
    """
    if not isinstance(data, dict):
        raise _where(file, None, None, "a role file must hold a JSON object")
    name = _text_field(data, "name", file, None)
    texts = {key: _text_field(data, key, file, name) for key in ROLE_FIELDS[1:]}
    if data.get("chats") is None and not require_chats:
        data = {**data, "chats": {}}
    elif "chats" not in data:
        raise _where(file, name, "chats", "missing")
    scenes = _scenes(data["chats"], file, name)
    slots = {slot for _, slot, _, _ in string.Formatter().parse(texts["sys_prompt"]) if slot is not None}
    if unknown := sorted(slots - SYS_PROMPT_SLOTS):
        raise _where(
            file,
            name,
            "sys_prompt",
            f"unknown slot {{{unknown[0]}}}; the template's slots are {{scene}}, "
            "{emotion}, {chat_role} and {relationship}",
        )
    if (texts["role_candidates"] is None) != (texts["role_answer"] is None):
        raise _where(file, name, "role_answer", "role_candidates and role_answer are both given or both null")
    language = _language(data["chats"], (name, texts["sys_prompt"]))
    fields = {
        "world": texts["world"],
        "character_traits": texts["character"],
        "speaking_style": texts["style"],
    }
    try:
        profile = Profile(**fields, mbti=texts["personality"], scenes=scenes)
        role = Role(
            name=name,
            language=language,
            profile=profile,
            candidates=texts["role_candidates"],
            answer=cast(Any, texts["role_answer"]),  # checked by the model: A-D
            sys_prompt=texts["sys_prompt"],
            source=file,
        )
    except ValidationError as err:
        where, message = _first_error(err)
        field = {"profile.mbti": "personality", "mbti": "personality", "answer": "role_answer"}.get(
            where, where
        )
        if field == "role_answer":
            message = f"must be one of A, B, C, D, not {texts['role_answer']!r}"
        raise _where(file, name, field, message) from None
    languages = {"cn" if set(s.emotions) & set(EMOTIONS_ZH) else "en" for s in scenes}
    if len(languages) > 1:
        raise _where(file, name, "chats", "mixes English and Chinese emotion keys")
    role._data = copy.deepcopy(data)
    return role


def load_role(path: str | Path, *, require_chats: bool = True) -> Role:
    """Read one role file (see :func:`role_from_data`)."""
    from mmrole.data.jsonio import read_json

    return role_from_data(read_json(path), file=str(path), require_chats=require_chats)


def load_roles(
    path: str | Path, *, require_chats: bool = True, names: Iterable[str] | None = None
) -> list[Role]:
    """Every role file under ``path`` (a role file, or a folder searched recursively), sorted by
    language then file name; ``names`` keeps only those roles.

    Raises:
        DataError: No role files, two roles of the same name and language, a name not found, or a bad file.
    """
    path = Path(path)
    if path.is_file():
        found = [path]
    elif path.is_dir():
        found = sorted(path.rglob("*.json"))
    else:
        raise DataError("not found", file=str(path))
    wanted = set(names) if names is not None else None
    roles: dict[tuple[str, str], Role] = {}
    for file in found:
        role = load_role(file, require_chats=require_chats)
        if wanted is not None and role.name not in wanted:
            continue
        key = (role.language, role.name)
        if key in roles:
            raise DataError(
                f"role {role.name!r} is also in {roles[key].source}", file=str(file), record=role.name
            )
        roles[key] = role
    if wanted is not None and (missing := sorted(wanted - {name for _, name in roles})):
        raise DataError(f"no role named {missing[0]!r}", file=str(path))
    if not roles:
        raise DataError("no role files (*.json) found", file=str(path))
    return [roles[key] for key in sorted(roles)]


def role_from_character(character: Character) -> Role:
    """An MMRole character as an AutoRPEval role: its profile's BeyondDialogue fields, a system prompt
    from BeyondDialogue's template (DataGen's ``SystemPromptTemplate``), no Role Choice candidates.

    Raises:
        DataError: The profile lacks world, character traits, speaking style or MBTI.
    """
    from mmrole.autorpeval.texts import mbti_text, shown_labels
    from mmrole.prompts import autorpeval_generation as generation

    profile = character.profile or Profile()
    for field in ("world", "character_traits", "speaking_style", "mbti"):
        if not getattr(profile, field):
            raise DataError(
                "missing (an AutoRPEval role needs it)", record=character.name, field=f"profile.{field}"
            )
    language: Language = "cn" if character.language == "Chinese" else "en"
    template = (
        generation.SYSTEM_PROMPT_TEMPLATE_CN if language == "cn" else generation.SYSTEM_PROMPT_TEMPLATE_EN
    )
    sys_prompt = template.format(
        role_name=character.name,
        world=profile.world,
        character=shown_labels(profile.character_traits or "", language),
        personality=mbti_text(profile.mbti or "", language),
        style=shown_labels(profile.speaking_style or "", language),
    )
    return Role(name=character.name, language=language, profile=profile, sys_prompt=sys_prompt)
