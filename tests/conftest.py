"""Shared fixtures: a database per backend per run (SQLite and PostgreSQL), a fresh server per
test over it, and an httpx client that speaks HTTP to that server in-process."""

from __future__ import annotations

import asyncio
import gc
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tenantgate.app import create_app
from tenantgate.services import Services
from tenantgate.settings import Settings
from tests import parse_guard

parse_guard.install()

PG_DSN = os.environ.get("TENANTGATE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = os.environ.get("TENANTGATE_TEST_BACKENDS", "sqlite,postgresql").split(",")
ADMIN_TOKEN = "tga_test-admin-token"
PATIENT = 10.0
"""The timeout of a call to a dependency that answers (Redis, an upstream) in a test of what
happens when it does: far past any pause of a loaded machine (a test process stood still for
2 s once, and a Redis call under a 0.2 s timeout fell back to counting alone), so that only
the tests of a slow or silent dependency ever see a timeout."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After a test module's last test, what is still alive is kept out of later collections.

    The suite's process grows past a million objects, and a full collection that walked all of
    them took up to 2 s: a pause inside any test that holds a server to a wall-clock bound, and
    one of them failed for it. Collecting once here and freezing the survivors leaves each later
    collection only the objects made since. The price: a frozen object that dies later is kept
    until the session ends (millions of them, under 2 GB); they are unfrozen before the
    session's last collection, so that they are still collected and an unclosed resource among
    them still warned about."""
    result = yield
    if nextitem is None or nextitem.path != item.path:
        gc.collect()
        gc.freeze()
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish() -> None:
    gc.unfreeze()


def _pg_admin_dsn() -> str:
    return PG_DSN


async def _create_pg_database(name: str) -> None:
    connection = await asyncpg.connect(_pg_admin_dsn())
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_pg_database(name: str) -> None:
    connection = await asyncpg.connect(_pg_admin_dsn())
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def pg_url(name: str) -> str:
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "tenantgate.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = f"tenantgate_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_create_pg_database(name))
    yield pg_url(name)
    asyncio.run(_drop_pg_database(name))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        secret_key="test-server-secret",
        admin_token=ADMIN_TOKEN,
        public_url=None,
        commit_interval_ms=1.0,
    )


class ManualClock:
    def __init__(self, start: float = 1_900_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    services = Services.build(settings)
    await services.open()
    yield services
    await services.close()


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services.settings, services)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://tg.example.test") as c:
        yield c


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
