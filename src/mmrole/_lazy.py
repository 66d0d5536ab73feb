"""Package attributes imported on first use (PEP 562), so a package's ``__init__`` stays cheap.

Importing one light submodule (``mmrole.eval.judge_plan`` for the CLI's options) runs its package's
``__init__``; with the public names loaded lazily that no longer pulls numpy and the rest in.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping
from typing import Any


class _LazyPackage(types.ModuleType):
    """A package whose public names (``_lazy_homes``: name -> module) load when first looked up."""

    _lazy_homes: Mapping[str, str]

    def __getattr__(self, name: str) -> Any:
        home = self.__dict__.get("_lazy_homes", {}).get(name)
        if home is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        self.__dict__[name] = value  # later look-ups are plain attribute reads
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        # Loading mmrole.eval.aggregate sets the package's ``aggregate`` to that submodule; the
        # public name is the function, as it was when ``__init__`` imported it eagerly.
        if isinstance(value, types.ModuleType) and self.__dict__.get("_lazy_homes", {}).get(name) == (
            f"{self.__name__}.{name}"
        ):
            return
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted({*self.__dict__, *self.__dict__.get("_lazy_homes", {})})


def lazy_names(package: str, homes: Mapping[str, tuple[str, ...]]) -> None:
    """Make ``package``'s names load on first use: ``homes`` maps a submodule (relative, ``"aggregate"``)
    to the public names it defines."""
    module = sys.modules[package]
    module.__dict__["_lazy_homes"] = {
        name: f"{package}.{submodule}" for submodule, names in homes.items() for name in names
    }
    module.__class__ = _LazyPackage
