"""shopfloor rows, as the store keeps them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum

from tenantgate.refapps.seeding import IdMaker


class WorkOrderStatus(Enum):
    PLANNED = "PLANNED"
    RELEASED = "RELEASED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"


class OperationStatus(Enum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"


@dataclass(frozen=True)
class WorkOrder:
    id: str
    number: str
    item_code: str
    quantity: int
    status: WorkOrderStatus
    due_date: date


@dataclass(frozen=True)
class Operation:
    id: str
    work_order_id: str
    sequence: int
    name: str
    work_center: str
    status: OperationStatus


@dataclass(frozen=True)
class TimeEntry:
    id: str
    operation_id: str
    operator: str
    minutes: int
    recorded_at: datetime


@dataclass(frozen=True)
class TimeRecorded:
    work_order_id: str
    entry: TimeEntry


@dataclass
class ShopfloorTenant:
    """All rows of one tenant."""

    ids: IdMaker
    work_orders: dict[str, WorkOrder] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    time_entries: dict[str, TimeEntry] = field(default_factory=dict)
