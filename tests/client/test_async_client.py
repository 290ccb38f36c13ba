"""The async client, run in-process against the fake through ``httpx.ASGITransport``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tenantgate.client import AccessDenied, AsyncClient, GraphQLError, RateLimited, TokenCache

from .conftest import FakeClock, Sleeps
from .fakeserver import (
    CLIENT_ID,
    CLIENT_SECRET,
    STRANGER_TENANT,
    TENANT_ID,
    Answer,
    FakeServer,
    FakeState,
)


@pytest.fixture
def in_process(clock: FakeClock) -> FakeServer:
    return FakeServer(state=FakeState(clock=clock))


@pytest.fixture
async def tg(
    in_process: FakeServer, clock: FakeClock, sleeps: Sleeps
) -> AsyncIterator[AsyncClient]:
    transport = httpx.ASGITransport(app=in_process.app())
    async with AsyncClient(
        token_url=in_process.token_url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        tenant_id=TENANT_ID,
        transport=transport,
        cache=TokenCache(),
        clock=clock,
        sleep=sleeps.asleep,
    ) as client:
        yield client


async def test_graphql_over_an_injected_transport(tg: AsyncClient, in_process: FakeServer) -> None:
    data = await tg.graphql("sdmo", "{ a }", {"x": 1})

    assert data["echo"]["variables"] == {"x": 1}
    assert (await tg.app_url("sdmo")).startswith("http://testserver/v1/fwd/")
    assert in_process.state.token_requests == 1


async def test_async_renewal_follows_the_clock(
    tg: AsyncClient, in_process: FakeServer, clock: FakeClock
) -> None:
    first = await tg.token()
    clock.advance(840)

    assert (await tg.token()) is not first
    assert in_process.state.token_requests == 2


async def test_async_401_is_retried_once(tg: AsyncClient, in_process: FakeServer) -> None:
    await tg.graphql("sdmo", "{ a }")
    in_process.state.revoke_all()

    await tg.graphql("sdmo", "{ a }")

    assert in_process.state.token_requests == 2


async def test_async_rate_limit_waits_with_the_injected_sleep(
    tg: AsyncClient, in_process: FakeServer, sleeps: Sleeps
) -> None:
    body = {"error": "slow_down", "error_description": "later"}
    in_process.state.token_script.extend(Answer(429, body, {"Retry-After": "5"}) for _ in range(9))

    with pytest.raises(RateLimited):
        await tg.token()
    assert sleeps == [5.0, 5.0, 5.0]


async def test_async_errors_are_typed(
    tg: AsyncClient, in_process: FakeServer, sleeps: Sleeps
) -> None:
    in_process.state.gateway_script.append(
        Answer(
            413, {"errors": [{"message": "too large", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}
        )
    )
    with pytest.raises(GraphQLError) as caught:
        await tg.graphql("sdmo", "{ a }")
    assert (caught.value.status, caught.value.request_id) == (413, "req-1")

    stranger = AsyncClient(
        token_url=in_process.token_url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        tenant_id=STRANGER_TENANT,
        transport=httpx.ASGITransport(app=in_process.app()),
        cache=TokenCache(),
    )
    async with stranger:
        with pytest.raises(AccessDenied):
            await stranger.token()
