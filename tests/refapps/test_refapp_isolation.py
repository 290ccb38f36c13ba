from __future__ import annotations

import httpx

from tenantgate.refapps import JWKSVerifier, create_refapp

from .conftest import (
    AUDIENCE,
    JWKS_URL,
    TENANT_A,
    TENANT_B,
    Issuer,
    Query,
    auth_headers,
    error_codes,
)

ITEM_IDS = "{ items(first: 100) { edges { node { id code } } } }"
ORDER_IDS = "{ salesOrders(first: 100) { edges { node { id } } } }"


async def ids_of(gql: Query, client: httpx.AsyncClient, query: str, tenant: str) -> set[str]:
    data = (await gql(client, query, tenant_id=tenant))["data"]
    [connection] = data.values()
    return {edge["node"]["id"] for edge in connection["edges"]}


async def test_tenants_have_disjoint_ids(sdmo: httpx.AsyncClient, gql: Query) -> None:
    a_items = await ids_of(gql, sdmo, ITEM_IDS, TENANT_A)
    b_items = await ids_of(gql, sdmo, ITEM_IDS, TENANT_B)

    assert a_items and b_items
    assert a_items.isdisjoint(b_items)


async def test_a_tenant_cannot_read_another_tenants_rows_by_id(
    sdmo: httpx.AsyncClient, gql: Query
) -> None:
    b_item = sorted(await ids_of(gql, sdmo, ITEM_IDS, TENANT_B))[0]
    b_order = sorted(await ids_of(gql, sdmo, ORDER_IDS, TENANT_B))[0]
    query = (
        "query($item: ID!, $order: ID!) { item(id: $item) { id } salesOrder(id: $order) { id } }"
    )

    as_a = await gql(sdmo, query, {"item": b_item, "order": b_order}, tenant_id=TENANT_A)
    as_b = await gql(sdmo, query, {"item": b_item, "order": b_order}, tenant_id=TENANT_B)

    assert as_a["data"] == {"item": None, "salesOrder": None}
    assert as_b["data"] == {"item": {"id": b_item}, "salesOrder": {"id": b_order}}


async def test_a_tenant_cannot_order_another_tenants_stock(
    sdmo: httpx.AsyncClient, gql: Query
) -> None:
    setup = "{ sites { id } customers(first: 1) { edges { node { id } } } }"
    b = (await gql(sdmo, setup, tenant_id=TENANT_B))["data"]
    a = (await gql(sdmo, setup, tenant_id=TENANT_A))["data"]
    b_item = sorted(await ids_of(gql, sdmo, ITEM_IDS, TENANT_B))[0]
    stock = "query($i: ID!) { stockLevels(itemId: $i) { quantity } }"
    b_stock_before = (await gql(sdmo, stock, {"i": b_item}, tenant_id=TENANT_B))["data"]
    mutation = (
        """mutation($input: CreateSalesOrderInput!) { createSalesOrder(input: $input) { id } }"""
    )
    order_input = {
        "customerId": a["customers"]["edges"][0]["node"]["id"],
        "siteId": a["sites"][0]["id"],
        "lines": [{"itemId": b_item, "quantity": 1}],
    }

    body = await gql(sdmo, mutation, {"input": order_input}, tenant_id=TENANT_A)

    assert error_codes(body) == ["NOT_FOUND"]
    assert b["sites"][0]["id"] != a["sites"][0]["id"]
    b_stock_after = (await gql(sdmo, stock, {"i": b_item}, tenant_id=TENANT_B))["data"]
    assert b_stock_after == b_stock_before


async def test_a_tenant_cannot_book_time_on_another_tenants_operation(
    shopfloor: httpx.AsyncClient, gql: Query
) -> None:
    query = "{ workOrders(first: 1) { edges { node { operations { id } } } } }"
    b = (await gql(shopfloor, query, tenant_id=TENANT_B))["data"]
    b_operation = b["workOrders"]["edges"][0]["node"]["operations"][0]["id"]
    mutation = "mutation($input: RecordTimeInput!) { recordTime(input: $input) { id } }"
    entry_input = {"operationId": b_operation, "operator": "mallory", "minutes": 5}

    as_a = await gql(shopfloor, mutation, {"input": entry_input}, tenant_id=TENANT_A)
    lookup = "query($id: ID!) { operation(id: $id) { id } }"
    seen_by_a = await gql(shopfloor, lookup, {"id": b_operation}, tenant_id=TENANT_A)

    assert error_codes(as_a) == ["NOT_FOUND"]
    assert seen_by_a["data"] == {"operation": None}


async def test_a_token_for_tenant_a_never_reads_tenant_b(
    sdmo: httpx.AsyncClient, shopfloor: httpx.AsyncClient, issuer: Issuer
) -> None:
    token_a = issuer.token(tenant_id=TENANT_A)

    for client, query in ((sdmo, ITEM_IDS), (shopfloor, "{ workOrders { totalCount } }")):
        response = await client.post(
            "/graphql", json={"query": query}, headers=auth_headers(token_a, TENANT_B)
        )
        assert response.status_code == 403
        assert response.json() == {
            "errors": [
                {
                    "message": "the token is not valid for this tenant",
                    "extensions": {"code": "FORBIDDEN"},
                }
            ]
        }


async def test_the_same_tenant_always_gets_the_same_seed(
    sdmo: httpx.AsyncClient, gql: Query, issuer: Issuer
) -> None:
    verifier = JWKSVerifier(JWKS_URL, audience=AUDIENCE, transport=httpx.MockTransport(issuer.jwks))
    fresh = create_refapp("sdmo", verifier)
    transport = httpx.ASGITransport(app=fresh)
    async with httpx.AsyncClient(transport=transport, base_url="http://fresh") as other:
        mine = (await gql(sdmo, ITEM_IDS))["data"]
        theirs = (await gql(other, ITEM_IDS))["data"]
    await verifier.aclose()

    assert mine == theirs
