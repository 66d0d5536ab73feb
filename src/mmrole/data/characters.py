"""Characters of an MMRole-Data root: ``profiles/<split>/``.

Each split folder holds ``roles.json`` (series -> names), ``profiles.json`` (name -> the profile
text MRPA prompts include), ``detailed_profiles/<Name>.json`` (MMRole's five sections),
``meta_info_hypo/<Name>.json`` (seed attributes of hypothetical characters) and
``raw_info_en/`` / ``raw_info_zh/`` (the source texts; a ``raw_info_zh`` file marks a Chinese
character). File names are the character names with spaces replaced by underscores, so a name
with a path separator, ``..`` or NUL is refused, and every file must resolve inside the root
(:mod:`mmrole.data.paths`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from mmrole.data.jsonio import read_json
from mmrole.data.paths import UnsafePathError, check_name, check_within
from mmrole.data.problems import Problem, Reporter, problem_from_error, raise_problem
from mmrole.errors import DataError
from mmrole.schema import SPLITS, Character, Profile, Split


def file_stem(name: str) -> str:
    """The file-name form of a character name (``Iron Man`` -> ``Iron_Man``)."""
    return name.replace(" ", "_")


def looks_chinese(text: str) -> bool:
    """True when at least a fifth of the letters are CJK ideographs."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    cjk = sum(1 for ch in letters if "\u4e00" <= ch <= "\u9fff")
    return cjk * 5 >= len(letters)


def _read(path: Path, root: Path, report: Reporter) -> object | None:
    try:
        check_within(path, root)
        return read_json(path)
    except UnsafePathError as err:
        report(problem_from_error(err, "unsafe-path"))
        return None
    except DataError as err:
        report(problem_from_error(err))
        return None


def _profile(detailed: dict[str, object], path: Path, name: str, report: Reporter) -> Profile | None:
    """A detailed profile: its text sections, and BeyondDialogue's fields when it has them (an MBTI
    type, a list of scenes) checked; a bad one is reported with its field."""
    fields = {k: v for k, v in detailed.items() if isinstance(v, str) or k == "scenes"}
    try:
        return Profile.model_validate(fields)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        report(Problem("missing-field", message, file=str(path), record=name, field=where))
        return None


def _load_split(root: Path, split: Split, report: Reporter) -> dict[str, Character]:
    folder = root / "profiles" / split
    roles_path, profiles_path = folder / "roles.json", folder / "profiles.json"
    roles = _read(roles_path, root, report)
    if roles is None:
        return {}
    if not isinstance(roles, dict) or not all(
        isinstance(names, list) and all(isinstance(n, str) for n in names) for names in roles.values()
    ):
        report(
            Problem(
                "bad-structure", "roles.json must map each series to a list of names", file=str(roles_path)
            )
        )
        return {}
    summaries = _read(profiles_path, root, report) if profiles_path.exists() else {}
    if summaries is None or not isinstance(summaries, dict):
        if summaries is not None:
            report(Problem("bad-structure", "profiles.json must map names to texts", file=str(profiles_path)))
        summaries = {}

    characters: dict[str, Character] = {}
    refused: set[str] = set()
    for series, names in roles.items():
        for name in names:
            try:
                check_name(name, file=str(roles_path), record=name, field=series)
            except UnsafePathError as err:
                refused.add(name)
                report(problem_from_error(err, "unsafe-name"))
                continue
            summary = summaries.get(name)
            if not isinstance(summary, str) or not summary.strip():
                report(
                    Problem(
                        "missing-profile", "no profile text", file=str(profiles_path), record=name, field=name
                    )
                )
                summary = ""
            stem = file_stem(name)
            profile = None
            detailed_path = folder / "detailed_profiles" / f"{stem}.json"
            if detailed_path.exists() and isinstance(detailed := _read(detailed_path, root, report), dict):
                profile = _profile(detailed, detailed_path, name, report)
            meta = None
            meta_path = folder / "meta_info_hypo" / f"{stem}.json"
            if meta_path.exists() and isinstance(raw_meta := _read(meta_path, root, report), dict):
                meta = {str(k): str(v) for k, v in raw_meta.items()}
            chinese = (folder / "raw_info_zh" / f"{stem}.txt").exists() or looks_chinese(summary or name)
            characters[name] = Character(
                name=name,
                series=series,
                split=split,
                language="Chinese" if chinese else "English",
                summary=summary,
                profile=profile,
                meta=meta,
            )
    for name in summaries:
        if name not in characters and name not in refused:
            report(
                Problem(
                    "unknown-character",
                    f"profiles.json has {name!r}, which roles.json does not list",
                    file=str(profiles_path),
                    record=name,
                )
            )
    return characters


def load_characters(root: str | Path, *, report: Reporter | None = None) -> dict[str, Character]:
    """Load every character of an MMRole-Data root, keyed by name.

    Args:
        root: The MMRole-Data root (the folder holding ``profiles/``).
        report: Called with each problem; without it the first problem raises DataError.

    Raises:
        DataError: ``profiles/`` is missing, or (without ``report``) any file is bad.
    """
    root = Path(root)
    report = report or raise_problem
    if not (root / "profiles").is_dir():
        raise DataError("not an MMRole-Data root: no profiles/ folder", file=str(root))
    characters: dict[str, Character] = {}
    for split in SPLITS:
        if (root / "profiles" / split).is_dir():
            for name, character in _load_split(root, split, report).items():
                if name in characters:
                    report(
                        Problem(
                            "duplicate-id",
                            f"character listed in both {characters[name].split} and {split}",
                            file=str(root / "profiles" / split / "roles.json"),
                            record=name,
                        )
                    )
                characters[name] = character
    return characters
