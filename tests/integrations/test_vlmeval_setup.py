"""Importing VLMEvalKit: mmrole stays light without it, and its import-time side effects are undone."""

from __future__ import annotations

import logging
import ssl
import subprocess
import sys

from mmrole.integrations.vlmeval_setup import INSTALL_HINT
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


BLOCK = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == {name!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Block())
from mmrole.cli import main
sys.argv = ["mmrole", "answer", "--agent", "vlmeval:qwen_chat", "--data", "demo", "--run", {run!r}]
main()
"""


def test_without_vlmeval_or_a_package_it_imports_the_error_says_what_to_install(tmp_path) -> None:
    for blocked, expected in [
        ("vlmeval", f"VLMEvalKit is not installed: {INSTALL_HINT}"),
        ("validators", "VLMEvalKit needs 'validators', which is not installed: pip install"),
    ]:
        code = BLOCK.format(name=blocked, run=str(tmp_path / blocked))
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert done.returncode == 2, done.stderr[-2000:]
        assert done.stderr.strip() == f"error: {expected}" or done.stderr.strip().startswith(
            f"error: {expected}"
        )
        assert done.stderr.strip().count("\n") == 0, done.stderr[-2000:]
