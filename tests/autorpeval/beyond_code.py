"""BeyondDialogue's reference code, loaded for the AutoRPEval tests to run next to mmrole's."""

from __future__ import annotations

import ast
import importlib.util
import typing
from pathlib import Path
from types import ModuleType
from typing import Any


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
