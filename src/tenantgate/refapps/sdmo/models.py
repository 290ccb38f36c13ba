"""sdmo rows, as the store keeps them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum

from tenantgate.refapps.seeding import IdMaker


class SalesOrderStatus(Enum):
    CONFIRMED = "CONFIRMED"
    SHIPPED = "SHIPPED"
    INVOICED = "INVOICED"


@dataclass(frozen=True)
class Item:
    id: str
    code: str
    name: str
    unit_price: Decimal


@dataclass(frozen=True)
class Customer:
    id: str
    code: str
    name: str
    email: str


@dataclass(frozen=True)
class Site:
    id: str
    code: str
    name: str


@dataclass(frozen=True)
class StockLevel:
    item_id: str
    site_id: str
    quantity: int


@dataclass(frozen=True)
class StockChange:
    """Stock of an item at a site moved by ``delta``, to ``quantity``: taken by a sales order
    (``sales_order_id``) or adjusted by hand (``reason``)."""

    item_id: str
    site_id: str
    quantity: int
    delta: int
    sales_order_id: str | None
    reason: str | None = None


@dataclass(frozen=True)
class SalesOrderLine:
    line_number: int
    item_id: str
    quantity: int
    unit_price: Decimal

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class SalesOrder:
    id: str
    number: str
    customer_id: str
    site_id: str
    status: SalesOrderStatus
    created_at: datetime
    lines: tuple[SalesOrderLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0.00"))


@dataclass(frozen=True)
class LineRequest:
    item_id: str
    quantity: int


@dataclass
class SdmoTenant:
    """All rows of one tenant."""

    ids: IdMaker
    items: dict[str, Item] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    stock: dict[tuple[str, str], int] = field(default_factory=dict)
    orders: dict[str, SalesOrder] = field(default_factory=dict)
    next_order_number: int = 10001

    def take_order_number(self) -> str:
        number = self.next_order_number
        self.next_order_number += 1
        return f"SO-{number}"
