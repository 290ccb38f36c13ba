"""Alembic migrations, run at start-up. Running them twice, or from two nodes at once on
PostgreSQL, is safe: an advisory lock serialises them and Alembic skips what is applied.

On PostgreSQL they run on a connection of their own whose statements, and the pauses between
them inside the migration's transaction, are bounded by :data:`MIGRATION_TIMEOUT` rather than
by the database timeout that bounds a request: a node waiting for another node's migration, a
table rewritten, or Alembic's own work between two statements on a busy machine may take
longer than a request may, and no caller waits on a node that is starting. Connecting is still
bounded by the database timeout, so an unreachable database is said as soon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from tenantgate.storage.database import Database, is_sqlite

_MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 7_340_115
MIGRATION_TIMEOUT = 120.0
"""Seconds a migration's statements (and its pauses between them) may take on PostgreSQL, at
least; the database timeout if that is longer."""


def alembic_config(connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Any) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    command.upgrade(alembic_config(connection), "head")


async def migrate(db: Database) -> None:
    if is_sqlite(db.url):
        await _upgrade_on(db)
        return
    own = Database(
        db.url,
        timeout=db.timeout,
        pool_size=1,
        max_overflow=0,
        statement_timeout=max(db.timeout, MIGRATION_TIMEOUT),
    )
    try:
        await _upgrade_on(own)
    finally:
        await own.dispose()


async def _upgrade_on(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.run_sync(_upgrade)
