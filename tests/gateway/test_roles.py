"""An API user that holds roles reaches only what their grants cover: the gateway reads each
GraphQL document, picks the operation by operationName, and refuses (403 FORBIDDEN, naming
the operation type and field) what no grant covers, before the upstream sees it. Driven over
real HTTP against a started server whose upstreams are the reference apps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tenantgate.services import Services
from tests import factories as f
from tests.websocket.conftest import Server, client_of, serving, ws_settings
from tests.websocket.helpers import CREATE_ORDER, ORDER_SETUP, Tenant, tenant

READ_STOCK = {"app": "sdmo", "operations": ["query"], "fields": ["items", "stockLevels"]}
ORDERING = [
    {"app": "sdmo", "operations": ["query"], "fields": ["*"]},
    {"app": "sdmo", "operations": ["mutation"], "fields": ["createSalesOrder"]},
]
HIDDEN_MUTATION = """
mutation Order($input: CreateSalesOrderInput!) { ...Ordering }
fragment Ordering on Mutation { createSalesOrder(input: $input) { id } }"""
TWO_OPERATIONS = """
query Stock { stockLevels { quantity } }
mutation Order($input: CreateSalesOrderInput!) { createSalesOrder(input: $input) { id } }"""


@pytest.fixture(scope="module")
def server_port(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    settings = ws_settings(database_url, tmp_path_factory.mktemp("gateway-roles"))
    with serving(settings, Services.build(settings)) as port:
        yield port


@pytest.fixture
async def server(server_port: int) -> AsyncIterator[Server]:
    async with client_of(server_port) as started:
        yield started


async def role(t: Tenant, grants: list[dict[str, Any]], name: str = "clerk") -> None:
    path = f"/admin/v1/tenants/{t.setup.tenant_id}/roles/{name}"
    response = await t.server.http.put(path, json={"grants": grants}, headers=f.ADMIN)
    assert response.status_code in (200, 201), response.text


async def hold(t: Tenant, *roles: str | None) -> None:
    path = f"/admin/v1/tenants/{t.setup.tenant_id}/api-users/{t.setup.application_id}"
    body = {"first_name": "Api", "last_name": "User", "roles": None if None in roles else roles}
    response = await t.server.http.put(path, json=body, headers=f.ADMIN)
    assert response.status_code == 200, response.text


async def with_roles(server: Server, *grants: dict[str, Any]) -> Tenant:
    t = await tenant(server)
    await role(t, list(grants))
    await hold(t, "clerk")
    return t


def url(t: Tenant, app: str = "sdmo") -> str:
    value: str = t.token["urls"]["apps"][app]["graphQL"]
    return value


async def post(t: Tenant, query: str, name: str | None = None, **variables: Any) -> httpx.Response:
    body = {"query": query, "variables": variables, "operationName": name}
    return await t.server.http.post(url(t), json=body, headers=t.bearer)


async def order_input(t: Tenant) -> dict[str, Any]:
    setup = await t.graphql("sdmo", ORDER_SETUP, {})
    site = setup["sites"][0]["id"]
    level = max(
        (await t.graphql("sdmo", ORDER_SETUP, {"siteId": site}))["stockLevels"],
        key=lambda level: level["quantity"],
    )
    customer = setup["customers"]["edges"][0]["node"]["id"]
    line = {"itemId": level["itemId"], "quantity": 1}
    return {"customerId": customer, "siteId": site, "lines": [line]}


def refusal(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 403, response.text
    assert response.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'
    (error,) = response.json()["errors"]
    assert error["message"]
    extensions: dict[str, Any] = error["extensions"]
    return extensions


def code(response: httpx.Response) -> str:
    value: str = response.json()["errors"][0]["extensions"]["code"]
    return value


async def test_a_read_only_role_refuses_a_mutation_hidden_in_a_fragment(server):
    writer = await tenant(server)
    order = await order_input(writer)
    t = await with_roles(server, READ_STOCK)

    read = await post(t, "{ stockLevels { quantity } items(first: 1) { edges { node { id } } } }")
    refused = await post(t, HIDDEN_MUTATION, "Order", input=order)

    assert read.status_code == 200
    assert "errors" not in read.json()
    assert refusal(refused) == {
        "code": "FORBIDDEN",
        "operation": "mutation",
        "field": "createSalesOrder",
    }


async def test_a_field_outside_the_grant_is_refused_through_inline_fragments_too(server):
    t = await with_roles(server, READ_STOCK)

    plain = await post(t, "{ items { edges { node { id } } } customers { edges { cursor } } }")
    inline = await post(
        t, "{ items { edges { cursor } } ... on Query { customers { edges { cursor } } } }"
    )
    other_app = await t.server.http.post(
        url(t, "shopfloor"), json={"query": "{ workOrders { edges { cursor } } }"}, headers=t.bearer
    )

    assert refusal(plain) == {"code": "FORBIDDEN", "operation": "query", "field": "customers"}
    assert refusal(inline)["field"] == "customers"
    assert refusal(other_app) == {"code": "FORBIDDEN", "operation": "query", "field": "workOrders"}


async def test_typename_and_introspection_need_no_grant(server):
    t = await with_roles(server, READ_STOCK)

    typename = await post(t, "{ __typename }")
    introspection = await post(
        t, '{ __schema { queryType { name } } __type(name: "Item") { name } }'
    )
    no_mutations = await post(t, "mutation { __typename }")

    assert typename.json() == {"data": {"__typename": "Query"}}
    assert introspection.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    assert refusal(no_mutations) == {
        "code": "FORBIDDEN",
        "operation": "mutation",
        "field": "__typename",
    }


async def test_the_operation_is_chosen_by_operation_name(server):
    t = await with_roles(server, READ_STOCK)

    stock = await post(t, TWO_OPERATIONS, "Stock")
    order = await post(t, TWO_OPERATIONS, "Order", input={})
    unnamed = await post(t, TWO_OPERATIONS)
    unknown = await post(t, TWO_OPERATIONS, "Nothing")

    assert stock.status_code == 200 and "stockLevels" in stock.json()["data"]
    assert refusal(order)["field"] == "createSalesOrder"
    assert unnamed.status_code == 400
    assert code(unnamed) == "OPERATION_RESOLUTION_FAILURE"
    assert unknown.status_code == 400
    assert code(unknown) == "OPERATION_RESOLUTION_FAILURE"


async def test_a_document_that_does_not_parse_is_a_400(server):
    t = await with_roles(server, READ_STOCK)

    broken = await post(t, "{ items { id }")
    unknown_fragment = await post(t, "{ ...Missing }")

    assert broken.status_code == 400
    assert code(broken) == "GRAPHQL_PARSE_FAILED"
    assert "Syntax Error" in broken.json()["errors"][0]["message"]
    assert unknown_fragment.status_code == 400
    assert code(unknown_fragment) == "GRAPHQL_VALIDATION_FAILED"


async def test_queries_go_over_get_and_mutations_are_a_405(server):
    t = await with_roles(server, *ORDERING)

    query = await t.server.http.get(url(t), params={"query": "{ sites { id } }"}, headers=t.bearer)
    mutation = await t.server.http.get(
        url(t),
        params={"query": "mutation { createSalesOrder(input: {}) { id } }"},
        headers=t.bearer,
    )

    assert query.status_code == 200, query.text
    assert query.json()["data"]["sites"]
    assert mutation.status_code == 405
    assert mutation.headers["allow"] == "POST"
    assert code(mutation) == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        (b'{"query": "{ items { id } }"', "application/json", 400, "BAD_REQUEST"),
        (b'[{"query": "{ items { id } }"}]', "application/json", 400, "BAD_REQUEST"),
        (b'{"variables": {}}', "application/json", 400, "BAD_REQUEST"),
        (
            b'{"query": "{ sites { id } }", "\\u0071uery": "{ customers { id } }"}',
            "application/json",
            400,
            "BAD_REQUEST",
        ),
        (b'{"query": "{ items { id } }"}', "multipart/form-data; boundary=x", 415, None),
        (b'{"query": "{ items { id } }"}', "application/graphql", 415, None),
    ],
)
async def test_what_the_gateway_cannot_read_as_the_upstream_would_is_refused(
    server, content, content_type, status, error
):
    t = await with_roles(server, READ_STOCK)
    headers = {**t.bearer, "Content-Type": content_type}

    response = await t.server.http.post(url(t), content=content, headers=headers)

    assert response.status_code == status, response.text
    assert code(response) == (error or "UNSUPPORTED_MEDIA_TYPE")


async def test_a_body_read_before_is_read_again_as_its_media_type_says(server):
    """What a body reads as is kept by its bytes and media type: the same bytes sent as
    another type are refused as that type, and one that does not read is refused each time."""
    t = await with_roles(server, READ_STOCK)
    body = b'{"query": "{ items { edges { cursor } } }"}'

    async def send(content: bytes, content_type: str) -> httpx.Response:
        headers = {**t.bearer, "Content-Type": content_type}
        return await t.server.http.post(url(t), content=content, headers=headers)

    answers = [
        await send(body, "application/json"),
        await send(body, "application/graphql"),
        await send(body, "application/json; charset=utf-8"),
        await send(body, "application/json"),
    ]
    broken = [await send(b'{"query": 1}', "application/json") for _ in range(2)]

    assert [a.status_code for a in answers] == [200, 415, 200, 200], answers[1].text
    assert code(answers[1]) == "UNSUPPORTED_MEDIA_TYPE"
    assert [(a.status_code, code(a)) for a in broken] == [(400, "BAD_REQUEST")] * 2


async def test_without_roles_the_api_user_may_do_what_its_apps_allow(server):
    t = await tenant(server)
    order = await order_input(t)

    response = await post(t, HIDDEN_MUTATION, "Order", input=order)

    assert response.status_code == 200
    assert response.json()["data"]["createSalesOrder"]["id"]


async def test_a_role_change_applies_before_the_admin_call_returns(server):
    t = await with_roles(server, *ORDERING)
    order = await order_input(t)
    assert (await post(t, CREATE_ORDER, input=order)).status_code == 200

    await role(t, [READ_STOCK])
    narrowed = await post(t, CREATE_ORDER, input=order)
    await hold(t, None)
    released = await post(t, CREATE_ORDER, input=order)
    await hold(t, "clerk")
    held_again = await post(t, "{ sites { id } }")

    assert refusal(narrowed)["field"] == "createSalesOrder"
    assert released.status_code == 200
    assert refusal(held_again)["field"] == "sites"


async def test_a_role_changed_on_one_node_is_obeyed_by_another_through_the_change_feed(
    server, database_url, tmp_path
):
    t = await with_roles(server, *ORDERING)
    other_settings = ws_settings(database_url, tmp_path).model_copy(
        update={"change_poll_interval": 0.2}
    )
    with serving(other_settings, Services.build(other_settings)) as port:
        async with client_of(port) as other:
            on_other = Tenant(other, t.setup, t.token)
            query = {"query": "{ sites { id } }"}
            other_url = url(t).replace(str(server.port), str(other.port))
            first = await other.http.post(other_url, json=query, headers=t.bearer)

            await role(t, [READ_STOCK])
            started = time.monotonic()
            while True:
                response = await on_other.server.http.post(other_url, json=query, headers=t.bearer)
                if response.status_code != 200 or time.monotonic() - started > 3:
                    break
                await asyncio.sleep(0.05)

    assert first.status_code == 200
    assert refusal(response)["field"] == "sites"
    assert time.monotonic() - started < 3
