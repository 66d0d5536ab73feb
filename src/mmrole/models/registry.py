"""Model spec strings -> backends, and where API keys come from.

    openai:MODEL                      api.openai.com (or $OPENAI_BASE_URL)
    openai:MODEL@http://host:port/v1  any OpenAI-compatible server (vLLM, SGLang, LMDeploy, Ollama, Azure)
    openai:MODEL@http://KEY@host/v1   the same with its key in the URL (also user:KEY@, ?api_key=KEY)
    hf:PATH                           a local transformers model (mmrole.models.hf)
    replay:FILE                       answers read from a file (mmrole.models.replay)
    demo                              the bundled offline model (mmrole.models.demo)
    vlmeval:MODEL_NAME                a VLMEvalKit model (mmrole.integrations.vlmeval_backend)

Factories import their heavy dependencies only when their prefix is asked for. A prefix served by
a room above this one (``vlmeval``) is a plugin: the registry knows only the module that registers
its factory (with :func:`register_backend`) and imports it when the prefix is first asked for.

API keys (never part of a spec, never logged or stored), first found wins:
the ``api_key`` option; the variable named by the ``api_key_env`` option; a key written in the URL
(userinfo, or an ``api_key``/``key``/``token`` query parameter: :mod:`mmrole.models.endpoint`;
the spec shows ``***`` in its place); the config file's entry for the endpoint (``[endpoints."URL"]`` with ``api_key`` or ``api_key_env``);
``$MMROLE_API_KEY``; ``$OPENAI_API_KEY`` and the file's top-level ``api_key``, which are only
sent to the default OpenAI endpoint, so an OpenAI key never leaks to a third-party server.
The config file is ``$MMROLE_CONFIG`` or ``~/.config/mmrole/config.toml``:

    api_key = "sk-..."
    [endpoints."https://my-resource.openai.azure.com/openai/v1"]
    api_key_env = "AZURE_OPENAI_KEY"
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mmrole.errors import ConfigError
from mmrole.models.backend_options import (
    HFOptions,
    OpenAIOptions,
    ReplayOptions,
    convert_options,
    parse_key_values,
)
from mmrole.models.base import Backend
from mmrole.models.endpoint import parse_endpoint, redact_urls, split_model_url

#: prefix -> factory(argument after "prefix:", options) -> Backend
Factory = Callable[[str, dict[str, Any]], Backend]
_FACTORIES: dict[str, Factory] = {}
#: prefix -> the dataclass of the options its factory takes (none: the factory checks them itself)
_OPTIONS: dict[str, type] = {}
#: prefix -> the module whose import registers its factory (kept out of ``import mmrole``).
_PLUGINS: dict[str, str] = {"vlmeval": "mmrole.integrations.vlmeval_backend"}


def register_backend(prefix: str, options: type | None = None) -> Callable[[Factory], Factory]:
    """Make ``prefix:ARG`` specs build backends with the decorated factory(ARG, options).

    Args:
        prefix: The spec's prefix (``openai``, ``hf``...).
        options: The dataclass of the options the factory takes: ``load_backend`` and
            ``--agent-arg`` check keys and convert text values against it.
    """

    def decorate(factory: Factory) -> Factory:
        _FACTORIES[prefix] = factory
        if options is not None:
            _OPTIONS[prefix] = options
        else:
            _OPTIONS.pop(prefix, None)
        return factory

    return decorate


def backend_options_class(spec: str) -> type | None:
    """The options dataclass of a spec's backend (None for a prefix registered without one)."""
    return _OPTIONS.get(str(spec).strip().partition(":")[0])


def backend_options(spec: Any, options: Mapping[str, Any] | None, flag: str | None = None) -> dict[str, Any]:
    """``options`` checked against the spec's backend options dataclass, text values converted.

    Args:
        spec: A model spec (a backend instance, or a prefix without a dataclass, passes them as given).
        options: Keyword options, or ``key=value`` texts read by :func:`parse_backend_args`.
        flag: The command-line option they came from, named in errors (``--judge-arg``).

    Raises:
        ConfigError: One line naming the backend, the unknown key and the valid keys (or the bad value).
    """
    options = dict(options or {})
    options_class = backend_options_class(spec) if isinstance(spec, str) else None
    if not options or options_class is None:
        return options
    try:
        return convert_options(str(spec).strip().partition(":")[0], options_class, options)
    except ConfigError as err:
        raise ConfigError(f"{flag}: {err}" if flag else str(err)) from None


def parse_backend_args(texts: Sequence[str] | str | None, flag: str = "--agent-arg") -> dict[str, str]:
    """``--agent-arg KEY=VALUE`` (repeated) as a dict of texts: see :func:`backend_options`."""
    return parse_key_values(texts, flag)


def backend_prefixes() -> list[str]:
    return sorted(set(_FACTORIES) | set(_PLUGINS))


def load_backend(spec_or_backend: str | Backend, **options: Any) -> Backend:
    """A backend from a spec string such as ``openai:gpt-4o`` (or a backend, returned as is).

    Args:
        spec_or_backend: A model spec (see the module docstring) or a Backend instance.
        **options: The backend's options (``timeout``, ``max_image_side``, ``api_key``...: the fields of
            its options dataclass, :mod:`mmrole.models.backend_options`); text values are converted.

    Raises:
        ConfigError: unknown prefix, malformed spec, unknown option or missing credential.
    """
    if isinstance(spec_or_backend, Backend) or (
        not isinstance(spec_or_backend, str) and callable(getattr(spec_or_backend, "generate", None))
    ):
        if options:
            raise ConfigError(
                f"options {sorted(options)} given with a backend instance; pass them to its constructor"
            )
        return spec_or_backend
    spec = str(spec_or_backend).strip()
    prefix, _, argument = spec.partition(":")
    factory = _FACTORIES.get(prefix)
    if factory is None and prefix in _PLUGINS:
        import importlib

        importlib.import_module(_PLUGINS[prefix])  # registers the prefix's factory
        factory = _FACTORIES.get(prefix)
    if factory is None:
        known = ", ".join(f"{p}:..." if p != "demo" else p for p in backend_prefixes())
        raise ConfigError(f"unknown model spec {redact_urls(spec)!r}: expected one of {known}")
    return factory(argument, backend_options(spec, options))


