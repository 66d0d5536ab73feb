"""What each built-in backend takes as options: one dataclass per backend, and ``key=value`` reading.

The dataclasses are what ``load_backend(spec, **options)`` and the command line's
``--agent-arg KEY=VALUE`` / ``--judge-arg KEY=VALUE`` (``--policy-arg``, ``--model-arg``) accept.
A value given as text is converted to the field's type: ``int``, ``float``, ``bool``
(``true``/``false``, ``1``/``0``, ``yes``/``no``), ``none`` for an optional field, and JSON for a
``dict`` field (``extra_body='{"chat_template_kwargs": {"enable_thinking": false}}'``). An unknown
key is a one-line :class:`~mmrole.errors.ConfigError` naming the backend, the key and the valid
keys. The backends' constructors take the same keywords with the same defaults (read from here).

No heavy imports: options are checked before any model loads.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import UnionType
from typing import Any

from mmrole.errors import ConfigError

__all__ = [
    "HFOptions",
    "OpenAIOptions",
    "ReplayOptions",
    "convert_options",
    "parse_key_values",
]


@dataclass(frozen=True)
class OpenAIOptions:
    """Options of ``openai:MODEL[@URL]`` (:class:`~mmrole.models.openai_compat.OpenAICompatBackend`).

    Attributes:
        api_key: The API key (from Python; on the command line name a variable with ``api_key_env``:
            a key in a command shows in ``ps`` and in the shell's history).
        api_key_env: The environment variable holding the API key.
        timeout: Seconds for a whole request (connect, send, wait, read).
        connect_timeout: Seconds to open a connection.
        max_image_side: Downscale images whose longer side exceeds this many pixels.
        extra_body: Merged into every request body (e.g. ``{"chat_template_kwargs": {...}}``,
            ``{"repetition_penalty": 1.05}``); part of the cache key.
        extra_headers: Sent with every request.
        max_tokens_field: ``max_tokens``, or ``max_completion_tokens`` for reasoning models.
        transport: ``auto`` (the lean client for ``http://`` without a proxy, else httpx),
            ``lean`` or ``httpx``.
    """

    api_key: str | None = None
    api_key_env: str | None = None
    timeout: float = 120.0
    connect_timeout: float = 10.0
    max_image_side: int | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)
    extra_headers: dict[str, str] = field(default_factory=dict)
    max_tokens_field: str = "max_tokens"
    transport: str = "auto"


@dataclass(frozen=True)
class HFOptions:
    """Options of ``hf:PATH`` and ``demo`` (:class:`~mmrole.models.hf.HFBackend`).

    Attributes:
        device: ``auto`` (cuda > mps > cpu), or a torch device string (``cuda:1``).
        device_map: Spread the model over devices with accelerate (``auto``, or a JSON map of
            module names to devices); inputs go to the device of its first parameters.
        dtype: ``auto`` (bfloat16 on cuda, float16 on mps, float32 on cpu) or a dtype name.
        max_batch_size: Most concurrent requests answered in one padded batch.
        batch_wait_ms: How long a request waits for others to batch with.
        spec: The backend's identity in cache keys (default ``hf:PATH``, ``demo``).
        trust_remote_code: Run code shipped with the model (off by default).
    """

    device: str = "auto"
    device_map: str | dict[str, Any] | None = None
    dtype: str = "auto"
    max_batch_size: int = 8
    batch_wait_ms: float = 5.0
    spec: str | None = None
    trust_remote_code: bool = False


@dataclass(frozen=True)
class ReplayOptions:
    """``replay:FILE`` takes no options: the file says everything."""


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def _convert(value: Any, annotation: Any, where: str) -> Any:
    """A text value as the field's type (other values are taken as given)."""
    if not isinstance(value, str):
        return value
    kinds = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, UnionType) else ()
    kinds = kinds or (annotation,)
    text = value.strip()
    if type(None) in kinds and text.lower() in ("none", "null"):
        return None
    origins = {typing.get_origin(kind) or kind for kind in kinds}
    if dict in origins and text.startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: {text!r} is not JSON ({exc.msg})") from None
        if isinstance(parsed, dict):
            return parsed
    if str in origins:
        return value
    if bool in origins:
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise ConfigError(f"{where}: {text!r} is not true or false")
    for kind, name in ((int, "an integer"), (float, "a number")):
        if kind in origins:
            try:
                return kind(text)
            except ValueError:
                raise ConfigError(f"{where}: {text!r} is not {name}") from None
    if dict in origins:
        raise ConfigError(f"{where}: {text!r} is not a JSON object")
    return value


def convert_options(backend: str, options_class: type, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` checked against ``options_class``: known keys only, text values converted.

    Args:
        backend: The backend's name in messages (``openai``, ``hf``...).
        options_class: Its options dataclass.
        options: Keyword options (from Python, or ``key=value`` texts).

    Raises:
        ConfigError: An unknown key (naming the valid ones), or a value of the wrong type.
    """
    hints = typing.get_type_hints(options_class)
    known = [f.name for f in dataclasses.fields(options_class)]
    converted: dict[str, Any] = {}
    for key, value in options.items():
        if key not in known:
            valid = ", ".join(known) if known else "none (it takes no options)"
            raise ConfigError(f"{backend} backend: unknown option {key!r}; valid options: {valid}")
        converted[key] = _convert(value, hints[key], f"{backend} backend option {key}")
    return converted


def parse_key_values(texts: Sequence[str] | str | None, flag: str = "--agent-arg") -> dict[str, str]:
    """``["dtype=bfloat16", "extra_body={...}"]`` -> ``{"dtype": "bfloat16", "extra_body": "{...}"}``.

    A key may be written with ``-`` for ``_``; the value is everything after the first ``=``.

    Raises:
        ConfigError: An item is not ``KEY=VALUE``, or it is an ``api_key`` (use ``api_key_env``).
    """
    if isinstance(texts, str):
        texts = [texts]
    found: dict[str, str] = {}
    for text in texts or ():
        key, sep, value = text.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigError(f"{flag} {text!r}: expected KEY=VALUE (e.g. {flag} timeout=300)")
        if key == "api_key":
            raise ConfigError(
                f"{flag} api_key=...: a key in a command shows in `ps` and the shell's history; put it in "
                f"an environment variable and pass {flag} api_key_env=NAME"
            )
        found[key] = value
    return found
