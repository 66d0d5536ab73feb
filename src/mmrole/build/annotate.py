"""`mmrole build annotate`: a vision-language model annotates the character stills that lack it.

A series' stills are the images in ``<images>/<Series>/`` (``The Avengers`` -> ``The_Avengers/``), as
in MMRole-Data. For every still without an entry in ``images/annotations.json`` the generator sees
the image, the series and its characters, and writes ``role_info`` (who is in it), ``place_info``
(where) and ``scene_info`` (what happens), any of them empty when it cannot tell, in the series'
language. New entries are merged into the file (written atomically, once, at the end): existing
entries are kept as they are, unless ``overwrite`` annotates every still again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrole.build.generate import (
    BuildFolder,
    GeneratorOptions,
    Task,
    open_generator,
    run_sync,
    run_tasks,
    tally,
)
from mmrole.build.replies import ReplyError, json_object, language_problem, text_field
from mmrole.build.root import (
    check_splits,
    image_folder,
    image_part,
    list_images,
    read_roles,
    split_folder,
    stills_folder,
)
from mmrole.build.stage import StageSummary
from mmrole.data.characters import file_stem, looks_chinese
from mmrole.data.jsonio import read_json
from mmrole.data.paths import check_within
from mmrole.errors import DataError
from mmrole.files import write_json
from mmrole.models.base import Message
from mmrole.prompts.build_annotate import ANNOTATE_SYSTEM, ANNOTATION_FIELDS, annotation_request

__all__ = ["AnnotateOptions", "build_annotations", "build_annotations_async", "parse_annotation"]

STAGE = "annotate"


@dataclass
class AnnotateOptions(GeneratorOptions):
    """Options of `mmrole build annotate` (the generator's, plus which stills)."""

    series: list[str] = field(
        default_factory=list,
        metadata={"help": "Only the stills of this series (repeatable); default: every series."},
    )
    splits: list[str] = field(
        default_factory=list, metadata={"help": "Only the series of this split (repeatable; default both)."}
    )
    images: Path | None = field(
        default=None,
        metadata={
            "help": "The image folder (default: the root's images/); annotations.json stays in the root."
        },
    )
    max_tokens: int = field(default=512, metadata={"help": "Longest reply, in tokens."})


@dataclass(frozen=True)
class SeriesInfo:
    name: str
    characters: tuple[str, ...]
    language: str


def parse_annotation(text: str, language: str) -> dict[str, str]:
    """The three annotation fields of a reply (empty strings allowed, as in MMRole-Data).

    Raises:
        ReplyError: Not JSON, none of the fields there, a field that is not a string, or the
            annotation in another language.
    """
    data = json_object(text)
    if not any(name in data for name in ANNOTATION_FIELDS):
        raise ReplyError("not an annotation", f"none of {', '.join(ANNOTATION_FIELDS)} in the reply")
    annotation = {}
    for name in ANNOTATION_FIELDS:
        annotation[name] = text_field(data, name, allow_empty=True) if name in data else ""
    problem = language_problem(" ".join(annotation.values()), language)
    if problem:
        raise ReplyError("wrong language", f"the annotation is {problem}")
    return annotation


def _series(root: Path, options: AnnotateOptions) -> list[SeriesInfo]:
    found: dict[str, SeriesInfo] = {}
    for split in check_splits(options.splits):
        chinese_sources = {p.stem for p in (split_folder(root, split) / "raw_info_zh").glob("*.txt")}
        for series, names in read_roles(root, split).items():
            chinese = looks_chinese(series) or any(file_stem(name) in chinese_sources for name in names)
            known = found.get(series)
            characters = (*known.characters, *names) if known else tuple(names)
            found[series] = SeriesInfo(series, characters, "Chinese" if chinese else "English")
    for name in options.series:
        if name not in found:
            raise DataError(
                f"no series {name!r} in any roles.json", file=str(root / "profiles"), field="series"
            )
    return [info for info in found.values() if not options.series or info.name in options.series]


def read_annotations(path: Path, root: Path) -> list[dict[str, Any]]:
    """``images/annotations.json`` as its list of entries ([] when absent).

    Raises:
        DataError: Not a list of objects each with an ``image`` path (naming the entry).
    """
    if not path.exists():
        return []
    check_within(path, root)
    entries = read_json(path)
    if not isinstance(entries, list):
        raise DataError("annotations.json must be a list of entries", file=str(path))
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("image"), str):
            raise DataError(
                "an entry without an image path", file=str(path), record=f"#{index}", field="image"
            )
    return entries


def _task(still: str, info: SeriesInfo, folder: Path, annotations: Path) -> Task[dict[str, str]]:
    part = image_part(folder, still, file=str(annotations), record=still)
    text = annotation_request(info.name, info.characters, info.language)
    messages: list[Message] = [
        {"role": "system", "content": ANNOTATE_SYSTEM[info.language]},
        {"role": "user", "content": [part, {"type": "text", "text": text}]},
    ]
    language = info.language
    return Task(still, messages, lambda reply: parse_annotation(reply, language), language)


async def build_annotations_async(options: AnnotateOptions) -> StageSummary:
    """:func:`build_annotations` in a running event loop."""
    options.check()
    root = Path(options.root)
    build = BuildFolder(root)
    summary = StageSummary(STAGE)
    with build.lock():
        folder = image_folder(root, options.images)
        path = root / "images" / "annotations.json"
        entries = read_annotations(path, root)
        annotated = {entry["image"] for entry in entries}
        tasks = []
        for info in _series(root, options):
            for still in list_images(folder, stills_folder(info.name)):
                if still in annotated and not options.overwrite:
                    summary.skipped += 1
                    continue
                tasks.append((still, info))
        if options.limit:
            tasks = tasks[: options.limit]
        # Every image is checked (inside the folder, a decodable file) before the first call.
        planned = [_task(still, info, folder, path) for still, info in tasks]
        async with open_generator(options.generator) as backend:
            outcomes = await run_tasks(
                backend, planned, folder=build, stage=STAGE, options=options, summary=summary
            )
        new = {key: outcome.value for key, outcome in outcomes.items() if outcome.value is not None}
        if new:
            merged = [
                {**entry, **new.pop(entry["image"])} if entry["image"] in new else entry for entry in entries
            ]
            merged += [{"image": image, **annotation} for image, annotation in new.items()]
            write_json(path, merged)
            summary.outputs.append(str(path))
        summary.kept = sum(1 for outcome in outcomes.values() if outcome.ok)
        build.record_failures(STAGE, outcomes, tally(summary, outcomes.values()))
    return summary


def build_annotations(options: AnnotateOptions) -> StageSummary:
    """Annotate the character stills without an entry in ``images/annotations.json``.

    Raises:
        DataError: Bad input (roles.json, annotations.json, a still outside the image folder or not an
            image); nothing is called or written then.
        EndpointUnavailable: The generator cannot be reached (finished calls are in the store).
    """
    return run_sync(build_annotations_async(options))
