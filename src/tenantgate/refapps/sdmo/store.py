"""The sdmo store: in memory, partitioned by tenant, seeded on first access."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncGenerator, Sequence
from dataclasses import replace
from datetime import datetime

from tenantgate.refapps.clock import Clock, utc_datetime
from tenantgate.refapps.errors import BadUserInput, InsufficientStock, NotFound
from tenantgate.refapps.events import TenantEvents
from tenantgate.refapps.pages import Page, PageRequest, take_page
from tenantgate.refapps.sdmo.models import (
    Customer,
    Item,
    LineRequest,
    SalesOrder,
    SalesOrderLine,
    SalesOrderStatus,
    SdmoTenant,
    Site,
    StockChange,
    StockLevel,
)
from tenantgate.refapps.sdmo.seed import seed_sdmo

MAX_LINES = 100
MAX_QUANTITY = 1_000_000
MAX_REASON = 200


class SdmoStore:
    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._tenants: dict[str, SdmoTenant] = {}
        self._lock = asyncio.Lock()
        self._stock_changes: TenantEvents[StockChange] = TenantEvents()

    async def items(self, tenant_id: str, page: PageRequest) -> Page[Item]:
        return take_page(list(self._data(tenant_id).items.values()), page)

    async def item(self, tenant_id: str, item_id: str) -> Item | None:
        return self._data(tenant_id).items.get(item_id)

    async def customers(self, tenant_id: str, page: PageRequest) -> Page[Customer]:
        return take_page(list(self._data(tenant_id).customers.values()), page)

    async def customer(self, tenant_id: str, customer_id: str) -> Customer | None:
        return self._data(tenant_id).customers.get(customer_id)

    async def sites(self, tenant_id: str) -> list[Site]:
        return list(self._data(tenant_id).sites.values())

    async def site(self, tenant_id: str, site_id: str) -> Site | None:
        return self._data(tenant_id).sites.get(site_id)

    async def stock_levels(
        self, tenant_id: str, item_id: str | None = None, site_id: str | None = None
    ) -> list[StockLevel]:
        return [
            StockLevel(item, site, quantity)
            for (item, site), quantity in self._data(tenant_id).stock.items()
            if item_id in (None, item) and site_id in (None, site)
        ]

    async def sales_orders(self, tenant_id: str, page: PageRequest) -> Page[SalesOrder]:
        return take_page(list(self._data(tenant_id).orders.values()), page)

    async def sales_order(self, tenant_id: str, order_id: str) -> SalesOrder | None:
        return self._data(tenant_id).orders.get(order_id)

    async def create_sales_order(
        self, tenant_id: str, customer_id: str, site_id: str, lines: Sequence[LineRequest]
    ) -> SalesOrder:
        """Take the stock for every line at the site, or for none of them."""
        check_lines(lines)
        async with self._lock:
            data = self._data(tenant_id)
            now = utc_datetime(self._clock)
            order = place_order(data, customer_id, site_id, lines, now)
        for change in stock_changes(data, order, lines):
            self._stock_changes.publish(tenant_id, change)
        return order

    async def post_sales_order(self, tenant_id: str, order_id: str) -> SalesOrder:
        """Post a confirmed (or shipped) order: it is shipped and invoiced, and can no longer
        change."""
        async with self._lock:
            data = self._data(tenant_id)
            order = data.orders.get(order_id)
            _require(order is not None, "sales order", order_id, "id")
            assert order is not None
            if order.status is SalesOrderStatus.INVOICED:
                raise BadUserInput(f"sales order {order.number} is posted already", field="id")
            posted = replace(order, status=SalesOrderStatus.INVOICED)
            data.orders[order_id] = posted
        return posted

    async def adjust_stock(
        self, tenant_id: str, item_id: str, site_id: str, delta: int, reason: str
    ) -> StockLevel:
        """Count stock up or down by hand (a stock-take, a breakage), never below zero."""
        if delta == 0 or abs(delta) > MAX_QUANTITY:
            raise BadUserInput(
                f"delta must be between -{MAX_QUANTITY} and {MAX_QUANTITY}, and not 0",
                field="delta",
            )
        reason = reason.strip()
        if not 1 <= len(reason) <= MAX_REASON:
            raise BadUserInput(f"reason needs 1 to {MAX_REASON} characters", field="reason")
        async with self._lock:
            data = self._data(tenant_id)
            _require(item_id in data.items, "item", item_id, "itemId")
            _require(site_id in data.sites, "site", site_id, "siteId")
            quantity = data.stock.get((item_id, site_id), 0) + delta
            if quantity < 0:
                raise InsufficientStock(
                    f"only {quantity - delta} of item {data.items[item_id].code} in stock at "
                    f"this site, cannot take {-delta}",
                    itemId=item_id,
                    siteId=site_id,
                    requested=-delta,
                    available=quantity - delta,
                )
            data.stock[(item_id, site_id)] = quantity
        change = StockChange(item_id, site_id, quantity, delta, None, reason)
        self._stock_changes.publish(tenant_id, change)
        return StockLevel(item_id, site_id, quantity)

    def stock_changes(self, tenant_id: str) -> AsyncGenerator[StockChange, None]:
        """The tenant's stock changes from now on (close the iterator to stop listening)."""
        return self._stock_changes.listen(tenant_id)

    def _data(self, tenant_id: str) -> SdmoTenant:
        data = self._tenants.get(tenant_id)
        if data is None:
            data = self._tenants[tenant_id] = seed_sdmo(tenant_id)
        return data


