"""A lean asyncio HTTP/1.1 client for the OpenAI-compatible backend's hot path (the engine's calls).

Why not httpx here: on the 2-core machine mmrole is benchmarked on, an ``httpx.AsyncClient``
POST costs about 3 ms of CPU (URL models, anyio, h11, pool bookkeeping), three times the
engine's whole per-call budget; this client, an ``asyncio.Protocol`` with a keep-alive pool,
costs about 0.15 ms. It covers what OpenAI-compatible servers need: plain and TLS
connections, keep-alive, ``Content-Length``, chunked and close-delimited bodies, an overall
deadline per request. httpx stays in use for streaming, TLS endpoints and proxies.

    client = HTTPClient("http://127.0.0.1:8000", headers={"Authorization": "Bearer ..."})
    response = await client.request("POST", "/v1/chat/completions", body, timeout=60)
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from dataclasses import dataclass
from typing import cast
from urllib.parse import unquote, urlsplit

from mmrole.models.endpoint import redact_url

#: Servers close idle keep-alive connections after a few seconds (uvicorn: 5 s); drop ours first.
IDLE_EXPIRY_S = 4.0
_MAX_HEAD = 64 * 1024
#: Bodies smaller than this go out joined to the head in one write; larger ones in a write of their own.
_JOIN_BELOW = 64 * 1024


class HTTPError(Exception):
    """A request got no usable HTTP response (the base of this module's errors)."""


class ConnectError(HTTPError):
    """The connection could not be opened."""


class TimeoutError_(HTTPError):  # noqa: N801 - not the builtin, which callers may also catch
    """No full response before the deadline."""


class ConnectTimeoutError(ConnectError, TimeoutError_):
    """The connection could not be opened within the connect timeout."""


class RemoteClosedError(HTTPError):
    """The server closed the connection before a full response."""


class ProtocolError(HTTPError):
    """The server's bytes are not an HTTP/1.1 response."""


@dataclass
class HTTPResponse:
    """A finished response: status, lower-cased headers, the whole body."""

    status: int
    headers: dict[str, str]
    body: bytes


class _Connection(asyncio.Protocol):
    """One TCP connection answering one request at a time, parsing responses incrementally."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._buffer = bytearray()
        self._waiter: asyncio.Future[HTTPResponse] | None = None
        self._reset_parser()

    def _reset_parser(self) -> None:
        self._status = 0
        self._headers: dict[str, str] | None = None
        self._framing = ""  # "length" | "chunked" | "close"
        self._length = 0
        self._chunks = bytearray()
        self._keep_alive = True

    # asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TCP (or TLS) connection from loop.create_connection gets a read-write Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is None or self._waiter.done():
            return
        try:
            response = self._parse()
        except ProtocolError as exc:
            self._fail(exc)
            return
        if response is not None:
            self._waiter.set_result(response)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self._headers is not None and self._framing == "close":
            self._waiter.set_result(HTTPResponse(self._status, self._headers, bytes(self._buffer)))
            return
        what = "before sending a response" if self._headers is None else "in the middle of the response"
        self._waiter.set_exception(RemoteClosedError(f"server closed the connection {what}"))

    # requests --------------------------------------------------------------------------------
    def send(self, head: bytes, body: bytes, loop: asyncio.AbstractEventLoop) -> asyncio.Future[HTTPResponse]:
        assert self.transport is not None
        self._reset_parser()
        self._buffer.clear()
        self._waiter = loop.create_future()
        if len(body) < _JOIN_BELOW:
            self.transport.write(head + body)  # one send for the usual small request
        else:  # a body carrying images: no joined copy of it (32 in flight x 1 MB adds up)
            self.transport.write(head)
            self.transport.write(body)
        return self._waiter

    def expire(self, timeout: float) -> None:
        """The deadline passed: fail the pending request and drop the connection."""
        self._fail(TimeoutError_(f"no response within {timeout:g} s"))

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.abort()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    @property
    def reusable(self) -> bool:
        return (
            self._keep_alive
            and not self.closed
            and self.transport is not None
            and not self.transport.is_closing()
        )

    # parsing ---------------------------------------------------------------------------------
    def _parse(self) -> HTTPResponse | None:
        buffer = self._buffer
        if self._headers is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    raise ProtocolError("response headers too long")
                return None
            self._parse_head(bytes(buffer[:end]).decode("latin-1"))
            del buffer[: end + 4]
            if 100 <= self._status < 200:  # interim response (100 Continue): the real one follows
                self._headers = None
                return self._parse()
        if self._framing == "length":
            if len(buffer) < self._length:
                return None
            body = bytes(buffer[: self._length])
            del buffer[: self._length]
            return self._finish(body)
        if self._framing == "chunked":
            return self._parse_chunks()
        return None  # close-delimited: finished in connection_lost

    def _parse_head(self, head: str) -> None:
        status_line, *lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP response: {status_line[:80]!r}")
        self._status = int(parts[1])
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self._headers = headers
        self._keep_alive = parts[0] == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if self._status in (204, 304):
            self._framing, self._length = "length", 0
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._framing = "chunked"
        elif "content-length" in headers:
            try:
                self._framing, self._length = "length", int(headers["content-length"])
            except ValueError as exc:
                raise ProtocolError(f"bad Content-Length {headers['content-length']!r}") from exc
        else:
            self._framing, self._keep_alive = "close", False

    def _parse_chunks(self) -> HTTPResponse | None:
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                return None
            try:
                size = int(bytes(buffer[:line_end]).split(b";", 1)[0], 16)
            except ValueError as exc:
                raise ProtocolError("bad chunk size") from exc
            if size == 0:
                # The last chunk: "0\r\n", optional trailer lines, then an empty line.
                end = buffer.find(b"\r\n\r\n", line_end)
                if end < 0:
                    return None
                del buffer[: end + 4]
                return self._finish(bytes(self._chunks))
            start = line_end + 2
            if len(buffer) < start + size + 2:
                return None
            self._chunks += buffer[start : start + size]
            del buffer[: start + size + 2]

    def _finish(self, body: bytes) -> HTTPResponse:
        assert self._headers is not None
        return HTTPResponse(self._status, self._headers, body)


def _default_ssl_context() -> ssl.SSLContext:
    """certifi's trust store when installed (as httpx does), else the system's."""
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class HTTPClient:
    """Keep-alive HTTP/1.1 client for one origin (scheme, host, port).

    Args:
        base_url: ``http://host:port`` or ``https://host``; a path is kept as a prefix. Userinfo
            (``http://user:pass@host``) becomes an ``Authorization: Basic`` header unless ``headers``
            has one, as with curl or httpx.
        headers: Sent with every request (e.g. authorization).
        connect_timeout: Seconds to open a connection.
        ssl_context: For https; the system's default trust store when omitted.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        connect_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {redact_url(base_url)!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self._ssl = (ssl_context or _default_ssl_context()) if parts.scheme == "https" else None
        default_port = (parts.scheme == "https" and self.port == 443) or (
            parts.scheme == "http" and self.port == 80
        )
        host_header = self.host if default_port else f"{self.host}:{self.port}"
        fixed = {"Host": host_header, "User-Agent": "mmrole", "Accept": "application/json", **(headers or {})}
        if parts.username is not None and not any(k.lower() == "authorization" for k in fixed):
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            fixed["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        self._fixed_head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self.connect_timeout = connect_timeout
        self._idle: list[_Connection] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        content_type: str = "application/json",
        timeout: float = 60.0,
    ) -> HTTPResponse:
        """Send one request and read the whole response within ``timeout`` seconds.

        Raises:
            ConnectError, TimeoutError_, RemoteClosedError, ProtocolError: no usable response.
        """
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections belong to the loop that opened them
            self._idle, self._loop = [], loop
        deadline = loop.time() + timeout
        connection = self._take_idle() or await self._connect(loop, min(timeout, self.connect_timeout))
        head = (
            f"{method} {self.prefix}{path} HTTP/1.1\r\n{self._fixed_head}"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        waiter = connection.send(head.encode("latin-1"), body, loop)
        timer = loop.call_at(deadline, connection.expire, timeout)
        try:
            response = await waiter
        except BaseException:
            connection.abort()  # cancelled or failed: the connection's state is unknown
            raise
        finally:
            timer.cancel()
        if connection.reusable:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.abort()
        return response

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable and now - connection.idle_since < IDLE_EXPIRY_S:
                return connection
            connection.abort()
        return None

    async def _connect(self, loop: asyncio.AbstractEventLoop, timeout: float) -> _Connection:
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    _Connection,
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self.host if self._ssl else None,
                ),
                timeout,
            )
        except asyncio.TimeoutError as exc:
            raise ConnectTimeoutError(
                f"could not connect to {self.host}:{self.port} within {timeout:g} s"
            ) from exc
        except OSError as exc:
            raise ConnectError(f"could not connect to {self.host}:{self.port}: {exc}") from exc
        return connection

    def close(self) -> None:
        """Close the idle connections (busy ones close when their request ends)."""
        for connection in self._idle:
            connection.abort()
        self._idle = []
