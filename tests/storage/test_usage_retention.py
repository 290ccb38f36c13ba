"""Gateway usage is kept as long as the audit trail: older minutes are pruned with it."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from tenantgate.services import Services
from tenantgate.storage import models as m
from tenantgate.storage.retention import DAY, AuditRetention
from tenantgate.storage.usage import UsageTally
from tests.conftest import ManualClock

NOW = 1_000_000_000.0


async def test_usage_minutes_past_retention_are_pruned(services: Services) -> None:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    clock = ManualClock(NOW - 100 * DAY)
    tally = UsageTally(services.batch, clock)
    tally.record(tenant, "7", "sdmo", 403, "FORBIDDEN", 0.001)
    clock.advance(20 * DAY)
    tally.record(tenant, "7", "sdmo", 401, "UNAUTHENTICATED", 0.001)
    tally.flush(everything=True)
    await services.batch.drain()

    await AuditRetention(services.db, ManualClock(NOW), 90, rows_per_batch=1, pause=0).prune()

    async with services.db.session() as session:
        for table in (m.UsageMinutes, m.UsageCodes):
            minutes = await session.scalars(
                select(table.c.minute).where(table.c.tenant_id == tenant)
            )
            assert [round(NOW / 60 - minute) // 1440 for minute in minutes] == [80]
