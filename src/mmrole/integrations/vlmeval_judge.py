"""VLMEvalKit's judge keyword arguments -> the mmrole judge that MMRole's ``evaluate`` runs (pure).

VLMEvalKit's ``run.py`` calls ``dataset.evaluate(prediction_file, **judge_kwargs)`` with
``model`` (``--judge``), ``api_base`` (``--judge-base-url`` + ``/chat/completions``), ``key``
(``--judge-key``), ``nproc``, ``retry``, ``timeout``, ``verbose``, and whatever ``--judge-args``
JSON holds. Here:

* ``model`` is an mmrole spec (``openai:MODEL@URL``, ``hf:PATH``, ``demo``, ...) used as it is, or a
  plain model name served at ``api_base`` (else ``$OPENAI_API_BASE``, VLMEvalKit's variable, else
  mmrole's default endpoint): ``openai:MODEL@BASE``.
* ``key`` is the API key; ``timeout`` the per-call timeout (OpenAI-compatible judges).
* ``nproc`` -> concurrency, ``retry`` -> max retries, ``verbose`` -> progress bars.
* :class:`~mmrole.eval.judge_plan.JudgeOptions` fields (``metrics``, ``swap``, ``repeats``,
  ``scoring``, ``missing_image``, ``max_tokens``, ...) choose how to judge, as ``mmrole judge`` does.

Any other name is refused (a typo in ``--judge-args`` must not pass unnoticed), except the few
VLMEvalKit passes for its own judges (``use_verifier``, ``use_vllm``), which mean nothing here.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from typing import Any

from mmrole.errors import ConfigError
from mmrole.eval.judge_plan import JudgeOptions

#: What MMRole's ``evaluate`` judges with when VLMEvalKit names no judge.
DEFAULT_JUDGE = "gpt-4-turbo"
#: mmrole spec prefixes: a ``model`` starting with one of them is a spec (``openai:m@url``, ``demo``).
SPEC_PREFIXES = ("openai:", "hf:", "replay:", "vlmeval:")
_IGNORED = frozenset({"use_verifier", "use_vllm"})
_JUDGE_FIELDS = {f.name for f in dataclasses.fields(JudgeOptions)}


@dataclass
class JudgeSetup:
    """Everything ``evaluate`` needs to judge.

    Attributes:
        spec: The mmrole judge spec.
        backend_options: Passed to :func:`mmrole.models.load_backend` (``api_key``, ``timeout``).
        options: How to judge.
        concurrency, max_retries, progress: The engine's settings.
        tag: A file-name-safe name of the judge, for the judge file and run folder names.
    """

    spec: str
    backend_options: dict[str, Any] = field(default_factory=dict)
    options: JudgeOptions = field(default_factory=JudgeOptions)
    concurrency: int = 4
    max_retries: int = 5
    progress: bool = False
    tag: str = ""


def _base_url(api_base: str) -> str:
    """VLMEvalKit's ``api_base`` ends with ``/chat/completions``; mmrole's URL is the part before."""
    base = api_base.strip().rstrip("/")
    return base[: -len("/chat/completions")] if base.endswith("/chat/completions") else base


def _tag(spec: str) -> str:
    """``openai:gpt-4o@http://host/v1`` -> ``gpt-4o``; ``hf:/models/rm`` -> ``rm``."""
    name = spec.partition(":")[2] or spec
    name = name.split("@", 1)[0] if spec.startswith("openai:") else name
    name = name.rstrip("/").rsplit("/", 1)[-1] or "judge"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "judge"


def judge_setup(judge_kwargs: dict[str, Any]) -> JudgeSetup:
    """The judge of VLMEvalKit's ``judge_kwargs`` (see the module docstring).

    Raises:
        ConfigError: An argument this evaluation does not know, or a bad judge option.
    """
    given = dict(judge_kwargs)
    model = str(given.pop("model", None) or DEFAULT_JUDGE).strip()
    api_base = given.pop("api_base", None)
    key = given.pop("key", None)
    timeout = given.pop("timeout", None)
    concurrency = int(given.pop("nproc", 4) or 4)
    retry = given.pop("retry", None)
    progress = bool(given.pop("verbose", False))
    options = {k: given.pop(k) for k in list(given) if k in _JUDGE_FIELDS}
    unknown = sorted(k for k in given if k not in _IGNORED)
    if unknown:
        raise ConfigError(
            f"MMRole evaluation: unknown judge argument(s) {unknown}; it takes model, api_base, key, "
            f"nproc, retry, timeout, verbose and mmrole's judge options ({', '.join(sorted(_JUDGE_FIELDS))})"
        )
    if model == "demo" or model.startswith(SPEC_PREFIXES):
        spec = model
    else:
        base = api_base or os.environ.get("OPENAI_API_BASE")
        spec = f"openai:{model}@{_base_url(base)}" if base else f"openai:{model}"
    backend_options: dict[str, Any] = {}
    if spec.startswith("openai:"):
        if key:
            backend_options["api_key"] = str(key)
        if timeout:
            backend_options["timeout"] = float(timeout)
    if "metrics" in options and isinstance(options["metrics"], str):
        options["metrics"] = tuple(m.strip() for m in options["metrics"].split(",") if m.strip())
    for name in ("metrics", "scale"):
        if isinstance(options.get(name), list):
            options[name] = tuple(options[name])
    try:
        judge_options = JudgeOptions(**options)
    except TypeError as err:
        raise ConfigError(f"MMRole evaluation: {err}") from None
    return JudgeSetup(
        spec=spec,
        backend_options=backend_options,
        options=judge_options,
        concurrency=max(1, concurrency),
        max_retries=int(retry) if retry is not None else 5,
        progress=progress,
        tag=_tag(spec),
    )
