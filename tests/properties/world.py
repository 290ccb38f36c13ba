"""What outlives one example of the state machine: the server with its moved clock, the
in-process client, and the ring of signing keys with their private halves (for the rule
that plays a leaked key)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from tenantgate.app import create_app
from tenantgate.gateway import Gateway
from tenantgate.services import Services
from tenantgate.settings import Settings
from tenantgate.tokens.keys import SigningKey
from tests.conftest import ManualClock
from tests.properties.model import LEEWAY, TTL, Key, Ring
from tests.tokens.servers import ADDRESS, BASE_URL, running

T = TypeVar("T")


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    services: Services
    client: httpx.AsyncClient
    clock: ManualClock
    echo_url: str
    ring: Ring
    keys: dict[str, SigningKey] = field(default_factory=dict)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """``coroutine`` on the server's event loop (the machine runs in a thread of its own,
        so the server's background tasks run between and during the steps)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    async def rotate(self) -> str:
        kid = await self.services.keys.rotate("property-test")
        self.ring.rotate(kid, self.clock())
        self.keys.update(self.services.keys.keys)
        return kid

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.services.keys.drop_expired()  # the retirement timer's round
        self.ring.drop_expired(self.clock())


@contextlib.asynccontextmanager
async def world(settings: Settings, clock: ManualClock, echo_url: str) -> AsyncIterator[World]:
    """A node over ``settings.database_url`` whose key-retirement rounds the test runs."""
    overrides = {
        "refapps": False,
        "failure_limit": 1_000_000,  # the machine fails on purpose, often
        "token_ttl": TTL,
        "clock_leeway": LEEWAY,
        "upstream_timeout": 10.0,
    }
    node = Settings(**{**settings.model_dump(), **overrides})
    async with running(node, clock=clock) as services, _client(services) as client:
        await services.keys.stop()
        signing = services.keys.signing
        assert signing is not None
        ring = Ring({kid: Key(k.retired_at) for kid, k in services.keys.keys.items()}, signing.kid)
        made = World(asyncio.get_running_loop(), services, client, clock, echo_url, ring)
        await made.rotate()
        yield made


@contextlib.asynccontextmanager
async def _client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """In-process HTTP to the server; its gateway's upstream pool is closed on exit."""
    app = create_app(services.settings, services)
    transport = httpx.ASGITransport(app=app, client=(ADDRESS, 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client
    finally:
        for route in getattr(app, "routes", []):
            endpoint = getattr(route, "endpoint", None)
            if isinstance(endpoint, Gateway):
                await endpoint.aclose()