def split_openai_spec(argument: str) -> tuple[str, str | None]:
    """``MODEL@URL`` -> (MODEL, URL); ``MODEL`` -> (MODEL, None).

    Model names may contain ':' (Ollama) and '@' (``claude-3@20240229``): the URL starts at the first
    '@' followed by a scheme, so a key in the URL (``http://user:KEY@host``) never ends up in the model
    name; a URL without a scheme (``llama3@localhost:11434/v1``) gets ``http://``.

    Raises:
        ConfigError: a scheme-less URL after a model name holding '@' (ambiguous).
    """
    try:
        return split_model_url(argument)
    except ValueError as exc:
        raise ConfigError(f"openai spec: {exc}") from None


def resolve_api_key(
    base_url: str, default_url: str, options: dict[str, Any], url_key: str | None = None
) -> str | None:
    """The API key for an endpoint (see the module docstring for the order); None if there is none.

    Args:
        base_url: The endpoint, without credentials.
        default_url: The default endpoint (``$OPENAI_BASE_URL`` or OpenAI's), without credentials.
        options: The backend options (``api_key``, ``api_key_env``).
        url_key: The key written inside the endpoint's URL, if any.
    """
    if options.get("api_key"):
        return str(options["api_key"])
    if options.get("api_key_env"):
        name = str(options["api_key_env"])
        if not os.environ.get(name):
            raise ConfigError(f"environment variable {name} (api_key_env) is not set")
        return os.environ[name]
    if url_key:
        return url_key
    config = read_config()
    endpoint = (config.get("endpoints") or {}).get(base_url.rstrip("/")) or {}
    if endpoint.get("api_key_env") and os.environ.get(endpoint["api_key_env"]):
        return os.environ[endpoint["api_key_env"]]
    if endpoint.get("api_key"):
        return str(endpoint["api_key"])
    if os.environ.get("MMROLE_API_KEY"):
        return os.environ["MMROLE_API_KEY"]
    if base_url.rstrip("/") == default_url.rstrip("/"):
        return os.environ.get("OPENAI_API_KEY") or config.get("api_key") or None
    return None


def config_path() -> Path:
    """``$MMROLE_CONFIG``, else the user config dir's ``mmrole/config.toml``."""
    if os.environ.get("MMROLE_CONFIG"):
        return Path(os.environ["MMROLE_CONFIG"])
    from platformdirs import user_config_path

    return user_config_path("mmrole") / "config.toml"


def read_config() -> dict[str, Any]:
    """The parsed config file ({} when there is none).

    Raises:
        ConfigError: the file is not valid TOML.
    """
    path = config_path()
    if not path.is_file():
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc


# -- the built-in prefixes -------------------------------------------------------------------------
@register_backend("openai", OpenAIOptions)
def _openai(argument: str, options: dict[str, Any]) -> Backend:
    # lazy: the registry loads backends on demand
    from mmrole.models.openai_compat import DEFAULT_BASE_URL, OpenAICompatBackend

    model, url = split_openai_spec(argument)
    if not model:
        raise ConfigError("openai spec without a model name: use openai:MODEL or openai:MODEL@URL")
    # The URL as written goes to the backend, which takes any key off it and shows *** in its spec.
    base_url = url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    default = parse_endpoint(os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL)
    endpoint = parse_endpoint(base_url)
    api_key = resolve_api_key(endpoint.url, default.url, options, url_key=endpoint.key)
    if api_key is None and endpoint.url.rstrip("/") == DEFAULT_BASE_URL:
        raise ConfigError(
            f"no API key for openai:{model}: set OPENAI_API_KEY or MMROLE_API_KEY, "
            f"or api_key in {config_path()}"
        )
    kwargs = {k: v for k, v in options.items() if k not in ("api_key", "api_key_env")}
    try:
        return OpenAICompatBackend(model, base_url, api_key=api_key, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(redact_urls(f"openai:{model}@{endpoint.display}: {exc}")) from None


@register_backend("hf", HFOptions)
def _hf(argument: str, options: dict[str, Any]) -> Backend:
    if not argument:
        raise ConfigError("hf spec without a path: use hf:PATH (a local folder or a hub id)")
    # lazy: the registry loads backends on demand (pulls torch)
    from mmrole.models.hf import HFBackend

    return HFBackend(argument, **options)


@register_backend("replay", ReplayOptions)
def _replay(argument: str, options: dict[str, Any]) -> Backend:
    if not argument:
        raise ConfigError("replay spec without a file: use replay:FILE")
    # lazy: the registry loads backends on demand
    from mmrole.models.replay import ReplayBackend

    return ReplayBackend(argument, **options)


@register_backend("demo", HFOptions)
def _demo(argument: str, options: dict[str, Any]) -> Backend:
    if argument:
        raise ConfigError(f"the demo model takes no argument (got demo:{argument})")
    # lazy: the registry loads backends on demand
    from mmrole.models.demo import load_demo_backend

    return load_demo_backend(**options)
