"""An API user makes gateway requests up to its rate (a bucket of ``burst`` that refills at
``requests_per_minute``) and its daily quota: past them, 429 RATE_LIMITED with Retry-After.
Every answer to a limited API user carries RateLimit-Policy and RateLimit
(draft-ietf-httpapi-ratelimit-headers-11). With Redis the limits hold across nodes, and a node
that cannot reach Redis counts on its own rather than fail. Driven over real HTTP against
started servers whose upstreams are the reference apps, and a real Redis."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tenantgate.services import Services
from tenantgate.settings import Settings
from tests import factories as f
from tests.conftest import PATIENT
from tests.gateway.upstream import closed_port
from tests.websocket.conftest import Server, client_of, serving, ws_settings
from tests.websocket.helpers import Tenant, tenant

REDIS = "redis://127.0.0.1:6379/0"
QUERY = {"query": "{ __typename }"}


@pytest.fixture(scope="module")
def server_port(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    settings = ws_settings(database_url, tmp_path_factory.mktemp("gateway-rates"))
    with serving(settings, Services.build(settings)) as port:
        yield port


@pytest.fixture
async def server(server_port: int) -> AsyncIterator[Server]:
    async with client_of(server_port) as started:
        yield started


async def limit(t: Tenant, **fields: Any) -> httpx.Response:
    path = f"/admin/v1/tenants/{t.setup.tenant_id}/api-users/{t.setup.application_id}"
    body = {"first_name": "Api", "last_name": "User", **fields}
    return await t.server.http.put(path, json=body, headers=f.ADMIN)


async def limited(server: Server, **fields: Any) -> Tenant:
    t = await tenant(server)
    response = await limit(t, **fields)
    assert response.status_code == 200, response.text
    return t


async def call(
    t: Tenant, http: httpx.AsyncClient | None = None, port: int | None = None
) -> httpx.Response:
    url = t.token["urls"]["apps"]["sdmo"]["graphQL"]
    if port is not None:
        url = re.sub(r":\d+/", f":{port}/", url, count=1)
    return await (http or t.server.http).post(url, json=QUERY, headers=t.bearer)


def rate_limited(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    seconds = int(response.headers["retry-after"])
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": seconds}
    assert error["message"] == f"Too many requests for this API user: retry after {seconds} s."
    return seconds


async def test_past_the_burst_requests_are_refused_until_the_bucket_refills(server):
    t = await limited(server, rate_limit={"requests_per_minute": 6, "burst": 2})

    first, second, third = [await call(t) for _ in range(3)]

    assert first.status_code == 200 and second.status_code == 200
    assert first.headers["ratelimit-policy"] == "minute;q=2;w=20"
    assert first.headers["ratelimit"] == "minute;r=1;t=10"
    assert second.headers["ratelimit"] == "minute;r=0;t=20"
    assert 1 <= rate_limited(third) <= 10
    assert third.headers["ratelimit-policy"] == "minute;q=2;w=20"
    assert third.headers["ratelimit"].startswith("minute;r=0;")


async def test_past_the_daily_quota_requests_are_refused_until_the_next_utc_day(server):
    t = await limited(server, daily_quota=2)

    answers = [await call(t) for _ in range(3)]

    assert [a.status_code for a in answers[:2]] == [200, 200]
    assert answers[0].headers["ratelimit-policy"] == "day;q=2;w=86400"
    assert re.fullmatch(r"day;r=1;t=\d+", answers[0].headers["ratelimit"])
    assert re.fullmatch(r"day;r=0;t=\d+", answers[1].headers["ratelimit"])
    retry = rate_limited(answers[2])
    assert 0 < retry <= 86_400
    assert answers[2].headers["ratelimit"] == f"day;r=0;t={retry}"


async def test_both_limits_are_advertised_together(server):
    t = await limited(server, rate_limit={"requests_per_minute": 600}, daily_quota=100_000)

    response = await call(t)

    assert response.status_code == 200
    assert response.headers["ratelimit-policy"] == "minute;q=600;w=60, day;q=100000;w=86400"
    assert re.fullmatch(r"minute;r=599;t=1, day;r=99999;t=\d+", response.headers["ratelimit"])


async def test_the_gateways_own_refusals_carry_the_fields_too(server):
    t = await limited(server, rate_limit={"requests_per_minute": 600})
    app = f"/admin/v1/tenants/{t.setup.tenant_id}/apps/sdmo"
    body = {"graphql_url": server.refapp_url("sdmo"), "limits": {"max_depth": 1}}
    assert (await server.http.put(app, json=body, headers=f.ADMIN)).status_code == 200
    url = t.token["urls"]["apps"]["sdmo"]["graphQL"]

    refused = await server.http.post(url, json={"query": "{ sites { id } }"}, headers=t.bearer)

    assert refused.status_code == 400
    assert refused.headers["ratelimit-policy"] == "minute;q=600;w=60"
    assert refused.headers["ratelimit"] == "minute;r=599;t=1"


async def test_an_api_user_without_limits_gets_no_ratelimit_fields(server):
    t = await tenant(server)

    response = await call(t)

    assert response.status_code == 200
    assert "ratelimit" not in response.headers
    assert "ratelimit-policy" not in response.headers


async def test_limits_are_set_read_kept_and_checked_by_the_admin_api(server):
    t = await tenant(server)

    given = await limit(t, rate_limit={"requests_per_minute": 600, "burst": 60}, daily_quota=10)
    replaced = await limit(t)
    malformed = [
        await limit(t, rate_limit={"requests_per_minute": 0}),
        await limit(t, rate_limit={"per_second": 5}),
        await limit(t, rate_limit={"requests_per_minute": "600"}),
        await limit(t, daily_quota=0),
        await limit(t, daily_quota=1.5),
    ]

    assert given.json()["rate_limit"] == {"requests_per_minute": 600, "burst": 60}
    assert given.json()["daily_quota"] == 10
    assert replaced.json()["rate_limit"] is None and replaced.json()["daily_quota"] is None
    assert [m.status_code for m in malformed] == [400] * 5
    assert {m.json()["error"] for m in malformed} == {"invalid_request"}


async def test_the_operators_defaults_apply_to_api_users_without_their_own(
    database_url: str, tmp_path: Path
) -> None:
    settings = ws_settings(database_url, tmp_path).model_copy(
        update={"rate_limit_per_minute": 60, "rate_limit_burst": 1}
    )
    with serving(settings, Services.build(settings)) as port:
        async with client_of(port) as server:
            defaults = await tenant(server)
            own = await limited(server, rate_limit={"burst": 3})

            assert (await call(defaults)).status_code == 200
            assert rate_limited(await call(defaults)) >= 1
            assert [(await call(own)).status_code for _ in range(4)] == [200, 200, 200, 429]


def redis_settings(database_url: str, tmp_path: Path, **update: Any) -> Settings:
    prefix = f"tenantgate-test-{uuid.uuid4().hex[:8]}:"
    return ws_settings(database_url, tmp_path).model_copy(
        update={"redis_url": REDIS, "redis_prefix": prefix, "redis_timeout": PATIENT, **update}
    )


async def test_two_nodes_share_one_rate_limit_through_redis(database_url, tmp_path):
    settings = redis_settings(database_url, tmp_path, change_poll_interval=0.1)
    one, two = Services.build(settings), Services.build(settings)
    with serving(settings, one) as a, serving(settings, two) as b:
        async with client_of(a) as node_a, client_of(b) as node_b:
            t = await limited(node_a, rate_limit={"requests_per_minute": 1, "burst": 3})
            await _holds_limits(two, t)

            answers = [
                await call(t, http, port) for http, port in [(node_a.http, a), (node_b.http, b)] * 3
            ]

    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429, 429]
    assert [r.headers["ratelimit"].split(";t=")[0] for r in answers[:3]] == [
        "minute;r=2",
        "minute;r=1",
        "minute;r=0",
    ]
    assert all(r.headers["ratelimit-policy"] == "minute;q=3;w=180" for r in answers)


async def test_a_node_that_cannot_reach_redis_counts_on_its_own(database_url, tmp_path):
    settings = ws_settings(database_url, tmp_path).model_copy(
        update={"redis_url": f"redis://127.0.0.1:{closed_port()}/0", "redis_timeout": 0.2}
    )
    with serving(settings, Services.build(settings)) as port:
        async with client_of(port) as server:
            t = await limited(server, rate_limit={"requests_per_minute": 1, "burst": 2})

            answers = [await call(t) for _ in range(3)]

    assert [r.status_code for r in answers] == [200, 200, 429]


async def _holds_limits(node: Services, t: Tenant, within: float = 5.0) -> None:
    """The other node has applied the API user's limits from the change feed."""
    key = (t.setup.tenant_id, t.setup.application_id)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        user = node.state.api_users.get(key)
        if user is not None and user.allowance.per_minute is not None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the API user's limits did not reach the other node")
