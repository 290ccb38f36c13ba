"""Refused token requests are counted on the audit trail, not written one row each: the first
refusal of a group (kind, reason, caller, tenant, application) in a minute at once, the rest
of the minute as one row with a count. A burst of refusals writes a bounded number of rows,
and the counts add up to the requests refused."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from tenantgate.services import Services
from tenantgate.storage import models as m
from tenantgate.storage.audit import audit_row
from tests import factories as f
from tests.conftest import ManualClock


async def refusal_rows(services: Services, **where: str) -> list[m.AuditEvent]:
    """This test's refusals (the database is shared by the tests of a run)."""
    services.refusals.flush()
    await services.batch.drain()
    async with services.db.session() as session:
        query = select(m.AuditEvent).where(m.AuditEvent.kind == "token.refused").filter_by(**where)
        return list((await session.scalars(query.order_by(m.AuditEvent.id))).all())


async def test_a_burst_of_refusals_is_a_few_counted_rows(server):
    clock = ManualClock(1_900_000_020.0)  # 20 s into a minute
    services, client = await server(clock=clock, failure_limit=1_000)
    setup = await f.accepted_setup(client)

    for _ in range(40):
        await client.post("/v1/token", data=setup.form(client_secret="tgs_guess"))
        clock.advance(0.5)
    first = await refusal_rows(
        services, application_id=setup.application_id
    )  # still within the minute: the first, and the count
    for _ in range(10):  # the next minute
        await client.post("/v1/token", data=setup.form(client_secret="tgs_guess"))

    rows = await refusal_rows(services, application_id=setup.application_id)
    assert [r.count for r in first] == [1, 39]
    assert [r.count for r in rows] == [1, 39, 1, 9]
    assert {r.reason for r in rows} == {"wrong or retired secret"}
    assert {r.application_id for r in rows} == {setup.application_id}
    assert {r.detail["address"] for r in rows} == {"203.0.113.7"}
    assert rows[1].at == 1_900_000_020.0 + 39 * 0.5  # the last refusal the row counts


async def test_the_audit_api_shows_the_count(server):
    clock = ManualClock()
    services, client = await server(clock=clock, failure_limit=1_000)
    setup = await f.accepted_setup(client)
    for _ in range(5):
        await client.post("/v1/token", data=setup.form(client_secret="tgs_guess"))
        clock.advance(1)
    await f.get_token(client, setup)
    services.refusals.flush()
    await services.batch.drain()

    response = await client.get(
        "/admin/v1/audit",
        params={"kind": "token.*", "application_id": setup.application_id},
        headers=f.ADMIN,
    )

    events = response.json()
    assert [(e["kind"], e["count"]) for e in events] == [
        ("token.issued", 1),
        ("token.refused", 4),
        ("token.refused", 1),
    ]


async def test_an_attack_of_100000_refusals_writes_under_1000_rows(server):
    """Unknown client ids, each from its own address, at 2,000 a second: every refusal is a
    group of its own, which is what the per-minute bound on groups is for."""
    clock = ManualClock(1_900_000_000.0)
    services, _client = await server(clock=clock)
    reason = f"unknown client ({uuid.uuid4().hex})"  # this test's rows
    for i in range(100_000):
        services.refusals.add(
            audit_row(
                "token.refused",
                f"client:guess-{i}",
                clock(),
                tenant_id="Dz62IqY7R8o7W6oj_mreA",
                reason=reason,
                error="invalid_client",
                address=f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
            )
        )
        clock.advance(1 / 2_000)

    rows = await refusal_rows(services, reason=reason)
    assert len(rows) < 1_000
    assert sum(r.count for r in rows) == 100_000
    async with services.db.session() as session:
        total = await session.scalar(
            select(func.sum(m.AuditEvent.count)).where(m.AuditEvent.reason == reason)
        )
    assert total == 100_000
    overflow = [r for r in rows if r.actor == "*"]
    assert overflow and all(
        r.detail == {"error": "invalid_client", "address": "*"} for r in overflow
    )


async def test_a_minute_s_count_is_written_when_it_ends_without_another_refusal(server):
    clock = ManualClock(1_900_000_000.0)
    services, client = await server(clock=clock, failure_limit=1_000)
    setup = await f.accepted_setup(client)
    for _ in range(3):
        await client.post("/v1/token", data=setup.form(client_secret="tgs_guess"))
    clock.advance(60)

    async with asyncio.timeout(5):  # the tally looks at the clock every second
        while True:
            await services.batch.drain()
            async with services.db.session() as session:
                counts = (
                    await session.scalars(
                        select(m.AuditEvent.count)
                        .where(m.AuditEvent.application_id == setup.application_id)
                        .where(m.AuditEvent.kind == "token.refused")
                        .order_by(m.AuditEvent.id)
                    )
                ).all()
            if len(counts) == 2:
                break
            await asyncio.sleep(0.1)
    assert counts == [1, 2]
