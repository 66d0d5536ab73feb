"""mmrole.engine: the async run engine (concurrency, retries, rate limit, progress) and its SQLite store.

from mmrole.engine import Request, Store, run_requests_sync
results = run_requests_sync("openai:gpt-4o", [Request("s1", messages)], store=Store.in_run("runs/x"))
"""

from __future__ import annotations

from mmrole.engine.keys import request_key
from mmrole.engine.options import EngineOptions
from mmrole.engine.runner import Backoff, Request, Result, run_requests, run_requests_sync
from mmrole.engine.store import STORE_NAME, Store, StoredResult

__all__ = [
    "STORE_NAME",
    "Backoff",
    "EngineOptions",
    "Request",
    "Result",
    "Store",
    "StoredResult",
    "request_key",
    "run_requests",
    "run_requests_sync",
]
