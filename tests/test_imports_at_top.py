"""mmrole's own modules are imported at the top of each module (issue 9, item 8).

An import inside a function body hides what a module depends on. It stays only where importing at the
top would pull a heavy stack (torch, transformers, ...) into a light module, or where the registry loads
a backend on demand; such an import says why in a ``# lazy: ...`` comment on its line or the line above.
The CLI (``_cli/``, lazy so ``mmrole --help`` is fast) and ``build/``, ``autorpeval/`` and
``integrations/`` are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mmrole

SRC = Path(mmrole.__file__).resolve().parent
UNCHECKED = ("_cli", "build", "autorpeval", "integrations")


def _imports_mmrole(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == "mmrole"
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "mmrole" for alias in node.names)
    return False


def unexplained_in_body_imports(source: str) -> list[int]:
    """The line numbers of the in-body imports of mmrole modules without a ``# lazy:`` comment on their
    line or the line above."""
    lines = source.splitlines()
    found: set[int] = set()
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if _imports_mmrole(node):
                said = lines[node.lineno - 1] + (lines[node.lineno - 2] if node.lineno > 1 else "")
                if "# lazy:" not in said:
                    found.add(node.lineno)
    return sorted(found)


def test_the_finder_sees_in_body_imports_and_their_comments() -> None:
    source = (
        "import mmrole.errors\n"
        "from mmrole.files import write_json\n"
        "def f():\n"
        "    from mmrole.runs import RunFolder\n"  # 4: unexplained
        "    # lazy: pulls torch\n"
        "    from mmrole.models.hf import HFBackend\n"
        "    from mmrole.models import hf_processors  # lazy: pulls torch\n"
        "    import json\n"
        "    async def g():\n"
        "        import mmrole.eval.judge\n"  # 10: unexplained, nested
        "        from . import sibling\n"  # 11: relative, unexplained
        "class C:\n"
        "    def m(self):\n"
        "        from mmrole.data import (\n"  # 14: unexplained, several lines
        "            load_samples,\n"
        "        )\n"
    )
    assert unexplained_in_body_imports(source) == [4, 10, 11, 14]


def test_mmrole_modules_are_imported_at_the_top_or_say_why_not() -> None:
    unexplained = [
        f"{path.relative_to(SRC)}:{line}"
        for path in sorted(SRC.rglob("*.py"))
        if path.relative_to(SRC).parts[0] not in UNCHECKED
        for line in unexplained_in_body_imports(path.read_text(encoding="utf-8"))
    ]
    assert unexplained == [], "move these to the top, or say why not in a '# lazy: ...' comment"
