"""Typed records shared by every part of mmrole.

The records mirror MMRole-Data (ICLR 2025): characters with profiles, images with
optional annotations, dialogues of three types, and samples (one character turn
for a multimodal role-playing agent, MRPA, to answer). Reviews are MMRole-Eval
judgements of one sample on one metric. Profiles also carry BeyondDialogue's
controllable attributes (Yu et al., 2024): world, character traits, speaking style,
MBTI, and per scene the partner, the role's six emotions and its intimacy with the partner.

Pure data: no I/O here, so the module stays cheap to import.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, field_validator

DialogueType = Literal["comment", "human-role", "inter-role"]
Split = Literal["in-distribution", "out-of-distribution"]
Language = Literal["English", "Chinese"]
#: What a command does with a sample whose image file is absent: stop (``error``) or go on without
#: the image (``omit``: the text alone is sent, judged or converted).
MissingImage = Literal["error", "omit"]

DIALOGUE_TYPES: tuple[DialogueType, ...] = ("comment", "human-role", "inter-role")
SPLITS: tuple[Split, ...] = ("in-distribution", "out-of-distribution")
MISSING_IMAGE_POLICIES: tuple[MissingImage, ...] = ("error", "omit")
#: The paper's names of the splits (its tables' In-Test and Out-Test columns).
SPLIT_NAMES: dict[str, str] = {"in-distribution": "In-Test", "out-of-distribution": "Out-Test"}

#: The other party of comment and human-role dialogues, as MMRole names it.
CURIOUS_HUMAN = "a curious human"
#: The speaker label of the human in MMRole dialogues.
HUMAN_SPEAKER = "human"
#: The series of MMRole's hypothetical (invented) characters.
HYPOTHETICAL_SERIES = "Hypothetical Characters"

#: MMRole-Eval's eight metrics, in the paper's order.
METRICS: tuple[str, ...] = (
    "Instruction Adherence",
    "Fluency",
    "Coherency",
    "Image-Text Relevance",
    "Response Accuracy",
    "Personality Consistency",
    "Knowledge Consistency",
    "Tone Consistency",
)

#: The three dimensions MMRole-Eval groups the metrics into.
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "Fundamental Conversational Skills": METRICS[0:3],
    "Multimodal Understanding Abilities": METRICS[3:5],
    "Role-Playing Qualities": METRICS[5:8],
}


#: BeyondDialogue's six emotions, with English keys and, in the same order, Chinese keys.
EMOTIONS: tuple[str, ...] = ("happiness", "sadness", "disgust", "fear", "surprise", "anger")
EMOTIONS_ZH: tuple[str, ...] = ("快乐", "悲伤", "厌恶", "恐惧", "惊讶", "愤怒")
#: The four MBTI axes, each letter position's two letters (BeyondDialogue's MBTIMAP order).
MBTI_AXES: tuple[tuple[str, str], ...] = (("I", "E"), ("N", "S"), ("T", "F"), ("J", "P"))
#: The 0-10 scale of emotions and intimacy.
SCALE = (0, 10)


def check_mbti(value: str) -> str:
    """``value`` when it is an MBTI type: four letters, one of each axis in order (``INTJ``).

    Raises:
        ValueError: It is not (the message says which position is wrong).
    """
    if not isinstance(value, str) or len(value) != 4:
        raise ValueError(f"an MBTI type is four letters such as INTJ, not {value!r}")
    for position, (letter, pair) in enumerate(zip(value, MBTI_AXES, strict=True), start=1):
        if letter not in pair:
            raise ValueError(f"MBTI letter {position} of {value!r} must be {pair[0]} or {pair[1]}")
    return value


def check_emotions(value: dict[str, float]) -> dict[str, float]:
    """``value`` when it holds the six emotions 0-10, all with English keys or all with Chinese keys.

    Raises:
        ValueError: A key is unknown or missing, or a score is off the 0-10 scale.
    """
    keys = set(value)
    expected = set(EMOTIONS_ZH) if keys & set(EMOTIONS_ZH) else set(EMOTIONS)
    if unknown := sorted(keys - expected):
        raise ValueError(
            f"unknown emotion {unknown[0]!r}; the six are {', '.join(EMOTIONS)} (or {'、'.join(EMOTIONS_ZH)})"
        )
    if missing := [
        key for key in (EMOTIONS_ZH if expected == set(EMOTIONS_ZH) else EMOTIONS) if key not in keys
    ]:
        raise ValueError(f"emotion {missing[0]!r} is missing")
    for key, score in value.items():
        if (
            isinstance(score, bool)
            or not isinstance(score, (int, float))
            or not SCALE[0] <= score <= SCALE[1]
        ):
            raise ValueError(f"emotion {key!r} must be a number from 0 to 10, not {score!r}")
    return value


class Record(BaseModel):
    """Base of all records: unknown fields are kept (forward compatible), assignment is validated."""

    model_config = ConfigDict(extra="allow", validate_assignment=True, populate_by_name=True)


class ImageAnnotation(Record):
    """Auxiliary information of a character still (empty strings mean 'not given')."""

    role_info: str = ""
    place_info: str = ""
    scene_info: str = ""

    def is_empty(self) -> bool:
        return not (self.role_info or self.place_info or self.scene_info)


class Image(Record):
    """An image referenced by a dialogue: a path relative to the image root, plus annotation."""

    path: str
    annotation: ImageAnnotation | None = None


class Scene(Record):
    """One BeyondDialogue scene of a role: who it talks to, where, feeling what, how close.

    Field aliases are BeyondDialogue's names (a chat of a role file validates as a Scene as it is:
    ``chat_role``, ``role_des``, ``scene``, ``emotions``, ``relationship_score``); its other keys
    (the generator's analyses, dialogues, evaluations) are kept as extra fields.

    Attributes:
        partner: The chat partner's name (``chat_role``).
        partner_description: Who the partner is (``role_des``), for the simulator playing it.
        text: The scene (``scene``).
        emotions: The role's six emotions 0-10, English or Chinese keys (:data:`EMOTIONS`).
        intimacy: The role's intimacy with the partner, 0-10 (``relationship_score``); an int or a
            float as given (BeyondDialogue's prompts show it as Python prints it: ``8.0`` vs ``3``).
        image: An image the scene is anchored in (multimodal AutoRPEval; None for text scenes): its
            path and, optionally, its MMRole annotation; a bare path is read as ``{"path": ...}``.
    """

    partner: str = Field(alias="chat_role")
    partner_description: str = Field("", alias="role_des")
    text: str = Field(alias="scene")
    emotions: dict[str, StrictInt | StrictFloat]
    intimacy: StrictInt | StrictFloat = Field(alias="relationship_score")
    image: Image | None = None

    @field_validator("image", mode="before")
    @classmethod
    def _bare_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    # Checked before any coercion: a score given as text ("5") is refused, never converted.
    @field_validator("emotions", mode="before")
    @classmethod
    def _six_emotions(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError(f"emotions must be an object of the six emotions, not {value!r}")
        return check_emotions(value)

    @field_validator("intimacy", mode="before")
    @classmethod
    def _on_the_scale(cls, value: Any) -> Any:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not SCALE[0] <= value <= SCALE[1]
        ):
            raise ValueError(f"intimacy must be a number from 0 to 10, not {value!r}")
        return value


class Profile(Record):
    """A character's detailed profile.

    MMRole's five sections, plus BeyondDialogue's controllable attributes (all optional; a profile
    may have both): the world, the character traits and speaking style as BeyondDialogue writes
    them (comma- or 、-separated labels), the MBTI type, and the scenes of its AutoRPEval chats.
    """

    introduction: str = ""
    personality: str = ""
    experience: str = ""
    relationship: str = ""
    catchphrase: str = ""
    # BeyondDialogue fields (all optional).
    world: str | None = None
    character_traits: str | None = None
    mbti: str | None = None
    speaking_style: str | None = None
    scenes: list[Scene] = Field(default_factory=list)

    @field_validator("mbti")
    @classmethod
    def _mbti_type(cls, value: str | None) -> str | None:
        return None if value is None else check_mbti(value)


class Character(Record):
    """One role-playing character.

    Attributes:
        name: The character's name as MMRole writes it (``Iron Man``, ``孙悟空``).
        series: The series, era or group (``The Avengers``, ``Hypothetical Characters``).
        split: Seen in training (in-distribution) or held out (out-of-distribution).
        language: The language the character's dialogues are written in.
        summary: The profile text MRPA prompts include (``profiles.json`` in MMRole-Data).
        profile: The detailed profile, when present.
        meta: Seed attributes of a hypothetical character (name, age, origin...).
    """

    name: str
    series: str
    split: Split = "in-distribution"
    language: Language = "English"
    summary: str = ""
    profile: Profile | None = None
    meta: dict[str, str] | None = None

    @property
    def hypothetical(self) -> bool:
        return self.series == HYPOTHETICAL_SERIES


class Turn(Record):
    """One utterance: ``speaker`` is a character name or ``human``."""

    speaker: str
    text: str


class Dialogue(Record):
    """A dialogue about one image.

    Attributes:
        id: MMRole's id (``Iron_Man_human-role-dialogue_COCO_30``).
        type: comment | human-role | inter-role.
        role: The character the dialogue file belongs to.
        other_role: ``a curious human`` or the other character (inter-role).
        source: Where the dialogue was read from (for error messages).
    """

    id: str
    type: DialogueType
    image: Image
    language: Language = "English"
    split: Split = "in-distribution"
    role: str
    other_role: str = CURIOUS_HUMAN
    turns: list[Turn] = Field(default_factory=list)
    source: str | None = None


class Sample(Record):
    """One character turn for an MRPA to answer.

    ``instruction`` holds the profile(s), the image's auxiliary information, the
    conversation history and the final request, built exactly as MMRole does.
    """

    id: str
    image: str
    system: str
    instruction: str
    reference: str = ""
    role: str
    script: str
    other_role: str
    type: DialogueType
    split: Split = "in-distribution"
    language: Language = "English"


class Review(Record):
    """An MMRole-Eval judgement of one sample on one metric.

    ``score`` is the judge's (Model A, Model B) pair as it wrote it; ``None`` when its reply could
    not be parsed or the request failed. Model A is the MRPA and B the reference, unless the
    review's ``order`` (an extra field of swapped judging) is ``"BA"``: then the MRPA was Model B.
    Per-sample scores account for that in :func:`mmrole.eval.aggregate.combine`.
    """

    sample_id: str
    metric: str
    text: str = ""
    score: tuple[float, float] | None = None
    error: str | None = None
