"""`mmrole build profiles`: characters' profiles, written by the generator.

For every character with a source file in ``profiles/<split>/`` (``raw_info_en/<Name>.txt`` or
``raw_info_zh/<Name>.txt``: text about a real or fictional character; ``meta_info_hypo/<Name>.json``:
a hypothetical character's seed attributes) two calls make what MMRole-Data holds for it:

1. the detailed profile, MMRole's five sections (``detailed_profiles/<Name>.json``), from the source
   text, or invented from the seed attributes for a hypothetical character;
2. the short profile MRPA prompts include (the character's ``profiles.json`` entry), condensed
   from the detailed one under ``### `` headers.

The character is then registered in ``roles.json`` under its series (only once both exist, so the
root always loads). A reply without the five non-empty sections in the character's language is
asked again with a format reminder and then failed (``.build/failures/profiles.jsonl``). A character
already built (both files and its ``roles.json`` entry) is skipped unless ``overwrite``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.build.generate import (
    BuildFolder,
    GeneratorOptions,
    Outcome,
    Task,
    open_generator,
    run_sync,
    run_tasks,
    tally,
)
from mmrole.build.replies import ReplyError, json_object, language_problem, text_field
from mmrole.build.root import (
    check_splits,
    read_roles,
    read_summaries,
    register,
    series_of,
    split_folder,
    write_roles,
    write_summaries,
)
from mmrole.build.stage import StageSummary
from mmrole.build.stepwise import run_parts, section_steps
from mmrole.data.characters import file_stem, looks_chinese
from mmrole.data.jsonio import read_json
from mmrole.data.paths import check_name, check_within
from mmrole.errors import ConfigError, DataError
from mmrole.files import write_json
from mmrole.prompts.build_common import LANGUAGES
from mmrole.prompts.build_profiles import (
    PROFILE_SYSTEM,
    SECTIONS,
    SUMMARY_HEADERS,
    profile_from_meta,
    profile_from_source,
    render_sections,
    render_summary,
    summary_from_profile,
)
from mmrole.prompts.build_steps import profile_material
from mmrole.schema import HYPOTHETICAL_SERIES

__all__ = [
    "Candidate",
    "ProfileOptions",
    "build_profiles",
    "build_profiles_async",
    "find_candidates",
    "parse_sections",
]

STAGE = "profiles"
RAW_FOLDERS = (("raw_info_en", "English"), ("raw_info_zh", "Chinese"))


@dataclass
class ProfileOptions(GeneratorOptions):
    """Options of `mmrole build profiles` (the generator's, plus which characters)."""

    characters: list[str] = field(
        default_factory=list,
        metadata={"help": "Only this character (repeat the option); default: every one with a source file."},
    )
    languages: list[str] = field(
        default_factory=list,
        metadata={"help": "Only characters of this language: English or Chinese (repeatable)."},
    )
    splits: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Only this split: in-distribution or out-of-distribution (repeatable; default both)."
        },
    )
    series: str | None = field(
        default=None,
        metadata={
            "help": "The series of characters roles.json does not list yet (hypothetical ones need none)."
        },
    )
    max_source_chars: int = field(
        default=60_000, metadata={"help": "Source text sent at most, in characters (longer texts are cut)."}
    )
    max_tokens: int = field(default=3072, metadata={"help": "Longest reply, in tokens."})


@dataclass(frozen=True)
class Candidate:
    """A character the stage can build: where its source is and what it becomes."""

    name: str
    series: str
    split: str
    language: str
    source: Path
    meta: dict[str, str] | None = None

    @property
    def key(self) -> str:
        return f"{self.split}/{self.name}"

    def detailed_path(self, root: Path) -> Path:
        return split_folder(root, self.split) / "detailed_profiles" / f"{file_stem(self.name)}.json"


def parse_sections(text: str, language: str) -> dict[str, str]:
    """The five sections of a profile reply, in ``language``.

    Raises:
        ReplyError: Not JSON, a section missing or empty, or the profile in another language.
    """
    data = json_object(text)
    sections = {}
    for name in SECTIONS:
        try:
            sections[name] = text_field(data, name)
        except ReplyError as err:
            raise ReplyError(err.reason.replace("field", "section"), err.detail) from None
    problem = language_problem(" ".join(sections.values()), language)
    if problem:
        raise ReplyError("wrong language", f"the profile is {problem}")
    return sections


def _read_meta(path: Path, root: Path) -> dict[str, str]:
    check_within(path, root)
    raw = read_json(path)
    if not isinstance(raw, dict):
        raise DataError("seed attributes must be a JSON object", file=str(path))
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DataError("no character name", file=str(path), field="name")
    return {str(key): str(value) for key, value in raw.items() if value not in (None, "")}


