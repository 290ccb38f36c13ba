"""An expired token is renewed once, however many callers find it expired."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from tenantgate.client import AsyncClient, Client

from .conftest import FakeClock
from .fakeserver import FakeServer

CALLERS = 100


def test_a_hundred_threads_renew_an_expired_token_once(
    client: Client, server: FakeServer, clock: FakeClock
) -> None:
    expired = client.token()
    clock.advance(900)
    server.state.token_requests = 0
    server.state.token_delay = 0.2
    start = threading.Barrier(CALLERS)

    def call(_: int) -> str:
        start.wait()
        return client.token().access_token

    with ThreadPoolExecutor(CALLERS) as pool:
        tokens = set(pool.map(call, range(CALLERS)))

    assert server.state.token_requests == 1
    assert len(tokens) == 1
    assert tokens != {expired.access_token}


async def test_a_hundred_tasks_renew_an_expired_token_once(
    aclient: AsyncClient, server: FakeServer, clock: FakeClock
) -> None:
    expired = await aclient.token()
    clock.advance(900)
    server.state.token_requests = 0
    server.state.token_delay = 0.2

    tokens = await asyncio.gather(*(aclient.token() for _ in range(CALLERS)))

    assert server.state.token_requests == 1
    assert {token.access_token for token in tokens} - {expired.access_token} == {
        tokens[0].access_token
    }


def test_a_hundred_threads_refused_by_the_gateway_renew_once(
    client: Client, server: FakeServer
) -> None:
    client.graphql("sdmo", "{ a }")
    server.state.revoke_all()
    server.state.token_requests = 0
    server.state.token_delay = 0.2
    start = threading.Barrier(CALLERS)

    def call(_: int) -> dict[str, object]:
        start.wait()
        return client.graphql("sdmo", "{ a }")

    with ThreadPoolExecutor(CALLERS) as pool:
        results = list(pool.map(call, range(CALLERS)))

    assert len(results) == CALLERS
    assert server.state.token_requests == 1
