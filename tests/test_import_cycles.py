"""mmrole's modules import each other in one direction: no circles, and no package reaching up.

The graph is read from the source with ``ast`` (every import, those inside functions included),
so an in-body import cannot hide a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mmrole

SRC = Path(mmrole.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """module -> the mmrole modules it imports (``from pkg import name`` counts as ``pkg.name`` when
    that is a module, else as ``pkg``)."""
    files = {_module_name(path): path for path in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {
                    f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in files else node.module
                    for alias in node.names
                }
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
        graph[name] = {target for target in found if target in files and target != name}
    return graph


def _a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of the graph, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[module] = 2
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_no_import_circle_between_mmrole_modules() -> None:
    cycle = _a_cycle(_import_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_the_alignment_loop_sits_above_the_trainers() -> None:
    graph = _import_graph()
    train = {m: targets for m, targets in graph.items() if m.startswith("mmrole.train")}
    assert train and not {
        (m, t) for m, targets in train.items() for t in targets if t.startswith("mmrole.align")
    }
    align = {t for m, targets in graph.items() if m.startswith("mmrole.align") for t in targets}
    assert "mmrole.train.dpo" in align  # the loop calls the DPO trainer
    assert not {t for t in align if t.startswith(("mmrole.cli", "mmrole._cli", "mmrole.app"))}


def test_models_never_import_the_engine() -> None:
    """Backends sit below the engine that calls them (the HTTP client and image codec included)."""
    graph = _import_graph()
    models = {m: targets for m, targets in graph.items() if m.startswith("mmrole.models")}
    assert "mmrole.models.http_client" in models and "mmrole.models.openai_compat" in models
    assert not {(m, t) for m, targets in models.items() for t in targets if t.startswith("mmrole.engine")}


def test_the_engine_knows_only_the_backend_protocol_and_the_core() -> None:
    """No data, eval, train, runs, align or app; of the models, the protocol and the spec registry only
    (which loads the concrete backends lazily, by name)."""
    # mmrole.options: the option() field helper, pure (EngineOptions declares its flags with it).
    allowed = ("mmrole.engine", "mmrole.errors", "mmrole.images", "mmrole.lru", "mmrole.options")
    allowed_models = {"mmrole.models", "mmrole.models.base", "mmrole.models.registry"}
    graph = _import_graph()
    engine = {m: targets for m, targets in graph.items() if m.startswith("mmrole.engine")}
    assert "mmrole.engine.keys" in engine and "mmrole.images" in engine["mmrole.engine.keys"]
    reaching = {
        (m, t)
        for m, targets in engine.items()
        for t in targets
        if not (t.startswith(allowed) or t in allowed_models)
    }
    assert not reaching


def test_the_image_module_is_core() -> None:
    """Every room shows images through mmrole.images, so it imports no room itself."""
    graph = _import_graph()
    package = {m for m in graph if m == "mmrole.images" or m.startswith("mmrole.images.")}
    assert package >= {"mmrole.images", "mmrole.images.decode", "mmrole.images.urls"}
    for module in package:
        assert graph[module] <= {"mmrole.errors", "mmrole.lru"} | package, module


def test_only_the_entry_point_imports_the_cli() -> None:
    """``python -m mmrole`` is mmrole/__main__.py; no package below the CLI reaches up to it."""
    graph = _import_graph()
    up = {
        m
        for m, targets in graph.items()
        for t in targets
        if t.startswith(("mmrole.cli", "mmrole._cli")) and not m.startswith(("mmrole.cli", "mmrole._cli"))
    }
    assert up == {"mmrole.__main__"}
