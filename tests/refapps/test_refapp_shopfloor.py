from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from .conftest import Query, error_codes

WORK_ORDERS = """
query WorkOrders($first: Int!, $after: String) {
  workOrders(first: $first, after: $after) {
    totalCount
    edges { cursor node { id number itemCode quantity status dueDate } }
    pageInfo { hasNextPage endCursor }
  }
}"""

WORK_ORDER = """
query WorkOrder($id: ID!) {
  workOrder(id: $id) {
    number
    operations { id sequence name workCenter status workOrder { id } timeEntries { minutes } }
  }
}"""

RECORD_TIME = """
mutation Record($input: RecordTimeInput!) {
  recordTime(input: $input) { id operator minutes recordedAt operation { id name } }
}"""


async def first_operation(gql: Query, client: httpx.AsyncClient) -> dict[str, Any]:
    orders = (await gql(client, WORK_ORDERS, {"first": 1}))["data"]["workOrders"]
    order_id = orders["edges"][0]["node"]["id"]
    body = await gql(client, WORK_ORDER, {"id": order_id})
    return dict(body["data"]["workOrder"]["operations"][0])


async def test_work_orders_page_through_every_row_once(
    shopfloor: httpx.AsyncClient, gql: Query
) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = (await gql(shopfloor, WORK_ORDERS, {"first": 5, "after": after}))["data"]
        seen += [edge["node"]["id"] for edge in page["workOrders"]["edges"]]
        if not page["workOrders"]["pageInfo"]["hasNextPage"]:
            break
        after = page["workOrders"]["pageInfo"]["endCursor"]

    assert len(seen) == len(set(seen)) == page["workOrders"]["totalCount"]
    assert 12 <= len(seen) <= 20


async def test_a_work_order_lists_its_operations_in_sequence(
    shopfloor: httpx.AsyncClient, gql: Query
) -> None:
    orders = (await gql(shopfloor, WORK_ORDERS, {"first": 1}))["data"]["workOrders"]
    order = orders["edges"][0]["node"]

    body = await gql(shopfloor, WORK_ORDER, {"id": order["id"]})

    operations = body["data"]["workOrder"]["operations"]
    sequences = [operation["sequence"] for operation in operations]
    assert 2 <= len(operations) <= 5
    assert sequences == sorted(sequences)
    assert {operation["workOrder"]["id"] for operation in operations} == {order["id"]}
    assert all(operation["workCenter"].startswith("WC-") for operation in operations)


async def test_recording_time_returns_the_entry_and_lists_it(
    shopfloor: httpx.AsyncClient, gql: Query
) -> None:
    operation = await first_operation(gql, shopfloor)
    entry_input = {"operationId": operation["id"], "operator": "  dana  ", "minutes": 45}

    body = await gql(shopfloor, RECORD_TIME, {"input": entry_input})

    entry = body["data"]["recordTime"]
    assert (entry["operator"], entry["minutes"]) == ("dana", 45)
    assert entry["operation"] == {"id": operation["id"], "name": operation["name"]}
    assert datetime.fromisoformat(entry["recordedAt"]).tzinfo is not None
    lookup = await gql(shopfloor, "query($id: ID!) { timeEntry(id: $id) { minutes } }", entry)
    assert lookup["data"]["timeEntry"] == {"minutes": 45}
    listed = await gql(
        shopfloor,
        "query($op: ID!) { timeEntries(operationId: $op) { edges { node { id } } } }",
        {"op": operation["id"]},
    )
    assert entry["id"] in [edge["node"]["id"] for edge in listed["data"]["timeEntries"]["edges"]]


@pytest.mark.parametrize(
    ("minutes", "operator"),
    [(0, "dana"), (-5, "dana"), (24 * 60 + 1, "dana"), (30, "   "), (30, "x" * 101)],
)
async def test_recording_time_validates_the_entry(
    shopfloor: httpx.AsyncClient, gql: Query, minutes: int, operator: str
) -> None:
    operation = await first_operation(gql, shopfloor)
    entry_input = {"operationId": operation["id"], "operator": operator, "minutes": minutes}

    body = await gql(shopfloor, RECORD_TIME, {"input": entry_input})

    assert body["data"] is None
    assert error_codes(body) == ["BAD_USER_INPUT"]
    after = await gql(shopfloor, WORK_ORDER, {"id": operation["workOrder"]["id"]})
    [same] = [op for op in after["data"]["workOrder"]["operations"] if op["id"] == operation["id"]]
    assert same["timeEntries"] == operation["timeEntries"]


async def test_recording_time_on_an_unknown_operation_is_not_found(
    shopfloor: httpx.AsyncClient, gql: Query
) -> None:
    entry_input = {"operationId": "op_000000000000_00001", "operator": "dana", "minutes": 5}

    body = await gql(shopfloor, RECORD_TIME, {"input": entry_input})

    assert error_codes(body) == ["NOT_FOUND"]


async def test_queries_nested_too_deep_are_refused(
    shopfloor: httpx.AsyncClient, gql: Query
) -> None:
    nested = "id"
    for _ in range(6):
        nested = f"operations {{ workOrder {{ {nested} }} }}"

    body = await gql(shopfloor, f"{{ workOrders(first: 1) {{ edges {{ node {{ {nested} }} }} }} }}")

    assert body["data"] is None
    assert "depth" in body["errors"][0]["message"]


OPEN_AND_ALL = """
query Orders {
  openWorkOrders(first: 100) { totalCount edges { node { id status } } }
  workOrders(first: 100) { edges { node { id status } } }
}"""

OPERATIONS = """
query Operations($workOrderId: ID, $status: OperationStatus, $first: Int!, $after: String) {
  operations(workOrderId: $workOrderId, status: $status, first: $first, after: $after) {
    totalCount
    edges { node { id sequence status workOrder { id } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def test_open_work_orders_are_those_not_completed(
    shopfloor: httpx.AsyncClient, gql: Query
) -> None:
    data = (await gql(shopfloor, OPEN_AND_ALL))["data"]

    every = [edge["node"] for edge in data["workOrders"]["edges"]]
    opened = [edge["node"] for edge in data["openWorkOrders"]["edges"]]
    assert opened == [order for order in every if order["status"] != "COMPLETED"]
    assert data["openWorkOrders"]["totalCount"] == len(opened)


async def test_operations_of_a_work_order_or_in_a_status(
    shopfloor: httpx.AsyncClient, gql: Query
) -> None:
    orders = (await gql(shopfloor, WORK_ORDERS, {"first": 1}))["data"]["workOrders"]
    order_id = orders["edges"][0]["node"]["id"]
    routing = (await gql(shopfloor, WORK_ORDER, {"id": order_id}))["data"]["workOrder"]

    of_order = await gql(shopfloor, OPERATIONS, {"workOrderId": order_id, "first": 50})
    nodes = [edge["node"] for edge in of_order["data"]["operations"]["edges"]]
    assert [node["id"] for node in nodes] == [op["id"] for op in routing["operations"]]

    seen, after, total = [], None, 0
    while True:
        variables = {"status": "PENDING", "first": 7, "after": after}
        page = (await gql(shopfloor, OPERATIONS, variables))["data"]["operations"]
        seen += [edge["node"] for edge in page["edges"]]
        total = page["totalCount"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == total > 0
    assert {node["status"] for node in seen} == {"PENDING"}
    assert len({node["id"] for node in seen}) == total
