"""The gateway's HTTP client to the apps' upstreams: one keep-alive connection pool per
gateway, opened lazily on the first request and closed with the app.

``Upstream`` is the seam: the gateway only needs ``send`` and ``aclose``, so a test or a
benchmark can hand in another implementation. ``PooledUpstream`` is built on httpcore (the
transport under httpx) rather than on ``httpx.AsyncClient``: the gateway already holds raw
header lists and a parsed target, and skipping httpx's request and URL models, its cookie
jar and its default headers is measurably cheaper on the hot path (see
docs/performance-gateway.md). Faults become ``BadGateway`` or ``GatewayTimeout``."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpcore

from tenantgate.gateway.errors import BadGateway, GatewayError, GatewayTimeout
from tenantgate.gateway.headers import RawHeaders

# Idle upstream connections are dropped before the usual 5 s keep-alive of the servers
# behind (uvicorn, node), so the pool rarely picks a connection the server is closing.
KEEPALIVE_EXPIRY = 4.0
MAX_CONNECTIONS = 1000


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
        path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
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


_FAULTS = (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError)


def _fault(exc: Exception) -> GatewayError:
    if isinstance(exc, httpcore.TimeoutException):
        return GatewayTimeout(type(exc).__name__)
    return BadGateway(type(exc).__name__)


class PooledResponse:
    __slots__ = ("_response", "headers", "status")

    def __init__(self, response: httpcore.Response) -> None:
        self._response = response
        self.status = response.status
        self.headers: RawHeaders = response.headers

    async def read(self) -> bytes:
        try:
            return await self._response.aread()
        except (httpcore.TimeoutException, *_FAULTS) as exc:
            raise _fault(exc) from exc

    async def chunks(self) -> AsyncIterator[bytes]:
        stream = self._response.aiter_stream()
        try:
            async for chunk in stream:
                yield chunk
        except (httpcore.TimeoutException, *_FAULTS) as exc:
            raise _fault(exc) from exc

    async def aclose(self) -> None:
        await self._response.aclose()


class PooledUpstream:
    """Keep-alive HTTP/1.1 to every upstream; ``timeout`` bounds connecting, each write, each
    read (so a silent upstream is a 504 after ``timeout``) and the wait for a free connection."""

    def __init__(
        self,
        timeout: float,
        *,
        max_connections: int = MAX_CONNECTIONS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._extensions = {
            "timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        }
        self._max_connections = max_connections
        self._ssl_context = ssl_context
        self._pool: httpcore.AsyncConnectionPool | None = None

    def _open(self) -> httpcore.AsyncConnectionPool:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=self._ssl_context,
            max_connections=self._max_connections,
            keepalive_expiry=KEEPALIVE_EXPIRY,
        )
        return self._pool

    async def send(
        self, method: bytes, target: Target, path: bytes, headers: RawHeaders, body: bytes
    ) -> PooledResponse:
        pool = self._pool or self._open()
        url = httpcore.URL(scheme=target.scheme, host=target.host, port=target.port, target=path)
        request = httpcore.Request(
            method, url, headers=headers, content=body, extensions=self._extensions
        )
        try:
            response = await pool.handle_async_request(request)
        except (httpcore.TimeoutException, *_FAULTS) as exc:
            raise _fault(exc) from exc
        return PooledResponse(response)

    async def aclose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.aclose()
