"""Copy the GPU benchmarks' sections of a RESULTS.md that came back from the device into benchmarks/RESULTS.md.

    python benchmarks/gpu/take_results.py /path/to/files_at/RESULTS.md

Only the training-throughput and HF-decode sections are taken; every other section stays as it is here.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCHMARKS))

import results_file  # noqa: E402  (benchmarks/results_file.py)

SECTIONS = ("train-throughput", "hf-decode")


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    text = Path(sys.argv[1]).read_text()
    for name in SECTIONS:
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start not in text or end not in text:
            raise SystemExit(f"{sys.argv[1]} has no {name} section")
        section = start + text.split(start, 1)[1].split(end, 1)[0] + end
        results_file.write_section(BENCHMARKS / "RESULTS.md", section, start, end)
        print(f"took the {name} section")


if __name__ == "__main__":
    main()
