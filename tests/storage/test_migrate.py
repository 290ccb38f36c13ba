"""Migrations on PostgreSQL are bounded by their own timeout, not by a request's: a node that
starts while another holds the migration lock longer than the database timeout waits for it
and then migrates, instead of failing to start."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text

from tenantgate.storage.database import Database
from tenantgate.storage.migrate import _LOCK_ID, migrate
from tests.conftest import _create_pg_database, _drop_pg_database, pg_url

TIMEOUT = 0.3
HELD = 3 * TIMEOUT


@pytest.fixture
async def database() -> AsyncIterator[Database]:
    name = f"tenantgate_migrate_{uuid.uuid4().hex[:12]}"
    await _create_pg_database(name)
    db = Database(pg_url(name), timeout=TIMEOUT)
    yield db
    await db.dispose()
    await _drop_pg_database(name)


async def test_a_node_waits_for_another_nodes_migration_longer_than_the_database_timeout(
    database: Database,
) -> None:
    other = await asyncpg.connect(database.url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await other.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)  # another node migrates
        started = time.monotonic()
        migrating = asyncio.create_task(migrate(database))
        await asyncio.sleep(HELD)
        assert not migrating.done()  # still waiting, not failed by the request bound
        await other.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
        await asyncio.wait_for(migrating, timeout=30)
        took = time.monotonic() - started
    finally:
        await other.close()

    assert took >= HELD
    async with database.session() as session:  # and it migrated
        version = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version


async def test_requests_stay_bounded_by_the_database_timeout(database: Database) -> None:
    await migrate(database)
    started = time.monotonic()
    with pytest.raises(Exception) as failed:
        async with database.session() as session:
            await session.execute(text("SELECT pg_sleep(5)"))
    assert time.monotonic() - started < TIMEOUT + 1.0
    assert "unavailable" in str(failed.value) or "cancel" in str(failed.value).lower()