def check_lines(lines: Sequence[LineRequest]) -> None:
    if not 1 <= len(lines) <= MAX_LINES:
        raise BadUserInput(f"an order needs between 1 and {MAX_LINES} lines")
    for index, line in enumerate(lines):
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise BadUserInput(
                f"lines[{index}].quantity must be between 1 and {MAX_QUANTITY}",
                field=f"lines[{index}].quantity",
            )


def place_order(
    data: SdmoTenant,
    customer_id: str,
    site_id: str,
    lines: Sequence[LineRequest],
    now: datetime,
) -> SalesOrder:
    _require(customer_id in data.customers, "customer", customer_id, "customerId")
    _require(site_id in data.sites, "site", site_id, "siteId")
    for index, line in enumerate(lines):
        _require(line.item_id in data.items, "item", line.item_id, f"lines[{index}].itemId")
    wanted = _quantities_by_item(lines)
    _check_stock(data, site_id, wanted)
    for item_id, quantity in wanted.items():
        data.stock[(item_id, site_id)] -= quantity
    order = _new_order(data, customer_id, site_id, lines, now)
    data.orders[order.id] = order
    return order


def stock_changes(
    data: SdmoTenant, order: SalesOrder, lines: Sequence[LineRequest]
) -> list[StockChange]:
    return [
        StockChange(item_id, order.site_id, data.stock[(item_id, order.site_id)], -taken, order.id)
        for item_id, taken in _quantities_by_item(lines).items()
    ]


def _require(found: bool, kind: str, row_id: str, field: str) -> None:
    if not found:
        raise NotFound(f"no {kind} with id {row_id!r}", field=field)


def _quantities_by_item(lines: Sequence[LineRequest]) -> Counter[str]:
    wanted: Counter[str] = Counter()
    for line in lines:
        wanted[line.item_id] += line.quantity
    return wanted


def _check_stock(data: SdmoTenant, site_id: str, wanted: Counter[str]) -> None:
    for item_id, quantity in wanted.items():
        available = data.stock.get((item_id, site_id), 0)
        if quantity > available:
            code = data.items[item_id].code
            raise InsufficientStock(
                f"only {available} of item {code} in stock at this site, {quantity} requested",
                itemId=item_id,
                siteId=site_id,
                requested=quantity,
                available=available,
            )


def _new_order(
    data: SdmoTenant,
    customer_id: str,
    site_id: str,
    lines: Sequence[LineRequest],
    now: datetime,
) -> SalesOrder:
    order_lines = tuple(
        SalesOrderLine(number, line.item_id, line.quantity, data.items[line.item_id].unit_price)
        for number, line in enumerate(lines, start=1)
    )
    return SalesOrder(
        id=data.ids.next("so"),
        number=data.take_order_number(),
        customer_id=customer_id,
        site_id=site_id,
        status=SalesOrderStatus.CONFIRMED,
        created_at=now,
        lines=order_lines,
    )
