"""When the upstream fails or the caller sends too much, the caller gets a GraphQL-shaped
error with the right status, and the request id to quote."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import MAX_BODY, UPSTREAM_TIMEOUT
from tests.gateway.helpers import (
    QUERY,
    bearer,
    echo_apps,
    gateway_url,
    graphql_error_code,
    token_for,
)
from tests.gateway.upstream import closed_port

pytestmark = pytest.mark.slow_upstream
"""Upstreams slower than the timeout are part of this module."""


async def test_an_upstream_refusing_connections_is_a_502(client):
    _, token = await token_for(client, {"sdmo": f"http://127.0.0.1:{closed_port()}/graphql"})

    response = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))

    assert response.status_code == 502
    assert graphql_error_code(response) == "BAD_GATEWAY"
    assert response.headers["x-request-id"]


async def test_an_upstream_dropping_the_connection_is_a_502(client, dropper_url):
    _, token = await token_for(client, {"sdmo": f"{dropper_url}/graphql"})

    response = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))

    assert response.status_code == 502
    assert graphql_error_code(response) == "BAD_GATEWAY"


async def test_an_upstream_slower_than_the_timeout_is_a_504(client, echo_url):
    _, token = await token_for(client, {"sdmo": f"{echo_url}/sleep/{UPSTREAM_TIMEOUT * 2}"})
    headers = {**bearer(token), "X-Request-Id": "slow-1"}

    response = await client.post(gateway_url(token), json=QUERY, headers=headers)

    assert response.status_code == 504
    assert graphql_error_code(response) == "GATEWAY_TIMEOUT"
    assert response.headers["x-request-id"] == "slow-1"


async def test_an_upstream_just_within_the_timeout_answers(client, echo_url):
    _, token = await token_for(client, {"sdmo": f"{echo_url}/sleep/{UPSTREAM_TIMEOUT / 5}"})

    response = await client.post(gateway_url(token), json=QUERY, headers=bearer(token))

    assert response.status_code == 200


async def test_a_body_declared_over_the_limit_is_a_413(client, echo_url):
    _, token = await token_for(client, echo_apps(echo_url))
    body = b"{" + b" " * MAX_BODY + b"}"

    response = await client.post(gateway_url(token), content=body, headers=bearer(token))

    assert response.status_code == 413
    assert graphql_error_code(response) == "PAYLOAD_TOO_LARGE"
    assert response.headers["x-request-id"]


async def test_a_streamed_body_over_the_limit_is_a_413(client, echo_url):
    _, token = await token_for(client, echo_apps(echo_url))

    async def chunks():
        for _ in range(MAX_BODY // 1024 + 1):
            yield b" " * 1024

    response = await client.post(gateway_url(token), content=chunks(), headers=bearer(token))

    assert response.status_code == 413
    assert graphql_error_code(response) == "PAYLOAD_TOO_LARGE"


async def test_a_streamed_body_at_the_limit_is_forwarded(client, echo_url):
    _, token = await token_for(client, echo_apps(echo_url))

    async def chunks():
        for _ in range(MAX_BODY // 1024):
            yield b" " * 1024

    response = await client.post(gateway_url(token), content=chunks(), headers=bearer(token))

    assert response.status_code == 200
    assert len(response.json()["body"]) == MAX_BODY


@pytest.mark.parametrize("authorization", [None, "Bearer nope"])
async def test_an_oversized_body_without_a_valid_token_is_a_401(client, echo_url, authorization):
    _, token = await token_for(client, echo_apps(echo_url))
    headers = {"Authorization": authorization} if authorization else {}

    response = await client.post(gateway_url(token), content=b"x" * (MAX_BODY + 1), headers=headers)

    assert response.status_code == 401
