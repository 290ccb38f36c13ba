"""Doubles for protocol tests: an ASGI-level driver of the /v1/ws endpoint (what a server would
hand it, what it sends back) and a scripted graphql-transport-ws upstream."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator, MutableMapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from tenantgate.gateway.websocket import GraphQLSocket

PROTOCOL = "graphql-transport-ws"
WAIT = 5.0


class DrivenSocket:
    """Runs the endpoint on a fake ASGI connection."""

    def __init__(
        self,
        endpoint: GraphQLSocket,
        headers: dict[str, str] | None = None,
        subprotocols: tuple[str, ...] = (PROTOCOL,),
        query: str = "",
    ) -> None:
        self._endpoint = endpoint
        self._incoming: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
        self._outgoing: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
        raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self._scope = {
            "type": "websocket",
            "path": "/v1/ws",
            "headers": raw,
            "subprotocols": list(subprotocols),
            "query_string": query.encode(),
        }
        self.accepted: MutableMapping[str, Any] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DrivenSocket:
        self._task = asyncio.create_task(
            self._endpoint(self._scope, self._incoming.get, self._outgoing.put)
        )
        self._incoming.put_nowait({"type": "websocket.connect"})
        self.accepted = await self.sent()
        assert self.accepted["type"] == "websocket.accept"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
        assert self._task is not None
        await asyncio.wait_for(self._task, WAIT)

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_text(json.dumps(message))

    async def send_text(self, text: str) -> None:
        self._incoming.put_nowait({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        self._incoming.put_nowait({"type": "websocket.receive", "bytes": data})

    async def sent(self, timeout: float = WAIT) -> MutableMapping[str, Any]:
        return await asyncio.wait_for(self._outgoing.get(), timeout)

    async def receive(self, timeout: float = WAIT) -> dict[str, Any]:
        message = await self.sent(timeout)
        assert message["type"] == "websocket.send", message
        decoded: dict[str, Any] = json.loads(message["text"])
        return decoded

    async def close_code(self, timeout: float = WAIT) -> int:
        async with asyncio.timeout(timeout):
            while (message := await self.sent()) and message["type"] != "websocket.close":
                continue
        code: int = message["code"]
        return code

    async def initialised(self, token: str) -> None:
        payload = {"Authorization": f"Bearer {token}"}
        await self.send({"type": "connection_init", "payload": payload})
        assert await self.receive() == {"type": "connection_ack"}


@dataclass
class ScriptedUpstream:
    """A graphql-transport-ws server: acks, answers each subscribe with one ``next`` and a
    ``complete`` (or closes with the code a query ``close <code>`` names)."""

    url: str = ""
    upgrades: list[dict[str, str]] = field(default_factory=list)
    inits: list[dict[str, Any]] = field(default_factory=list)
    subscribes: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        self.upgrades.append({k.lower(): v for k, v in connection.request.headers.raw_items()})
        init = json.loads(await connection.recv())
        self.inits.append(init)
        await connection.send(json.dumps({"type": "connection_ack"}))
        async for data in connection:
            message = json.loads(data)
            if message["type"] != "subscribe":
                continue
            self.subscribes.append(message)
            query = message["payload"]["query"]
            if query.startswith("close "):
                await connection.close(int(query.split()[1]), "scripted")
                return
            op = message["id"]
            await connection.send(json.dumps({"id": op, "type": "next", "payload": {"data": 1}}))
            await connection.send(json.dumps({"id": op, "type": "complete"}))


@asynccontextmanager
async def scripted_upstream() -> AsyncIterator[ScriptedUpstream]:
    upstream = ScriptedUpstream()
    protocols: Any = [PROTOCOL]
    async with serve(upstream.handle, "127.0.0.1", 0, subprotocols=protocols) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        upstream.url = f"ws://127.0.0.1:{port}/graphql"
        yield upstream


@contextmanager
def silent_upstream() -> Iterator[str]:
    """A port that takes TCP connections into its backlog and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/graphql"
    finally:
        sock.close()
