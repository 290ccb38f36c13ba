"""``GET /admin/v1/usage``: what the gateway counted, summed over the nodes that counted it and
over the minutes of an hour or a day, with percentiles from the merged latency histograms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tenantgate.storage.usage import UsageTally, percentiles
from tests import factories as f
from tests.conftest import ManualClock

HOUR = datetime(2030, 3, 4, 5, 0, tzinfo=UTC).timestamp()


def node(services, clock):
    """A second node's tally is another tally writing the same tables."""
    return UsageTally(services.batch, clock)


async def usage(client, admin_headers, **params):
    response = await client.get("/admin/v1/usage", params=params, headers=admin_headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_two_nodes_counting_the_same_minute_are_summed(client, services, admin_headers):
    tenant = (await f.tenant(client))["tenant_id"]
    clock = ManualClock(HOUR + 90)
    one, two = node(services, clock), node(services, clock)
    one.record(tenant, "7", "sdmo", 200, None, 0.004)
    one.record(tenant, "7", "sdmo", 401, "UNAUTHENTICATED", 0.0001)
    two.record(tenant, "7", "sdmo", 502, "BAD_GATEWAY", 0.002)
    two.record(tenant, "7", "sdmo", 401, "UNAUTHENTICATED", 0.0001)
    one.flush(everything=True)
    two.flush(everything=True)
    await services.batch.drain()

    body = await usage(
        client,
        admin_headers,
        tenant_id=tenant,
        since="2030-03-04T05:00:00Z",
        until="2030-03-04T05:03:00Z",
    )

    assert body["since"] == "2030-03-04T05:00:00Z" and body["until"] == "2030-03-04T05:03:00Z"
    assert [p["at"] for p in body["points"]] == [
        "2030-03-04T05:00:00Z",
        "2030-03-04T05:01:00Z",
        "2030-03-04T05:02:00Z",
    ]
    minute = body["points"][1]
    assert minute["requests"] == 4
    assert minute["refusals"] == {"UNAUTHENTICATED": 2}
    assert minute["failures"] == {"BAD_GATEWAY": 1}
    assert minute["upstream"] == {"2xx": 1, "3xx": 0, "4xx": 0, "5xx": 0}
    assert 1 < minute["latency_ms"]["p50"] <= 5
    assert body["points"][0]["requests"] == 0
    assert body["points"][0]["latency_ms"] == {"p50": None, "p95": None, "p99": None}


async def test_hours_and_days_merge_the_minutes_histograms(client, services, admin_headers):
    tenant = (await f.tenant(client))["tenant_id"]
    clock = ManualClock(HOUR + 5 * 60)
    tally = node(services, clock)
    fast, slow = [0] * 25, [0] * 25
    for _ in range(90):
        tally.record(tenant, "7", "sdmo", 200, None, 0.0015)
    clock.advance(35 * 60)
    for _ in range(10):
        tally.record(tenant, "7", "sdmo", 200, None, 0.9)
    tally.flush(everything=True)
    await services.batch.drain()
    fast[1], slow[17] = 90, 10
    merged = [a + b for a, b in zip(fast, slow, strict=True)]
    p50, p95, p99 = percentiles(merged, (0.5, 0.95, 0.99)) or ()

    for step in ("hour", "day"):
        body = await usage(
            client,
            admin_headers,
            tenant_id=tenant,
            app="sdmo",
            step=step,
            since="2030-03-04T00:00:00Z",
            until="2030-03-05T00:00:00Z",
        )
        (point,) = [p for p in body["points"] if p["requests"]]
        assert point["requests"] == 100
        assert point["latency_ms"] == {"p50": p50, "p95": p95, "p99": p99}
    assert len(body["points"]) == 1
    assert 1 <= p50 <= 2 and 700 <= p95 <= 1000 and 700 <= p99 <= 1000


async def test_a_filter_that_matches_nothing_answers_zeros(client, admin_headers):
    body = await usage(client, admin_headers, tenant_id="nobody-here", step="hour")

    assert len(body["points"]) == 24
    assert all(p["requests"] == 0 for p in body["points"])


@pytest.mark.parametrize(
    "params",
    [
        {"step": "week"},
        {"tenant_id": "not a tenant"},
        {"since": "2030-03-04T05:00:00Z", "until": "2030-03-04T05:00:00Z"},
        {"since": "2030-01-01T00:00:00Z", "until": "2030-03-01T00:00:00Z"},
        {"since": "yesterday"},
    ],
)
async def test_bad_input_is_400_invalid_request(client, admin_headers, params):
    response = await client.get("/admin/v1/usage", params=params, headers=admin_headers)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_usage_needs_the_admin_token_and_is_documented(client):
    assert (await client.get("/admin/v1/usage")).status_code == 401
    schema = (await client.get("/admin/v1/openapi.json")).json()
    assert "/usage" in schema["paths"]
    assert "UsageOut" in schema["components"]["schemas"]
