"""Offline helpers for tests and for users testing their own setups (no network, no downloads).

    from mmrole.testing import ScriptedBackend
    backend = ScriptedBackend(["Ahoy.", "Fair winds."])    # replies in order; backend.calls records each call

The other helpers have their own modules: :mod:`mmrole.testing.server` (a fault-injecting
OpenAI-compatible server), :mod:`mmrole.testing.tiny_models` (tiny transformers models) and
:mod:`mmrole.testing.bad_images` (broken image files).
"""

from __future__ import annotations

from mmrole.testing.scripted import Call, ScriptedBackend, ScriptedReply, StreamingScriptedBackend

__all__ = ["Call", "ScriptedBackend", "ScriptedReply", "StreamingScriptedBackend"]
