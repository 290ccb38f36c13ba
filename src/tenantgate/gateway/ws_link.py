"""One upstream graphql-transport-ws connection: the gateway's client to one app of one tenant,
carrying every subscription a caller's connection makes to that app.

The link connects with the ``websockets`` client, sends ``connection_init`` with the caller's
bearer and the gateway-set ``X-Tenant-Id``, ``X-Application-Id``, ``X-Client-Id`` and
``X-Request-Id`` (also sent as headers of the upgrade), waits for ``connection_ack``, then sends
what the caller's connection queues and hands back each ``next``/``error``/``complete``.
It ends when the upstream closes or fails, and says why as a ``GatewayError`` class."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from tenantgate.gateway.errors import (
    BadGateway,
    Forbidden,
    GatewayError,
    GatewayTimeout,
    Unauthenticated,
)

log = structlog.get_logger(__name__)

PROTOCOL = "graphql-transport-ws"
CLOSE_TIMEOUT = 2.0
_RELAYED = frozenset({"next", "error", "complete"})
_PONG = orjson.dumps({"type": "pong"}).decode()
_UPSTREAM_CLOSES: dict[int, type[GatewayError]] = {4401: Unauthenticated, 4403: Forbidden}

Relay = Callable[["UpstreamLink", str, str, str], Awaitable[None]]


class _Misbehaved(Exception):
    pass


class Overloaded(Exception):
    """The upstream takes messages more slowly than the caller sends them."""


class UpstreamLink:
    def __init__(
        self,
        app: str,
        url: str,
        init: Mapping[str, str],
        relay: Relay,
        *,
        timeout: float,
        max_size: int,
        outbox: int,
    ) -> None:
        self.app = app
        self.ops: set[str] = set()
        self._url = url
        self._init = dict(init)
        self._relay = relay
        self._timeout = timeout
        self._max_size = max_size
        self._outbox: asyncio.Queue[str] = asyncio.Queue(outbox)

    def send(self, text: str) -> None:
        """Queue a caller's message for the upstream, in order."""
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            raise Overloaded from None

    async def run(self) -> tuple[type[GatewayError], str]:
        """Relay until the upstream ends; what ended it, and the detail to log."""
        try:
            async with self._connect() as upstream:
                await self._initialise(upstream)
                writer = asyncio.create_task(self._write(upstream))
                try:
                    await self._read(upstream)
                finally:
                    writer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await writer
                return _closed(upstream)
        except TimeoutError:
            return GatewayTimeout, "upstream websocket timed out"
        except ConnectionClosed as exc:
            return _close_fault(exc.rcvd.code if exc.rcvd else None), f"upstream closed: {exc}"
        except (OSError, InvalidHandshake, InvalidURI, ValueError) as exc:
            return BadGateway, f"upstream websocket failed: {type(exc).__name__}"
        except _Misbehaved as exc:
            return BadGateway, f"upstream spoke badly: {exc}"

    def _connect(self) -> connect:
        headers = {name: value for name, value in self._init.items()}
        return connect(
            self._url,
            subprotocols=[PROTOCOL],  # type: ignore[list-item]
            additional_headers=headers,
            open_timeout=self._timeout,
            close_timeout=CLOSE_TIMEOUT,
            max_size=self._max_size,
            proxy=None,
            compression=None,
            user_agent_header="tenantgate",
        )

    async def _initialise(self, upstream: ClientConnection) -> None:
        await upstream.send(
            orjson.dumps({"type": "connection_init", "payload": self._init}).decode()
        )
        async with asyncio.timeout(self._timeout):
            message = _parse(await upstream.recv())
        if message.get("type") != "connection_ack":
            raise _Misbehaved("no connection_ack")

    async def _write(self, upstream: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await upstream.send(await self._outbox.get())

    async def _read(self, upstream: ClientConnection) -> None:
        async for data in upstream:
            message = _parse(data)
            kind = message.get("type")
            if kind in _RELAYED and isinstance(message.get("id"), str):
                await self._relay(self, message["id"], kind, data)  # type: ignore[arg-type]
            elif kind == "ping":
                await upstream.send(_PONG)


def _parse(data: str | bytes) -> dict[str, Any]:
    if not isinstance(data, str):
        raise _Misbehaved("binary message")
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise _Misbehaved("not JSON") from None
    if not isinstance(message, dict):
        raise _Misbehaved("not a JSON object")
    return message


def _closed(upstream: ClientConnection) -> tuple[type[GatewayError], str]:
    code = upstream.close_code
    return _close_fault(code), f"upstream closed with {code}"


def _close_fault(code: int | None) -> type[GatewayError]:
    return _UPSTREAM_CLOSES.get(code or 0, BadGateway)
