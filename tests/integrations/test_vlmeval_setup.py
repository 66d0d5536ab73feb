"""Importing VLMEvalKit: mmrole stays light without it, and its import-time side effects are undone."""

from __future__ import annotations

import logging
import ssl
import subprocess
import sys

from mmrole.models.registry import backend_prefixes


def test_import_mmrole_and_its_integrations_import_neither_vlmeval_nor_torch() -> None:
    code = (
        "import mmrole, mmrole.cli, mmrole.models.registry, mmrole.integrations, "
        "mmrole.integrations.vlmeval_backend, mmrole.integrations.vlmeval_predictions, "
        "mmrole.integrations.vlmeval_judge, mmrole.integrations.vlmeval_run, sys\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('vlmeval', 'torch', 'pandas'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []
    assert "vlmeval" in backend_prefixes()


def test_importing_vlmeval_leaves_the_process_as_it_was(vlmeval) -> None:
    import torch

    from mmrole.integrations.vlmeval_predictions import FAILED_PREDICTION
    from mmrole.integrations.vlmeval_setup import load_vlmeval

    assert load_vlmeval() is vlmeval and vlmeval.__file__.endswith("vlmeval/__init__.py")
    # vlmeval/vlm/__init__.py switches autograd off; vlmeval/__init__.py switches certificate checks off.
    assert torch.is_grad_enabled()
    assert ssl._create_default_https_context is not ssl._create_unverified_context
    # vlmeval/__init__.py's logging.basicConfig: its root handler is gone again.
    formats = [getattr(h.formatter, "_fmt", "") for h in logging.getLogger().handlers]
    assert not [f for f in formats if "%(funcName)s - %(lineno)d" in (f or "")]
    # The test-only torchvision stand-in is gone once VLMEvalKit is imported.
    assert not [m for m in sys.modules if m.split(".")[0] == "torchvision"]
    from vlmeval.smp.file import INFER_FAIL_MSG

    assert FAILED_PREDICTION == INFER_FAIL_MSG
