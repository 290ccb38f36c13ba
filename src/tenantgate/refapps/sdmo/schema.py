"""The sdmo GraphQL schema."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from decimal import Decimal

import strawberry

from tenantgate.refapps.context import RequestContext
from tenantgate.refapps.errors import found
from tenantgate.refapps.pages import DEFAULT_PAGE_SIZE
from tenantgate.refapps.relay import Connection, connection, page_request
from tenantgate.refapps.schema import RefAppSchema
from tenantgate.refapps.sdmo import models
from tenantgate.refapps.sdmo.store import SdmoStore

Info = strawberry.Info[RequestContext[SdmoStore], None]

strawberry.enum(models.SalesOrderStatus)

EXAMPLE_QUERY = """query Items {
  items(first: 5) {
    edges { node { id code name unitPrice } cursor }
    pageInfo { hasNextPage endCursor }
  }
}"""


@strawberry.type
class Item:
    id: strawberry.ID
    code: str
    name: str
    unit_price: Decimal

    @classmethod
    def of(cls, row: models.Item) -> Item:
        return cls(
            id=strawberry.ID(row.id), code=row.code, name=row.name, unit_price=row.unit_price
        )


@strawberry.type
class Customer:
    id: strawberry.ID
    code: str
    name: str
    email: str

    @classmethod
    def of(cls, row: models.Customer) -> Customer:
        return cls(id=strawberry.ID(row.id), code=row.code, name=row.name, email=row.email)


@strawberry.type
class Site:
    id: strawberry.ID
    code: str
    name: str

    @classmethod
    def of(cls, row: models.Site) -> Site:
        return cls(id=strawberry.ID(row.id), code=row.code, name=row.name)


@strawberry.type
class StockLevel:
    item_id: strawberry.ID
    site_id: strawberry.ID
    quantity: int

    @strawberry.field
    async def item(self, info: Info) -> Item:
        row = await _store(info).item(_tenant(info), self.item_id)
        return Item.of(found(row, "item", self.item_id))

    @strawberry.field
    async def site(self, info: Info) -> Site:
        row = await _store(info).site(_tenant(info), self.site_id)
        return Site.of(found(row, "site", self.site_id))

    @classmethod
    def of(cls, row: models.StockLevel) -> StockLevel:
        return cls(
            item_id=strawberry.ID(row.item_id),
            site_id=strawberry.ID(row.site_id),
            quantity=row.quantity,
        )


@strawberry.type(
    description="Stock of an item at a site, moved by a sales order or adjusted by hand."
)
class StockChange:
    item_id: strawberry.ID
    site_id: strawberry.ID
    quantity: int = strawberry.field(description="On hand after the change.")
    delta: int = strawberry.field(description="The change: negative when stock was taken.")
    sales_order_id: strawberry.ID | None = strawberry.field(
        description="The order that took the stock; null for an adjustment."
    )
    reason: str | None = strawberry.field(description="Why it was adjusted; null for an order.")

    @strawberry.field
    async def item(self, info: Info) -> Item:
        row = await _store(info).item(_tenant(info), self.item_id)
        return Item.of(found(row, "item", self.item_id))

    @strawberry.field
    async def site(self, info: Info) -> Site:
        row = await _store(info).site(_tenant(info), self.site_id)
        return Site.of(found(row, "site", self.site_id))

    @classmethod
    def of(cls, row: models.StockChange) -> StockChange:
        order = row.sales_order_id
        return cls(
            item_id=strawberry.ID(row.item_id),
            site_id=strawberry.ID(row.site_id),
            quantity=row.quantity,
            delta=row.delta,
            sales_order_id=None if order is None else strawberry.ID(order),
            reason=row.reason,
        )


@strawberry.type
class SalesOrderLine:
    line_number: int
    item_id: strawberry.ID
    quantity: int
    unit_price: Decimal
    line_total: Decimal

    @strawberry.field
    async def item(self, info: Info) -> Item:
        row = await _store(info).item(_tenant(info), self.item_id)
        return Item.of(found(row, "item", self.item_id))

    @classmethod
    def of(cls, row: models.SalesOrderLine) -> SalesOrderLine:
        return cls(
            line_number=row.line_number,
            item_id=strawberry.ID(row.item_id),
            quantity=row.quantity,
            unit_price=row.unit_price,
            line_total=row.line_total,
        )


@strawberry.type
class SalesOrder:
    id: strawberry.ID
    number: str
    status: models.SalesOrderStatus
    created_at: datetime
    lines: list[SalesOrderLine]
    total: Decimal
    customer_id: strawberry.ID
    site_id: strawberry.ID

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        row = await _store(info).customer(_tenant(info), self.customer_id)
        return Customer.of(found(row, "customer", self.customer_id))

    @strawberry.field
    async def site(self, info: Info) -> Site:
        row = await _store(info).site(_tenant(info), self.site_id)
        return Site.of(found(row, "site", self.site_id))

    @classmethod
    def of(cls, row: models.SalesOrder) -> SalesOrder:
        return cls(
            id=strawberry.ID(row.id),
            number=row.number,
            status=row.status,
            created_at=row.created_at,
            lines=[SalesOrderLine.of(line) for line in row.lines],
            total=row.total,
            customer_id=strawberry.ID(row.customer_id),
            site_id=strawberry.ID(row.site_id),
        )


@strawberry.input
class SalesOrderLineInput:
    item_id: strawberry.ID
    quantity: int


@strawberry.input
class CreateSalesOrderInput:
    customer_id: strawberry.ID
    site_id: strawberry.ID
    lines: list[SalesOrderLineInput]


@strawberry.input
class AdjustStockInput:
    item_id: strawberry.ID
    site_id: strawberry.ID
    delta: int = strawberry.field(description="Units to add (positive) or remove (negative).")
    reason: str = strawberry.field(description="Why: a stock-take, a breakage (1-200 chars).")


@strawberry.type
class Query:
    @strawberry.field(description="Items, in creation order.")
    async def items(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Item]:
        page = await _store(info).items(_tenant(info), page_request(first, after))
        return connection(page, Item.of)

    @strawberry.field
    async def item(self, info: Info, id: strawberry.ID) -> Item | None:
        row = await _store(info).item(_tenant(info), id)
        return None if row is None else Item.of(row)

    @strawberry.field(description="Customers, in creation order.")
    async def customers(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Customer]:
        page = await _store(info).customers(_tenant(info), page_request(first, after))
        return connection(page, Customer.of)

    @strawberry.field
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        row = await _store(info).customer(_tenant(info), id)
        return None if row is None else Customer.of(row)

    @strawberry.field
    async def sites(self, info: Info) -> list[Site]:
        return [Site.of(row) for row in await _store(info).sites(_tenant(info))]

    @strawberry.field
    async def site(self, info: Info, id: strawberry.ID) -> Site | None:
        row = await _store(info).site(_tenant(info), id)
        return None if row is None else Site.of(row)

    @strawberry.field(description="Stock on hand per (item, site); both filters are optional.")
    async def stock_levels(
        self, info: Info, item_id: strawberry.ID | None = None, site_id: strawberry.ID | None = None
    ) -> list[StockLevel]:
        rows = await _store(info).stock_levels(_tenant(info), item_id, site_id)
        return [StockLevel.of(row) for row in rows]

    @strawberry.field(description="Sales orders, oldest first.")
    async def sales_orders(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[SalesOrder]:
        page = await _store(info).sales_orders(_tenant(info), page_request(first, after))
        return connection(page, SalesOrder.of)

    @strawberry.field
    async def sales_order(self, info: Info, id: strawberry.ID) -> SalesOrder | None:
        row = await _store(info).sales_order(_tenant(info), id)
        return None if row is None else SalesOrder.of(row)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a confirmed order, taking its stock from the site: all lines or none."
    )
    async def create_sales_order(self, info: Info, input: CreateSalesOrderInput) -> SalesOrder:
        lines = [models.LineRequest(line.item_id, line.quantity) for line in input.lines]
        row = await _store(info).create_sales_order(
            _tenant(info), input.customer_id, input.site_id, lines
        )
        return SalesOrder.of(row)

    @strawberry.mutation(
        description="Post an order: it is shipped and invoiced, and can no longer change."
    )
    async def post_sales_order(self, info: Info, id: strawberry.ID) -> SalesOrder:
        return SalesOrder.of(await _store(info).post_sales_order(_tenant(info), id))

    @strawberry.mutation(description="Count stock up or down by hand; never below zero.")
    async def adjust_stock(self, info: Info, input: AdjustStockInput) -> StockLevel:
        row = await _store(info).adjust_stock(
            _tenant(info), input.item_id, input.site_id, input.delta, input.reason
        )
        return StockLevel.of(row)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Stock taken by this tenant's sales orders or adjusted by hand, as it "
        "happens; only that of one item when itemId is given."
    )
    async def stock_changed(
        self, info: Info, item_id: strawberry.ID | None = None
    ) -> AsyncGenerator[StockChange, None]:
        async with aclosing(_store(info).stock_changes(_tenant(info))) as changes:
            async for change in changes:
                if item_id in (None, change.item_id):
                    yield StockChange.of(change)


def _store(info: Info) -> SdmoStore:
    return info.context.store


def _tenant(info: Info) -> str:
    return info.context.tenant_id


def build_schema() -> RefAppSchema:
    return RefAppSchema(query=Query, mutation=Mutation, subscription=Subscription)
