"""Fixtures of the AutoRPEval tests: BeyondDialogue's reference files and code beside the repo."""

from __future__ import annotations

import ast
import importlib.util
import shutil
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

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


def load_module(path: Path) -> ModuleType:
    """A reference file imported by path (only those that import nothing outside the stdlib)."""
    spec = importlib.util.spec_from_file_location(f"beyond_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_functions(path: Path, names: set[str], namespace: dict[str, Any]) -> dict[str, Any]:
    """Functions of a BeyondDialogue script, taken out of it with ``ast`` and defined in ``namespace``
    (the scripts import its clients and config, which are not here; their functions need neither)."""
    source = path.read_text(encoding="utf-8")
    namespace = {**vars(typing), **namespace}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            exec(compile(ast.Module([node], []), str(path), "exec"), namespace)  # noqa: S102 - reference code
    missing = names - set(namespace)
    assert not missing, f"{path.name} has no {missing}"
    return {name: namespace[name] for name in names}
