"""More servers for the tests that need them: one with its own settings, clock or client
address, and fresh nodes over the same database to see what was really committed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from tenantgate.app import create_app
from tenantgate.clock import Clock, system_clock
from tenantgate.services import Services
from tenantgate.settings import Settings

BASE_URL = "https://tg.example.test"
ADDRESS = "203.0.113.7"

StartServer = Callable[..., Awaitable[tuple[Services, httpx.AsyncClient]]]


@contextlib.asynccontextmanager
async def running(
    settings: Settings, *, clock: Clock = system_clock, background: bool = True
) -> AsyncIterator[Services]:
    """A node started over ``settings.database_url``, closed on exit."""
    services = Services.build(settings, clock=clock)
    await services.open(background=background)
    try:
        yield services
    finally:
        await services.close()


def http_client(services: Services, address: str = ADDRESS) -> httpx.AsyncClient:
    """An httpx client speaking HTTP to ``services`` in-process, as if from ``address``."""
    transport = httpx.ASGITransport(
        app=create_app(services.settings, services), client=(address, 50000)
    )
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


@contextlib.asynccontextmanager
async def server_factory(settings: Settings) -> AsyncIterator[StartServer]:
    """``start(clock=..., **setting_overrides)`` → (services, client); all closed on exit."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            clock: Clock = system_clock, **overrides: Any
        ) -> tuple[Services, httpx.AsyncClient]:
            custom = Settings(**{**settings.model_dump(), **overrides})
            services = await stack.enter_async_context(running(custom, clock=clock))
            client = await stack.enter_async_context(http_client(services))
            return services, client

        yield start
