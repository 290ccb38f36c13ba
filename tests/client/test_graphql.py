from __future__ import annotations

import pytest

from tenantgate.client import (
    AppNotAvailable,
    Client,
    Forbidden,
    GatewayError,
    GraphQLError,
    InsufficientScope,
    InvalidToken,
    Limit,
    Policy,
    RateLimitExceeded,
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


def test_a_role_refusal_is_forbidden_naming_the_operation_and_field(
    client: Client, server: FakeServer
) -> None:
    refusal = {
        "message": "no role of this API user allows mutation createSalesOrder on sdmo",
        "extensions": {"code": "FORBIDDEN", "operation": "mutation", "field": "createSalesOrder"},
    }
    server.state.gateway_script.append(Answer(403, {"errors": [refusal]}))

    with pytest.raises(Forbidden) as caught:
        client.graphql("sdmo", "mutation { createSalesOrder { id } }")
    assert isinstance(caught.value, GraphQLError) and caught.value.status == 403
    assert (caught.value.operation, caught.value.field) == ("mutation", "createSalesOrder")


def test_a_rate_limit_refusal_carries_retry_after(client: Client, server: FakeServer) -> None:
    refusal = {"message": "rate limit reached", "extensions": {"code": "RATE_LIMITED"}}
    headers = {
        "Retry-After": "7",
        "RateLimit-Policy": '"minute";q=600;w=60',
        "RateLimit": '"minute";r=0;t=7',
    }
    server.state.gateway_script.append(Answer(429, {"errors": [refusal]}, headers))

    with pytest.raises(RateLimitExceeded) as caught:
        client.graphql("sdmo", "{ a }")
    assert caught.value.retry_after == 7.0 and caught.value.codes == ["RATE_LIMITED"]
    assert client.rate_limit is not None and client.rate_limit.remaining == 0


def test_the_ratelimit_headers_of_the_last_answer_are_kept(
    client: Client, server: FakeServer
) -> None:
    headers = {
        "RateLimit-Policy": '"burst";q=60;w=1, "day";q=100000;w=86400',
        "RateLimit": '"burst";r=59;t=1, "day";r=99998;t=3600',
    }
    server.state.gateway_script.append(Answer(200, {"data": {"a": 1}}, headers))
    assert client.rate_limit is None

    client.graphql("sdmo", "{ a }")

    limits = client.rate_limit
    assert limits is not None
    assert limits.policies == {"burst": Policy(60, 1), "day": Policy(100000, 86400)}
    assert limits.limits == {"burst": Limit(59, 1), "day": Limit(99998, 3600)}
    assert limits.remaining == 59
    server.state.gateway_script.append(Answer(200, {"data": {"a": 1}}))
    client.graphql("sdmo", "{ a }")
    assert client.rate_limit is None  # the last answer had none
