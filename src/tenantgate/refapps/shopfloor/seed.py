"""Deterministic shopfloor data for a tenant: the same tenant id always gets the same rows."""

from __future__ import annotations

import random
from datetime import timedelta

from tenantgate.refapps.seeding import IdMaker, item_code, seed_time, tenant_rng
from tenantgate.refapps.shopfloor.models import (
    Operation,
    OperationStatus,
    ShopfloorTenant,
    TimeEntry,
    WorkOrder,
    WorkOrderStatus,
)

_ROUTING = (
    ("Cut", "WC-SAW"),
    ("Machine", "WC-CNC"),
    ("Weld", "WC-WELD"),
    ("Assemble", "WC-ASSY"),
    ("Paint", "WC-PAINT"),
    ("Inspect", "WC-QA"),
)
_OPERATORS = ("amira", "bjorn", "chen", "dana", "emeka", "fatima", "goran")


def seed_shopfloor(tenant_id: str) -> ShopfloorTenant:
    rng = tenant_rng("shopfloor", tenant_id)
    data = ShopfloorTenant(ids=IdMaker(tenant_id))
    for number in range(1, rng.randint(12, 20) + 1):
        _seed_work_order(data, rng, number)
    return data


def _seed_work_order(data: ShopfloorTenant, rng: random.Random, number: int) -> None:
    started = seed_time(rng)
    order = WorkOrder(
        id=data.ids.next("wo"),
        number=f"WO-{5000 + number}",
        item_code=item_code(rng.randint(1, 30)),
        quantity=rng.randint(1, 50) * 10,
        status=rng.choice(list(WorkOrderStatus)),
        due_date=(started + timedelta(days=rng.randint(3, 30))).date(),
    )
    data.work_orders[order.id] = order
    steps = sorted(rng.sample(range(len(_ROUTING)), rng.randint(2, 5)))
    for index, step in enumerate(steps, start=1):
        status = _operation_status(order.status, index, len(steps))
        _seed_operation(data, rng, order.id, index * 10, _ROUTING[step], status)


def _operation_status(order: WorkOrderStatus, index: int, count: int) -> OperationStatus:
    if order is WorkOrderStatus.COMPLETED:
        return OperationStatus.DONE
    current = max(count // 2, 1) if order is WorkOrderStatus.IN_PROGRESS else 0
    if index < current:
        return OperationStatus.DONE
    return OperationStatus.IN_PROGRESS if index == current else OperationStatus.PENDING


def _seed_operation(
    data: ShopfloorTenant,
    rng: random.Random,
    work_order_id: str,
    sequence: int,
    step: tuple[str, str],
    status: OperationStatus,
) -> None:
    name, work_center = step
    operation = Operation(data.ids.next("op"), work_order_id, sequence, name, work_center, status)
    data.operations[operation.id] = operation
    if status is OperationStatus.PENDING:
        return
    for _ in range(rng.randint(1, 3)):
        entry = TimeEntry(
            id=data.ids.next("te"),
            operation_id=operation.id,
            operator=rng.choice(_OPERATORS),
            minutes=rng.randint(5, 240),
            recorded_at=seed_time(rng),
        )
        data.time_entries[entry.id] = entry
