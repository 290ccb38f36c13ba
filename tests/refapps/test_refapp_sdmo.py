from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx

from tenantgate.refapps.sdmo.store import SdmoStore

from .conftest import Issuer, Query, auth_headers, error_codes

ITEMS_PAGE = """
query Items($first: Int!, $after: String) {
  items(first: $first, after: $after) {
    totalCount
    edges { cursor node { id code name unitPrice } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""

STOCK = """
query Stock($itemId: ID, $siteId: ID) {
  stockLevels(itemId: $itemId, siteId: $siteId) { itemId siteId quantity }
}"""

CREATE_ORDER = """
mutation Create($input: CreateSalesOrderInput!) {
  createSalesOrder(input: $input) {
    id number status total customer { id } site { id }
    lines { lineNumber quantity unitPrice lineTotal item { id code } }
  }
}"""

SETUP = """{
  sites { id code }
  customers(first: 1) { edges { node { id } } }
  items(first: 3) { edges { node { id unitPrice } } }
}"""


async def stock_of(gql: Query, client: httpx.AsyncClient, item_id: str, site_id: str) -> int:
    body = await gql(client, STOCK, {"itemId": item_id, "siteId": site_id})
    [level] = body["data"]["stockLevels"]
    return int(level["quantity"])


async def stocked(gql: Query, client: httpx.AsyncClient, site_id: str) -> list[tuple[str, int]]:
    """(item id, quantity) of the items in stock at the site, smallest stock first."""
    levels = (await gql(client, STOCK, {"siteId": site_id}))["data"]["stockLevels"]
    in_stock = [(level["itemId"], level["quantity"]) for level in levels if level["quantity"]]
    return sorted(in_stock, key=lambda pair: pair[1])


async def setup(gql: Query, client: httpx.AsyncClient) -> dict[str, Any]:
    data = (await gql(client, SETUP))["data"]
    return {
        "site": data["sites"][0]["id"],
        "customer": data["customers"]["edges"][0]["node"]["id"],
        "items": [edge["node"] for edge in data["items"]["edges"]],
    }


async def test_items_page_through_every_row_once(sdmo: httpx.AsyncClient, gql: Query) -> None:
    seen: list[str] = []
    after = None
    while True:
        body = await gql(sdmo, ITEMS_PAGE, {"first": 7, "after": after})
        items = body["data"]["items"]
        seen += [edge["node"]["id"] for edge in items["edges"]]
        assert items["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not items["pageInfo"]["hasNextPage"]:
            break
        assert len(items["edges"]) == 7
        after = items["pageInfo"]["endCursor"]
        assert after == items["edges"][-1]["cursor"]

    assert len(seen) == len(set(seen)) == items["totalCount"]
    assert 30 <= len(seen) <= 40


async def test_items_have_codes_names_and_prices(sdmo: httpx.AsyncClient, gql: Query) -> None:
    body = await gql(sdmo, ITEMS_PAGE, {"first": 2})
    first = body["data"]["items"]["edges"][0]["node"]

    assert first["code"] == "ITM-1001"
    assert first["name"]
    assert Decimal(first["unitPrice"]) > 0


async def test_a_bad_cursor_or_page_size_is_bad_user_input(
    sdmo: httpx.AsyncClient, gql: Query
) -> None:
    bad_cursor = await gql(sdmo, ITEMS_PAGE, {"first": 5, "after": "bm9wZQ=="})
    too_big = await gql(sdmo, ITEMS_PAGE, {"first": 1000})

    assert error_codes(bad_cursor) == ["BAD_USER_INPUT"]
    assert error_codes(too_big) == ["BAD_USER_INPUT"]


async def test_customers_and_sales_orders_are_paged(sdmo: httpx.AsyncClient, gql: Query) -> None:
    query = """{
      customers(first: 5) {
        totalCount edges { node { id code name email } } pageInfo { hasNextPage }
      }
      salesOrders(first: 3) {
        totalCount
        edges { node { number total customer { name } site { code } lines { item { code } } } }
        pageInfo { hasNextPage endCursor }
      }
    }"""
    data = (await gql(sdmo, query))["data"]

    assert len(data["customers"]["edges"]) == 5
    assert data["customers"]["pageInfo"]["hasNextPage"] is True
    orders = data["salesOrders"]
    assert len(orders["edges"]) == 3 and orders["totalCount"] >= 8
    assert all(edge["node"]["lines"] for edge in orders["edges"])
    assert all(edge["node"]["customer"]["name"] for edge in orders["edges"])


async def test_lookups_by_id_find_the_row_or_null(sdmo: httpx.AsyncClient, gql: Query) -> None:
    ids = await gql(sdmo, "{ salesOrders(first: 1) { edges { node { id customer { id } } } } }")
    order = ids["data"]["salesOrders"]["edges"][0]["node"]
    query = """query Lookup($order: ID!, $customer: ID!) {
      salesOrder(id: $order) { id number }
      customer(id: $customer) { id }
      item(id: "itm_000000000000_00001") { id }
    }"""

    data = (await gql(sdmo, query, {"order": order["id"], "customer": order["customer"]["id"]}))[
        "data"
    ]

    assert data["salesOrder"]["id"] == order["id"]
    assert data["customer"]["id"] == order["customer"]["id"]
    assert data["item"] is None


async def test_stock_levels_cover_every_item_at_every_site(
    sdmo: httpx.AsyncClient, gql: Query
) -> None:
    data = (await gql(sdmo, "{ sites { id } items(first: 100) { totalCount } }"))["data"]
    levels = (await gql(sdmo, STOCK))["data"]["stockLevels"]

    assert 2 <= len(data["sites"]) <= 3
    assert len(levels) == len(data["sites"]) * data["items"]["totalCount"]
    assert all(level["quantity"] >= 0 for level in levels)


async def test_creating_a_sales_order_takes_its_stock(sdmo: httpx.AsyncClient, gql: Query) -> None:
    ids = await setup(gql, sdmo)
    item = ids["items"][0]
    before = await stock_of(gql, sdmo, item["id"], ids["site"])
    quantity = min(before, 3)
    order_input = {
        "customerId": ids["customer"],
        "siteId": ids["site"],
        "lines": [{"itemId": item["id"], "quantity": quantity}],
    }

    body = await gql(sdmo, CREATE_ORDER, {"input": order_input})

    order = body["data"]["createSalesOrder"]
    assert order["status"] == "CONFIRMED"
    assert order["lines"][0]["quantity"] == quantity
    assert Decimal(order["total"]) == Decimal(item["unitPrice"]) * quantity
    assert await stock_of(gql, sdmo, item["id"], ids["site"]) == before - quantity
    found = await gql(sdmo, "query($id: ID!) { salesOrder(id: $id) { number } }", order)
    assert found["data"]["salesOrder"]["number"] == order["number"]


async def test_insufficient_stock_refuses_the_whole_order(
    sdmo: httpx.AsyncClient, gql: Query
) -> None:
    ids = await setup(gql, sdmo)
    (first, first_before), (second, second_before) = (await stocked(gql, sdmo, ids["site"]))[:2]
    orders_before = (await gql(sdmo, "{ salesOrders { totalCount } }"))["data"]
    order_input = {
        "customerId": ids["customer"],
        "siteId": ids["site"],
        "lines": [
            {"itemId": first, "quantity": first_before},
            {"itemId": second, "quantity": second_before + 1},
        ],
    }

    body = await gql(sdmo, CREATE_ORDER, {"input": order_input})

    assert body["data"] is None
    assert error_codes(body) == ["INSUFFICIENT_STOCK"]
    assert body["errors"][0]["extensions"]["available"] == second_before
    assert await stock_of(gql, sdmo, first, ids["site"]) == first_before
    assert await stock_of(gql, sdmo, second, ids["site"]) == second_before
    assert (await gql(sdmo, "{ salesOrders { totalCount } }"))["data"] == orders_before


async def test_lines_of_the_same_item_are_checked_together(
    sdmo: httpx.AsyncClient, gql: Query
) -> None:
    ids = await setup(gql, sdmo)
    item = ids["items"][0]["id"]
    available = await stock_of(gql, sdmo, item, ids["site"])
    half = available // 2 + 1
    order_input = {
        "customerId": ids["customer"],
        "siteId": ids["site"],
        "lines": [{"itemId": item, "quantity": half}, {"itemId": item, "quantity": half}],
    }

    body = await gql(sdmo, CREATE_ORDER, {"input": order_input})

    assert error_codes(body) == ["INSUFFICIENT_STOCK"]
    assert await stock_of(gql, sdmo, item, ids["site"]) == available


async def test_unknown_ids_are_not_found_and_take_nothing(
    sdmo: httpx.AsyncClient, gql: Query
) -> None:
    ids = await setup(gql, sdmo)
    item = ids["items"][0]["id"]
    before = await stock_of(gql, sdmo, item, ids["site"])
    good_line = {"itemId": item, "quantity": 1}
    cases = [
        {"customerId": "cus_nope", "siteId": ids["site"], "lines": [good_line]},
        {"customerId": ids["customer"], "siteId": "sit_nope", "lines": [good_line]},
        {
            "customerId": ids["customer"],
            "siteId": ids["site"],
            "lines": [good_line, {"itemId": "itm_nope", "quantity": 1}],
        },
    ]

    for order_input in cases:
        body = await gql(sdmo, CREATE_ORDER, {"input": order_input})
        assert error_codes(body) == ["NOT_FOUND"]

    assert await stock_of(gql, sdmo, item, ids["site"]) == before


async def test_empty_orders_and_non_positive_quantities_are_bad_user_input(
    sdmo: httpx.AsyncClient, gql: Query
) -> None:
    ids = await setup(gql, sdmo)
    base = {"customerId": ids["customer"], "siteId": ids["site"]}
    zero = [{"itemId": ids["items"][0]["id"], "quantity": 0}]

    empty = await gql(sdmo, CREATE_ORDER, {"input": {**base, "lines": []}})
    zero_quantity = await gql(sdmo, CREATE_ORDER, {"input": {**base, "lines": zero}})

    assert error_codes(empty) == ["BAD_USER_INPUT"]
    assert error_codes(zero_quantity) == ["BAD_USER_INPUT"]


async def test_concurrent_orders_never_oversell(sdmo: httpx.AsyncClient, gql: Query) -> None:
    ids = await setup(gql, sdmo)
    item, available = (await stocked(gql, sdmo, ids["site"]))[0]
    order_input = {
        "customerId": ids["customer"],
        "siteId": ids["site"],
        "lines": [{"itemId": item, "quantity": 1}],
    }

    bodies = await asyncio.gather(
        *(gql(sdmo, CREATE_ORDER, {"input": order_input}) for _ in range(available + 5))
    )

    refused = [body for body in bodies if body.get("errors")]
    assert len(refused) == 5
    assert {code for body in refused for code in error_codes(body)} == {"INSUFFICIENT_STOCK"}
    assert await stock_of(gql, sdmo, item, ids["site"]) == 0


async def test_queries_work_over_get(sdmo: httpx.AsyncClient, issuer: Issuer) -> None:
    response = await sdmo.get(
        "/graphql",
        params={"query": "{ items(first: 2) { edges { node { code } } } }"},
        headers=auth_headers(issuer.token()),
    )

    assert response.status_code == 200
    assert len(response.json()["data"]["items"]["edges"]) == 2


async def test_mutations_are_refused_over_get(sdmo: httpx.AsyncClient, issuer: Issuer) -> None:
    mutation = (
        'mutation { createSalesOrder(input: {customerId: "x", siteId: "y", lines: []}) { id } }'
    )

    response = await sdmo.get(
        "/graphql", params={"query": mutation}, headers=auth_headers(issuer.token())
    )

    assert response.status_code >= 400
    assert "data" not in response.json() or response.json()["data"] is None
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


POST_ORDER = "mutation Post($id: ID!) { postSalesOrder(id: $id) { id status } }"
ADJUST = """
mutation Adjust($input: AdjustStockInput!) {
  adjustStock(input: $input) { itemId siteId quantity }
}"""


async def test_posting_an_order_invoices_it_once(sdmo: httpx.AsyncClient, gql: Query) -> None:
    ids = await setup(gql, sdmo)
    item, _ = (await stocked(gql, sdmo, ids["site"]))[-1]
    order_input = {
        "customerId": ids["customer"],
        "siteId": ids["site"],
        "lines": [{"itemId": item, "quantity": 1}],
    }
    order = (await gql(sdmo, CREATE_ORDER, {"input": order_input}))["data"]["createSalesOrder"]

    posted = await gql(sdmo, POST_ORDER, {"id": order["id"]})
    again = await gql(sdmo, POST_ORDER, {"id": order["id"]})
    unknown = await gql(sdmo, POST_ORDER, {"id": "so-nothing"})

    assert posted["data"]["postSalesOrder"] == {"id": order["id"], "status": "INVOICED"}
    assert error_codes(again) == ["BAD_USER_INPUT"] and "posted already" in str(again)
    assert error_codes(unknown) == ["NOT_FOUND"]


async def test_adjusting_stock_counts_it_up_and_down_never_below_zero(
    sdmo: httpx.AsyncClient, gql: Query
) -> None:
    ids = await setup(gql, sdmo)
    item, before = (await stocked(gql, sdmo, ids["site"]))[0]
    where = {"itemId": item, "siteId": ids["site"]}

    up = await gql(sdmo, ADJUST, {"input": {**where, "delta": 5, "reason": "stock-take"}})
    too_far = {**where, "delta": -(before + 6), "reason": "breakage"}
    refused = await gql(sdmo, ADJUST, {"input": too_far})
    down = await gql(sdmo, ADJUST, {"input": {**where, "delta": -2, "reason": "breakage"}})

    assert up["data"]["adjustStock"] == {**where, "quantity": before + 5}
    assert error_codes(refused) == ["INSUFFICIENT_STOCK"]
    assert down["data"]["adjustStock"]["quantity"] == before + 3
    assert await stock_of(gql, sdmo, item, ids["site"]) == before + 3
    for bad in ({"delta": 0, "reason": "x"}, {"delta": 1, "reason": "  "}):
        body = await gql(sdmo, ADJUST, {"input": {**where, **bad}})
        assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_an_adjustment_reaches_stock_changed_listeners() -> None:
    store = SdmoStore()
    tenant = "1000001"
    data = await store.stock_levels(tenant, None, None)
    level = data[0]
    changes = store.stock_changes(tenant)
    listening = asyncio.ensure_future(anext(changes))
    await asyncio.sleep(0)  # the task runs the generator up to its first wait: registered
    assert store._stock_changes.listeners(tenant) == 1

    await store.adjust_stock(tenant, level.item_id, level.site_id, 7, "found a pallet")

    change = await asyncio.wait_for(listening, 5)
    await changes.aclose()
    assert (change.item_id, change.delta, change.quantity) == (level.item_id, 7, level.quantity + 7)
    assert change.sales_order_id is None and change.reason == "found a pallet"
