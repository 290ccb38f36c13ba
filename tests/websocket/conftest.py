"""WebSocket fixtures: a real tenantgate served by uvicorn on a free port of 127.0.0.1, whose
in-process reference apps (/refapps/<name>/graphql) are the upstreams, on both backends."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp

from tenantgate.app import create_app
from tenantgate.services import Services
from tenantgate.settings import Settings
from tests.conftest import ADMIN_TOKEN, ManualClock

UPSTREAM_TIMEOUT = 15.0
MAX_BODY = 64 * 1024


def ws_settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key="test-server-secret",
        admin_token=ADMIN_TOKEN,
        commit_interval_ms=1.0,
        upstream_timeout=UPSTREAM_TIMEOUT,
        max_body_bytes=MAX_BODY,
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return ws_settings(database_url, tmp_path)


@dataclass
class Server:
    port: int
    http: httpx.AsyncClient

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ws"

    def refapp_url(self, app: str) -> str:
        return f"{self.base_url}/refapps/{app}/graphql"


@contextmanager
def serving(settings: Settings, services: Services) -> Iterator[int]:
    """The whole server, which opens its services in its own event loop; the port."""
    with serving_app(create_app(settings, services)) as port:
        yield port


@contextmanager
def serving_app(app: ASGIApp) -> Iterator[int]:
    """``app`` served by uvicorn in a thread on a free port of 127.0.0.1; the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", loop="asyncio", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


@asynccontextmanager
async def client_of(port: int) -> AsyncIterator[Server]:
    base_url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=10, trust_env=False) as http:
        yield Server(port, http)


@pytest.fixture(scope="module")
def server_port(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One server per module and backend: each test makes its own tenants on it."""
    settings = ws_settings(database_url, tmp_path_factory.mktemp("websocket"))
    with serving(settings, Services.build(settings)) as port:
        yield port


@pytest.fixture
async def server(server_port: int) -> AsyncIterator[Server]:
    async with client_of(server_port) as started:
        yield started


@pytest.fixture
def clock() -> ManualClock:
    # PyJWT checks `iat` against the system clock, so the manual clock starts at real time.
    return ManualClock(time.time())


@pytest.fixture
async def clocked_server(settings: Settings, clock: ManualClock) -> AsyncIterator[Server]:
    """A server of its own whose clock the test moves."""
    with serving(settings, Services.build(settings, clock=clock)) as port:
        async with client_of(port) as started:
            yield started
