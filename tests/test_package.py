"""The package surface: light imports, a stable public API, a working console script."""

from __future__ import annotations

import subprocess
import sys

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


def test_help_does_not_import_torch():
    loaded = _modules_loaded_by(
        "import sys\nfrom mmrole.cli import app\n"
        "from typer.testing import CliRunner\nCliRunner().invoke(app, ['--help'])"
    )
    assert "torch" not in loaded


def test_public_names_match_all():
    public = {name for name in vars(mmrole) if not name.startswith("_")} - {"schema", "errors", "annotations"}
    # submodules imported as a side effect are not part of the surface
    public = {n for n in public if not isinstance(getattr(mmrole, n), type(sys))}
    assert public == set(mmrole.__all__) - {"__version__"}


def test_console_script_version():
    for argv in (["version"], ["--version"]):
        result = subprocess.run([sys.executable, "-m", "mmrole.cli", *argv], capture_output=True, text=True)
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

    import pytest

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
