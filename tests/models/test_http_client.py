"""The lean HTTP/1.1 client against raw sockets: framing, keep-alive, timeouts, broken servers."""

from __future__ import annotations

import asyncio

import pytest

from mmrole.models import http_client


async def _serve(responses: list[bytes], *, hold: float = 0.0, seen: list[int] | None = None):
    """A server answering the n-th request on each connection with ``responses[n]`` (b"" closes)."""
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        if seen is not None:
            seen.append(connections)
        try:
            for response in responses:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                await asyncio.sleep(hold)
                if not response:
                    break
                writer.write(response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def _run(coro):
    return asyncio.run(coro)


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


def test_content_length_and_keep_alive_reuse():
    async def scenario():
        seen: list[int] = []
        body = b'{"a": 1}'
        response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        server, url = await _serve([response, response, response], seen=seen)
        client = http_client.HTTPClient(url + "/v1")
        results = [await client.request("POST", "/chat/completions", b"{}") for _ in range(3)]
        client.close()
        server.close()
        return results, seen

    results, seen = _run(scenario())
    assert [r.status for r in results] == [200, 200, 200] and results[0].body == b'{"a": 1}'
    assert seen == [1]  # one connection served all three


def test_chunked_body_with_trailer_and_interim_100_continue():
    chunked = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n"
    )

    async def scenario():
        server, url = await _serve([chunked])
        client = http_client.HTTPClient(url)
        response = await client.request("POST", "/x", b"{}")
        server.close()
        return response

    response = _run(scenario())
    assert response.status == 200 and response.body == b"hello, world"


def test_close_delimited_body():
    async def scenario():
        server, url = await _serve([b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end"])
        client = http_client.HTTPClient(url)
        response = await client.request("GET", "/", b"", timeout=5)
        server.close()
        return response

    assert _run(scenario()).body == b"until the end"


def test_timeout_and_dropped_connection_and_garbage():
    async def scenario():
        slow, slow_url = await _serve([OK], hold=1.0)
        with pytest.raises(http_client.TimeoutError_):
            await http_client.HTTPClient(slow_url).request("POST", "/", b"{}", timeout=0.05)
        dropping, drop_url = await _serve([b""])
        with pytest.raises(http_client.RemoteClosedError, match="before sending a response"):
            await http_client.HTTPClient(drop_url).request("POST", "/", b"{}")
        junk, junk_url = await _serve([b"SSH-2.0-OpenSSH\r\n\r\n"])
        with pytest.raises(http_client.ProtocolError, match="not an HTTP response"):
            await http_client.HTTPClient(junk_url).request("POST", "/", b"{}")
        for server in (slow, dropping, junk):
            server.close()

    _run(scenario())


def test_connect_error():
    async def scenario():
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(http_client.ConnectError):
            await http_client.HTTPClient(f"http://127.0.0.1:{port}").request("GET", "/", b"")

    _run(scenario())


def test_rejects_non_http_urls():
    with pytest.raises(ValueError):
        http_client.HTTPClient("ftp://example.com")


def test_url_userinfo_becomes_basic_auth_and_never_the_host_or_an_error():
    async def scenario():
        heads: list[bytes] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            heads.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(OK)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        await http_client.HTTPClient(f"http://user:p%40ss@127.0.0.1:{port}/v1").request("GET", "/models")
        await http_client.HTTPClient(
            f"http://user:p%40ss@127.0.0.1:{port}/v1", headers={"Authorization": "Bearer k"}
        ).request("GET", "/models")
        server.close()
        return heads

    first, second = _run(scenario())
    assert b"Authorization: Basic dXNlcjpwQHNz\r\n" in first  # base64("user:p@ss")
    assert b"Host: 127.0.0.1:" in first and b"p%40ss" not in first
    assert b"Authorization: Bearer k\r\n" in second and b"Basic" not in second
    with pytest.raises(ValueError) as caught:
        http_client.HTTPClient("ftp://user:sk-ftp@example.com")
    assert "sk-ftp" not in str(caught.value)


def test_a_large_body_arrives_whole_and_the_connection_is_reused():
    """Bodies carrying images go out in a write of their own (no joined copy); the server gets every byte."""

    async def scenario():
        received: list[bytes] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            for _ in range(2):
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                received.append(await reader.readexactly(length))
                writer.write(OK)
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        client = http_client.HTTPClient(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        big = bytes(range(256)) * 8000  # 2 MB
        statuses = [(await client.request("POST", "/x", body)).status for body in (big, b"{}")]
        client.close()
        server.close()
        return statuses, received, big

    statuses, received, big = _run(scenario())
    assert statuses == [200, 200] and received == [big, b"{}"]


def test_a_connect_timeout_is_a_connect_error():
    assert issubclass(http_client.ConnectTimeoutError, http_client.ConnectError)
    assert issubclass(http_client.ConnectTimeoutError, http_client.TimeoutError_)
