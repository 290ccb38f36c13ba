"""The gateway counts each request under its tenant, application and app: the upstream's answers
by status class, its own refusals and failures by code, and how long the forwarded ones took;
the counts reach the database with the group commit and are read back through the admin API."""

from __future__ import annotations

from typing import Any

import pytest

from tenantgate.services import Services
from tests.gateway.conftest import UPSTREAM_TIMEOUT, _client_for
from tests.gateway.helpers import QUERY, bearer, gateway_url, token_for

pytestmark = pytest.mark.slow_upstream
"""Upstreams slower than the timeout are part of this module."""


async def written(services: Any) -> None:
    services.usage.flush(everything=True)
    await services.batch.drain()


async def usage(client: Any, admin_headers: dict[str, str], **params: str) -> dict[str, Any]:
    """A day at a time, so that requests around a minute's end still land in one point."""
    params = {"step": "day", **params}
    response = await client.get("/admin/v1/usage", params=params, headers=admin_headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def counted(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [point for point in body["points"] if point["requests"]]


async def test_answers_refusals_and_failures_are_counted_per_application_and_app(
    client, services, admin_headers, echo_url
):
    apps = {
        "sdmo": f"{echo_url}/status/200",
        "shopfloor": f"{echo_url}/status/503",
        "slow": f"{echo_url}/sleep/{UPSTREAM_TIMEOUT * 2}",
    }
    setup, token = await token_for(client, apps, allowed=["sdmo", "shopfloor", "slow"])
    for _ in range(3):
        response = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))
        assert response.status_code == 200
    shopfloor = gateway_url(token, "shopfloor")
    assert (await client.post(shopfloor, json=QUERY, headers=bearer(token))).status_code == 503
    slow = gateway_url(token, "slow")
    assert (await client.post(slow, json=QUERY, headers=bearer(token))).status_code == 504
    other = gateway_url(token).replace("/sdmo/", "/elsewhere/")
    assert (await client.post(other, json=QUERY, headers=bearer(token))).status_code == 403
    assert (await client.post(gateway_url(token), json=QUERY)).status_code == 401

    await written(services)

    sdmo = counted(await usage(client, admin_headers, tenant_id=setup.tenant_id, app="sdmo"))
    assert len(sdmo) == 1
    assert sdmo[0]["requests"] == 3
    assert sdmo[0]["upstream"] == {"2xx": 3, "3xx": 0, "4xx": 0, "5xx": 0}
    assert sdmo[0]["refusals"] == {} and sdmo[0]["failures"] == {}
    assert 0 < sdmo[0]["latency_ms"]["p50"] <= sdmo[0]["latency_ms"]["p99"] < 1000
    everything = counted(await usage(client, admin_headers, application_id=setup.application_id))[0]
    assert everything["requests"] == 6
    assert everything["upstream"]["5xx"] == 1
    assert everything["refusals"] == {"FORBIDDEN": 1}
    assert everything["failures"] == {"GATEWAY_TIMEOUT": 1}
    assert everything["latency_ms"]["p99"] >= UPSTREAM_TIMEOUT * 1000


async def test_a_refusal_before_the_token_is_read_is_counted_without_a_tenant(
    client, services, admin_headers, echo_url
):
    setup, token = await token_for(client, {"sdmo": f"{echo_url}/status/200"})
    headers = {"Authorization": "Bearer not-a-token"}
    assert (await client.post(gateway_url(token), json=QUERY, headers=headers)).status_code == 401

    await written(services)

    assert counted(await usage(client, admin_headers, tenant_id=setup.tenant_id)) == []
    overall = counted(await usage(client, admin_headers))
    assert sum(point["refusals"].get("UNAUTHENTICATED", 0) for point in overall) >= 1


async def test_nothing_is_written_per_request(client, services, admin_headers, echo_url):
    setup, token = await token_for(client, {"sdmo": f"{echo_url}/status/200"})
    await client.post(gateway_url(token), json=QUERY, headers=bearer(token))
    await services.batch.drain()

    assert counted(await usage(client, admin_headers, tenant_id=setup.tenant_id)) == []


async def test_with_usage_off_nothing_is_counted(settings, echo_url):
    services = Services.build(settings.model_copy(update={"gateway_usage": False}))
    await services.open()
    try:
        async for client in _client_for(services):
            _, token = await token_for(client, {"sdmo": f"{echo_url}/status/200"})
            response = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))
            assert response.status_code == 200
            assert services.usage.flush(everything=True) == 0
    finally:
        await services.close()
