"""Alembic migrations, run at start-up. Running them twice, or from two nodes at once on
PostgreSQL, is safe: an advisory lock serialises them and Alembic skips what is applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from tenantgate.storage.database import Database

_MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 7_340_115


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
    async with db.engine.begin() as connection:
        await connection.run_sync(_upgrade)
