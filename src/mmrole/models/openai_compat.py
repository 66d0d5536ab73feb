"""Any OpenAI-compatible chat endpoint: api.openai.com, vLLM, SGLang, LMDeploy, Ollama, Azure.

``generate`` goes through :mod:`mmrole.models.http_client` (a lean keep-alive HTTP/1.1 client) for
plain-HTTP servers, and through httpx for ``https://`` endpoints and proxied ones; ``stream``
always through httpx. Images become base64 data URLs, downscaled to ``max_image_side`` when
set. Failures become :class:`BackendError`: retryable for 429, 408, 5xx, timeouts, dropped
connections, unparsable bodies and 200s that carry no reply (no choices, or a null
``content``: never an empty answer), not for other 4xx. The API key is sent in a header and
scrubbed from every error text.

A key written inside the URL (``http://user:KEY@host/v1``, ``http://KEY@host/v1``, ``...?api_key=KEY``,
``key=``, ``token=``) is taken off it (:mod:`mmrole.models.endpoint`) and sent like any other key,
as ``Authorization: Bearer KEY`` (``api-key`` for Azure): that is how OpenAI-compatible servers
(vLLM and SGLang ``--api-key``, LiteLLM, Ollama behind a proxy, OpenRouter) check keys, so of a
``user:KEY`` pair the password is the key and the user name is dropped. Requests go to the URL
without it; ``spec`` shows the URL with ``***`` in its place. A server behind HTTP basic auth
instead takes ``extra_headers={"Authorization": "Basic ..."}``.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
import urllib.request
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from mmrole.errors import AUTH, CONNECT, BackendError
from mmrole.models import http_client
from mmrole.models.backend_options import OpenAIOptions
from mmrole.models.base import Backend, Completion, GenerationParams, Message, TokenLogprob, Usage
from mmrole.models.data_urls import DataURLs
from mmrole.models.endpoint import parse_endpoint
from mmrole.models.request_body import encode_body

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAICompatBackend(Backend):
    """Chat completions over HTTP (the options of an ``openai:`` spec: :class:`OpenAIOptions`).

    Args:
        model: The model name the server expects.
        base_url: The API root, ending in ``/v1`` for most servers. A key inside it (userinfo or an
            ``api_key``/``key``/``token`` query parameter) is used when ``api_key`` is not given.
        api_key: Sent as ``Authorization: Bearer`` (``api-key`` for Azure hosts); None sends none.
        timeout: Seconds for a whole request (connect, send, wait, read).
        connect_timeout: Seconds to open a connection.
        max_image_side: Downscale images whose longer side exceeds this many pixels.
        extra_body: Merged into every request body (e.g. ``{"repetition_penalty": 1.05}``).
        extra_headers: Sent with every request.
        max_tokens_field: ``max_tokens``, or ``max_completion_tokens`` for reasoning models.
        transport: ``"auto"`` (the lean client for ``http://`` without a proxy, else httpx),
            ``"lean"`` or ``"httpx"``.
    """

    def __init__(
        self,
        model: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        api_key: str | None = None,
        timeout: float = OpenAIOptions.timeout,
        connect_timeout: float = OpenAIOptions.connect_timeout,
        max_image_side: int | None = None,
        extra_body: dict[str, Any] | None = None,
        extra_headers: dict[str, str] | None = None,
        max_tokens_field: str = OpenAIOptions.max_tokens_field,
        transport: str = OpenAIOptions.transport,
    ):
        if transport not in ("auto", "lean", "httpx"):
            raise ValueError("transport must be 'auto', 'lean' or 'httpx'")
        endpoint = parse_endpoint(base_url)
        self.model = model
        self.base_url = endpoint.url.rstrip("/")
        self._query = f"?{endpoint.query}" if endpoint.query else ""
        shown = endpoint.display.rstrip("/")
        #: What identifies this backend in store keys, run.json, reports and logs: never the key.
        self.spec = f"openai:{model}" if shown == DEFAULT_BASE_URL else f"openai:{model}@{shown}"
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.extra_body = dict(extra_body or {})
        self.max_tokens_field = max_tokens_field
        api_key = api_key or endpoint.key
        self._secrets = [s for s in dict.fromkeys((api_key, endpoint.key)) if s]
        headers = dict(extra_headers or {})
        if api_key:
            if (urlsplit(self.base_url).hostname or "").endswith(".azure.com"):
                headers["api-key"] = api_key
            else:
                headers["Authorization"] = f"Bearer {api_key}"
        self._headers = headers
        # auto: the lean client for plain-HTTP servers (local vLLM, SGLang...: where call rates are high and
        # CPU per call matters); httpx, with its certifi trust store and proxy support, for TLS and proxies.
        self._use_httpx = transport == "httpx" or (
            transport == "auto" and (self.base_url.startswith("https://") or _proxied(self.base_url))
        )
        self._lean: http_client.HTTPClient | None = None
        self._httpx: Any = None
        self._httpx_loop: asyncio.AbstractEventLoop | None = None
        self._images = DataURLs(max_image_side)

    @property
    def max_image_side(self) -> int | None:
        return self._images.max_side

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAICompatBackend({self.spec!r})"

    @property
    def key_options(self) -> dict[str, Any]:
        """Settings that change answers without being in the messages or params (enter cache keys)."""
        return (
            {"max_image_side": self.max_image_side, "extra_body": self.extra_body}
            if (self.max_image_side or self.extra_body)
            else {}
        )

    # -- requests ---------------------------------------------------------------------------
    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        # json.dumps(payload).encode(), each image's JSON text made once for all requests showing it
        body = encode_body(self._payload(await self._prepare(messages), params, stream=False))
        url = self._url("/chat/completions")
        status, headers, content = await self._post(body)
        if status != 200:
            raise self._status_error(status, headers, content, url)
        return self._parse(content, url)

    async def stream(self, messages: list[Message], params: GenerationParams) -> AsyncIterator[str]:
        """Yield the reply's text as it is generated (server-sent events)."""
        body = self._payload(await self._prepare(messages), params, stream=True)
        url = self._url("/chat/completions")
        client = self._httpx_client()
        import httpx

        try:
            async with client.stream("POST", url, json=body) as response:
                if response.status_code != 200:
                    content = await response.aread()
                    raise self._status_error(response.status_code, dict(response.headers), content, url)
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    try:
                        choices = json.loads(data).get("choices") or [{}]
                    except ValueError:
                        raise BackendError(
                            self._scrub(f"unparsable stream event from {url}: {data[:200]}"), retryable=True
                        ) from None
                    delta = (choices[0].get("delta") or {}).get("content")
                    if delta:
                        yield delta
        except httpx.TimeoutException as exc:
            raise BackendError(f"timed out streaming from {url}", retryable=True) from exc
        except httpx.TransportError as exc:
            raise BackendError(self._scrub(f"connection to {url} failed: {exc}"), retryable=True) from exc

    async def list_models(self) -> list[str]:
        """The model names the server's ``/models`` lists."""
        client = self._httpx_client()
        response = await client.get(self._url("/models"))
        if response.status_code != 200:
            raise self._status_error(
                response.status_code, dict(response.headers), response.content, self.base_url
            )
        return [item["id"] for item in response.json().get("data", [])]

    async def aclose(self) -> None:
        if self._lean is not None:
            self._lean.close()
        if self._httpx is not None and self._httpx_loop is asyncio.get_running_loop():
            await self._httpx.aclose()
        self._httpx = None

    # -- transport --------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        """The full URL of an API path (the URL's non-credential query parameters kept)."""
        return f"{self.base_url}{path}{self._query}"

    async def _post(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        url = self._url("/chat/completions")
        if self._use_httpx:
            import httpx

            try:
                response = await self._httpx_client().post(url, content=body)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise BackendError(
                    self._scrub(f"could not connect: {exc!r}: {url}"), retryable=True, kind=CONNECT
                ) from exc
            except httpx.TimeoutException as exc:
                raise BackendError(f"timed out after {self.timeout:g} s: {url}", retryable=True) from exc
            except httpx.TransportError as exc:
                raise BackendError(
                    self._scrub(f"connection to {url} failed: {exc!r}"), retryable=True
                ) from exc
            return response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content
        if self._lean is None:
            self._lean = http_client.HTTPClient(
                self.base_url, headers=self._headers, connect_timeout=self.connect_timeout
            )
        try:
            response = await self._lean.request(
                "POST", f"/chat/completions{self._query}", body, timeout=self.timeout
            )
        except http_client.ConnectError as exc:
            raise BackendError(self._scrub(f"{exc}: {url}"), retryable=True, kind=CONNECT) from exc
        except http_client.TimeoutError_ as exc:
            raise BackendError(f"timed out ({exc}): {url}", retryable=True) from exc
        except http_client.HTTPError as exc:
            raise BackendError(self._scrub(f"{exc}: {url}"), retryable=True) from exc
        return response.status, response.headers, response.body

    def _httpx_client(self) -> Any:
        import httpx

        loop = asyncio.get_running_loop()
        if self._httpx is None or self._httpx_loop is not loop:
            self._httpx = httpx.AsyncClient(
                headers={**self._headers, "Content-Type": "application/json"},
                timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout, pool=None),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=256),
            )
            self._httpx_loop = loop
        return self._httpx

    # -- bodies -----------------------------------------------------------------------------
    async def _prepare(self, messages: list[Message]) -> list[Message]:
        """Messages with every image as a data URL (file reads and resizing off the event loop)."""
        return await self._images.prepare(messages)

    def _payload(self, messages: list[Message], params: GenerationParams, *, stream: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            self.max_tokens_field: params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.seed is not None:
            payload["seed"] = params.seed
        if params.stop:
            payload["stop"] = list(params.stop)
        if params.logprobs and not stream:
            payload["logprobs"] = True
            if params.top_logprobs:
                payload["top_logprobs"] = params.top_logprobs
        if stream:
            payload["stream"] = True
        payload.update(self.extra_body)
        return payload

    def _parse(self, content: bytes, url: str) -> Completion:
        snippet = content[:200].decode("utf-8", "replace")
        try:
            data = json.loads(content)
            choices = data.get("choices")
        except (ValueError, AttributeError):
            raise BackendError(
                self._scrub(f"unparsable response from {url}: {snippet!r}"), retryable=True
            ) from None
        if not choices:  # missing, null or []: a 200 with no reply is an error, not an empty answer
            raise BackendError(
                self._scrub(f"HTTP 200 with no choices from {url}: {snippet!r}"), retryable=True
            )
        choice = choices[0] if isinstance(choices, list) else None
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(choice, dict) or not isinstance(message, dict):
            raise BackendError(self._scrub(f"unparsable response from {url}: {snippet!r}"), retryable=True)
        text = message.get("content")
        if isinstance(text, list):  # some servers return content parts
            text = "".join(str(part.get("text") or "") for part in text if isinstance(part, dict))
        if not isinstance(text, str):  # null content: a refusal, a reasoning model out of tokens...
            reason = choice.get("finish_reason")
            refusal = message.get("refusal")
            why = f"; refusal: {str(refusal)[:200]!r}" if refusal else ""
            raise BackendError(
                self._scrub(f"HTTP 200 with null message content from {url} (finish_reason {reason!r}{why})"),
                retryable=True,
            )
        usage = data.get("usage") or {}
        return Completion(
            text=text,
            finish_reason=choice.get("finish_reason") or "stop",
            usage=Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)),
            logprobs=_logprobs(choice.get("logprobs")),
        )

    def _status_error(self, status: int, headers: dict[str, str], content: bytes, url: str) -> BackendError:
        try:
            detail = json.loads(content)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            detail = content[:300].decode("utf-8", "replace")
        retryable = status in (408, 409, 429) or status >= 500
        message = self._scrub(f"HTTP {status} from {url}: {detail}")
        auth = status in (401, 403)
        return BackendError(
            message,
            retryable=retryable,
            retry_after=retry_after_seconds(headers),
            kind=AUTH if auth else None,
            hint=self._key_hint() if auth else None,
        )

    def _key_hint(self) -> str:
        """What to set when the server rejects the credentials (see mmrole.models.registry)."""
        sent = "the API key sent was rejected" if self._secrets else "no API key was sent"
        if self.base_url == DEFAULT_BASE_URL:
            return f"{sent}: set OPENAI_API_KEY (or MMROLE_API_KEY)"
        return (
            f"{sent}: set MMROLE_API_KEY, or name the variable holding this endpoint's key with "
            'api_key_env in the endpoint\'s [endpoints."URL"] table of the mmrole config file'
        )

    def _scrub(self, text: str) -> str:
        """Remove the API key from text headed for logs, stores and reports."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _logprobs(raw: Any) -> list[TokenLogprob] | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("content"), list):
        return None
    return [
        TokenLogprob(
            token=item.get("token", ""),
            logprob=float(item.get("logprob", 0.0)),
            top={alt["token"]: float(alt["logprob"]) for alt in item.get("top_logprobs") or []},
        )
        for item in raw["content"]
    ]


def retry_after_seconds(headers: dict[str, str]) -> float | None:
    """The server's retry hint: ``retry-after-ms``, or ``Retry-After`` in seconds or as an HTTP date."""
    if "retry-after-ms" in headers:
        try:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _proxied(url: str) -> bool:
    """Whether the environment routes this URL through a proxy (the lean client does not speak proxies)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")
