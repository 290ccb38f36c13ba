"""``tenantgate status``: what a home folder and its database hold, read without changing
anything — a SQLite file that does not exist is not created, a schema behind is not migrated,
and no secret file is written."""

from __future__ import annotations

import asyncio
import json as jsonlib
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import typer

from tenantgate.cli._run import say_where, stray_database
from tenantgate.cli.registry import JSON

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from tenantgate.settings import Settings


@dataclass
class Status:
    database: str
    home: str
    exists: bool
    schema: str | None = None
    schema_head: str | None = None
    keys: list[dict[str, Any]] | None = None
    tenants: int | None = None
    applications: int | None = None
    servers: list[dict[str, Any]] | None = None
    note: str | None = None


def status(json: JSON = False) -> None:
    """What the database in use holds, and which servers run on it.

    The database and home folder, the schema version, the signing keys, the number of
    tenants and applications, and the servers that run on this database from this home
    folder (each holds a lock on its record in <home>/run)."""
    from tenantgate.settings import Settings

    settings = Settings()
    say_where(settings)
    found = asyncio.run(read(settings))
    if json:
        typer.echo(jsonlib.dumps(asdict(found), indent=2, ensure_ascii=False))
        return
    for name, value in lines(found):
        typer.echo(f"{name:16} {value}")


async def read(settings: Settings) -> Status:
    from tenantgate.cli.running import servers
    from tenantgate.home import describe, sqlite_file
    from tenantgate.storage.database import Database

    url = settings.database_url
    file = sqlite_file(url)
    found = Status(describe(url), str(settings.data_dir), exists=file is None or file.exists())
    found.servers = [asdict(s) for s in servers(settings.data_dir, url)]
    found.note = stray_database(settings)
    found.schema_head = _head()
    if not found.exists:
        return found
    db = Database(url, timeout=settings.database_timeout)
    try:
        async with db.engine.connect() as connection:
            await _contents(connection, found)
    finally:
        await db.dispose()
    return found


async def _contents(connection: AsyncConnection, found: Status) -> None:
    from sqlalchemy import func, inspect, select, text

    from tenantgate.storage import models as m

    tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    if "alembic_version" in tables:
        found.schema = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    if not {"signing_keys", "tenants", "applications"} <= tables:
        return
    rows = (
        await connection.execute(
            select(m.SigningKey.kid, m.SigningKey.created_at, m.SigningKey.retired_at)
        )
    ).all()
    found.keys = _keys(rows)
    found.tenants = await connection.scalar(select(func.count()).select_from(m.Tenant))
    found.applications = await connection.scalar(select(func.count()).select_from(m.Application))


def _keys(rows: Any) -> list[dict[str, Any]]:
    """Newest first; the newest live key signs, the other live ones only verify."""
    from tenantgate.registry.views import iso

    ordered = sorted(rows, key=lambda r: r.created_at, reverse=True)
    signing = next((r.kid for r in ordered if r.retired_at is None), None)
    return [
        {
            "kid": r.kid,
            "state": "signing"
            if r.kid == signing
            else "verifying"
            if r.retired_at is None
            else "retired",
            "created_at": iso(r.created_at),
            "retired_at": iso(r.retired_at),
        }
        for r in ordered
    ]


def _head() -> str | None:
    from alembic.script import ScriptDirectory

    from tenantgate.storage.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def lines(found: Status) -> list[tuple[str, str]]:
    from tenantgate.registry.views import iso

    shown = [("database", found.database), ("home", found.home)]
    if not found.exists:
        shown.append(
            ("schema", "none: the database does not exist yet (serve, demo or migrate creates it)")
        )
    elif found.schema is None:
        shown.append(("schema", "none: not migrated yet (serve, demo or migrate does it)"))
    elif found.schema == found.schema_head:
        shown.append(("schema", f"{found.schema} (up to date)"))
    else:
        shown.append(
            (
                "schema",
                f"{found.schema} (this tenantgate has {found.schema_head}; "
                "serve or migrate upgrades it)",
            )
        )
    if found.keys is not None:
        keys = ", ".join(f"{k['kid']} ({k['state']})" for k in found.keys)
        shown += [("signing keys", keys or "none yet (made at the first start)")]
        shown += [("tenants", str(found.tenants)), ("applications", str(found.applications))]
    servers = [
        f"{s['url']} (pid {s['pid']}{', demo' if s['demo'] else ''}, since {iso(s['started_at'])})"
        for s in found.servers or []
    ]
    shown.append(("server", "; ".join(servers) or "none running on this database here"))
    if found.note:
        shown.append(("note", found.note))
    return shown
