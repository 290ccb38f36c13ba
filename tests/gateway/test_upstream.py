"""The gateway's HTTP/1.1 client against scripted upstreams that answer exact bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from tenantgate.gateway.errors import BadGateway, GatewayTimeout
from tenantgate.gateway.upstream import PooledUpstream, Target

OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], "asyncio.Future[None] | None"]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))
    return head


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[list[bytes]], asyncio.Future[str]]]:
    """Starts a server that answers the n-th request on each connection with answers[n],
    then closes the connection ``linger`` seconds after the last answer."""
    servers: list[asyncio.Server] = []

    async def start(answers: list[bytes], linger: float = 0.05) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                for answer in answers:
                    await _read_request(reader)
                    writer.write(answer)
                    await writer.drain()
                await asyncio.sleep(linger)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/graphql"

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


async def _post(upstream: PooledUpstream, url: str) -> tuple[int, bytes]:
    target = Target.parse(url)
    headers = [(b"host", target.authority), (b"content-length", b"2")]
    response = await upstream.send(b"POST", target, target.path, headers, b"{}")
    try:
        return response.status, await response.read()
    finally:
        await response.aclose()


async def test_informational_answers_are_skipped(scripted):
    url = await scripted([b"HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n" + OK])
    upstream = PooledUpstream(1.0)

    assert await _post(upstream, url) == (200, b"{}")
    await upstream.aclose()


async def test_a_body_delimited_by_the_end_of_the_connection(scripted):
    url = await scripted([b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end"])
    upstream = PooledUpstream(1.0)

    assert await _post(upstream, url) == (200, b"until the end")
    await upstream.aclose()


async def test_a_chunked_body(scripted):
    url = await scripted(
        [
            b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        ]
    )
    upstream = PooledUpstream(1.0)

    assert await _post(upstream, url) == (201, b"abcde")
    await upstream.aclose()


@pytest.mark.parametrize(
    "answer", [b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n{}", b""]
)
async def test_a_broken_answer_is_a_bad_gateway(scripted, answer):
    url = await scripted([answer])
    upstream = PooledUpstream(1.0)

    with pytest.raises(BadGateway):
        await _post(upstream, url)
    await upstream.aclose()


async def test_an_unsolicited_second_answer_retires_the_connection(scripted):
    url = await scripted([OK + OK])
    upstream = PooledUpstream(1.0)

    assert await _post(upstream, url) == (200, b"{}")
    assert await _post(upstream, url) == (200, b"{}")
    await upstream.aclose()


async def test_a_connection_closed_while_idle_is_not_reused(scripted):
    url = await scripted([OK], linger=0)
    upstream = PooledUpstream(1.0)

    assert await _post(upstream, url) == (200, b"{}")
    await asyncio.sleep(0.2)
    assert await _post(upstream, url) == (200, b"{}")
    await upstream.aclose()


async def test_silence_is_a_gateway_timeout(scripted):
    url = await scripted([b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}"], linger=2)
    upstream = PooledUpstream(0.2)

    with pytest.raises(GatewayTimeout):
        await _post(upstream, url)
    await upstream.aclose()
