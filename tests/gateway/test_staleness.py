"""A node that cannot confirm that its memory is current (TENANTGATE_MAX_STALENESS) refuses
what it would answer from memory, says so on /readyz, and serves again once a read of the
change feed succeeds. Here the feed is never read in the background and its staleness is
measured on a clock the test moves, so the node goes stale when the test says, and a pause of
the test machine never makes it so."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tenantgate.services import Services
from tenantgate.settings import Settings
from tests import factories as f
from tests.conftest import ManualClock
from tests.gateway.conftest import _client_for
from tests.gateway.helpers import QUERY, bearer, echo_apps, gateway_url, graphql_error_code

BOUND = 0.4


@pytest.fixture
def elapsed() -> ManualClock:
    """The feed's monotonic clock, moved by the test alone."""
    return ManualClock(0.0)


async def _node(
    settings: Settings, elapsed: ManualClock
) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    services = Services.build(settings, monotonic=elapsed)
    await services.open(background=False)
    services.batch.start()  # token issuance needs the writer; the feed stays unread
    try:
        async for client in _client_for(services):
            yield services, client
    finally:
        await services.close()


@pytest.fixture
async def node(
    settings: Settings, elapsed: ManualClock
) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    async for pair in _node(settings.model_copy(update={"max_staleness": BOUND}), elapsed):
        yield pair


@pytest.fixture
async def unbounded_node(
    settings: Settings, elapsed: ManualClock
) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    async for pair in _node(settings.model_copy(update={"max_staleness": 0}), elapsed):
        yield pair


def _stale(services: Services, elapsed: ManualClock) -> None:
    """Let the bound pass since the last confirmed read."""
    elapsed.advance(BOUND + 0.1)
    assert services.feed.staleness() > BOUND


async def test_a_stale_node_refuses_then_serves_again_once_current(node, elapsed, echo_url):
    services, client = node
    setup = await f.accepted_setup(client, echo_apps(echo_url))
    await services.feed.poll()
    token = await f.get_token(client, setup)
    assert (await client.get("/readyz")).json() == {"status": "ready"}
    assert (await client.post(gateway_url(token), json=QUERY, headers=bearer(token))).is_success

    _stale(services, elapsed)
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "not_ready"
    assert "TENANTGATE_MAX_STALENESS" in ready.json()["reason"]
    assert ready.headers["retry-after"]
    assert (await client.get("/healthz")).status_code == 200  # liveness is not readiness

    refused = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))
    assert refused.status_code == 503
    assert graphql_error_code(refused) == "UNAVAILABLE"
    assert refused.headers["retry-after"]

    no_token = await client.post("/v1/token", data=setup.form())
    assert no_token.status_code == 503
    assert no_token.json()["error"] == "temporarily_unavailable"
    assert no_token.headers["retry-after"]

    introspected = await client.post(
        "/v1/token/introspect", data={"token": token["access_token"]}, headers=f.ADMIN
    )
    assert introspected.status_code == 503
    assert introspected.json()["error"] == "temporarily_unavailable"

    metrics = (await client.get("/metrics", headers=f.ADMIN)).text
    assert 'tenantgate_stale_refusals_total{surface="gateway"} 1.0' in metrics
    assert 'tenantgate_stale_refusals_total{surface="token"} 1.0' in metrics
    assert "tenantgate_feed_lag_seconds" in metrics

    await services.feed.poll()
    assert (await client.get("/readyz")).status_code == 200
    again = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))
    assert again.status_code == 200
    assert (await client.post("/v1/token", data=setup.form())).status_code == 200


async def test_max_staleness_zero_never_refuses(unbounded_node, elapsed, echo_url):
    _services, client = unbounded_node
    setup = await f.accepted_setup(client, echo_apps(echo_url))
    token = await f.get_token(client, setup)
    elapsed.advance(BOUND + 0.1)
    assert (await client.get("/readyz")).status_code == 200
    answer = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))
    assert answer.status_code == 200
    assert (await client.post("/v1/token", data=setup.form())).status_code == 200