def find_candidates(root: Path, options: ProfileOptions) -> list[Candidate]:
    """The characters the options choose, in file order (raw info, then seed attributes).

    Raises:
        DataError: A source file that cannot be read, a requested character without one, or a
            character no ``roles.json`` lists when no ``--series`` says where it belongs.
    """
    unknown = [language for language in options.languages if language not in LANGUAGES]
    if unknown:
        raise ConfigError(f"--languages: unknown {unknown}; choose from {', '.join(LANGUAGES)}")
    candidates: dict[str, Candidate] = {}
    for split in check_splits(options.splits):
        folder = split_folder(root, split)
        roles = read_roles(root, split)
        by_stem = {file_stem(name): name for names in roles.values() for name in names}
        for sub, language in RAW_FOLDERS:
            for path in sorted((folder / sub).glob("*.txt")):
                name = by_stem.get(path.stem) or path.stem.replace("_", " ")
                series = series_of(roles, name) or options.series or ""
                candidates.setdefault(name, Candidate(name, series, split, language, path))
        for path in sorted((folder / "meta_info_hypo").glob("*.json")):
            meta = _read_meta(path, root)
            name = check_name(meta["name"].strip(), file=str(path), field="name")
            if file_stem(name) != path.stem:
                raise DataError(f"name {name!r} does not match the file name", file=str(path), field="name")
            language = "Chinese" if looks_chinese(" ".join(meta.values())) else "English"
            series = series_of(roles, name) or HYPOTHETICAL_SERIES
            candidates.setdefault(name, Candidate(name, series, split, language, path, meta))
    chosen = list(candidates.values())
    if options.characters:
        for name in options.characters:
            if name not in candidates:
                stem = file_stem(name)
                raise DataError(
                    f"no raw_info_en/{stem}.txt, raw_info_zh/{stem}.txt or meta_info_hypo/{stem}.json for {name!r}",
                    file=str(root / "profiles"),
                    field="characters",
                )
        chosen = [c for c in chosen if c.name in set(options.characters)]
    if options.languages:
        chosen = [c for c in chosen if c.language in options.languages]
    for candidate in chosen:
        if not candidate.series:
            raise DataError(
                f"{candidate.name!r} is not in roles.json: list it under its series there, or give --series",
                file=str(split_folder(root, candidate.split) / "roles.json"),
                record=candidate.name,
                field="series",
            )
    return chosen


def _source_text(candidate: Candidate, root: Path, limit: int) -> str:
    check_within(candidate.source, root)
    try:
        text = candidate.source.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError("not UTF-8 text", file=str(candidate.source)) from None
    except OSError as err:
        raise DataError(f"cannot read: {err.strerror or err}", file=str(candidate.source)) from None
    if not text.strip():
        raise DataError("the source text is empty", file=str(candidate.source))
    return text[:limit]


def _messages(system: str, text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]


def _detailed_task(candidate: Candidate, root: Path, options: ProfileOptions) -> Task[dict[str, str]]:
    language = candidate.language
    if candidate.meta is not None:
        text = profile_from_meta(candidate.meta, candidate.series, language)
    else:
        source = _source_text(candidate, root, options.max_source_chars)
        text = profile_from_source(candidate.name, candidate.series, source, language)
    return Task(
        f"detailed:{candidate.key}",
        _messages(PROFILE_SYSTEM[language], text),
        lambda reply: parse_sections(reply, language),
        language,
    )


def _detailed_steps(candidate: Candidate, root: Path, options: ProfileOptions) -> list[tuple[str, Task[str]]]:
    if candidate.meta is not None:
        text = "\n".join(f"- {key}: {value}" for key, value in candidate.meta.items())
        kind = "meta"
    else:
        text, kind = _source_text(candidate, root, options.max_source_chars), "source"
    material = profile_material(candidate.name, candidate.series, text, candidate.language, kind)
    return section_steps(
        f"detailed:{candidate.key}", candidate.name, material, candidate.language, short=False
    )


def _summary_steps(candidate: Candidate, profile: dict[str, str]) -> list[tuple[str, Task[str]]]:
    detailed = render_sections(profile, SUMMARY_HEADERS[candidate.language])
    material = profile_material(candidate.name, candidate.series, detailed, candidate.language, "profile")
    return section_steps(f"summary:{candidate.key}", candidate.name, material, candidate.language, short=True)


async def _generate(
    backend: Any,
    todo: list[Candidate],
    whole: Callable[[Candidate], Task[dict[str, str]]],
    steps: Callable[[Candidate], list[tuple[str, Task[str]]]],
    prefix: str,
    *,
    folder: BuildFolder,
    options: ProfileOptions,
    summary: StageSummary,
) -> dict[str, Outcome[dict[str, str]]]:
    """The profiles (or short profiles) of ``todo``: one JSON call each, or one call per section."""
    kwargs: Any = {"folder": folder, "stage": STAGE, "options": options, "summary": summary}
    if options.stepwise:
        return await run_parts(backend, {f"{prefix}:{c.key}": steps(c) for c in todo}, **kwargs)
    return await run_tasks(backend, [whole(c) for c in todo], **kwargs)


