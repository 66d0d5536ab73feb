"""Importing VLMEvalKit (``vlmeval_register`` then makes it know mmrole's dataset and model class).

VLMEvalKit (PyPI: ``ms-vlmeval``, tested with 0.0.20) is installed without its declared
dependencies, which pull CUDA wheels: ``pip install "mmrole[vlmeval]"`` then
``pip install --no-deps ms-vlmeval==0.0.20``. Its package ``__init__``s import every dataset and
model module, so importing any part of it imports all of it (about 10 s of CPU).

Importing it also changes the process: it switches autograd off (``torch.set_grad_enabled(False)``
in ``vlmeval/vlm/__init__.py``), turns off HTTPS certificate checks for ``urllib``
(``ssl._create_default_https_context``), configures the root logger and adds warning filters.
:func:`load_vlmeval` undoes those four, so a process that also trains or downloads is unaffected;
the environment variables its model modules set for themselves are left (they read them later).
"""

from __future__ import annotations

import logging
import ssl
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from mmrole.errors import ConfigError

#: The VLMEvalKit release the integration is tested against.
VLMEVAL_VERSION = "0.0.20"
INSTALL_HINT = f'pip install "mmrole[vlmeval]" && pip install --no-deps ms-vlmeval=={VLMEVAL_VERSION}'

#: The modules mmrole uses (importing one imports them all).
_MODULES = ("vlmeval.smp", "vlmeval.dataset", "vlmeval.vlm", "vlmeval.config", "vlmeval.inference")


@contextmanager
def _contained_side_effects() -> Iterator[None]:
    """Restore what importing VLMEvalKit changes globally (see the module docstring)."""
    https_context = ssl._create_default_https_context
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    filters = list(warnings.filters)
    torch = sys.modules.get("torch")
    grad = torch.is_grad_enabled() if torch is not None else None

    # It logs an error on every import when there is no .env file of API keys beside it: the normal case.
    def no_env_notice(record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Did not detect the .env file")

    root.addFilter(no_env_notice)
    try:
        yield
    finally:
        root.removeFilter(no_env_notice)
        ssl._create_default_https_context = https_context
        root.handlers[:] = handlers
        root.setLevel(level)
        warnings.filters[:] = filters  # type: ignore[index]  # a list at run time
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_grad_enabled(True if grad is None else grad)


def load_vlmeval() -> ModuleType:
    """The ``vlmeval`` package, imported once with its side effects contained.

    Raises:
        ConfigError: VLMEvalKit, or something it imports, is not installed (one line saying what).
    """
    if all(name in sys.modules for name in _MODULES):
        return sys.modules["vlmeval"]
    with _contained_side_effects():
        try:
            import importlib

            for name in _MODULES:
                importlib.import_module(name)
        except ModuleNotFoundError as err:
            missing = (err.name or "").split(".")[0]
            if missing == "vlmeval":
                raise ConfigError(f"VLMEvalKit is not installed: {INSTALL_HINT}") from None
            if missing == "torchvision":
                raise ConfigError(
                    "VLMEvalKit imports torchvision when it is imported: install the torchvision build "
                    "that matches your torch (https://pytorch.org/get-started/locally/)"
                ) from None
            raise ConfigError(
                f"VLMEvalKit needs {missing!r}, which is not installed: {INSTALL_HINT}"
            ) from None
        except Exception as err:  # any failure inside a third-party package's import
            raise ConfigError(f"importing VLMEvalKit failed: {type(err).__name__}: {err}") from None
    return sys.modules["vlmeval"]


def model_registry() -> dict[str, Any]:
    """VLMEvalKit's model registry: name -> class or ``functools.partial`` of one."""
    load_vlmeval()
    import vlmeval.config

    return vlmeval.config.supported_VLM
