from __future__ import annotations

import pytest

from tenantgate.client import (
    AppNotAvailable,
    Client,
    GatewayError,
    GraphQLError,
    InsufficientScope,
    InvalidToken,
)

from .fakeserver import TENANT_ID, Answer, FakeServer

QUERY = "query Orders($first: Int) { orders(first: $first) { id } }"


def upstream_fault(status: int, code: str) -> Answer:
    return Answer(
        status, {"errors": [{"message": f"upstream {code}", "extensions": {"code": code}}]}
    )


def test_graphql_posts_to_the_url_the_token_api_gave_and_returns_data(
    client: Client, server: FakeServer
) -> None:
    data = client.graphql("sdmo", QUERY, {"first": 5}, operation_name="Orders")

    assert data == {
        "echo": {
            "app": "sdmo",
            "tenant": TENANT_ID,
            "query": QUERY,
            "variables": {"first": 5},
            "operationName": "Orders",
        }
    }
    token = client.token()
    assert server.state.gateway_requests[0]["authorization"] == f"Bearer {token.access_token}"
    assert client.app_url("shopfloor") == token.apps["shopfloor"]


def test_an_app_missing_from_urls_apps_is_not_available(client: Client, server: FakeServer) -> None:
    with pytest.raises(AppNotAvailable, match=r"'crm'.*sdmo, shopfloor") as caught:
        client.graphql("crm", "{ a }")

    assert caught.value.available == ["sdmo", "shopfloor"]
    assert server.state.gateway_requests == []


def test_a_refused_token_is_renewed_and_the_request_sent_once_more(
    client: Client, server: FakeServer
) -> None:
    client.graphql("sdmo", "{ a }")
    server.state.revoke_all()

    assert client.graphql("sdmo", "{ b }")["echo"]["query"] == "{ b }"

    assert server.state.token_requests == 2
    first, refused, retried = server.state.gateway_requests
    assert refused["authorization"] == first["authorization"] != retried["authorization"]


def test_a_second_refusal_is_an_invalid_token_error(client: Client, server: FakeServer) -> None:
    server.state.refuse_all_tokens = True

    with pytest.raises(InvalidToken) as caught:
        client.graphql("sdmo", "{ a }")

    assert caught.value.status == 401
    assert caught.value.request_id == "req-2"
    assert server.state.token_requests == 2
    assert len(server.state.gateway_requests) == 2


@pytest.mark.parametrize(("status", "code"), [(502, "BAD_GATEWAY"), (504, "GATEWAY_TIMEOUT")])
def test_upstream_faults_are_graphql_errors_with_status_and_request_id(
    client: Client, server: FakeServer, status: int, code: str
) -> None:
    server.state.gateway_script.append(upstream_fault(status, code))

    with pytest.raises(GraphQLError) as caught:
        client.graphql("sdmo", "{ a }")

    error = caught.value
    assert (error.status, error.request_id, error.codes) == (status, "req-1", [code])
    assert error.errors == [{"message": f"upstream {code}", "extensions": {"code": code}}]
    assert f"HTTP {status}, request id req-1" in str(error)


def test_errors_beside_data_raise_with_the_partial_data(client: Client, server: FakeServer) -> None:
    body = {"data": {"orders": None}, "errors": [{"message": "no access to orders"}]}
    server.state.gateway_script.append(Answer(200, body))

    with pytest.raises(GraphQLError, match="no access to orders") as caught:
        client.graphql("sdmo", "{ orders { id } }")

    assert caught.value.status == 200
    assert caught.value.data == {"orders": None}


def test_insufficient_scope_is_its_own_error(client: Client, server: FakeServer) -> None:
    challenge = {"WWW-Authenticate": 'Bearer error="insufficient_scope"'}
    server.state.gateway_script.append(Answer(403, {"error": "insufficient_scope"}, challenge))

    with pytest.raises(InsufficientScope) as caught:
        client.graphql("sdmo", "{ a }")
    assert caught.value.status == 403


def test_a_body_that_is_not_graphql_is_a_gateway_error(client: Client, server: FakeServer) -> None:
    server.state.gateway_script.append(Answer(500, None))

    with pytest.raises(GatewayError, match="HTTP 500, request id req-1"):
        client.graphql("sdmo", "{ a }")
