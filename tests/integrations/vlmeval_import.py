"""Importing the real VLMEvalKit in tests, on a machine without torchvision (TEST-ONLY).

VLMEvalKit imports ``torchvision.transforms`` at import time (``vlmeval/dataset/mmlongbench.py``
and a few model modules). This machine's CPU torch has no working torchvision wheel, so while
:func:`import_vlmeval` imports VLMEvalKit, ``shims/`` (names only: using one raises) stands in for
it; the folder and the stand-in modules leave ``sys.path`` and ``sys.modules`` right after, so
nothing imported later sees them. transformers is asked first whether torchvision is there
(it caches the answer), so it never tries to use the stand-in. Where the real torchvision is
installed the shim is not used. mmrole's code never refers to the shim.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SHIMS = Path(__file__).parent / "shims"


def import_vlmeval() -> ModuleType:
    """``vlmeval``, imported through mmrole's loader (the shim on the path only if needed)."""
    from mmrole.integrations.vlmeval_setup import load_vlmeval

    if "vlmeval.config" in sys.modules or importlib.util.find_spec("torchvision") is not None:
        return load_vlmeval()
    from transformers.utils import import_utils

    # Cached before the shim is on the path: transformers must keep seeing no torchvision.
    assert not import_utils.is_torchvision_available()
    assert not import_utils.is_torchvision_v2_available()
    sys.path.insert(0, str(SHIMS))
    try:
        return load_vlmeval()
    finally:
        sys.path.remove(str(SHIMS))
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
