"""Data roots built for tests from the reference release (beside the repo, never copied into it)."""

from __future__ import annotations

import shutil
from pathlib import Path


def build_root_with_test_split(
    target: Path, reference: Path, in_test: Path, dialogue_files: tuple[str, ...] = ("**/*.json",)
) -> Path:
    """A copy of the reference MMRole-Data root with the ``data/test/`` the release lacks.

    The test files are MMRole's In-Test files (the released ``<type>_test.reviews.json``, in
    Qwen-VL format); ``dialogue_files`` picks the dialogue files copied (globs under dialogues/).
    Images are not copied (only ``annotations.json``).
    """
    shutil.copytree(reference / "profiles", target / "profiles")
    for path in sorted({p for pattern in dialogue_files for p in (reference / "dialogues").glob(pattern)}):
        copy = target / "dialogues" / path.relative_to(reference / "dialogues")
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    (target / "images").mkdir()
    shutil.copyfile(reference / "images" / "annotations.json", target / "images" / "annotations.json")
    tests = target / "data" / "test" / "in-distribution"
    tests.mkdir(parents=True)
    for path in sorted((in_test / "mmrole-agent").glob("*_test.reviews.json")):
        shutil.copyfile(path, tests / path.name.replace(".reviews", ""))
    return target
