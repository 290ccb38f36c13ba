"""An accepted application calls its tenant's app through the gateway and gets the upstream's
answer; the upstream learns who is calling from headers only the gateway sets."""

from __future__ import annotations

import json
import re

import pytest

from tests import factories as f
from tests.gateway.helpers import QUERY, bearer, echo_apps, echoed_headers, gateway_url, token_for


async def test_post_reaches_the_tenants_upstream_with_the_callers_body(client, echo_url):
    setup, token = await token_for(client, echo_apps(echo_url))
    body = json.dumps(QUERY).encode()
    headers = {**bearer(token), "Content-Type": "application/json"}

    response = await client.post(gateway_url(token), content=body, headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    echo = response.json()
    assert echo["marker"] == "a-sdmo"
    assert echo["method"] == "POST"
    assert echo["path"] == "/echo/a-sdmo"
    assert echo["body"].encode() == body
    seen = echoed_headers(response)
    assert seen["content-type"] == ["application/json"]
    assert seen["authorization"] == [f"Bearer {token['access_token']}"]
    assert seen["x-tenant-id"] == [setup.tenant_id]
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_get_passes_the_query_string_to_the_fixed_upstream_url(client, echo_url):
    _, token = await token_for(client, echo_apps(echo_url))
    params = {"query": "{ items { id } }", "variables": '{"first": 2}'}

    response = await client.get(gateway_url(token), params=params, headers=bearer(token))

    assert response.status_code == 200
    echo = response.json()
    assert echo["method"] == "GET"
    assert echo["path"] == "/echo/a-sdmo"
    assert echo["query"] == "query=%7B+items+%7B+id+%7D+%7D&variables=%7B%22first%22%3A+2%7D"


async def test_the_query_string_cannot_steer_the_gateway_elsewhere(client, echo_url):
    _, token = await token_for(client, echo_apps(echo_url))
    url = gateway_url(token) + "?@evil.example:80/steal&url=http://evil.example/"

    response = await client.get(url, headers=bearer(token))

    assert response.status_code == 200
    echo = response.json()
    assert echo["path"] == "/echo/a-sdmo"
    assert echoed_headers(response)["host"] == [echo_url.removeprefix("http://")]


async def test_gateway_sets_identity_headers_and_drops_the_callers_copies(client, echo_url):
    setup, token = await token_for(client, echo_apps(echo_url))
    spoofed = {
        **bearer(token),
        "X-Tenant-Id": "someone-elses-tenant",
        "X-Application-Id": "999999",
        "X-Client-Id": "spoofed-client",
        "X_Tenant_Id": "read-as-x-tenant-id-by-cgi-servers",
        "X-Tenantgate-Gateway": "forged",
        "Host": "evil.example",
    }

    response = await client.post(gateway_url(token), json=QUERY, headers=spoofed)

    seen = echoed_headers(response)
    assert "x_tenant_id" not in seen
    assert len(seen["x-tenantgate-gateway"]) == 1 and seen["x-tenantgate-gateway"] != ["forged"]
    assert seen["x-tenant-id"] == [setup.tenant_id]
    assert seen["x-application-id"] == [setup.application_id]
    assert seen["x-client-id"] == [setup.client_id]
    assert seen["host"] == [echo_url.removeprefix("http://")]
    assert seen["x-request-id"] == [response.headers["x-request-id"]]


async def test_a_well_formed_request_id_is_kept(client, echo_url):
    _, token = await token_for(client, echo_apps(echo_url))
    headers = {**bearer(token), "X-Request-Id": "trace-42.abc_DEF"}

    response = await client.post(gateway_url(token), json=QUERY, headers=headers)

    assert response.headers["x-request-id"] == "trace-42.abc_DEF"
    assert echoed_headers(response)["x-request-id"] == ["trace-42.abc_DEF"]


@pytest.mark.parametrize("sent", ["has space", "x" * 129, "a/b", "semi;colon", ""])
async def test_a_malformed_request_id_is_replaced(client, echo_url, sent):
    _, token = await token_for(client, echo_apps(echo_url))
    headers = {**bearer(token), "X-Request-Id": sent}

    response = await client.post(gateway_url(token), json=QUERY, headers=headers)

    replaced = response.headers["x-request-id"]
    assert replaced != sent
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)
    assert echoed_headers(response)["x-request-id"] == [replaced]


