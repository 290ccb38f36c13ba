from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from tenantgate.app import create_app
from tenantgate.clock import Clock
from tenantgate.services import Services
from tenantgate.settings import Settings
from tests.tokens.servers import StartServer, server_factory


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The reference apps are not what these tests are about, and cost a second a server."""
    return settings.model_copy(update={"refapps": False})


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[StartServer]:
    async with server_factory(settings) as start:
        yield start


ClientFor = Callable[[Clock], Awaitable[tuple[Services, httpx.AsyncClient]]]


@pytest.fixture
async def client_for(settings: Settings) -> AsyncIterator[ClientFor]:
    """A node on its own clock, and an HTTP client over it."""
    opened: list[tuple[Services, httpx.AsyncClient]] = []

    async def start(clock: Clock) -> tuple[Services, httpx.AsyncClient]:
        services = Services.build(settings, clock=clock)
        await services.open()
        transport = httpx.ASGITransport(app=create_app(settings, services))
        client = httpx.AsyncClient(transport=transport, base_url="https://tg.example.test")
        opened.append((services, client))
        return services, client

    yield start
    for services, client in opened:
        await client.aclose()
        await services.close()
