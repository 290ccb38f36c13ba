"""Deterministic sdmo data for a tenant: the same tenant id always gets the same rows."""

from __future__ import annotations

import random
from decimal import Decimal

from tenantgate.refapps.sdmo.models import (
    Customer,
    Item,
    SalesOrder,
    SalesOrderLine,
    SalesOrderStatus,
    SdmoTenant,
    Site,
)
from tenantgate.refapps.seeding import IdMaker, item_code, seed_time, tenant_rng

_ADJECTIVES = ("Steel", "Brass", "Oak", "Nylon", "Copper", "Alloy", "Carbon", "Ceramic")
_NOUNS = ("Bracket", "Hinge", "Valve", "Gear", "Bolt", "Panel", "Bearing", "Clamp", "Spring")
_COMPANY_FIRST = ("Northwind", "Blue Fjord", "Kestrel", "Ironbark", "Lumen", "Harbor", "Pine")
_COMPANY_LAST = ("Traders", "Industries", "Supply", "Works", "Group", "Retail", "Logistics")
_SITES = (("WH-01", "Main Warehouse"), ("WH-02", "North Depot"), ("WH-03", "South Depot"))


def seed_sdmo(tenant_id: str) -> SdmoTenant:
    rng = tenant_rng("sdmo", tenant_id)
    data = SdmoTenant(ids=IdMaker(tenant_id))
    _seed_items(data, rng)
    _seed_customers(data, rng)
    _seed_sites(data, rng)
    _seed_stock(data, rng)
    _seed_orders(data, rng)
    return data


def _seed_items(data: SdmoTenant, rng: random.Random) -> None:
    for number in range(1, rng.randint(30, 40) + 1):
        name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {rng.randint(10, 99)}"
        price = Decimal(rng.randint(150, 50000)) / 100
        item = Item(id=data.ids.next("itm"), code=item_code(number), name=name, unit_price=price)
        data.items[item.id] = item


def _seed_customers(data: SdmoTenant, rng: random.Random) -> None:
    for number in range(1, rng.randint(20, 30) + 1):
        name = f"{rng.choice(_COMPANY_FIRST)} {rng.choice(_COMPANY_LAST)}"
        code = f"C-{2000 + number}"
        email = f"orders+{code.lower()}@example.com"
        customer = Customer(id=data.ids.next("cus"), code=code, name=name, email=email)
        data.customers[customer.id] = customer


def _seed_sites(data: SdmoTenant, rng: random.Random) -> None:
    for code, name in _SITES[: rng.randint(2, 3)]:
        site = Site(id=data.ids.next("sit"), code=code, name=name)
        data.sites[site.id] = site


def _seed_stock(data: SdmoTenant, rng: random.Random) -> None:
    for item_id in data.items:
        for site_id in data.sites:
            data.stock[(item_id, site_id)] = rng.randint(0, 250)


def _seed_orders(data: SdmoTenant, rng: random.Random) -> None:
    items = list(data.items.values())
    for _ in range(rng.randint(8, 15)):
        chosen = rng.sample(items, rng.randint(1, 4))
        lines = tuple(
            SalesOrderLine(number, item.id, rng.randint(1, 20), item.unit_price)
            for number, item in enumerate(chosen, start=1)
        )
        order = SalesOrder(
            id=data.ids.next("so"),
            number=data.take_order_number(),
            customer_id=rng.choice(list(data.customers)),
            site_id=rng.choice(list(data.sites)),
            status=rng.choice(list(SalesOrderStatus)),
            created_at=seed_time(rng),
            lines=lines,
        )
        data.orders[order.id] = order
