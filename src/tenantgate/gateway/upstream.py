"""The gateway's HTTP client to the apps' upstreams: keep-alive connections pooled per
origin, opened on first use and closed with the app.

``Upstream`` is the seam: the gateway only needs ``send`` and ``aclose``, so a test or a
benchmark can hand in another implementation. ``PooledUpstream`` is a lean HTTP/1.1 client
on asyncio protocols and httptools (the parser uvicorn uses). It replaced httpx/httpcore
after measurement: httpcore checks every pooled connection with a syscall on each request
and goes through anyio, which made the client most of the gateway's cost (numbers in
docs/performance-gateway.md). It does only what the gateway needs: one request at a time per
connection, Content-Length request bodies, any response framing. Faults become
``BadGateway`` (refused, reset, malformed) or ``GatewayTimeout``."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, urlsplit

import httptools

from tenantgate.gateway.errors import BadGateway, GatewayError, GatewayTimeout
from tenantgate.gateway.headers import RawHeaders

# Idle upstream connections are dropped before the usual 5 s keep-alive of the servers
# behind (uvicorn, node), so the pool rarely picks a connection the server is closing.
KEEPALIVE_EXPIRY = 4.0
# Idle connections kept per origin; more concurrent requests open more, closed after use.
MAX_IDLE = 256
# Response bytes buffered before reading from the upstream pauses (for streamed answers).
HIGH_WATER = 1 << 18


@dataclass(frozen=True, slots=True)
class Target:
    """An app's upstream URL, split once: where to connect and what to send as Host."""

    scheme: bytes
    host: bytes
    port: int
    path: bytes
    authority: bytes

    @classmethod
    def parse(cls, url: str) -> Target:
        try:
            parts = urlsplit(url)
            host = parts.hostname
            port = parts.port
        except ValueError as exc:
            raise BadGateway("upstream url does not parse") from exc
        if parts.scheme not in ("http", "https") or not host:
            raise BadGateway("upstream url is not absolute http(s)")
        default = 443 if parts.scheme == "https" else 80
        name = f"[{host}]" if ":" in host else host
        authority = name if port in (None, default) else f"{name}:{port}"
        path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
        if parts.query:
            path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
        return cls(
            parts.scheme.encode(),
            host.encode("idna"),
            port or default,
            path.encode("ascii", "strict"),
            authority.encode("idna"),
        )


class UpstreamResponse(Protocol):
    status: int
    headers: RawHeaders

    async def read(self) -> bytes: ...

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class Upstream(Protocol):
    async def send(
        self, method: bytes, target: Target, path: bytes, headers: RawHeaders, body: bytes
    ) -> UpstreamResponse: ...

    async def aclose(self) -> None: ...


