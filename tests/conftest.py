"""Fixtures shared by every test package: offline mode and the reference data beside the repo."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from data_roots import build_root_with_test_split

# No test may reach the network for weights or datasets.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MMROLE_SHARED", REPO.parent / "shared"))
REFERENCE = SHARED / "reference"


@pytest.fixture(scope="session")
def reference_root() -> Path:
    """``../shared/reference``: read-only; tests never copy it into the repo."""
    if not REFERENCE.is_dir():
        pytest.fail(f"reference data not found at {REFERENCE} (set MMROLE_SHARED)")
    return REFERENCE


@pytest.fixture(scope="session")
def mmrole_data_root(reference_root: Path) -> Path:
    return reference_root / "mmrole-data"


@pytest.fixture(scope="session")
def in_test_root(reference_root: Path) -> Path:
    return reference_root / "mmrole-eval" / "in-test"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point mmrole's user cache at a per-session temp dir unless a test sets its own."""
    if "MMROLE_CACHE_DIR" not in os.environ:
        monkeypatch.setenv("MMROLE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "mmrole-cache"))


@pytest.fixture
def outside_secret(tmp_path: Path) -> tuple[Path, bytes]:
    """A valid PNG in ``tmp_path/outside/``, outside any data root a test builds elsewhere in
    ``tmp_path``: a link to it must never be read, sent or copied (its bytes are returned to look for).
    """
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("secret", "OUTSIDE-THE-ROOT-7d3e1f")
    path = tmp_path / "outside" / "secret.png"
    path.parent.mkdir()
    Image.new("RGB", (23, 17), (201, 7, 99)).save(path, pnginfo=info)
    return path, path.read_bytes()


class MMRoleMain:
    """The console script run in this process, through :func:`mmrole.cli.main`, so its errors
    come out exactly as users see them."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.capsys, self.monkeypatch = capsys, monkeypatch

    def __call__(self, *args: object) -> tuple[int, str, str]:
        """``mmrole ARGS`` -> (exit code, stdout, stderr)."""
        import sys

        from mmrole import cli

        self.capsys.readouterr()  # drop what came before
        self.monkeypatch.setattr(sys, "argv", ["mmrole", *map(str, args)])
        try:
            cli.main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def refused(self, *args: object) -> str:
        """The one error line of a command that must be refused (exit 2, no traceback)."""
        code, _, err = self(*args)
        assert code == 2, err
        assert "Traceback" not in err, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        return lines[0]


@pytest.fixture
def run_mmrole(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> MMRoleMain:
    """``run_mmrole(*args) -> (code, out, err)``; ``run_mmrole.refused(*args) -> error line``."""
    return MMRoleMain(capsys, monkeypatch)


@pytest.fixture(scope="session")
def small_root_with_test_split(
    tmp_path_factory: pytest.TempPathFactory, mmrole_data_root: Path, in_test_root: Path
) -> Path:
    """Iron Man's in-distribution dialogues, every out-of-distribution one, and MMRole's In-Test files."""
    return build_root_with_test_split(
        tmp_path_factory.mktemp("small-root") / "MMRole-Data",
        mmrole_data_root,
        in_test_root,
        ("*/*/Iron_Man_*.json", "out-of-distribution/*.json"),
    )


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen2-VL (the family of the documented 7B recipe): the trainer and align tests share it."""
    from mmrole.testing.tiny_models import build_tiny_qwen2vl

    return build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny") / "qwen2vl")


@pytest.fixture
def benchmark_module(monkeypatch):
    """Import a script of ``benchmarks/`` by name: they import their siblings by name (they run from
    there), so the folder goes on ``sys.path`` for the test."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    return importlib.import_module
