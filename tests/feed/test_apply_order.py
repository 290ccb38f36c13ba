"""A node's memory never goes back in time: a read of the change feed that fetched a record
before a write committed must not put the old record back after that write's own apply.
(Found by tests/properties: a token issued right after an app was added lacked the app.)"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tenantgate.registry.loader import REFRESHERS
from tenantgate.registry.state import RegistryState
from tenantgate.services import Services
from tenantgate.settings import Settings

URL = "http://127.0.0.1:9/graphql"


@pytest.fixture
async def node(settings: Settings):
    services = Services.build(settings)
    await services.open(background=False)  # no poller of its own: the test polls
    yield services
    await services.close()


async def test_a_poll_that_read_before_a_write_does_not_undo_it(node, monkeypatch):
    registry = node.registry
    tenant = await registry.create_tenant("Tenant", "eu", "cluster-a", "test")
    await registry.put_app(tenant.tenant_id, "sdmo", URL, None, "test")
    fetched, go_on = asyncio.Event(), asyncio.Event()
    refresh_tenants = REFRESHERS["tenant"]

    async def slow_first_read(
        session: AsyncSession, state: RegistryState, keys: Collection[str]
    ) -> None:
        """The poll's read: fetched now, put into memory once told to go on."""
        monkeypatch.setitem(REFRESHERS, "tenant", refresh_tenants)
        fetched_now = RegistryState()
        await refresh_tenants(session, fetched_now, keys)
        fetched.set()
        await go_on.wait()
        for record in fetched_now.tenants.values():
            state.put_tenant(record)

    monkeypatch.setitem(REFRESHERS, "tenant", slow_first_read)
    poll = asyncio.create_task(node.feed.poll())
    await fetched.wait()
    write = asyncio.create_task(registry.put_app(tenant.tenant_id, "shopfloor", URL, None, "test"))
    await asyncio.wait([write], timeout=0.5)  # committed; applied too, unless it must wait
    go_on.set()
    await poll
    await write

    assert set(node.state.tenants[tenant.tenant_id].apps) == {"sdmo", "shopfloor"}