async def test_hop_by_hop_headers_are_removed_on_the_way_up(client, echo_url):
    _, token = await token_for(client, echo_apps(echo_url))
    headers = {
        **bearer(token),
        "Connection": "keep-alive, X-Private-Hop",
        "X-Private-Hop": "for the next hop only",
        "Keep-Alive": "timeout=5",
        "Proxy-Authorization": "Basic c2VjcmV0",
        "TE": "trailers",
        "Trailer": "X-Checksum",
        "Upgrade": "websocket",
        "X-Kept": "yes",
    }

    response = await client.post(gateway_url(token), json=QUERY, headers=headers)

    seen = echoed_headers(response)
    for name in ("x-private-hop", "keep-alive", "proxy-authorization", "te", "trailer", "upgrade"):
        assert name not in seen, name
    assert "keep-alive" not in seen.get("connection", [""])[0]
    assert seen["x-kept"] == ["yes"]


async def test_hop_by_hop_headers_are_removed_on_the_way_back(client, echo_url):
    _, token = await token_for(client, {"sdmo": f"{echo_url}/hop"})

    response = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))

    assert response.status_code == 200
    for name in ("x-upstream-private", "keep-alive", "proxy-authenticate", "trailer", "upgrade"):
        assert name not in response.headers, name
    assert response.headers["x-kept"] == "yes"
    assert response.json() == {"data": {"ok": True}}


@pytest.mark.parametrize("status", [400, 401, 404, 500, 503])
async def test_the_upstreams_status_and_body_come_back_as_they_are(client, echo_url, status):
    _, token = await token_for(client, {"sdmo": f"{echo_url}/status/{status}"})

    response = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))

    assert response.status_code == status
    assert response.headers["content-type"] == "application/graphql-response+json"
    assert response.json() == {"errors": [{"message": f"upstream says {status}"}]}
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("kind", ["big", "chunked"])
async def test_a_large_upstream_answer_comes_back_whole(client, echo_url, kind):
    size = 3_000_000
    _, token = await token_for(client, {"sdmo": f"{echo_url}/{kind}/{size}"})

    response = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))

    assert response.status_code == 200
    assert len(response.content) == size
    assert set(response.content) == {ord("x" if kind == "big" else "y")}


async def test_a_token_of_tenant_a_only_ever_reaches_tenant_as_upstream(client, echo_url):
    _, token_a = await token_for(client, echo_apps(echo_url, "tenant-a"))
    _, token_b = await token_for(client, echo_apps(echo_url, "tenant-b"))
    assert gateway_url(token_a) == gateway_url(token_b)

    as_a = await client.post(gateway_url(token_a), json=QUERY, headers=bearer(token_a))
    as_b = await client.post(gateway_url(token_a), json=QUERY, headers=bearer(token_b))

    assert as_a.json()["marker"] == "tenant-a-sdmo"
    assert as_b.json()["marker"] == "tenant-b-sdmo"
    assert echoed_headers(as_a)["x-tenant-id"] != echoed_headers(as_b)["x-tenant-id"]


async def test_a_change_of_upstream_url_is_followed_at_once(client, echo_url):
    setup, token = await token_for(client, echo_apps(echo_url))
    await client.put(
        f"/admin/v1/tenants/{setup.tenant_id}/apps/sdmo",
        json={"graphql_url": f"{echo_url}/echo/moved"},
        headers=f.ADMIN,
    )

    response = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))

    assert response.json()["marker"] == "moved"


async def test_upstream_connections_are_kept_alive_and_reused(client, echo_url):
    _, token = await token_for(client, echo_apps(echo_url))

    first = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))
    second = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))

    assert first.json()["peer"] == second.json()["peer"]
    assert "connection" not in echoed_headers(second)


async def test_an_upstream_closing_its_connection_is_no_fault(client, echo_url):
    _, token = await token_for(client, {"sdmo": f"{echo_url}/close"})

    first = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))
    second = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["peer"] != second.json()["peer"]
