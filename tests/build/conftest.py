"""Fixtures of the build tests: a small root, and a generator that writes what each stage accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from build_roots import make_root

from mmrole.testing import ScriptedBackend
from mmrole.testing.build_replies import build_reply


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_root(tmp_path / "MMRole-Data")


@pytest.fixture
def generator() -> ScriptedBackend:
    """Answers every build request with a reply its stage accepts (``.calls`` records them)."""
    return ScriptedBackend(lambda call: build_reply(call.messages))
