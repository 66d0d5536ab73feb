"""`mmrole build`: construct MMRole-Data — profiles, image annotations, dialogues, filters, splits.

Every generator and judge call goes through the Backend protocol and the engine, so caching,
resume after a kill, retries, rate limits and progress come for free. Each stage reads and writes
the MMRole-Data layout the loaders in :mod:`mmrole.data` already read.
"""

from __future__ import annotations

from mmrole.build.stage import StageSummary

__all__ = ["StageSummary"]
