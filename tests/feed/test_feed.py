"""The change feed on both databases: a change whose transaction commits late, after later
ones, and with a writer clock far behind, is still applied; a burst is applied in batches;
pruning never lets an id be handed out twice."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, text

from tenantgate.services import Services
from tenantgate.settings import Settings
from tenantgate.storage import models as m
from tenantgate.storage.changes import KEEP_CHANGES_SECONDS, prune


@pytest.fixture
async def node_a(settings: Settings):
    services = Services.build(settings)
    await services.open(background=False)
    yield services
    await services.close()


@pytest.fixture
async def node_b(settings: Settings, node_a):
    services = Services.build(settings)
    await services.open(background=False)
    yield services
    await services.close()


async def _accepted(node: Services) -> tuple[str, str]:
    registry = node.registry
    application, _ = await registry.create_application("Late commit", "test")
    tenant = await registry.create_tenant("Tenant", "eu", "cluster-a", "test")
    await registry.put_api_user(
        tenant.tenant_id, application.application_id, "test", first_name="A", last_name="B"
    )
    return tenant.tenant_id, application.application_id


async def test_a_late_commit_with_an_old_clock_reaches_the_other_node(node_a, node_b):
    if node_a.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: a transaction cannot commit late")
    tenant_id, application_id = await _accepted(node_a)
    await node_b.feed.poll()
    assert node_b.state.api_user(tenant_id, application_id).enabled

    # The disable takes its change id first, and its writer's clock is ten minutes behind...
    held = await node_a.db.engine.connect()
    await held.execute(
        text(
            "UPDATE api_users SET enabled = false, generation = generation + 1 "
            "WHERE tenant_id = :t AND application_id = :a"
        ),
        {"t": tenant_id, "a": application_id},
    )
    await held.execute(
        text("INSERT INTO changes (at, entity, key) VALUES (:at, 'api_user', :key)"),
        {"at": time.time() - 600, "key": f"{tenant_id}/{application_id}"},
    )
    # ...while later changes commit and are read past it.
    later = await node_a.registry.create_tenant("Later", "eu", "cluster-b", "test")
    await node_b.feed.poll()
    await node_b.feed.poll()
    assert later.tenant_id in node_b.state.tenants
    assert node_b.state.api_user(tenant_id, application_id).enabled  # not committed yet

    await held.commit()
    await held.close()
    await node_b.feed.poll()
    assert not node_b.state.api_user(tenant_id, application_id).enabled


async def test_a_rolled_back_change_does_not_stop_the_feed(node_a, node_b):
    if node_a.db.engine.dialect.name != "postgresql":
        pytest.skip("the gap a rollback leaves is a PostgreSQL sequence's")
    aborted = await node_a.db.engine.connect()
    await aborted.execute(
        text("INSERT INTO changes (at, entity, key) VALUES (0, 'tenant', 'nobody')")
    )
    await aborted.rollback()
    await aborted.close()
    after = await node_a.registry.create_tenant("After", "eu", "cluster-c", "test")
    await node_b.feed.poll()
    assert after.tenant_id in node_b.state.tenants


async def test_a_burst_is_applied_in_one_read(node_a, node_b):
    now = time.time()
    jtis = [f"burst-{i}" for i in range(3000)]
    async with node_a.db.begin() as session:
        session.add_all(m.RevokedToken(jti=j, expires_at=now + 900, revoked_at=now) for j in jtis)
        session.add_all(m.Change(at=now, entity="token", key=j) for j in jtis)
    applied = await node_b.feed.poll()
    assert applied == len(jtis)
    assert all(j in node_b.state.revoked for j in jtis)
    assert await node_b.feed.poll() == 0  # nothing read twice


async def test_pruning_keeps_the_newest_change_so_ids_never_go_back(node_a, node_b):
    old = time.time() - KEEP_CHANGES_SECONDS - 10
    tenant = await node_a.registry.create_tenant("Old", "eu", "cluster-d", "test")
    async with node_a.db.begin() as session:
        await session.execute(text("UPDATE changes SET at = :old"), {"old": old})
    await node_b.feed.poll()
    async with node_a.db.begin() as session:
        newest = await session.scalar(select(func.max(m.Change.id)))
        await prune(session, time.time())
        assert await session.scalar(select(func.count()).select_from(m.Change)) == 1
    renamed = await node_a.registry.update_tenant(tenant.tenant_id, "test", name="New")
    async with node_a.db.session() as session:
        assert await session.scalar(select(func.max(m.Change.id))) > newest
    await node_b.feed.poll()
    assert node_b.state.tenants[renamed.tenant_id].name == "New"


async def test_a_writer_whose_clock_is_behind_is_obeyed_within_a_second(settings, node_b):
    from tests.conftest import ManualClock

    behind = Services.build(settings, clock=ManualClock(time.time() - 10))
    await behind.open(background=False)
    try:
        tenant_id, application_id = await _accepted(behind)
        node_b.feed.start()
        try:
            await _until(lambda: node_b.state.api_user(tenant_id, application_id) is not None)
            await behind.registry.set_api_user_enabled(tenant_id, application_id, False, "test")
            started = time.monotonic()
            await _until(lambda: not node_b.state.api_user(tenant_id, application_id).enabled)
            assert time.monotonic() - started < 1.0
        finally:
            await node_b.feed.stop()
    finally:
        await behind.close()


async def _until(check, within: float = 2.0) -> None:
    import asyncio

    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.01)