class _Unsolicited(Exception):
    pass


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one exchange at a time; httptools calls back."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.key: tuple[bytes, bytes, int] = (b"", b"", 0)
        self.closed = False
        self.idle_since = 0.0
        self.reset()

    def reset(self) -> None:
        self.status = 0
        self.headers: RawHeaders = []
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.paused = False
        self.framed = False
        self.head_done = False
        self.keep_alive = False
        self.complete = False
        self.error: GatewayError | None = None
        self.waiter: asyncio.Future[None] | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:  # also what a callback raised
            self.keep_alive = False
            if not self.complete:
                self._fail(BadGateway("malformed upstream response"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.head_done and not self.framed:
            self.complete = True  # a body delimited by the end of the connection
        elif not self.complete:
            self._fail(BadGateway("upstream closed the connection"))
        self._wake()

    # httptools.HttpResponseParser

    def on_message_begin(self) -> None:
        if self.head_done:
            raise _Unsolicited  # nothing is pipelined, so a second answer is a broken upstream

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        lowered = name.lower()
        if lowered == b"content-length" or lowered == b"transfer-encoding":
            self.framed = True

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()  # reset by llhttp once complete
        self.head_done = True
        if self.status >= 200:
            self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.status < 200:  # 1xx: informational, the answer follows
            self.headers, self.status, self.head_done = [], 0, False
            return
        self.complete = True
        self._wake()

    # used by the pool and the response

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: GatewayError) -> None:
        if self.error is None:
            self.error = error
        self._wake()

    def _timed_out(self) -> None:
        self._fail(GatewayTimeout("upstream read timeout"))
        self.close()

    async def wait(self, timeout: float) -> None:
        """Until something arrives (head, body, end) or ``timeout`` seconds pass."""
        if self.error is not None:
            raise self.error
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        timer = loop.call_later(timeout, self._timed_out)
        try:
            await self.waiter
        finally:
            timer.cancel()
            self.waiter = None
        if self.error is not None:
            raise self.error

    def take(self) -> bytes:
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.paused and self.buffered <= HIGH_WATER // 2 and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return chunk

    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class PooledResponse:
    __slots__ = ("_connection", "_pool", "headers", "status")

    def __init__(self, pool: PooledUpstream, connection: _Connection) -> None:
        self._pool = pool
        self._connection = connection
        self.status = connection.status
        self.headers = connection.headers

    async def read(self) -> bytes:
        connection = self._connection
        while not connection.complete:
            await connection.wait(self._pool.timeout)
        return b"".join(connection.take() for _ in range(len(connection.chunks)))

    async def chunks(self) -> AsyncIterator[bytes]:
        connection = self._connection
        while True:
            if connection.chunks:
                yield connection.take()
            elif connection.complete:
                return
            else:
                await connection.wait(self._pool.timeout)

    async def aclose(self) -> None:
        self._pool.release(self._connection)


class PooledUpstream:
    """Keep-alive HTTP/1.1 to every upstream. ``timeout`` bounds connecting and each wait for
    the upstream (so a silent upstream is a 504 after ``timeout``)."""

    def __init__(self, timeout: float, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.timeout = timeout
        self._ssl_context = ssl_context
        self._idle: dict[tuple[bytes, bytes, int], list[_Connection]] = {}
        self._busy: set[_Connection] = set()

    async def send(
        self, method: bytes, target: Target, path: bytes, headers: RawHeaders, body: bytes
    ) -> PooledResponse:
        key = (target.scheme, target.host, target.port)
        connection = self._reuse(key) or await self._connect(target)
        self._busy.add(connection)
        lines = [method, b" ", path, b" HTTP/1.1\r\n"]
        for name, value in headers:
            lines += (name, b": ", value, b"\r\n")
        lines += (b"\r\n", body)
        try:
            assert connection.transport is not None
            connection.transport.write(b"".join(lines))
            while not connection.head_done:
                await connection.wait(self.timeout)
        except BaseException:
            self._discard(connection)
            raise
        return PooledResponse(self, connection)

    def _reuse(self, key: tuple[bytes, bytes, int]) -> _Connection | None:
        idle = self._idle.get(key)
        if not idle:
            return None
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.closed or now - connection.idle_since > KEEPALIVE_EXPIRY:
                connection.close()
                continue
            connection.reset()
            return connection
        return None

    async def _connect(self, target: Target) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = None
        if target.scheme == b"https":
            tls = self._ssl_context or ssl.create_default_context()
            self._ssl_context = tls
        host = target.host.decode()
        try:
            async with asyncio.timeout(self.timeout):
                _, connection = await loop.create_connection(
                    _Connection, host, target.port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError as exc:
            raise GatewayTimeout("connect timeout") from exc
        except OSError as exc:
            raise BadGateway(f"connect failed: {type(exc).__name__}") from exc
        connection.key = (target.scheme, target.host, target.port)
        return connection

    def release(self, connection: _Connection) -> None:
        self._busy.discard(connection)
        if not connection.reusable():
            connection.close()
            return
        idle = self._idle.setdefault(connection.key, [])
        if len(idle) >= MAX_IDLE:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)
        oldest = idle[0]
        if oldest.closed or connection.idle_since - oldest.idle_since > KEEPALIVE_EXPIRY:
            idle.pop(0).close()

    def _discard(self, connection: _Connection) -> None:
        self._busy.discard(connection)
        connection.close()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        for connection in self._busy:
            connection.close()
        self._busy.clear()
