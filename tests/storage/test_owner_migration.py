"""Migration 0007 on SQLite and PostgreSQL: an application's e-mail ``owner`` becomes a link to
an account only where the audit trail shows it was not claimed by signing up; the label, the
secrets and the API users stay; going back to 0006 and forward again works."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from tenantgate.storage.database import Database
from tenantgate.storage.migrate import alembic_config
from tests.conftest import BACKENDS, _create_pg_database, _drop_pg_database, pg_url

accounts = sa.table(
    "accounts",
    sa.column("id", sa.Integer),
    sa.column("email", sa.String),
    sa.column("password_hash", sa.Text),
    sa.column("role", sa.String),
    sa.column("created_at", sa.Double),
    sa.column("disabled", sa.Boolean),
)
applications = sa.table(
    "applications",
    sa.column("application_id", sa.String),
    sa.column("client_id", sa.String),
    sa.column("name", sa.String),
    sa.column("status", sa.String),
    sa.column("owner", sa.String),
    sa.column("created_at", sa.Double),
    sa.column("updated_at", sa.Double),
)
secrets = sa.table(
    "client_secrets",
    sa.column("secret_id", sa.String),
    sa.column("application_id", sa.String),
    sa.column("secret_hash", sa.String),
    sa.column("hint", sa.String),
    sa.column("created_at", sa.Double),
)
audit = sa.table(
    "audit_events",
    sa.column("at", sa.Double),
    sa.column("kind", sa.String),
    sa.column("actor", sa.String),
    sa.column("application_id", sa.String),
    sa.column("detail", sa.JSON),
)

# e-mail -> (role, who created the account: an actor, or None when the event was pruned)
ACCOUNTS = {
    "signed-up@example.com": ("developer", "console:sign-up"),
    "made-by-ops@example.com": ("developer", "console:ops@example.com"),
    "made-by-cli@example.com": ("developer", "cli"),
    "registered@example.com": ("developer", "console:sign-up"),
    "pruned@example.com": ("developer", None),
    "admin@example.com": ("tenant_admin", "cli"),
}
# application id -> (owner label, who registered it, the account it must end up owned by)
APPLICATIONS = {
    "101": ("signed-up@example.com", "admin", None),
    "102": ("made-by-ops@example.com", "admin", "made-by-ops@example.com"),
    "103": ("made-by-cli@example.com", "admin", "made-by-cli@example.com"),
    "104": ("registered@example.com", "console:registered@example.com", "registered@example.com"),
    "105": ("registered@example.com", "admin", None),
    "106": ("Made-By-Ops@example.com", "admin", None),
    "107": ("pruned@example.com", "admin", None),
    "108": ("admin@example.com", "cli", None),
    "109": (None, "admin", None),
}


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database of this test's own, migrated to 0006."""
    name = f"tenantgate_migration_{uuid.uuid4().hex[:12]}"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'migration.db'}"
    else:
        await _create_pg_database(name)
        url = pg_url(name)
    database = Database(url)
    await migrate(database, "0006")
    yield database
    await database.dispose()
    if request.param != "sqlite":
        await _drop_pg_database(name)


async def migrate(db: Database, revision: str, *, down: bool = False) -> None:
    move = command.downgrade if down else command.upgrade
    async with db.engine.begin() as connection:
        await connection.run_sync(lambda c: move(alembic_config(c), revision))


async def fill(db: Database) -> None:
    async with db.engine.begin() as c:
        for email, (role, made_by) in ACCOUNTS.items():
            await c.execute(
                accounts.insert().values(
                    email=email, password_hash="x", role=role, created_at=1.0, disabled=False
                )
            )
            if made_by is not None:
                await c.execute(event("account.created", made_by, None, email=email, role=role))
        for application_id, (owner, registered_by, _expected) in APPLICATIONS.items():
            await c.execute(
                applications.insert().values(
                    application_id=application_id,
                    client_id=f"client-{application_id}",
                    name=f"App {application_id}",
                    status="active",
                    owner=owner,
                    created_at=2.0,
                    updated_at=2.0,
                )
            )
            await c.execute(
                secrets.insert().values(
                    secret_id=f"sec_{application_id}",
                    application_id=application_id,
                    secret_hash="h",
                    hint="tgs_…",
                    created_at=2.0,
                )
            )
            await c.execute(event("application.created", registered_by, application_id))


def event(kind: str, actor: str, application_id: str | None, **detail: Any) -> sa.Insert:
    return audit.insert().values(
        at=3.0, kind=kind, actor=actor, application_id=application_id, detail=detail or None
    )


async def owners(db: Database) -> dict[str, tuple[str | None, str | None]]:
    """application id -> (owner label, e-mail of the owning account)."""
    query = sa.text(
        "SELECT a.application_id, a.owner, o.email FROM applications a "
        "LEFT JOIN accounts o ON o.id = a.owner_account_id"
    )
    async with db.engine.connect() as c:
        return {row[0]: (row[1], row[2]) for row in await c.execute(query)}


async def count(db: Database, table: str) -> int:
    async with db.engine.connect() as c:
        return (await c.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()


async def test_only_owners_the_trail_vouches_for_are_linked(db: Database) -> None:
    await fill(db)

    await migrate(db, "0007")

    found = await owners(db)
    for application_id, (label, _by, expected) in APPLICATIONS.items():
        assert found[application_id] == (label, expected), application_id
    assert await count(db, "client_secrets") == len(APPLICATIONS)


async def test_down_to_0006_and_up_again(db: Database) -> None:
    await fill(db)
    await migrate(db, "0007")

    await migrate(db, "0006", down=True)
    async with db.engine.connect() as c:
        columns = await c.run_sync(
            lambda s: [i["name"] for i in sa.inspect(s).get_columns("applications")]
        )
        tables = await c.run_sync(lambda s: sa.inspect(s).get_table_names())
    assert "owner_account_id" not in columns and "application_invites" not in tables
    assert await count(db, "client_secrets") == len(APPLICATIONS)

    await migrate(db, "head")
    assert (await owners(db))["102"] == ("made-by-ops@example.com", "made-by-ops@example.com")
