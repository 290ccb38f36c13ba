"""Gateway fixtures: a real echo upstream for the session, tighter limits so faults are fast,
and a client whose gateway closes its upstream pool after each test."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tenantgate.app import create_app
from tenantgate.gateway import Gateway
from tenantgate.services import Services
from tenantgate.settings import Settings
from tests.conftest import ADMIN_TOKEN, ManualClock
from tests.gateway.upstream import serve_dropper, serve_echo

UPSTREAM_TIMEOUT = 2.0
"""The upstream timeout of the tests marked ``slow_upstream``; the others wait as long as a
deployment does, so that a pause of the test machine is never a 504."""
MAX_BODY = 64 * 1024


@pytest.fixture(scope="session")
def echo_url() -> Iterator[str]:
    with serve_echo() as url:
        yield url


@pytest.fixture(scope="session")
def dropper_url() -> Iterator[str]:
    with serve_dropper() as url:
        yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """A test marked ``slow_upstream`` (one about an upstream slower than the timeout) gets
    the short ``UPSTREAM_TIMEOUT``; the others the deployment's default."""
    timed = request.node.get_closest_marker("slow_upstream") is not None
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        secret_key="test-server-secret",
        admin_token=ADMIN_TOKEN,
        commit_interval_ms=1.0,
        max_body_bytes=MAX_BODY,
        **({"upstream_timeout": UPSTREAM_TIMEOUT} if timed else {}),
    )


async def _client_for(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services.settings, services)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="https://tg.example.test") as c:
            yield c
    finally:
        for route in app.routes:
            endpoint = getattr(route, "endpoint", None)
            if isinstance(endpoint, Gateway):
                await endpoint.aclose()


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client_for(services):
        yield c


@pytest.fixture
def clock() -> ManualClock:
    # PyJWT checks `iat` against the system clock, so the manual clock starts at real time.
    return ManualClock(time.time())


@pytest.fixture
async def clocked_client(
    settings: Settings, clock: ManualClock
) -> AsyncIterator[httpx.AsyncClient]:
    """A server whose clock the test moves."""
    services = Services.build(settings, clock=clock)
    await services.open()
    try:
        async for c in _client_for(services):
            yield c
    finally:
        await services.close()
