"""Fixtures of the data tests: the reference release's samples, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_links import write_linked_root

from mmrole.data import build_samples, load_characters, load_samples
from mmrole.schema import Character, Sample

#: The released In-Test answers of one model (the samples are the same for every model).
IN_TEST_MODEL = "mmrole-agent"


@pytest.fixture(scope="session")
def reference_characters(mmrole_data_root: Path) -> dict[str, Character]:
    return load_characters(mmrole_data_root)


@pytest.fixture(scope="session")
def released_in_test(in_test_root: Path) -> list[Sample]:
    return list(load_samples(in_test_root / IN_TEST_MODEL))


#: Built samples that tests look at besides the In-Test ones.
NAMED_IDS = {"Iron_Man_role-role-dialogue_COCO_47_2", "Iron_Man_comment_COCO_0_1"}


@pytest.fixture(scope="session")
def reference_build(
    mmrole_data_root: Path, reference_characters: dict[str, Character], released_in_test: list[Sample]
) -> tuple[list[str], dict[str, Sample]]:
    """Build all ~74k samples once (a few seconds), keeping every id but only the samples tests
    read: all of them would hold ~0.5 GB of prompt text."""
    wanted = {s.id for s in released_in_test} | NAMED_IDS
    ids, kept = [], {}
    for sample in build_samples(mmrole_data_root, characters=reference_characters):
        ids.append(sample.id)
        if sample.id in wanted:
            kept[sample.id] = sample
    return ids, kept


@pytest.fixture(scope="session")
def reference_sample_ids(reference_build: tuple[list[str], dict[str, Sample]]) -> list[str]:
    """The ids of every sample built from the reference release, in build order (74,099)."""
    return reference_build[0]


@pytest.fixture(scope="session")
def reference_samples(reference_build: tuple[list[str], dict[str, Sample]]) -> dict[str, Sample]:
    """The built samples the tests look at (the In-Test ones and a few named ones), by id."""
    return reference_build[1]


@pytest.fixture
def linked_root(tmp_path: Path, outside_secret: tuple[Path, bytes]) -> Path:
    """The demo set with symbolic links out of it and links that stay inside (see data_links.py)."""
    return write_linked_root(tmp_path / "data", outside_secret[0])
