"""Fixtures for the SDK: a fake tenantgate on a real port, an injected clock, and clients."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import TypedDict

import pytest

from tenantgate.client import AsyncClient, Client, TokenCache

from .fakeserver import CLIENT_ID, CLIENT_SECRET, TENANT_ID, FakeServer, FakeState, serve


class Settings(TypedDict):
    token_url: str
    client_id: str
    client_secret: str
    tenant_id: str


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Sleeps(list[float]):
    """Records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="session")
def live_server() -> Iterator[FakeServer]:
    with serve(FakeServer()) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def server(live_server: FakeServer, clock: FakeClock) -> FakeServer:
    live_server.state = FakeState(clock=clock)
    return live_server


@pytest.fixture
def cache() -> TokenCache:
    return TokenCache()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def settings(server: FakeServer) -> dict[str, str]:
    return {
        "token_url": server.token_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "tenant_id": TENANT_ID,
    }


@pytest.fixture
def client(
    settings: Settings, cache: TokenCache, clock: FakeClock, sleeps: Sleeps
) -> Iterator[Client]:
    with Client(**settings, cache=cache, clock=clock, sleep=sleeps) as tg:
        yield tg


@pytest.fixture
async def aclient(
    settings: Settings, cache: TokenCache, clock: FakeClock, sleeps: Sleeps
) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(**settings, cache=cache, clock=clock, sleep=sleeps.asleep) as tg:
        yield tg
