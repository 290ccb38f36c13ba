"""The shopfloor GraphQL schema."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import date, datetime

import strawberry

from tenantgate.refapps.context import RequestContext
from tenantgate.refapps.errors import found
from tenantgate.refapps.pages import DEFAULT_PAGE_SIZE
from tenantgate.refapps.relay import Connection, connection, page_request
from tenantgate.refapps.schema import RefAppSchema
from tenantgate.refapps.shopfloor import models
from tenantgate.refapps.shopfloor.store import ShopfloorStore

Info = strawberry.Info[RequestContext[ShopfloorStore], None]

strawberry.enum(models.WorkOrderStatus)
strawberry.enum(models.OperationStatus)

EXAMPLE_QUERY = """query WorkOrders {
  workOrders(first: 5) {
    edges { node { id number itemCode quantity status operations { id sequence name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@strawberry.type
class TimeEntry:
    id: strawberry.ID
    operation_id: strawberry.ID
    operator: str
    minutes: int
    recorded_at: datetime

    @strawberry.field
    async def operation(self, info: Info) -> Operation:
        row = await _store(info).operation(_tenant(info), self.operation_id)
        return Operation.of(found(row, "operation", self.operation_id))

    @classmethod
    def of(cls, row: models.TimeEntry) -> TimeEntry:
        return cls(
            id=strawberry.ID(row.id),
            operation_id=strawberry.ID(row.operation_id),
            operator=row.operator,
            minutes=row.minutes,
            recorded_at=row.recorded_at,
        )


@strawberry.type
class Operation:
    id: strawberry.ID
    work_order_id: strawberry.ID
    sequence: int
    name: str
    work_center: str
    status: models.OperationStatus

    @strawberry.field
    async def work_order(self, info: Info) -> WorkOrder:
        row = await _store(info).work_order(_tenant(info), self.work_order_id)
        return WorkOrder.of(found(row, "work order", self.work_order_id))

    @strawberry.field
    async def time_entries(self, info: Info) -> list[TimeEntry]:
        rows = await _store(info).entries_of(_tenant(info), self.id)
        return [TimeEntry.of(row) for row in rows]

    @classmethod
    def of(cls, row: models.Operation) -> Operation:
        return cls(
            id=strawberry.ID(row.id),
            work_order_id=strawberry.ID(row.work_order_id),
            sequence=row.sequence,
            name=row.name,
            work_center=row.work_center,
            status=row.status,
        )


@strawberry.type
class WorkOrder:
    id: strawberry.ID
    number: str
    item_code: str
    quantity: int
    status: models.WorkOrderStatus
    due_date: date

    @strawberry.field(description="The routing, in sequence order.")
    async def operations(self, info: Info) -> list[Operation]:
        rows = await _store(info).operations_of(_tenant(info), self.id)
        return [Operation.of(row) for row in rows]

    @classmethod
    def of(cls, row: models.WorkOrder) -> WorkOrder:
        return cls(
            id=strawberry.ID(row.id),
            number=row.number,
            item_code=row.item_code,
            quantity=row.quantity,
            status=row.status,
            due_date=row.due_date,
        )


@strawberry.input
class RecordTimeInput:
    operation_id: strawberry.ID
    operator: str
    minutes: int


@strawberry.type
class Query:
    @strawberry.field(description="Work orders, in creation order.")
    async def work_orders(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[WorkOrder]:
        page = await _store(info).work_orders(_tenant(info), page_request(first, after))
        return connection(page, WorkOrder.of)

    @strawberry.field(description="Work orders not completed yet, in creation order.")
    async def open_work_orders(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[WorkOrder]:
        page = await _store(info).open_work_orders(_tenant(info), page_request(first, after))
        return connection(page, WorkOrder.of)

    @strawberry.field(
        description="Operations by work order, then sequence; optionally of one work order, "
        "or in one status (a work center's queue: PENDING)."
    )
    async def operations(
        self,
        info: Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        work_order_id: strawberry.ID | None = None,
        status: models.OperationStatus | None = None,
    ) -> Connection[Operation]:
        request = page_request(first, after)
        page = await _store(info).operations(_tenant(info), request, work_order_id, status)
        return connection(page, Operation.of)

    @strawberry.field
    async def work_order(self, info: Info, id: strawberry.ID) -> WorkOrder | None:
        row = await _store(info).work_order(_tenant(info), id)
        return None if row is None else WorkOrder.of(row)

    @strawberry.field
    async def operation(self, info: Info, id: strawberry.ID) -> Operation | None:
        row = await _store(info).operation(_tenant(info), id)
        return None if row is None else Operation.of(row)

    @strawberry.field(description="Time entries, oldest first; optionally of one operation.")
    async def time_entries(
        self,
        info: Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        operation_id: strawberry.ID | None = None,
    ) -> Connection[TimeEntry]:
        request = page_request(first, after)
        page = await _store(info).time_entries(_tenant(info), request, operation_id)
        return connection(page, TimeEntry.of)

    @strawberry.field
    async def time_entry(self, info: Info, id: strawberry.ID) -> TimeEntry | None:
        row = await _store(info).time_entry(_tenant(info), id)
        return None if row is None else TimeEntry.of(row)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Book minutes of work by an operator on an operation.")
    async def record_time(self, info: Info, input: RecordTimeInput) -> TimeEntry:
        row = await _store(info).record_time(
            _tenant(info), input.operation_id, input.operator, input.minutes
        )
        return TimeEntry.of(row)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Time booked on this tenant's operations, as it happens; "
        "only that of one work order when workOrderId is given."
    )
    async def time_recorded(
        self, info: Info, work_order_id: strawberry.ID | None = None
    ) -> AsyncGenerator[TimeEntry, None]:
        async with aclosing(_store(info).time_recorded(_tenant(info))) as recorded:
            async for event in recorded:
                if work_order_id in (None, event.work_order_id):
                    yield TimeEntry.of(event.entry)


def _store(info: Info) -> ShopfloorStore:
    return info.context.store


def _tenant(info: Info) -> str:
    return info.context.tenant_id


def build_schema() -> RefAppSchema:
    return RefAppSchema(query=Query, mutation=Mutation, subscription=Subscription)
