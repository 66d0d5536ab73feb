"""docs/architecture.md's stage map names modules that exist (a moved module must update the map)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "mmrole"


def _stage_table() -> str:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    start = text.index("## One evaluation, stage by stage")
    return text[start : text.index("## The rooms", start)]


def test_every_module_the_stage_map_names_exists() -> None:
    table = _stage_table()
    paths = set(re.findall(r"`([a-z_/]+(?:\.py|/))", table))
    assert len(paths) > 15
    # A path with a folder is checked as written; a bare file name (a sibling named in the same cell,
    # e.g. `write.py` of `eval/report/`) only has to exist somewhere in the package.
    missing = [
        path for path in sorted(paths) if not ((SRC / path).exists() if "/" in path else any(SRC.rglob(path)))
    ]
    assert missing == []


def test_every_function_the_stage_map_names_exists() -> None:
    table = _stage_table()
    named = re.findall(r"`([a-z_/]+)\.py` `([A-Za-z_]+)`", table)
    assert len(named) >= 6
    for module, name in named:
        source = (SRC / f"{module}.py").read_text(encoding="utf-8")
        assert re.search(rf"^(async def|def|class) {name}\b", source, re.M), f"{module}.py has no {name}"
