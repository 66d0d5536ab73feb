"""``mmrole build run --dry-run``: how many model calls and tokens a build takes, computed from its
configuration and the root's source files, without calling anything.

The estimate is of a build from scratch (a rerun or a partly built root makes fewer calls, since
finished calls are in the store and built items are skipped), with no failures or format retries:

* profiles: 2 calls per character with a source file (the detailed profile from the source text or
  the seed attributes, then the short profile from it);
* annotate: 1 call per still in ``images/<Series>/`` of the characters' series;
* dialogues: 1 call per assignment: ``coco_count`` generic images and ``script_count`` of the
  series' stills (fewer when the series has fewer) per character and type; inter-role only for
  characters with another character in their series;
* filter: 1 review per dialogue (with a judge), and with ``refine`` a rewrite and a second review for
  ``refine_share`` of them;
* split: none.

Tokens: the source texts are measured (``chars_per_token``); everything a model writes, and what
a request's own instructions take, is an assumption of :class:`Assumptions` (the ``[estimate]``
table), with defaults measured on MMRole-Data's release (mean lengths of its profiles and dialogues).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.data.characters import file_stem, looks_chinese
from mmrole.data.jsonio import read_json
from mmrole.errors import DataError
from mmrole.prompts.curation import DialogueView, judge_messages_text, refine_messages_text
from mmrole.schema import HYPOTHETICAL_SERIES, SPLITS

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"})


def _help(text: str) -> dict[str, Any]:
    return {"help": text}


@dataclass(frozen=True)
class Assumptions:
    """What the estimate assumes per call (the ``[estimate]`` table of a build configuration)."""

    chars_per_token: float = field(default=4.0, metadata=_help("Characters per token of English text."))
    chars_per_token_zh: float = field(default=1.0, metadata=_help("Characters per token of Chinese text."))
    instruction_tokens: int = field(
        default=400, metadata=_help("A generation request's own text (task, format, rules).")
    )
    image_tokens: int = field(default=800, metadata=_help("Tokens of one image in a request."))
    profile_tokens: int = field(default=1500, metadata=_help("A detailed profile (five sections)."))
    summary_tokens: int = field(default=600, metadata=_help("A short profile (profiles.json entry)."))
    meta_tokens: int = field(default=150, metadata=_help("A hypothetical character's seed attributes."))
    annotation_tokens: int = field(default=80, metadata=_help("A still's annotation."))
    comment_tokens: int = field(default=350, metadata=_help("A comment dialogue, as written."))
    human_role_tokens: int = field(default=650, metadata=_help("A human-role dialogue, as written."))
    inter_role_tokens: int = field(default=650, metadata=_help("An inter-role dialogue, as written."))
    review_tokens: int = field(default=80, metadata=_help("A filter review's reply."))
    refine_share: float = field(default=0.1, metadata=_help("Share of the dialogues rewritten by --refine."))
    refine_tokens: int = field(default=400, metadata=_help("A rewrite's reply."))

    def dialogue_tokens(self, dialogue_type: str) -> int:
        return {
            "comment": self.comment_tokens,
            "human-role": self.human_role_tokens,
            "inter-role": self.inter_role_tokens,
        }[dialogue_type]

    def tokens(self, chars: int, language: str) -> int:
        per = self.chars_per_token_zh if language == "Chinese" else self.chars_per_token
        return round(chars / per)


@dataclass(frozen=True)
class PlannedCharacter:
    """A character the build will have: from roles.json or a source file."""

    name: str
    series: str
    split: str
    language: str
    source_chars: int | None = None  # a raw_info text's length; None for seed attributes or none
    has_source: bool = False


@dataclass
class StageEstimate:
    """The calls and tokens of one stage (``dialogues`` per type: one row each)."""

    stage: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    images: int = 0
    items: int = 0  # what the stage makes: profiles, annotations, dialogues

    def add(self, calls: int, prompt: int, completion: int, images: int = 0) -> None:
        self.calls += calls
        self.prompt_tokens += calls * prompt
        self.completion_tokens += calls * completion
        self.images += calls * images


@dataclass
class Estimate:
    """The estimate of a whole build."""

    characters: int
    rows: list[StageEstimate]

    @property
    def total(self) -> StageEstimate:
        total = StageEstimate("total")
        for row in self.rows:
            total.calls += row.calls
            total.prompt_tokens += row.prompt_tokens
            total.completion_tokens += row.completion_tokens
            total.images += row.images
        return total

    @property
    def dialogues(self) -> int:
        return sum(row.items for row in self.rows if row.stage.startswith("dialogues"))


def planned_characters(root: Path) -> list[PlannedCharacter]:
    """Every character of a root: listed in a split's roles.json or with a source file there.

    Raises:
        DataError: No ``profiles/`` folder, or a roles.json / seed file that is not JSON.
    """
    if not (root / "profiles").is_dir():
        raise DataError(
            "the estimate counts characters from the root's profiles/: there is none", file=str(root)
        )
    found: dict[str, PlannedCharacter] = {}
    for split in SPLITS:
        folder = root / "profiles" / split
        roles_file = folder / "roles.json"
        roles = read_json(roles_file) if roles_file.is_file() else {}
        series_of = {name: series for series, names in roles.items() for name in names}
        by_stem = {file_stem(name): name for name in series_of}
        for sub, language in (("raw_info_en", "English"), ("raw_info_zh", "Chinese")):
            for path in sorted((folder / sub).glob("*.txt")):
                name = by_stem.get(path.stem, path.stem.replace("_", " "))
                chars = len(path.read_text(encoding="utf-8", errors="replace"))
                series = series_of.get(name, "")
                found.setdefault(name, PlannedCharacter(name, series, split, language, chars, True))
        for path in sorted((folder / "meta_info_hypo").glob("*.json")):
            meta = read_json(path)
            name = (
                str(meta.get("name") or path.stem.replace("_", " ")) if isinstance(meta, dict) else path.stem
            )
            language = "Chinese" if looks_chinese(" ".join(map(str, (meta or {}).values()))) else "English"
            series = series_of.get(name, HYPOTHETICAL_SERIES)
            found.setdefault(name, PlannedCharacter(name, series, split, language, None, True))
        for name, series in series_of.items():
            language = "Chinese" if looks_chinese(name) else "English"
            found.setdefault(name, PlannedCharacter(name, series, split, language))
    return list(found.values())


def _chosen(characters: list[PlannedCharacter], options: Any) -> list[PlannedCharacter]:
    """The characters a stage's options choose (``characters``, ``languages``, ``splits``)."""
    names = set(getattr(options, "characters", None) or [])
    languages = set(getattr(options, "languages", None) or [])
    splits = set(getattr(options, "splits", None) or [])
    return [
        c
        for c in characters
        if (not names or c.name in names)
        and (not languages or c.language in languages)
        and (not splits or c.split in splits)
    ]


