"""The package surface: light imports, a stable public API, a working console script."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types

import pytest

import mmrole

HEAVY = ("torch", "transformers", "trl", "peft", "gradio", "datasets")


def _modules_loaded_by(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_import_mmrole_and_cli_stay_light():
    loaded = _modules_loaded_by(
        "import mmrole, mmrole.cli, mmrole.data, mmrole.models, mmrole.engine, mmrole.eval, mmrole.train, mmrole.align"
    )
    assert not (loaded & set(HEAVY)), f"heavy modules imported at start-up: {sorted(loaded & set(HEAVY))}"


def test_import_cli_does_not_import_numpy():
    """The commands' option dataclasses come from light modules: the packages' ``__init__`` load
    their names on first use, so ``mmrole --help`` does not pay for numpy (the eval arithmetic)."""
    loaded = _modules_loaded_by("import mmrole.cli")
    assert "numpy" not in loaded and "mmrole.eval.aggregate" not in loaded
    assert "mmrole.eval.judge_plan" in loaded  # the check is about the right import


def test_lazy_package_names_are_the_functions_even_after_their_submodule_loads():
    """``mmrole.eval.aggregate`` is the function, as when ``__init__`` imported it, not the module."""
    loaded = _modules_loaded_by(
        "import mmrole.eval.aggregate, mmrole.eval.leaderboard\nimport mmrole.eval as e\n"
        "from mmrole.eval import aggregate\nimport types\n"
        "assert callable(aggregate) and not isinstance(aggregate, types.ModuleType)\n"
        "assert not isinstance(e.leaderboard, types.ModuleType) and 'combine' in dir(e)"
    )
    assert "mmrole.eval.aggregate" in loaded


def test_help_does_not_import_torch():
    loaded = _modules_loaded_by(
        "import sys\nfrom mmrole.cli import app\n"
        "from typer.testing import CliRunner\nCliRunner().invoke(app, ['--help'])"
    )
    assert "torch" not in loaded


def _packages() -> list[str]:
    """mmrole and each of its public packages (``_cli`` is private)."""
    found = pkgutil.walk_packages(mmrole.__path__, "mmrole.")
    return ["mmrole", *sorted(info.name for info in found if info.ispkg and "._" not in info.name)]


def test_the_package_list_is_found():
    assert {"mmrole.data", "mmrole.engine", "mmrole.models", "mmrole.testing"} <= set(_packages())


@pytest.mark.parametrize("name", _packages())
def test_every_package_lists_exactly_its_public_names_in_all(name):
    """Like httpx's test: each ``__all__`` name exists, and every public name the package defines or
    imports is in ``__all__`` (submodules, imported as a side effect, are not part of the surface)."""
    package = importlib.import_module(name)
    assert hasattr(package, "__all__"), f"{name} has no __all__"
    assert [n for n in package.__all__ if not hasattr(package, n)] == [], (
        f"{name}.__all__ names missing names"
    )
    public = {
        n
        for n, value in vars(package).items()
        if not n.startswith("_") and n != "annotations" and not isinstance(value, types.ModuleType)
    }
    assert public == set(package.__all__) - {"__version__"}, name
    assert len(package.__all__) == len(set(package.__all__)), f"{name}.__all__ repeats a name"


def test_the_error_tree_in_errors_py_names_every_mmrole_error():
    """errors.py draws the tree of MMRoleError; every subclass defined anywhere in mmrole is on it."""
    import ast
    import re
    from pathlib import Path

    from mmrole import errors

    bases: dict[str, set[str]] = {}
    for path in Path(mmrole.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                names = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                bases.setdefault(node.name, set()).update(names)
    tree, grew = {"MMRoleError"}, True
    while grew:
        more = {name for name, parents in bases.items() if parents & tree} - tree
        tree |= more
        grew = bool(more)
    assert {"BackendError", "DataError", "ConfigError", "StorageError"} <= tree
    drawn = errors.__doc__ or ""  # a line of the tree: "    ├── Name   what it means"
    assert [n for n in sorted(tree) if not re.search(rf"^ +(?:[│ ]*[├└]── )?{n}\b", drawn, re.M)] == []
    assert issubclass(errors.BackendError, errors.MMRoleError)


def test_console_script_version():
    # `python -m mmrole` (mmrole/__main__.py, what launchers such as accelerate run) is the same command.
    for module in ("mmrole.cli", "mmrole"):
        for argv in (["version"], ["--version"]):
            result = subprocess.run([sys.executable, "-m", module, *argv], capture_output=True, text=True)
            assert result.returncode == 0, result.stderr
            assert result.stdout.strip() == mmrole.__version__


def test_exit_codes_and_errors_are_clean(capsys):
    """typer.Exit codes survive main(), and mmrole's own errors are one line, not a traceback."""
    import typer

    from mmrole import cli
    from mmrole.errors import BackendError, DataError

    @cli.app.command("_exit-three", hidden=True)
    def _exit_three() -> None:
        raise typer.Exit(3)

    @cli.app.command("_bad-data", hidden=True)
    def _bad_data() -> None:
        raise DataError("missing", file="x.json", record="r1", field="image")

    @cli.app.command("_model-down", hidden=True)
    def _model_down() -> None:
        raise BackendError("openai:m: HTTP 401: invalid key")

    for argv, code in ((["_exit-three"], 3), (["_bad-data"], 2), (["_model-down"], 2)):
        old = sys.argv
        sys.argv = ["mmrole", *argv]
        try:
            with pytest.raises(SystemExit) as exc:
                cli.main()
        finally:
            sys.argv = old
        assert exc.value.code == code
    err = capsys.readouterr().err
    assert "x.json, record r1, field 'image': missing" in err
    assert "error: openai:m: HTTP 401: invalid key" in err  # a failed model call is one of mmrole's errors
    assert "Traceback" not in err


def _make_dry_run(target: str) -> str:
    """The commands ``make TARGET`` would run on a fresh checkout (``make -n`` runs none of them)."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    return subprocess.run(
        ["make", "-n", "-C", str(repo), target, "VENV=/nonexistent/mmrole-venv"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_make_demo_needs_no_root_and_no_system_packages():
    demo = _make_dry_run("demo")
    assert "pip install" in demo and "mmrole eval --agent demo" in demo
    assert "apt-get" not in demo and "sudo" not in demo and "chromium" not in demo
    assert "activate" in demo  # it says how to run mmrole next
    assert "apt-get" in _make_dry_run("test")  # the HTML report's browser test still gets Chromium
