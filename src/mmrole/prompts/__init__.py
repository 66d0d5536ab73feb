"""mmrole.prompts: the texts mmrole sends to models (pure text, no I/O)."""

from __future__ import annotations

from mmrole.prompts.mrpa import MRPA_SYSTEM, Persona, build_instruction

__all__ = ["MRPA_SYSTEM", "Persona", "build_instruction"]