def _summary_task(candidate: Candidate, profile: dict[str, str]) -> Task[dict[str, str]]:
    language = candidate.language
    text = summary_from_profile(candidate.name, candidate.series, profile, language)
    return Task(
        f"summary:{candidate.key}",
        _messages(PROFILE_SYSTEM[language], text),
        lambda reply: parse_sections(reply, language),
        language,
    )


def _existing_profile(path: Path, root: Path) -> dict[str, str]:
    """An existing detailed profile, as the summary's input (it must have the five sections)."""
    check_within(path, root)
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError("a detailed profile must be a JSON object", file=str(path))
    for name in SECTIONS:
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise DataError(
                "missing or empty section (rebuild it with --overwrite)", file=str(path), field=name
            )
    return {name: data[name] for name in SECTIONS}


async def build_profiles_async(options: ProfileOptions) -> StageSummary:
    """:func:`build_profiles` in a running event loop."""
    options.check()
    root = Path(options.root)
    folder = BuildFolder(root)
    summary = StageSummary(STAGE)
    with folder.lock():
        candidates = find_candidates(root, options)
        splits = sorted({c.split for c in candidates})
        roles = {split: read_roles(root, split) for split in splits}
        summaries = {split: read_summaries(root, split) for split in splits}
        before = {split: json.dumps([roles[split], summaries[split]]) for split in splits}
        todo, profiles = [], {}
        for candidate in candidates:
            has_detailed = candidate.detailed_path(root).exists()
            has_summary = bool(summaries[candidate.split].get(candidate.name, "").strip())
            listed = candidate.name in roles[candidate.split].get(candidate.series, [])
            if not options.overwrite and has_detailed and has_summary and listed:
                summary.skipped += 1
                continue
            if has_detailed and not options.overwrite:
                profiles[candidate.key] = _existing_profile(candidate.detailed_path(root), root)
            todo.append(candidate)
        todo = todo[: options.limit] if options.limit else todo
        unwritten = [c for c in todo if c.key not in profiles]
        generate: dict[str, Any] = {"folder": folder, "options": options, "summary": summary}
        async with open_generator(options.generator) as backend:
            detailed = await _generate(
                backend,
                unwritten,
                lambda c: _detailed_task(c, root, options),
                lambda c: _detailed_steps(c, root, options),
                "detailed",
                **generate,
            )
            for candidate in todo:
                outcome = detailed.get(f"detailed:{candidate.key}")
                if outcome is not None and outcome.value is not None:
                    path = candidate.detailed_path(root)
                    write_json(path, outcome.value)
                    summary.outputs.append(str(path))
                    profiles[candidate.key] = outcome.value
            to_condense = [
                c
                for c in todo
                if c.key in profiles and (options.overwrite or not summaries[c.split].get(c.name, "").strip())
            ]
            condensed = await _generate(
                backend,
                to_condense,
                lambda c: _summary_task(c, profiles[c.key]),
                lambda c: _summary_steps(c, profiles[c.key]),
                "summary",
                **generate,
            )
        for candidate in todo:
            outcome = condensed.get(f"summary:{candidate.key}")
            if outcome is not None and outcome.value is not None:
                summaries[candidate.split][candidate.name] = render_summary(outcome.value, candidate.language)
            if candidate.key in profiles and summaries[candidate.split].get(candidate.name, "").strip():
                register(roles[candidate.split], candidate.series, candidate.name)
                summary.kept += 1
        for split in splits:  # profiles first: a character listed in roles.json always has one
            old_roles, old_summaries = json.loads(before[split])
            if summaries[split] != old_summaries:
                write_summaries(root, split, summaries[split])
                summary.outputs.append(str(split_folder(root, split) / "profiles.json"))
            if roles[split] != old_roles:
                write_roles(root, split, roles[split])
                summary.outputs.append(str(split_folder(root, split) / "roles.json"))
        failed = tally(summary, [*detailed.values(), *condensed.values()])
        processed = [f"{step}:{c.key}" for c in todo for step in ("detailed", "summary")]
        folder.record_failures(STAGE, processed, failed)
    return summary


def build_profiles(options: ProfileOptions) -> StageSummary:
    """Write the detailed and short profiles of the characters with source files, and register them.

    Raises:
        DataError: Bad input (a source file, roles.json, profiles.json, a requested character without
            a source); nothing is called or written then.
        EndpointUnavailable: The generator cannot be reached (finished calls are in the store).
    """
    return run_sync(build_profiles_async(options))
