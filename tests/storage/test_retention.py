"""The audit trail is kept for the retention period: older rows are deleted in batches, newer
ones stay; with 0 days nothing is deleted; on PostgreSQL one node prunes at a time."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from sqlalchemy import func, select

from tenantgate.services import Services
from tenantgate.storage import models as m
from tenantgate.storage.audit import audit_row
from tenantgate.storage.database import is_sqlite
from tenantgate.storage.retention import DAY, PRUNE_LOCK, AuditRetention
from tests.conftest import ManualClock

NOW = 1_000_000_000.0


async def add_rows(services: Services, actor: str, ages_in_days: list[float]) -> None:
    async with services.db.begin() as session:
        for age in ages_in_days:
            session.add(m.AuditEvent(**audit_row("test.retention", actor, NOW - age * DAY)))


async def ages(services: Services, actor: str) -> list[float]:
    async with services.db.session() as session:
        rows = await session.scalars(
            select(m.AuditEvent.at).where(m.AuditEvent.actor == actor).order_by(m.AuditEvent.at)
        )
        return [round((NOW - at) / DAY, 1) for at in rows]


async def test_rows_past_retention_are_deleted_in_batches(services: Services) -> None:
    actor = f"test:{uuid.uuid4().hex}"
    await add_rows(services, actor, [200, 120, 91, 90.5, 89.9, 30, 0])
    retention = AuditRetention(services.db, ManualClock(NOW), 90, rows_per_batch=2, pause=0)

    deleted = await retention.prune()

    assert deleted >= 4  # other tests write rows stamped near 0 in the shared database
    assert await ages(services, actor) == [89.9, 30, 0]
    assert await retention.prune() == 0


async def test_zero_days_keeps_everything(services: Services) -> None:
    actor = f"test:{uuid.uuid4().hex}"
    await add_rows(services, actor, [10_000, 1])

    assert await AuditRetention(services.db, ManualClock(NOW), 0).prune() == 0
    assert sorted(await ages(services, actor)) == [1, 10_000]


async def test_one_postgresql_node_prunes_at_a_time(services: Services) -> None:
    if is_sqlite(services.settings.database_url):
        pytest.skip("SQLite has one machine, and one writer at a time anyway")
    actor = f"test:{uuid.uuid4().hex}"
    await add_rows(services, actor, [365])
    dsn = services.settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    other_node = await asyncpg.connect(dsn)
    try:
        async with other_node.transaction():
            assert await other_node.fetchval("SELECT pg_try_advisory_xact_lock($1)", PRUNE_LOCK)
            assert await AuditRetention(services.db, ManualClock(NOW), 90).prune() == 0
        assert await AuditRetention(services.db, ManualClock(NOW), 90).prune() >= 1
    finally:
        await other_node.close()
    async with services.db.session() as session:
        left = await session.scalar(
            select(func.count()).select_from(m.AuditEvent).where(m.AuditEvent.actor == actor)
        )
    assert left == 0
