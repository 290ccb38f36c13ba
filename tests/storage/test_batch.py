"""The group-commit writer on each database: every row of a batch lands, in order, however
large the batch; "last used" times are written at most once a second per record."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from tenantgate.services import Services
from tenantgate.storage import models as m
from tenantgate.storage.audit import audit_row
from tenantgate.storage.batch import BatchWriter
from tests import factories as f
from tests.conftest import ManualClock


async def test_a_large_batch_lands_whole_and_in_order(services: Services) -> None:
    writer = BatchWriter(services.settings.database_url, interval_ms=0, max_batch=10_000)
    writer.start()
    marker = "test.large-batch"
    rows = [audit_row(marker, f"test:{i}", 1_900_000_000.0 + i, n=i) for i in range(2500)]
    try:
        await asyncio.gather(*(writer.write(row) for row in rows))
    finally:
        await writer.stop()

    async with services.db.session() as session:
        found = (
            await session.scalars(
                select(m.AuditEvent).where(m.AuditEvent.kind == marker).order_by(m.AuditEvent.id)
            )
        ).all()

    assert [e.actor for e in found] == [f"test:{i}" for i in range(2500)]
    assert found[1234].detail == {"n": 1234}


async def test_a_batch_with_a_revocation_commits_everything_together(services: Services) -> None:
    writer = BatchWriter(services.settings.database_url, interval_ms=0)
    writer.start()
    marker = "test.mixed-batch"
    try:
        await asyncio.gather(
            writer.write(audit_row(marker, "test:a", 1_900_000_000.0)),
            writer.write(
                audit_row(marker, "test:b", 1_900_000_000.0),
                revocation=("jti-of-a-mixed-batch", 1_900_000_900.0),
            ),
        )
    finally:
        await writer.stop()

    async with services.db.session() as session:
        audited = await session.scalar(
            select(func.count()).select_from(m.AuditEvent).where(m.AuditEvent.kind == marker)
        )
        revoked = await session.get(m.RevokedToken, "jti-of-a-mixed-batch")

    assert audited == 2
    assert revoked is not None and revoked.expires_at == 1_900_000_900.0


async def test_last_used_times_are_written_at_most_once_a_second(settings, client_for) -> None:
    clock = ManualClock()
    services, client = await client_for(clock)
    setup = await f.accepted_setup(client)

    async def secret_last_used() -> float | None:
        async with services.db.session() as session:
            secret = await session.get(m.ClientSecret, setup.secret_id)
            assert secret is not None
            return secret.last_used_at

    await f.get_token(client, setup)
    first = await secret_last_used()
    clock.advance(0.5)
    await f.get_token(client, setup)
    within_a_second = await secret_last_used()
    clock.advance(0.5)
    await f.get_token(client, setup)
    a_second_later = await secret_last_used()

    assert first == clock.now - 1.0
    assert within_a_second == first
    assert a_second_later == clock.now


async def test_drain_waits_for_rows_queued_without_waiting(services: Services) -> None:
    """Queued rows (refusals) may be in a batch still in flight when a later write commits on
    another connection; ``drain()`` waits for all of them."""
    writer = BatchWriter(services.settings.database_url, interval_ms=5)
    writer.start()
    marker = "test.drained"
    try:
        for i in range(50):
            writer.add(audit_row(marker, f"test:{i}", 1_900_000_000.0 + i))
            if i % 10 == 0:
                await asyncio.sleep(0)  # let the writer take some of them in batches
        await writer.drain()
        async with services.db.session() as session:
            landed = await session.scalar(
                select(func.count()).select_from(m.AuditEvent).where(m.AuditEvent.kind == marker)
            )
    finally:
        await writer.stop()

    assert landed == 50
