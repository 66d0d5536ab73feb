"""Fixtures of the data tests: the reference release's samples, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrole.data import build_samples, load_characters, load_samples
from mmrole.schema import Character, Sample

#: The released In-Test answers of one model (the samples are the same for every model).
IN_TEST_MODEL = "mmrole-agent"


@pytest.fixture(scope="session")
def reference_characters(mmrole_data_root: Path) -> dict[str, Character]:
    return load_characters(mmrole_data_root)


@pytest.fixture(scope="session")
def reference_samples(
    mmrole_data_root: Path, reference_characters: dict[str, Character]
) -> dict[str, Sample]:
    """Every sample built from the reference release's dialogues, by id (~74k, a few seconds)."""
    return {sample.id: sample for sample in build_samples(mmrole_data_root, characters=reference_characters)}


@pytest.fixture(scope="session")
def released_in_test(in_test_root: Path) -> list[Sample]:
    return list(load_samples(in_test_root / IN_TEST_MODEL))
