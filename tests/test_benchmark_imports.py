"""Every ``mmrole`` name that ``benchmarks/`` and ``scripts/`` import still exists.

The benchmarks import most of mmrole inside their functions (so a child process imports only what
it measures), which neither mypy nor ruff follows: a renamed or moved function would only show
when someone next ran the benchmark, often with a GPU lent for a few minutes.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([*ROOT.glob("benchmarks/**/*.py"), *ROOT.glob("scripts/*.py")])


def _fallbacks(tree: ast.AST) -> set[int]:
    """Ids of the import nodes inside ``except ImportError:`` handlers: older sources' names, which
    the benchmarks fall back on when they measure a checkout from before (``--before-src``)."""
    handlers = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ExceptHandler) and "ImportError" in ast.unparse(node.type or ast.Name(""))
    ]
    return {id(inner) for handler in handlers for inner in ast.walk(handler)}


def mmrole_imports(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, name) for every ``import mmrole...`` and ``from mmrole... import name``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = _fallbacks(tree)
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "mmrole"
        ):
            found += [(node.lineno, node.module or "", alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name, None) for a in node.names if a.name.split(".")[0] == "mmrole"]
    return found


def test_the_benchmarks_and_scripts_are_found_and_import_mmrole():
    assert {p.name for p in FILES} >= {"judge_prefix.py", "train_data_memory.py", "make_demo_data.py"}
    assert sum(len(mmrole_imports(p)) for p in FILES) > 50


def test_only_the_fallbacks_for_older_sources_are_left_out(tmp_path: Path):
    script = tmp_path / "bench.py"
    script.write_text(
        "def f():\n"
        "    try:\n"
        "        from mmrole.eval.answer import answer_dataset_sync\n"
        "    except ImportError:\n"
        "        from mmrole.engine.answer import answer_dataset_sync\n"
        "    import mmrole.runs\n",
        encoding="utf-8",
    )
    assert mmrole_imports(script) == [
        (6, "mmrole.runs", None),
        (3, "mmrole.eval.answer", "answer_dataset_sync"),
    ]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_mmrole_name_imported_exists(path: Path):
    missing = []
    for line, module_name, name in mmrole_imports(path):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            # An optional extra (vlmeval, gradio...) that is not installed is not a rename.
            if (error.name or "").startswith("mmrole"):
                missing.append(f"{path.name}:{line}: no module {module_name}")
            continue
        if name is not None and name != "*" and not hasattr(module, name):
            try:  # a submodule imported by name: from mmrole.data import sources
                importlib.import_module(f"{module_name}.{name}")
            except ModuleNotFoundError:
                missing.append(f"{path.name}:{line}: {module_name} has no {name}")
    assert missing == []
