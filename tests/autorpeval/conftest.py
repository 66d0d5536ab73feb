"""Fixtures of the AutoRPEval tests: BeyondDialogue's reference files beside the repo."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

#: Two English roles and one Chinese, the offline runs' test set.
THREE_ROLES = ("roles_en/Harry.json", "roles_en/Snape.json", "roles_zh/刘备.json")


@pytest.fixture(scope="session")
def beyond(reference_root: Path) -> Path:
    """``../shared/reference/beyonddialogue`` (read-only)."""
    return reference_root / "beyonddialogue"


@pytest.fixture
def three_roles(beyond: Path, tmp_path: Path) -> Path:
    """A folder with the released Harry and Snape (English) and 刘备 (Chinese) role files."""
    folder = tmp_path / "roles"
    for name in THREE_ROLES:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(beyond / "autorpeval" / name, target)
    return folder
