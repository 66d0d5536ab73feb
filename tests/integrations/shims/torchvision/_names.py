"""Names that stand in for torchvision's: importable and attribute-able, never usable.

TEST-ONLY. VLMEvalKit's package ``__init__``s import every dataset and model module, and a few of those
import ``torchvision.transforms`` at import time. This machine's CPU torch build has no working
torchvision wheel, so the tests put this folder on ``sys.path`` while they import ``vlmeval`` (see
``tests/integrations/vlmeval_import.py``) and take it off again. Nothing mmrole runs uses it; on a
machine with the real torchvision the shim is not needed. Using any name raises.
"""

from __future__ import annotations


class _StandInType(type):
    def __getattr__(cls, name: str) -> type:
        if name.startswith("__"):
            raise AttributeError(name)
        return stand_in(f"{cls.__qualname__}.{name}")


def stand_in(qualname: str) -> type:
    """A class named ``qualname`` whose attributes are stand-ins too and whose use raises."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"torchvision.{qualname} is a test-only stand-in (tests/integrations/shims)")

    return _StandInType(qualname, (), {"__init__": refuse, "__call__": refuse, "__qualname__": qualname})


def module_getattr(module: str):
    """A module-level ``__getattr__`` giving a stand-in for any public name."""

    def __getattr__(name: str) -> type:
        if name.startswith("__"):
            raise AttributeError(name)
        return stand_in(f"{module}.{name}" if module else name)

    return __getattr__
