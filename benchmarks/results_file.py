"""benchmarks/RESULTS.md: each benchmark owns one marked section and rewrites only that."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, section: str, start: str, end: str) -> None:
    """Replace the section between the ``start`` and ``end`` markers (appended when absent)."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