def _stills(images: Path, series: str) -> int | None:
    """The stills of a series in the image folder (None when its folder is absent)."""
    folder = images / file_stem(series)
    if not folder.is_dir():
        return None
    return sum(
        1 for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def estimate_build(config: Any) -> Estimate:
    """The calls and tokens of a :class:`~mmrole.build.config.BuildConfig`'s build (see the module
    docstring)."""
    assume: Assumptions = config.estimate
    root = config.root
    everyone = planned_characters(root)
    rows: list[StageEstimate] = []
    options = config.options
    if "profiles" in options:
        row = StageEstimate("profiles")
        limit = getattr(options["profiles"], "max_source_chars", None)
        for c in _chosen([c for c in everyone if c.has_source], options["profiles"]):
            chars = c.source_chars if limit is None or c.source_chars is None else min(c.source_chars, limit)
            source = assume.meta_tokens if chars is None else assume.tokens(chars, c.language)
            row.add(1, assume.instruction_tokens + source, assume.profile_tokens)
            row.add(1, assume.instruction_tokens + assume.profile_tokens, assume.summary_tokens)
            row.items += 1
        rows.append(row)
    images = _image_folder(config, root)
    if "annotate" in options:
        row = StageEstimate("annotate")
        chosen_series = set(getattr(options["annotate"], "series", None) or [])
        splits = set(getattr(options["annotate"], "splits", None) or [])
        for series in sorted({c.series for c in everyone if not splits or c.split in splits}):
            if chosen_series and series not in chosen_series:
                continue
            count = _stills(images, series) or 0
            row.add(count, assume.instruction_tokens + assume.image_tokens, assume.annotation_tokens, 1)
            row.items += count
        rows.append(row)
    dialogue_rows = [_dialogue_row(o, everyone, images, assume) for o in options.get("dialogues", [])]
    rows += dialogue_rows
    if "filter" in options:
        rows += _filter_rows(options["filter"], dialogue_rows, assume)
    return Estimate(len(everyone), rows)


def _image_folder(config: Any, root: Path) -> Path:
    for stage in ("dialogues", "annotate", "filter"):
        stage_options = config.options.get(stage)
        stage_options = (
            stage_options[0] if isinstance(stage_options, list) and stage_options else stage_options
        )
        if stage_options is not None and getattr(stage_options, "images", None):
            return Path(stage_options.images)
    return root / "images"


def _dialogue_row(
    options: Any, everyone: list[PlannedCharacter], images: Path, assume: Assumptions
) -> StageEstimate:
    dialogue_type = options.type
    row = StageEstimate(f"dialogues-{dialogue_type}")
    series_sizes: dict[str, int] = {}
    for c in everyone:
        series_sizes[c.series] = series_sizes.get(c.series, 0) + 1
    profiles = 2 if dialogue_type == "inter-role" else 1
    written = assume.dialogue_tokens(dialogue_type)
    for c in _chosen(everyone, options):
        if dialogue_type == "inter-role" and series_sizes[c.series] < 2:
            continue  # no partner: the stage writes no inter-role dialogue for it
        stills = _stills(images, c.series)
        script = options.script_count if stills is None else min(options.script_count, stills)
        prompt = assume.instruction_tokens + profiles * assume.summary_tokens + assume.image_tokens
        row.add(options.coco_count, prompt, written, 1)
        row.add(script, prompt + assume.annotation_tokens, written, 1)
        row.items += options.coco_count + script
    return row


def _filter_rows(
    options: Any, dialogue_rows: list[StageEstimate], assume: Assumptions
) -> list[StageEstimate]:
    """The reviews of every dialogue written, and the rewrites (and second reviews) of ``refine``."""
    view = DialogueView("human-role", "", "", [])
    review_text = sum(map(len, judge_messages_text(view)))
    refine_text = sum(map(len, refine_messages_text(view, [])))
    review = StageEstimate("filter review")
    refine = StageEstimate("filter refine")
    for row in dialogue_rows:
        if not row.items:
            continue
        dialogue_type = row.stage.split("-", 1)[1]
        profiles = 2 if dialogue_type == "inter-role" else 1
        body = profiles * assume.summary_tokens + assume.dialogue_tokens(dialogue_type) + assume.image_tokens
        if options.judge:
            review.add(row.items, assume.tokens(review_text, "English") + body, assume.review_tokens, 1)
        if options.refine:
            rewrites = round(row.items * assume.refine_share)
            refine.add(rewrites, assume.tokens(refine_text, "English") + body, assume.refine_tokens, 1)
            if options.judge:
                review.add(rewrites, assume.tokens(review_text, "English") + body, assume.review_tokens, 1)
    review.items = review.calls
    refine.items = refine.calls
    return [row for row in (review, refine) if row.calls or row is review]


def estimate_table(estimate: Estimate) -> Any:
    """The estimate as a rich Table."""
    from rich.table import Table

    table = Table(title=f"Estimate: {estimate.characters} characters, {estimate.dialogues:,} dialogues")
    for name in ("stage", "items", "calls", "prompt tokens", "completion tokens", "images sent"):
        table.add_column(name, justify="left" if name == "stage" else "right")
    for row in [*estimate.rows, estimate.total]:
        items = "" if row.stage == "total" else f"{row.items:,}"
        table.add_row(
            row.stage,
            items,
            f"{row.calls:,}",
            f"{row.prompt_tokens:,}",
            f"{row.completion_tokens:,}",
            f"{row.images:,}",
        )
    return table
