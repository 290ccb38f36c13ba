"""The shopfloor store: in memory, partitioned by tenant, seeded on first access."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

from tenantgate.refapps.clock import Clock, utc_datetime
from tenantgate.refapps.errors import BadUserInput, NotFound
from tenantgate.refapps.events import TenantEvents
from tenantgate.refapps.pages import Page, PageRequest, take_page
from tenantgate.refapps.shopfloor.models import (
    Operation,
    OperationStatus,
    ShopfloorTenant,
    TimeEntry,
    TimeRecorded,
    WorkOrder,
    WorkOrderStatus,
)
from tenantgate.refapps.shopfloor.seed import seed_shopfloor

MAX_MINUTES = 24 * 60
MAX_OPERATOR_LENGTH = 100


class ShopfloorStore:
    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._tenants: dict[str, ShopfloorTenant] = {}
        self._lock = asyncio.Lock()
        self._recorded: TenantEvents[TimeRecorded] = TenantEvents()

    async def work_orders(self, tenant_id: str, page: PageRequest) -> Page[WorkOrder]:
        return take_page(list(self._data(tenant_id).work_orders.values()), page)

    async def open_work_orders(self, tenant_id: str, page: PageRequest) -> Page[WorkOrder]:
        orders = self._data(tenant_id).work_orders.values()
        return take_page([o for o in orders if o.status is not WorkOrderStatus.COMPLETED], page)

    async def operations(
        self,
        tenant_id: str,
        page: PageRequest,
        work_order_id: str | None = None,
        status: OperationStatus | None = None,
    ) -> Page[Operation]:
        """By work order (in creation order), then sequence."""
        data = self._data(tenant_id)
        order = {key: index for index, key in enumerate(data.work_orders)}
        chosen = [
            op
            for op in data.operations.values()
            if work_order_id in (None, op.work_order_id) and status in (None, op.status)
        ]
        chosen.sort(key=lambda op: (order.get(op.work_order_id, len(order)), op.sequence))
        return take_page(chosen, page)

    async def work_order(self, tenant_id: str, work_order_id: str) -> WorkOrder | None:
        return self._data(tenant_id).work_orders.get(work_order_id)

    async def operations_of(self, tenant_id: str, work_order_id: str) -> list[Operation]:
        operations = self._data(tenant_id).operations.values()
        chosen = [op for op in operations if op.work_order_id == work_order_id]
        return sorted(chosen, key=lambda op: op.sequence)

    async def operation(self, tenant_id: str, operation_id: str) -> Operation | None:
        return self._data(tenant_id).operations.get(operation_id)

    async def time_entries(
        self, tenant_id: str, page: PageRequest, operation_id: str | None = None
    ) -> Page[TimeEntry]:
        entries = self._data(tenant_id).time_entries.values()
        chosen = [e for e in entries if operation_id in (None, e.operation_id)]
        return take_page(chosen, page)

    async def entries_of(self, tenant_id: str, operation_id: str) -> list[TimeEntry]:
        entries = self._data(tenant_id).time_entries.values()
        return [entry for entry in entries if entry.operation_id == operation_id]

    async def time_entry(self, tenant_id: str, entry_id: str) -> TimeEntry | None:
        return self._data(tenant_id).time_entries.get(entry_id)

    async def record_time(
        self, tenant_id: str, operation_id: str, operator: str, minutes: int
    ) -> TimeEntry:
        operator = check_entry(operator, minutes)
        async with self._lock:
            data = self._data(tenant_id)
            if operation_id not in data.operations:
                raise NotFound(f"no operation with id {operation_id!r}", field="operationId")
            entry = TimeEntry(
                id=data.ids.next("te"),
                operation_id=operation_id,
                operator=operator,
                minutes=minutes,
                recorded_at=utc_datetime(self._clock),
            )
            data.time_entries[entry.id] = entry
            work_order_id = data.operations[operation_id].work_order_id
        self._recorded.publish(tenant_id, TimeRecorded(work_order_id, entry))
        return entry

    def time_recorded(self, tenant_id: str) -> AsyncGenerator[TimeRecorded, None]:
        """The tenant's new time entries from now on (close the iterator to stop listening)."""
        return self._recorded.listen(tenant_id)

    def _data(self, tenant_id: str) -> ShopfloorTenant:
        data = self._tenants.get(tenant_id)
        if data is None:
            data = self._tenants[tenant_id] = seed_shopfloor(tenant_id)
        return data


def check_entry(operator: str, minutes: int) -> str:
    """The operator name to record, once the entry is known to be acceptable."""
    if not 1 <= minutes <= MAX_MINUTES:
        raise BadUserInput(f"minutes must be between 1 and {MAX_MINUTES}", field="minutes")
    name = operator.strip()
    if not 1 <= len(name) <= MAX_OPERATOR_LENGTH:
        raise BadUserInput(
            f"operator must be 1 to {MAX_OPERATOR_LENGTH} characters", field="operator"
        )
    return name
